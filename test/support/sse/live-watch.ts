/**
 * A watcher that stays open while the test acts: a real SSE client (the `eventsource`
 * package, as in `sse.ts`) whose events the test can await one by one — connect, wait until
 * the stream is live, cancel the job, then await `done` with a deadline. {@link useWatchedHarness}
 * sets up a test file that does this: its harness, and watchers closed when the file is done.
 */
import { EventSource } from 'eventsource';
import { afterAll, beforeAll } from 'vitest';
import { type Harness, startHarness } from '../harness/harness.js';
import { type ReceivedEvent, STREAM_EVENTS, withoutRestatements } from './sse.js';

export interface LiveWatch {
  /** Every event so far, in arrival order. */
  readonly events: ReceivedEvent[];
  /** The first event (already received or still to come) matching `predicate`. */
  next(predicate: (event: ReceivedEvent) => boolean, timeoutMs: number): Promise<ReceivedEvent>;
  /** `done`, within `timeoutMs`; the source is closed once it arrives, as a client should. */
  done(timeoutMs: number): Promise<ReceivedEvent>;
  /** Resolves when the stream has delivered its first event (the state sent on connect). */
  live(timeoutMs: number): Promise<ReceivedEvent>;
  close(): void;
}

interface Waiter {
  predicate: (event: ReceivedEvent) => boolean;
  resolve: (event: ReceivedEvent) => void;
}

/**
 * Opens `url` as an EventSource.
 *
 * @example
 * const w = liveWatch(`${h.url}/jobs/${id}/events`);
 * await w.live(2_000);
 * const done = await w.done(5_000);
 */
export function liveWatch(
  url: string,
  /** `endless`: a stream that never ends (the feed): a `done` does not close it. */
  options: { headers?: Record<string, string>; endless?: boolean } = {},
): LiveWatch {
  const events: ReceivedEvent[] = [];
  const waiters = new Set<Waiter>();
  let failure: Error | undefined;
  const failed = new Set<(error: Error) => void>();
  const headers = options.headers ?? {};
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
  });
  for (const type of STREAM_EVENTS) {
    source.addEventListener(type, (event) => {
      const received: ReceivedEvent = {
        type,
        id: event.lastEventId,
        data: JSON.parse(event.data) as Record<string, unknown>,
      };
      events.push(received);
      if (type === 'done' && !options.endless) source.close();
      for (const waiter of [...waiters]) {
        if (waiter.predicate(received)) {
          waiters.delete(waiter);
          waiter.resolve(received);
        }
      }
    });
  }
  source.addEventListener('error', (event) => {
    if (source.readyState !== EventSource.CLOSED) return;
    failure = new Error(`stream failed: ${String((event as { message?: string }).message)}`);
    for (const fail of failed) fail(failure);
  });

  const describe = () => JSON.stringify(events.map((e) => `${e.id}:${e.type}:${e.data.state ?? e.data.status ?? ''}`));
  const next = (predicate: (event: ReceivedEvent) => boolean, timeoutMs: number) => {
    const seen = events.find(predicate);
    if (seen) return Promise.resolve(seen);
    if (failure) return Promise.reject(failure);
    return new Promise<ReceivedEvent>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
        failed.delete(fail);
      };
      const waiter: Waiter = {
        predicate,
        resolve: (event) => {
          settle();
          resolve(event);
        },
      };
      const fail = (error: Error) => {
        settle();
        reject(Object.assign(error, { events }));
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`no matching event within ${timeoutMs} ms; got ${describe()}`));
      }, timeoutMs);
      waiters.add(waiter);
      failed.add(fail);
    });
  };

  return {
    events,
    next,
    done: (timeoutMs) => next((e) => e.type === 'done', timeoutMs),
    live: (timeoutMs) => next(() => true, timeoutMs),
    close: () => source.close(),
  };
}

/**
 * The progress events of a stream, as `state@attempt` strings, for readable assertions; a
 * restatement (a new place in the queue, the stall signal) is not a change of state.
 */
export function stateTrail(events: ReceivedEvent[]): string[] {
  return withoutRestatements(events)
    .filter((e) => e.type === 'progress')
    .map((e) => `${e.data.state}@${e.data.attempt}`);
}

export interface WatchedHarness {
  /** The file's harness, started before its tests. */
  readonly h: Harness;
  /** Watches job `id` on `harness` (the file's or another); closed after the file's tests. */
  watchJob(harness: Harness, id: string): LiveWatch;
}

/**
 * For a test file that watches its jobs live: starts a harness before all its tests and, after
 * them, closes every watcher `watchJob` opened, then the harness. Call at the top of the file.
 *
 * @example
 * const suite = useWatchedHarness();
 * const { watchJob } = suite;
 * it('…', async () => {
 *   const job = await submitJob(suite.h, { data: { steps: 1 } });
 *   await watchJob(suite.h, job.id).done(5_000);
 * });
 */
export function useWatchedHarness(): WatchedHarness {
  let harness: Harness | undefined;
  const watches: LiveWatch[] = [];
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    for (const w of watches) w.close();
    await harness?.close();
  });
  return {
    get h() {
      if (!harness) throw new Error('the harness starts in beforeAll: use it inside a test');
      return harness;
    },
    watchJob(target, id) {
      const w = liveWatch(`${target.url}/jobs/${id}/events`);
      watches.push(w);
      return w;
    },
  };
}
