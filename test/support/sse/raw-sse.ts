/**
 * A lightweight SSE client for tests that open many streams or must see exactly how a stream
 * ends: one plain `http.get` per stream (its own socket unless an agent is given, so no
 * connection pool caps how many are open) parsed by `eventsource-parser`, the parser the
 * `eventsource` package itself uses. Unlike EventSource it never reconnects: the end of the
 * response is reported, not hidden.
 *
 * {@link openSse} is the core (`wire.ts` builds on it too); {@link openStream} gives events as
 * {@link ReceivedEvent}s.
 */
import { type Agent, get, type IncomingMessage } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { ReceivedEvent } from './sse.js';

/** How a stream's response finished: a clean end of the body, or a dropped connection. */
export type StreamEnd = 'end' | 'aborted' | 'error';

/** The core of a stream, with events of type `E` as `toEvent` makes them. */
export interface SseStream<E> {
  /** Events in arrival order. */
  readonly events: E[];
  /** Resolves with the response once its headers arrive; rejects if the request fails first. */
  readonly response: Promise<IncomingMessage>;
  /** Resolves once the response is over, however it ended (never rejects). */
  readonly ended: Promise<StreamEnd>;
  /** Resolves with the first event matching `predicate` (seen already or yet to come); rejects after `timeoutMs` or if the stream ends first. */
  next(predicate: (event: E) => boolean, timeoutMs: number): Promise<E>;
  /** Drops the connection (a client going away). */
  close(): void;
}

export interface SseOptions<E> {
  agent?: Agent | false;
  headers?: Record<string, string>;
  /** Makes an event of each parsed message. */
  toEvent(message: EventSourceMessage): E;
  /** How the events so far read in an error message. */
  describe(events: readonly E[]): string;
  /** Every chunk of the body, as it arrives. */
  onChunk?(chunk: string): void;
  onComment?(comment: string): void;
  onRetry?(ms: number): void;
}

interface Waiter<E> {
  predicate: (event: E) => boolean;
  resolve: (event: E) => void;
  reject: (error: Error) => void;
}

/** Opens `GET url` as an event stream, events made by `options.toEvent`. */
export function openSse<E>(url: string, options: SseOptions<E>): SseStream<E> {
  const events: E[] = [];
  const waiters = new Set<Waiter<E>>();
  let finished: StreamEnd | undefined;
  let settleEnded: (end: StreamEnd) => void = () => {};
  const ended = new Promise<StreamEnd>((resolve) => {
    settleEnded = resolve;
  });
  const finish = (end: StreamEnd) => {
    if (finished) return;
    finished = end;
    settleEnded(end);
    for (const waiter of waiters) waiter.reject(new Error(`stream ended (${end}); got ${options.describe(events)}`));
    waiters.clear();
  };

  const parser = createParser({
    onEvent(message) {
      const event = options.toEvent(message);
      events.push(event);
      for (const waiter of waiters) {
        if (waiter.predicate(event)) {
          waiters.delete(waiter);
          waiter.resolve(event);
        }
      }
    },
    onComment: options.onComment,
    onRetry: options.onRetry,
  });

  const request = get(url, {
    agent: options.agent ?? false,
    headers: { accept: 'text/event-stream', ...options.headers },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', (res) => {
      resolve(res);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        options.onChunk?.(chunk);
        parser.feed(chunk);
      });
      res.once('end', () => finish('end'));
      res.once('aborted', () => finish('aborted'));
      res.once('close', () => finish(res.complete ? 'end' : 'aborted'));
      res.once('error', () => finish('error'));
    });
    request.once('error', (error) => {
      reject(error);
      finish('error');
    });
  });
  // A failed request is reported through `ended` and `next`; keep it from being unhandled.
  response.catch(() => {});

  return {
    events,
    response,
    ended,
    next(predicate, timeoutMs) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      if (finished) {
        return Promise.reject(new Error(`stream already ended (${finished}); got ${options.describe(events)}`));
      }
      return new Promise<E>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${options.describe(events)}`));
        }, timeoutMs);
        const waiter: Waiter<E> = {
          predicate,
          resolve: (event) => {
            clearTimeout(timer);
            resolve(event);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        waiters.add(waiter);
      });
    },
    close() {
      request.destroy();
    },
  };
}

/** A stream whose events are {@link ReceivedEvent}s (`data` parsed as JSON). */
export type RawStream = SseStream<ReceivedEvent>;

/**
 * Opens `GET url` as an event stream.
 *
 * @example
 * const stream = openStream(`${url}/jobs/${id}/events`);
 * const done = await stream.next((e) => e.type === 'done', 10_000);
 */
export function openStream(
  url: string,
  options: { agent?: Agent | false; headers?: Record<string, string> } = {},
): RawStream {
  return openSse(url, {
    ...options,
    toEvent: (message) => ({
      type: message.event ?? 'message',
      id: message.id ?? '',
      data: JSON.parse(message.data) as Record<string, unknown>,
    }),
    describe: (events) => JSON.stringify(events.map((e) => e.type)),
  });
}
