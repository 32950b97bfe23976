/**
 * An SSE client that shows the wire: one plain `http.get` per stream (its own socket), with
 * whatever headers the test wants (`Last-Event-ID` included), parsed by `eventsource-parser`.
 * It keeps the raw text, every comment and `retry:` with arrival times, and reports how the
 * response ended. It never reconnects.
 */
import { get, type IncomingHttpHeaders } from 'node:http';
import { createParser } from 'eventsource-parser';

export interface WireEvent {
  /** `event:` (`message` when absent). */
  type: string;
  /** `id:` as sent; undefined when the event had none. */
  id: string | undefined;
  data: string;
  /** `data` parsed as JSON (an empty object if it is not JSON). */
  json: Record<string, unknown>;
  /** Date.now() at arrival. */
  at: number;
}

/** A clean end of the body, or a dropped connection. */
export type WireEnd = 'end' | 'aborted' | 'error';

export interface WireStream {
  readonly events: WireEvent[];
  /** Comment lines (without the leading `:` and space), with arrival times. */
  readonly comments: { text: string; at: number }[];
  readonly retries: number[];
  /** Everything received so far. */
  readonly raw: string;
  /** Status and headers, once they arrive. */
  readonly response: Promise<{ status: number; headers: IncomingHttpHeaders }>;
  /** Resolves once the response is over, however it ended (never rejects). */
  readonly ended: Promise<WireEnd>;
  /** The first event matching `predicate` (seen already or yet to come). */
  next(predicate: (event: WireEvent) => boolean, timeoutMs: number): Promise<WireEvent>;
  /** Drops the connection (a client going away). */
  close(): void;
}

/**
 * Opens `GET url` as an event stream.
 *
 * @example
 * const s = openWire(`${url}/jobs/${id}/events`, { headers: { 'last-event-id': '5' } });
 * await s.ended;
 */
export function openWire(url: string, options: { headers?: Record<string, string> } = {}): WireStream {
  const events: WireEvent[] = [];
  const comments: { text: string; at: number }[] = [];
  const retries: number[] = [];
  let raw = '';
  const waiters = new Set<{ predicate: (e: WireEvent) => boolean; resolve: (e: WireEvent) => void }>();
  let finished: WireEnd | undefined;
  let settle: (end: WireEnd) => void = () => {};
  const ended = new Promise<WireEnd>((resolve) => {
    settle = resolve;
  });
  const finish = (end: WireEnd) => {
    if (finished) return;
    finished = end;
    settle(end);
  };

  const parser = createParser({
    onEvent(message) {
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(message.data) as Record<string, unknown>;
      } catch {}
      const event: WireEvent = {
        type: message.event ?? 'message',
        id: message.id,
        data: message.data,
        json,
        at: Date.now(),
      };
      events.push(event);
      for (const waiter of waiters) {
        if (waiter.predicate(event)) {
          waiters.delete(waiter);
          waiter.resolve(event);
        }
      }
    },
    onComment: (text) => comments.push({ text, at: Date.now() }),
    onRetry: (ms) => retries.push(ms),
  });

  const request = get(url, { agent: false, headers: { accept: 'text/event-stream', ...options.headers } });
  const response = new Promise<{ status: number; headers: IncomingHttpHeaders }>((resolve, reject) => {
    request.once('response', (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        parser.feed(chunk);
      });
      res.once('end', () => finish('end'));
      res.once('close', () => finish(res.complete ? 'end' : 'aborted'));
      res.once('error', () => finish('error'));
    });
    request.once('error', (error) => {
      reject(error);
      finish('error');
    });
  });
  response.catch(() => {});

  return {
    events,
    comments,
    retries,
    get raw() {
      return raw;
    },
    response,
    ended,
    next(predicate, timeoutMs) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise<WireEvent>((resolve, reject) => {
        const fail = (why: string) => {
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(new Error(`${why}; got ${summarize(events)}`));
        };
        const timer = setTimeout(() => fail(`no matching event within ${timeoutMs} ms`), timeoutMs);
        const waiter = {
          predicate,
          resolve: (event: WireEvent) => {
            clearTimeout(timer);
            resolve(event);
          },
        };
        waiters.add(waiter);
        void ended.then((end) => {
          if (waiters.has(waiter)) fail(`stream ended (${end})`);
        });
      });
    },
    close() {
      request.destroy();
    },
  };
}

/** Opens a stream and waits for it to end (by the server); fails after `timeoutMs`. */
export async function readToEnd(
  url: string,
  options: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ events: WireEvent[]; end: WireEnd; status: number; raw: string }> {
  const stream = openWire(url, options);
  const timeoutMs = options.timeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const end = await Promise.race([
      stream.ended,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`stream did not end within ${timeoutMs} ms; got ${summarize(stream.events)}`)),
          timeoutMs,
        );
      }),
    ]);
    const { status } = await stream.response;
    return { events: stream.events, end, status, raw: stream.raw };
  } finally {
    clearTimeout(timer);
    stream.close();
  }
}

/** `id:type` of each event, for readable assertion diffs. */
export function summarize(events: readonly WireEvent[]): string {
  return JSON.stringify(events.map((e) => `${e.id}:${e.type}`));
}
