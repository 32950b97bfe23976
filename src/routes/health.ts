/**
 * @module routes/health
 * `/healthz`: the process is up (whatever Redis does). `/readyz`: it can reach Redis within
 * REDIS_COMMAND_TIMEOUT_MS; when not, a 503 problem whose `reason` says what is wrong
 * (unreachable, timeout, out-of-memory…).
 */
import { Hono } from 'hono';
import type { HealthStatus, ReadyStatus } from '../jobs/schemas.js';
import { ProblemError } from '../problems.js';
import { PUBLIC_REASONS, type RedisFaultLog, redisFault } from '../redis-faults.js';

export function healthRoutes(ping: () => Promise<unknown>, faults?: RedisFaultLog): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' } satisfies HealthStatus));
  app.get('/readyz', async (c) => {
    try {
      await ping();
    } catch (error) {
      faults?.report(error);
      const reason = (faults ? faults.classify(error) : redisFault(error)) ?? 'error';
      throw new ProblemError('unavailable', `not ready: ${PUBLIC_REASONS[reason]}`, {
        cause: error,
        headers: { 'retry-after': '1' },
        extensions: { reason },
      });
    }
    // A frozen or full Redis never drops the connection: an answer is what says it is back.
    faults?.recovered();
    return c.json({ status: 'ready' } satisfies ReadyStatus);
  });
  return app;
}
