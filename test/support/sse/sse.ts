/**
 * Watching a stream with a real SSE client (the `eventsource` package), the way a browser or
 * a Node client would.
 */
import { EventSource } from 'eventsource';
import { expect } from 'vitest';

export interface ReceivedEvent {
  type: string;
  id: string;
  data: Record<string, unknown>;
}

export const STREAM_EVENTS = ['progress', 'log', 'done', 'reset', 'gone', 'summary'] as const;

/**
 * Opens an EventSource and collects events until `done` (closing it then, as a client
 * should), an error that closes the source, or `timeoutMs`.
 */
export function watch(
  url: string,
  options: { timeoutMs?: number; headers?: Record<string, string>; until?: (e: ReceivedEvent) => boolean } = {},
): Promise<ReceivedEvent[]> {
  return new Promise((resolve, reject) => {
    const events: ReceivedEvent[] = [];
    const headers = options.headers ?? {};
    const source = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
    });
    const timer = setTimeout(() => {
      source.close();
      reject(
        new Error(`no done within ${options.timeoutMs ?? 15_000} ms; got ${JSON.stringify(events.map((e) => e.type))}`),
      );
    }, options.timeoutMs ?? 15_000);
    const finish = () => {
      clearTimeout(timer);
      source.close();
      resolve(events);
    };
    const until = options.until ?? ((e) => e.type === 'done');
    for (const type of STREAM_EVENTS) {
      source.addEventListener(type, (event) => {
        const received = { type, id: event.lastEventId, data: JSON.parse(event.data) as Record<string, unknown> };
        events.push(received);
        if (until(received)) finish();
      });
    }
    source.addEventListener('error', (event) => {
      if (source.readyState === EventSource.CLOSED) {
        clearTimeout(timer);
        reject(
          Object.assign(new Error(`stream failed: ${String((event as { message?: string }).message)}`), { events }),
        );
      }
    });
  });
}

/**
 * Reads a stream that does not end by itself (the feed) until its text satisfies `until`,
 * then hangs up: returns the response (status, headers) and the text read.
 */
export async function readStreamUntil(
  url: string,
  until: (text: string) => boolean,
  options: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ response: Response; text: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 10_000);
  const response = await fetch(url, { headers: options.headers ?? {}, signal: controller.signal });
  let text = '';
  try {
    if (!response.body || !response.ok) return { response, text: await response.text() };
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    while (!until(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    throw new Error(`stream did not get there within ${options.timeoutMs ?? 10_000} ms; read: ${text.slice(-2_000)}`);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { response, text };
}

/**
 * Whether `event` restates the state before it: a `progress` event with the same id as the
 * event before it, which says only that the job's place in the queue or its stall signal
 * changed (README, "What progress tells beyond the percentage"). Ids never go back; they repeat
 * only for these.
 */
export function isRestatement(event: { type: string; id: string }, previous: { id: string } | undefined): boolean {
  return event.type === 'progress' && previous !== undefined && event.id === previous.id;
}

/** The events without restatements (see {@link isRestatement}): one event per state change. */
export function withoutRestatements<T extends { type: string; id: string }>(events: readonly T[]): T[] {
  return events.filter((event, i) => !isRestatement(event, events[i - 1]));
}

/**
 * Numeric ids strictly increase over everything a client received, across its reconnections
 * (a restatement — a queued job's new place — repeats its state's id). The failure shows the
 * whole trail.
 */
export function expectIncreasingIds(
  events: readonly { type: string; id: string; data?: unknown }[],
  what: string,
): void {
  const ids = withoutRestatements(events).map((e) => Number(e.id));
  const trail = () => JSON.stringify(events.map((e) => `${e.id}:${e.type}:${JSON.stringify(e.data)}`));
  for (let i = 1; i < ids.length; i++) {
    if (!((ids[i] as number) > (ids[i - 1] as number))) {
      expect(ids[i], `${what}: ids ${JSON.stringify(ids)}; trail ${trail()}`).toBeGreaterThan(ids[i - 1] as number);
    }
  }
}
