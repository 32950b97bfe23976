/**
 * @module routes/webhooks
 * REST: a job's webhook deliveries (#17). Thin: the job must be the caller's (another key's
 * job is a 404, like every job endpoint), then the delivery list.
 */
import { Hono } from 'hono';
import type { JobService } from '../jobs/service.js';
import type { RateLimiter } from '../limits.js';
import type { AppEnv } from '../server-types.js';
import type { WebhookDeliveries } from '../webhooks/schemas.js';

/** Reads a job's deliveries (`webhooks/deliveries`). */
export interface DeliveryReader {
  list(jobId: string): Promise<WebhookDeliveries>;
}

export function webhookRoutes(jobs: JobService, deliveries: DeliveryReader, reads: RateLimiter): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/jobs/:id/webhooks', async (c) => {
    // A read like GET /jobs/{id}: it counts against READ_RATE_LIMIT_PER_MINUTE.
    await reads.hit(c.get('principal'));
    const id = c.req.param('id');
    // Answers 404 for a job the caller may not see, exactly as for one that does not exist.
    await jobs.get(id, c.get('principal').owner);
    return c.json(await deliveries.list(id));
  });
  return app;
}
