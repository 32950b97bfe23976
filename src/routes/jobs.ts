/**
 * @module routes/jobs
 * REST: submit, read, list and cancel jobs, and read a job's log. Thin: parse, call the
 * service, respond.
 */
import { type Context, Hono } from 'hono';
import { IdempotencyKey, ListJobsQuery } from '../jobs/schemas.js';
import type { JobService, Submitter } from '../jobs/service.js';
import type { RateLimiter } from '../limits.js';
import { ProblemError, validationProblem } from '../problems.js';
import type { AppEnv } from '../server-types.js';
import { readBodyText } from './body.js';
import { jsonResponse } from './json.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function jobRoutes(jobs: JobService, limiter: RateLimiter, maxBodyBytes: number): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  /** The checks and the JSON body every submission shares; the service checks the rest. */
  const submission = async (c: Context<AppEnv>) => {
    const contentType = c.req.header('content-type') ?? '';
    if (!JSON_TYPE.test(contentType)) {
      throw new ProblemError(
        'unsupported-media-type',
        `send the job as application/json${contentType ? `, not ${contentType}` : ''}`,
        { headers: { 'accept-post': 'application/json' } },
      );
    }
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
    const { owner, clientId } = c.get('principal');
    const by: Submitter = { owner, idempotencyKey, admit: (n) => limiter.hit(clientId, n) };
    return { body, by };
  };
  const replayedHeader = (replayed: boolean): Record<string, string> =>
    replayed ? { 'idempotent-replayed': 'true' } : {};

  app.post('/jobs', async (c) => {
    const { body, by } = await submission(c);
    const { job, replayed } = await jobs.submit(body, by);
    return jsonResponse(job, 202, { location: job.links.self, ...replayedHeader(replayed) });
  });

  app.post('/jobs/batch', async (c) => {
    const { body, by } = await submission(c);
    const { batch, replayed } = await jobs.submitBatch(body, by);
    return jsonResponse(batch, 202, replayedHeader(replayed));
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
