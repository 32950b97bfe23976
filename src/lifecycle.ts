/**
 * @module lifecycle
 * Entry-point plumbing: stop everything once on SIGTERM/SIGINT, in order, and exit.
 */
import type { Logger } from './log.js';

/**
 * Calls `stop` on the first SIGTERM or SIGINT and exits when it resolves; a second signal, or
 * a stop that takes longer than `hardLimitMs`, exits at once.
 */
export function stopOnSignals(stop: () => Promise<void>, log: Logger, hardLimitMs = 30_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down', { signal });
    setTimeout(() => {
      log.error('shutdown took too long: exiting', { hardLimitMs });
      process.exit(1);
    }, hardLimitMs).unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** REDIS_URL is required where nothing manages a local Redis. */
export function requireRedisUrl(url: string | undefined, log: Logger): string {
  if (url) return url;
  log.error(
    'REDIS_URL is not set: point it at your Redis, e.g. REDIS_URL=redis://127.0.0.1:6379 (npm start runs a local Redis by itself)',
  );
  process.exit(2);
}
