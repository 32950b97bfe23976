/**
 * @module routes/jobs
 * REST: submit, read, list and cancel jobs, and read a job's log. Thin: parse, call the
 * service, respond.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { IdempotencyKey, ListJobsQuery } from '../jobs/schemas.js';
import type { JobService } from '../jobs/service.js';
import type { Submitter } from '../jobs/submission.js';
import type { RateLimiter } from '../limits.js';
import { ProblemError, validationProblem } from '../problems.js';
import type { AppEnv } from '../server-types.js';
import { readJsonBody } from './body.js';
import { jsonResponse } from './json.js';

export interface JobRouteLimits {
  /** Jobs submitted per client per minute. */
  submissions: RateLimiter;
  /** Reads (a job, its log, a page of the list) per client per minute. */
  reads: RateLimiter;
  maxBodyBytes: number;
}

export function jobRoutes(jobs: JobService, limits: JobRouteLimits): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  /**
   * Who submits, from the request's headers: the checks every submission shares before its
   * body is read (the service checks the rest). Not async: the route awaits the body itself,
   * one promise and turn less per submission.
   */
  const submitter = (c: Context<AppEnv>): Submitter => {
    const idempotencyKey = c.req.header('idempotency-key');
    if (idempotencyKey !== undefined && !IdempotencyKey.safeParse(idempotencyKey).success) {
      throw new ProblemError('bad-request', 'Idempotency-Key must be 1–255 printable ASCII characters');
    }
    const principal = c.get('principal');
    return {
      owner: principal.owner,
      idempotencyKey,
      // Without a limit, nothing to admit: not even a settled promise to await.
      admit: limits.submissions.limits ? (n) => limits.submissions.hit(principal, n) : undefined,
    };
  };
  const body = (c: Context<AppEnv>) => readJsonBody(c, limits.maxBodyBytes, 'the job');
  /** Counts a read against its client's limit before anything is looked up. */
  const read: MiddlewareHandler<AppEnv> = async (c, next) => {
    await limits.reads.hit(c.get('principal'));
    return next();
  };
  const replayedHeader = (replayed: boolean): Record<string, string> | undefined =>
    replayed ? { 'idempotent-replayed': 'true' } : undefined;

  app.post('/jobs', async (c) => {
    const by = submitter(c);
    const { job, replayed } = await jobs.submit(await body(c), by);
    return jsonResponse(c, job, 202, { location: job.links.self, ...replayedHeader(replayed) });
  });

  app.post('/jobs/batch', async (c) => {
    const by = submitter(c);
    const { batch, replayed } = await jobs.submitBatch(await body(c), by);
    return jsonResponse(c, batch, 202, replayedHeader(replayed));
  });

  app.get('/jobs', async (c) => {
    const { owner } = c.get('principal');
    // Without keys an id is the only way to a job (a capability), so nothing lists them.
    if (owner === undefined) {
      throw new ProblemError(
        'listing-needs-key',
        'jobs are listed only to the API key that created them; without API keys a job is reached by its id alone (set API_KEYS to list your jobs)',
      );
    }
    await limits.reads.hit(c.get('principal'));
    const query = ListJobsQuery.safeParse(c.req.query());
    if (!query.success) throw validationProblem(query.error, 'query', 'bad-request');
    const { state, type, tag, limit, cursor } = query.data;
    return c.json(await jobs.list(owner, { state, type, tag }, limit, cursor));
  });

  app.get('/jobs/:id', read, async (c) => c.json(await jobs.get(c.req.param('id'), c.get('principal').owner)));

  app.get('/jobs/:id/logs', read, async (c) => c.json(await jobs.logs(c.req.param('id'), c.get('principal').owner)));

  app.post('/jobs/:id/cancel', async (c) =>
    c.json(await jobs.cancel(c.req.param('id'), c.get('principal').owner), 202),
  );

  return app;
}
