/**
 * @module app
 * `createApp(deps)`: middleware and routes, no `listen()`, so tests can drive it in-process
 * with `app.request()` and the server can wrap it in any Node HTTP server.
 */
import { Hono } from 'hono';
import type { ConnectionSet } from './events/connection.js';
import type { EventHub } from './events/hub.js';
import type { JobService } from './jobs/service.js';
import type { JobStore } from './jobs/store.js';
import type { Logger } from './log.js';
import { PROBLEM_CONTENT_TYPE, ProblemError } from './problems.js';
import { docsRoutes } from './routes/docs.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import type { ServerBindings } from './server-types.js';

export interface AppDeps {
  jobs: JobService;
  store: JobStore;
  hub: EventHub;
  connections: ConnectionSet;
  log: Logger;
  maxBodyBytes: number;
  /** Resolves when Redis answers; used by /readyz. */
  ping: () => Promise<unknown>;
}

export function createApp(deps: AppDeps): Hono<{ Bindings: ServerBindings }> {
  const app = new Hono<{ Bindings: ServerBindings }>();

  app.route('/', jobRoutes(deps.jobs, deps.maxBodyBytes));
  app.route('/', eventRoutes(deps));
  app.route('/', docsRoutes());
  app.route('/', healthRoutes(deps.ping));

  app.notFound((c) =>
    problemResponse(new ProblemError('not-found', `nothing at ${c.req.method} ${c.req.path}`), c.req.path),
  );

  app.onError((error, c) => {
    if (error instanceof ProblemError) {
      if (error.status >= 500) deps.log.warn(error.message, { path: c.req.path, cause: error.cause });
      return problemResponse(error, c.req.path);
    }
    deps.log.error('unhandled error', { method: c.req.method, path: c.req.path, error });
    return problemResponse(new ProblemError('internal-error', 'something went wrong on our side'), c.req.path);
  });

  return app;
}

function problemResponse(error: ProblemError, instance: string): Response {
  return new Response(JSON.stringify(error.body(instance)), {
    status: error.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...error.headers },
  });
}
