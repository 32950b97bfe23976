/**
 * @module sse
 * Event → wire text: the only code that knows Server-Sent Events framing (WHATWG HTML §9.2).
 *
 * @example
 * encodeEvent({ id: '7', event: 'progress', data: '{"progress":42}' })
 * // 'id: 7\nevent: progress\ndata: {"progress":42}\n\n'
 */
import type { StreamEventName } from './jobs/schemas.js';

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Response headers of every event stream. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  // no-transform: proxies must not compress or rewrite the stream.
  'cache-control': 'no-cache, no-transform',
  // nginx: do not buffer this response.
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
};

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Encodes one event. Data may contain any line breaks: each line becomes its own `data:`
 * line, which a parser joins back with LF (CRLF and CR come back as LF, as the spec says).
 * A line break in `id` or `event` would end the field early and let data forge fields, and a
 * NULL in `id` makes browsers ignore it: those throw.
 */
export function encodeEvent({ id, event, data }: SseEvent): string {
  let frame = '';
  if (id !== undefined) {
    if (/[\r\n\0]/.test(id)) throw new TypeError(`SSE id must not contain CR, LF or NULL: ${JSON.stringify(id)}`);
    frame += `id: ${id}\n`;
  }
  if (event !== undefined) {
    if (/[\r\n]/.test(event)) throw new TypeError(`SSE event name must not contain CR or LF: ${JSON.stringify(event)}`);
    frame += `event: ${event}\n`;
  }
  // Fast path: JSON from JSON.stringify never holds a raw line break.
  if (!/[\r\n]/.test(data)) return `${frame}data: ${data}\n\n`;
  for (const line of data.split(LINE_BREAK)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

/**
 * The frame of a job event, on the path every delivered event takes: its id is a sequence
 * number and its name one of the stream's own, so neither needs {@link encodeEvent}'s checks
 * (two regular expressions per event); data with a line break still goes through it. The same
 * text as `encodeEvent({ id: String(seq), event, data })`.
 */
export function encodeJobEvent(seq: number, event: StreamEventName, data: string): string {
  if (data.indexOf('\n') !== -1 || data.indexOf('\r') !== -1) return encodeEvent({ id: String(seq), event, data });
  return `id: ${seq}\nevent: ${event}\ndata: ${data}\n\n`;
}

/** `retry:` tells EventSource how long to wait before reconnecting. */
export function encodeRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.trunc(ms))}\n\n`;
}

/** A comment line: ignored by clients, keeps proxies and half-open connections honest. */
export function encodeComment(text: string): string {
  return text
    .split(LINE_BREAK)
    .map((line) => `: ${line}\n`)
    .join('')
    .concat('\n');
}
