/**
 * Watching a stream with a real SSE client (the `eventsource` package), the way a browser or
 * a Node client would.
 */
import { EventSource } from 'eventsource';

export interface ReceivedEvent {
  type: string;
  id: string;
  data: Record<string, unknown>;
}

export const STREAM_EVENTS = ['progress', 'log', 'done', 'reset', 'gone'] as const;

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
