/**
 * @module routes/jobs
 * REST: submit, read, list and cancel jobs, and read a job's log. Thin: parse, call the
 * service, respond.
 */
import { Hono } from 'hono';
import { IdempotencyKey, ListJobsQuery } from '../jobs/schemas.js';
import type { JobService } from '../jobs/service.js';
import type { RateLimiter } from '../limits.js';
import { ProblemError, validationProblem } from '../problems.js';
import type { AppEnv } from '../server-types.js';
import { readBodyText } from './body.js';
import { jsonResponse } from './json.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function jobRoutes(jobs: JobService, limiter: RateLimiter, maxBodyBytes: number): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/jobs', async (c) => {
    const contentType = c.req.header('content-type') ?? '';
    if (!JSON_TYPE.test(contentType)) {
      throw new ProblemError(
        'unsupported-media-type',
        `send the job as application/json${contentType ? `, not ${contentType}` : ''}`,
        { headers: { 'accept-post': 'application/json' } },
      );
    }
    const { owner, clientId } = c.get('principal');
    await limiter.hit(clientId);
    const idempotencyKey = c.req.header('idempotency-key');
    if (idempotencyKey !== undefined && !IdempotencyKey.safeParse(idempotencyKey).success) {
      throw new ProblemError('bad-request', 'Idempotency-Key must be 1–255 printable ASCII characters');
    }
    const text = await readBodyText(c, maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new ProblemError('malformed-json', `the body is not valid JSON: ${(error as Error).message}`);
    }
    const { job, replayed } = await jobs.submit(body, owner, idempotencyKey);
    return jsonResponse(job, 202, {
      location: job.links.self,
      ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
    });
  });

  app.get('/jobs', async (c) => {
    const query = ListJobsQuery.safeParse(c.req.query());
    if (!query.success) throw validationProblem(query.error, 'query', 'bad-request');
    const { state, type, limit, cursor } = query.data;
    return c.json(await jobs.list(c.get('principal').owner, { state, type }, limit, cursor));
  });

  app.get('/jobs/:id', async (c) => c.json(await jobs.get(c.req.param('id'), c.get('principal').owner)));

  app.get('/jobs/:id/logs', async (c) => c.json(await jobs.logs(c.req.param('id'), c.get('principal').owner)));

  app.post('/jobs/:id/cancel', async (c) =>
    c.json(await jobs.cancel(c.req.param('id'), c.get('principal').owner), 202),
  );

  return app;
}
