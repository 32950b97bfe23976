/**
 * @module workers/stalled-checks
 * BullMQ's check for jobs whose worker died (their lock ran out), on a timer of our own.
 *
 * BullMQ runs one such check per interval for the whole fleet: a check sets a key that lives for
 * `stalledInterval`, and a worker whose turn comes while that key lives skips its turn. Its own
 * loop then waits exactly `stalledInterval` after its check, so a worker's next turn lands on the
 * edge of the key it set itself: when its event loop is busy, the timer counts from a moment a
 * few milliseconds old, the turn comes before the key has gone, and it is skipped — the next
 * check is two intervals away. A killed worker's job then ran again up to lock + 2 × interval
 * after the kill: 15.7 s in test/worker-death on a busy machine, against the README's 12 s.
 *
 * Here the key lives a margin shorter than the wait between a worker's turns, so a worker never
 * skips its own next turn; the fleet still checks about once per interval (decision 019).
 */
import { Worker } from 'bullmq';

/** The check itself: a private method of BullMQ's Worker (bullmq is pinned to exactly 6.7.0). */
interface StalledCheck {
  moveStalledJobsToWait(): Promise<void>;
}

if (typeof (Worker.prototype as unknown as Partial<StalledCheck>).moveStalledJobsToWait !== 'function') {
  throw new Error('bullmq changed: Worker.moveStalledJobsToWait is gone (see workers/stalled-checks.ts)');
}

/** How long a stop waits for a check in flight: one takes milliseconds while Redis answers. */
export const STOP_WAIT_MS = 500;

/** How much sooner the fleet's once-per-interval key expires than a worker's next turn comes. */
const keyMargin = (intervalMs: number) => Math.min(500, Math.floor(intervalMs / 4));

/**
 * `Worker` options for checks every `intervalMs`: BullMQ's own loop off (`checkStalledJobs` runs
 * them), and `stalledInterval`, which BullMQ uses as the key's lifetime, a margin shorter.
 */
export function stalledCheckOptions(intervalMs: number): { skipStalledCheck: true; stalledInterval: number } {
  return { skipStalledCheck: true, stalledInterval: intervalMs - keyMargin(intervalMs) };
}

/**
 * Runs `worker`'s stalled-job check now and then every `intervalMs` after each check ends. A
 * failed check (Redis away) goes to the worker's `error` listeners, as BullMQ's own loop does, and
 * the next turn tries again. Returns a stop that waits for a check in flight, but no longer than
 * {@link STOP_WAIT_MS}: a check sent while Redis is unreachable waits in the client's queue for
 * good (the worker's connection retries for ever), and waiting for it held every shutdown after
 * a Redis outage to the hard limit (20 s). Abandoning it is safe: the check is one Lua script,
 * which Redis runs whole or not at all.
 */
export function checkStalledJobs(worker: Worker, intervalMs: number): () => Promise<void> {
  const check = worker as unknown as StalledCheck;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight = Promise.resolve();
  const turn = () => {
    inFlight = check
      .moveStalledJobsToWait()
      .catch((error: unknown) => {
        if (!stopped) worker.emit('error', error instanceof Error ? error : new Error(String(error)));
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(turn, intervalMs);
      });
  };
  turn();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    let waited: NodeJS.Timeout | undefined;
    const givenUp = new Promise<void>((resolve) => {
      waited = setTimeout(resolve, STOP_WAIT_MS);
    });
    await Promise.race([inFlight, givenUp]);
    clearTimeout(waited);
  };
}
