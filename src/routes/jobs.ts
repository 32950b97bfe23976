/**
 * @module routes/jobs
 * REST: submit a job, read a job. Thin: parse, call the service, respond.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { JobService } from '../jobs/service.js';
import { ProblemError } from '../problems.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function jobRoutes(jobs: JobService, maxBodyBytes: number): Hono {
  const app = new Hono();

  app.post(
    '/jobs',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new ProblemError('payload-too-large', `the request body is larger than ${maxBodyBytes} bytes`);
      },
    }),
    async (c) => {
      const contentType = c.req.header('content-type') ?? '';
      if (!JSON_TYPE.test(contentType)) {
        throw new ProblemError(
          'unsupported-media-type',
          `send the job as application/json${contentType ? `, not ${contentType}` : ''}`,
          { headers: { 'accept-post': 'application/json' } },
        );
      }
      const text = await c.req.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new ProblemError('malformed-json', `the body is not valid JSON: ${(error as Error).message}`);
      }
      const job = await jobs.submit(body);
      return c.json(job, 202, { location: job.links.self });
    },
  );

  app.get('/jobs/:id', async (c) => c.json(await jobs.get(c.req.param('id'))));

  return app;
}
