/**
 * @module routes/events
 * The Server-Sent Events endpoints: `GET /jobs/{id}/events` for one job, and
 * `GET /events?jobs=a,b,c` for many jobs on one connection (browsers allow about six
 * HTTP/1.1 connections per origin).
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { type Context, Hono } from 'hono';
import type { SessionDeps } from '../events/session.js';
import { parseCursors, WatchSession } from '../events/session.js';
import { JobId } from '../jobs/schemas.js';
import { jobNotFound } from '../jobs/service.js';
import { ProblemError } from '../problems.js';
import type { ServerBindings } from '../server-types.js';

/** Jobs one multiplexed stream may watch. */
export const MAX_JOBS_PER_STREAM = 100;

export function eventRoutes(deps: SessionDeps): Hono<{ Bindings: ServerBindings }> {
  const app = new Hono<{ Bindings: ServerBindings }>();

  app.get('/jobs/:id/events', (c) => {
    const id = c.req.param('id');
    if (!JobId.safeParse(id).success) throw jobNotFound(id);
    return stream(c, deps, [id]);
  });

  app.get('/events', (c) => {
    const raw = c.req.queries('jobs') ?? [];
    const ids = [
      ...new Set(
        raw
          .flatMap((v) => v.split(','))
          .map((v) => v.trim())
          .filter(Boolean),
      ),
    ];
    if (ids.length === 0) throw new ProblemError('bad-request', 'name the jobs to watch: /events?jobs=<id>,<id>,…');
    if (ids.length > MAX_JOBS_PER_STREAM) {
      throw new ProblemError('bad-request', `at most ${MAX_JOBS_PER_STREAM} jobs per stream; got ${ids.length}`);
    }
    const invalid = ids.find((id) => !JobId.safeParse(id).success);
    if (invalid) throw jobNotFound(invalid);
    return stream(c, deps, ids);
  });

  return app;
}

async function stream(
  c: Context<{ Bindings: ServerBindings }>,
  deps: SessionDeps,
  jobIds: string[],
): Promise<Response> {
  const outgoing = c.env?.outgoing;
  if (!outgoing) throw new ProblemError('bad-request', 'event streams need a real HTTP server');
  // EventSource sends the header on reconnect; a first connection can only use the query.
  const lastEventId = c.req.header('last-event-id') ?? c.req.query('lastEventId');
  const session = new WatchSession(deps, jobIds, parseCursors(lastEventId, jobIds.length));
  // Headers set by earlier middleware (request id, CORS) go out with the stream.
  const headers: Record<string, string> = {};
  c.newResponse(null).headers.forEach((value, key) => {
    headers[key] = value;
  });
  let outcome: Awaited<ReturnType<WatchSession['open']>>;
  try {
    outcome = await session.open(outgoing, headers);
  } catch (error) {
    throw new ProblemError('unavailable', 'the event store is unreachable; retry shortly', { cause: error });
  }
  switch (outcome.kind) {
    case 'streaming':
      return RESPONSE_ALREADY_SENT;
    case 'finished':
      return c.body(null, 204);
    case 'not-found':
      throw jobNotFound(outcome.jobIds.join(','));
  }
}
