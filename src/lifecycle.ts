/**
 * @module lifecycle
 * Entry-point plumbing: stop everything once on SIGINT/SIGTERM/SIGHUP, in order, and exit; a
 * second signal hurries, a third exits at once.
 *
 * One Ctrl-C is often several signals: the terminal sends SIGINT to the whole foreground
 * process group, and `npm start` (npm, then scripts/bootstrap.mjs) forwards its own copy to
 * its child as well. Copies that arrive within {@link SIGNAL_ECHO_MS} of the first are taken
 * for that one Ctrl-C; only a signal after that counts as a second.
 */

import { ListenError } from './listen.js';
import type { Logger } from './log.js';

/** Signals closer together than this are one Ctrl-C (a person pressing twice takes longer). */
export const SIGNAL_ECHO_MS = 1_000;

/** After a second signal, the stop has this long to hand running jobs back before the exit. */
const HURRY_LIMIT_MS = 5_000;

export interface StopPlan {
  /** Stops everything, gracefully: running jobs get SHUTDOWN_TIMEOUT_MS, then are handed back. */
  stop: () => Promise<void>;
  /** On a second signal: hand running jobs back now instead of waiting (the stop goes on). */
  hurry?: () => void;
  log: Logger;
  /** The longest a graceful stop may take before the process exits anyway. */
  hardLimitMs?: number;
}

/**
 * Calls `stop` on the first SIGTERM, SIGINT or SIGHUP and exits (0) when it resolves. A second
 * signal (later than {@link SIGNAL_ECHO_MS}) calls `hurry` and exits (1) within a few seconds;
 * a third, or a stop that takes longer than `hardLimitMs`, exits (1) at once.
 */
export function stopOnSignals({ stop, hurry, log, hardLimitMs = 30_000 }: StopPlan): void {
  let firstAt: number | undefined;
  let signals = 0;
  const exitAfter = (ms: number, why: string) =>
    setTimeout(() => {
      log.error(why, { afterMs: ms });
      process.exit(1);
    }, ms).unref();
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (firstAt !== undefined && now - firstAt < SIGNAL_ECHO_MS) {
      log.debug('the same stop signal again (process group or forwarded copy); ignored', { signal });
      return;
    }
    signals++;
    if (signals === 1) {
      firstAt = now;
      log.info('shutting down: running jobs finish or are handed back (signal again to hurry)', { signal });
      exitAfter(hardLimitMs, 'shutdown took too long: exiting');
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          log.error('shutdown failed', { error });
          process.exit(1);
        },
      );
    } else if (signals === 2 && hurry) {
      firstAt = now;
      log.warn('second signal: handing running jobs back now (signal again to exit at once)', { signal });
      hurry();
      exitAfter(HURRY_LIMIT_MS, 'could not hand running jobs back in time: exiting');
    } else {
      log.warn('exiting now', { signal });
      process.exit(1);
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, onSignal);
}

/** REDIS_URL is required where nothing manages a local Redis. */
export function requireRedisUrl(url: string | undefined, log: Logger): string {
  if (url) return url;
  log.error(
    'REDIS_URL is not set: point it at your Redis, e.g. REDIS_URL=redis://127.0.0.1:6379 (npm start runs a local Redis by itself)',
  );
  process.exit(2);
}

/**
 * Runs an entry point's start-up; a {@link ListenError} (port taken…) becomes one line and
 * exit code 1, with no stack. `cleanup` runs first (e.g. stopping a local Redis).
 */
export async function startOrExit<T>(
  start: () => Promise<T>,
  log: Logger,
  cleanup: () => Promise<unknown> = async () => {},
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    log.error(error.message);
    await cleanup().catch(() => {});
    process.exit(1);
  }
}
