/**
 * @module routes/health
 * `/healthz`: the process is up. `/readyz`: it can reach Redis (503 problem when not).
 */
import { Hono } from 'hono';
import type { HealthStatus, ReadyStatus } from '../jobs/schemas.js';
import { ProblemError } from '../problems.js';

export function healthRoutes(ping: () => Promise<unknown>): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' } satisfies HealthStatus));
  app.get('/readyz', async (c) => {
    try {
      await ping();
    } catch (error) {
      throw new ProblemError('unavailable', 'Redis is unreachable', { cause: error, headers: { 'retry-after': '1' } });
    }
    return c.json({ status: 'ready' } satisfies ReadyStatus);
  });
  return app;
}
