/**
 * An SSE client that shows the wire: one plain `http.get` per stream (its own socket), with
 * whatever headers the test wants (`Last-Event-ID` included), parsed by `eventsource-parser`.
 * It keeps the raw text, every comment and `retry:` with arrival times, and reports how the
 * response ended. It never reconnects.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { openSse, type StreamEnd } from './raw-sse.js';

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
export type WireEnd = StreamEnd;

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
 * Opens `GET url` as an event stream (on {@link openSse}, the core `raw-sse.ts` builds on too).
 *
 * @example
 * const s = openWire(`${url}/jobs/${id}/events`, { headers: { 'last-event-id': '5' } });
 * await s.ended;
 */
export function openWire(url: string, options: { headers?: Record<string, string> } = {}): WireStream {
  const comments: { text: string; at: number }[] = [];
  const retries: number[] = [];
  let raw = '';
  const stream = openSse<WireEvent>(url, {
    headers: options.headers,
    toEvent(message) {
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(message.data) as Record<string, unknown>;
      } catch {}
      return { type: message.event ?? 'message', id: message.id, data: message.data, json, at: Date.now() };
    },
    describe: summarize,
    onChunk: (chunk) => {
      raw += chunk;
    },
    onComment: (text) => comments.push({ text, at: Date.now() }),
    onRetry: (ms) => retries.push(ms),
  });
  const response = stream.response.then((res) => ({ status: res.statusCode ?? 0, headers: res.headers }));
  response.catch(() => {});

  return {
    events: stream.events,
    comments,
    retries,
    get raw() {
      return raw;
    },
    response,
    ended: stream.ended,
    next: (predicate, timeoutMs) => stream.next(predicate, timeoutMs),
    close: () => stream.close(),
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
