/**
 * @module routes/events
 * The Server-Sent Events endpoints: `GET /jobs/{id}/events` for one job,
 * `GET /events?jobs=a,b,c` for many jobs on one connection (browsers allow about six
 * HTTP/1.1 connections per origin), `GET /events/feed` for every job of an API key, plus
 * `POST /events/tokens`, which issues a stream token for such a list when API keys are on.
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { type Context, Hono } from 'hono';
import { assertTokenCovers } from '../auth/middleware.js';
import { parseCursors } from '../events/cursors.js';
import { FeedSession, type FeedSessionDeps } from '../events/feed-session.js';
import type { OpenOutcome } from '../events/opening.js';
import type { SessionDeps } from '../events/session.js';
import { WatchSession } from '../events/session.js';
import { FEED_ID } from '../jobs/feed.js';
import { FeedQuery, isJobId, MAX_JOBS_PER_STREAM, StreamTokenRequest } from '../jobs/schemas.js';
import { type JobService, jobNotFound, jobsNotFound } from '../jobs/service.js';
import type { StreamSlots } from '../limits.js';
import { ProblemError, validationProblem } from '../problems.js';
import type { RedisFaultLog } from '../redis-faults.js';
import type { AppEnv } from '../server-types.js';
import { encodeComment, encodeRetry, SSE_HEADERS } from '../sse.js';
import { readJsonBody } from './body.js';

export interface EventRouteDeps extends SessionDeps, Omit<FeedSessionDeps, 'connections' | 'log' | 'counters'> {
  jobs: JobService;
  slots: StreamSlots;
  maxBodyBytes: number;
  faults?: RedisFaultLog | undefined;
  /** CORS_ORIGINS: when empty, no middleware sets headers a stream must carry. */
  corsOrigins: readonly string[];
}

export function eventRoutes(deps: EventRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/jobs/:id/events', (c) => {
    const id = c.req.param('id');
    if (!isJobId(id)) throw jobNotFound(id);
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
    const invalid = ids.filter((id) => !isJobId(id));
    if (invalid.length > 0) throw jobsNotFound(invalid);
    const summary = c.req.query('summary');
    if (summary !== undefined && summary !== 'true' && summary !== 'false') {
      throw new ProblemError('bad-request', 'summary must be true or false');
    }
    return stream(c, deps, ids, summary === 'true');
  });

  app.get('/events/feed', async (c) => {
    const principal = c.get('principal');
    const { owner } = principal;
    // Without keys nothing enumerates jobs (ids are capabilities): there is no feed either.
    if (owner === undefined) {
      throw new ProblemError(
        'listing-needs-key',
        'the feed lists the jobs of an API key; without API keys a job is reached by its id alone (set API_KEYS to follow your jobs)',
      );
    }
    const outgoing = c.env?.outgoing;
    if (!outgoing) throw new ProblemError('bad-request', 'event streams need a real HTTP server');
    const { lastEventId: _, ...params } = c.req.query();
    const query = FeedQuery.safeParse(params);
    if (!query.success) throw validationProblem(query.error, 'query', 'bad-request');
    const given = c.req.header('last-event-id') ?? c.req.query('lastEventId');
    // An id that is not one of the feed's means "from now", as for job streams.
    const session = new FeedSession(
      deps,
      owner,
      query.data,
      given && FEED_ID.test(given.trim()) ? given.trim() : undefined,
    );
    try {
      await session.prepare();
    } catch (error) {
      return unavailable(c, deps, error);
    }
    if (c.req.method === 'HEAD') {
      session.release();
      return headOfStream(c, streamHeaders(c, deps));
    }
    let release: () => void;
    try {
      release = await deps.slots.acquire(principal);
    } catch (error) {
      session.release();
      if (error instanceof ProblemError) throw error;
      return unavailable(c, deps, error);
    }
    session.start(outgoing, streamHeaders(c, deps), release);
    deps.counters?.opened(given ? 'resumed' : 'fresh');
    return RESPONSE_ALREADY_SENT;
  });

  app.post('/events/tokens', async (c) => {
    const { via } = c.get('principal');
    if (via === 'token') throw new ProblemError('unauthorized', 'use an API key to get stream tokens');
    // Decided before the body is read: without keys there is nothing to issue, and nobody
    // unauthenticated gets to make the service read a body.
    if (via === 'open') {
      throw new ProblemError('bad-request', 'stream tokens are only needed, and issued, when API keys are configured');
    }
    const body = await readJsonBody(c, deps.maxBodyBytes, '{"jobs": ["<id>", …]}');
    const request = StreamTokenRequest.safeParse(body);
    if (!request.success) throw validationProblem(request.error, '');
    return c.json(await deps.jobs.streamToken(request.data.jobs, c.get('principal').owner), 201);
  });

  return app;
}

/**
 * Headers set by earlier middleware (CORS) go out with a stream, and the request id. Only the
 * CORS middleware sets any: without it, no Response (and its Headers) is built just to find none.
 */
function streamHeaders(c: Context<AppEnv>, deps: EventRouteDeps): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': c.get('requestId') };
  if (deps.corsOrigins.length === 0) return headers;
  c.newResponse(null).headers.forEach((value, key) => {
    headers[key] = value;
  });
  return headers;
}

async function stream(c: Context<AppEnv>, deps: EventRouteDeps, jobIds: string[], summary = false): Promise<Response> {
  const outgoing = c.env?.outgoing;
  if (!outgoing) throw new ProblemError('bad-request', 'event streams need a real HTTP server');
  assertTokenCovers(c, jobIds);
  const principal = c.get('principal');
  // EventSource sends the header on reconnect; a first connection can only use the query.
  const lastEventId = c.req.header('last-event-id') ?? c.req.query('lastEventId');
  const session = new WatchSession(deps, jobIds, parseCursors(lastEventId, jobIds.length), principal.owner, {
    summary,
  });
  const headers = streamHeaders(c, deps);
  // Unknown and finished jobs are answered before a stream slot is taken: a burst of requests
  // for an unknown job is a burst of 404s, never of 429s, and costs no slot.
  let outcome: OpenOutcome;
  try {
    outcome = await session.prepare();
  } catch (error) {
    return unavailable(c, deps, error);
  }
  if (outcome.kind === 'ready' && c.req.method === 'HEAD') {
    session.release();
    return headOfStream(c, headers);
  }
  if (outcome.kind === 'ready') {
    let release: () => void;
    try {
      release = await deps.slots.acquire(principal);
    } catch (error) {
      session.release();
      if (error instanceof ProblemError) throw error;
      return unavailable(c, deps, error);
    }
    session.start(outgoing, headers, release);
  }
  switch (outcome.kind) {
    case 'ready':
      deps.counters?.opened(lastEventId ? 'resumed' : 'fresh');
      return RESPONSE_ALREADY_SENT;
    case 'finished':
      deps.counters?.opened('finished');
      return c.body(null, 204);
    case 'not-found':
      deps.counters?.opened('not_found');
      throw jobsNotFound(outcome.jobIds);
  }
}

/**
 * `HEAD` of a stream that would open: the headers a `GET` gets, and no stream (no slot, nothing
 * watched). Its connection stays usable: a stream written to a HEAD request never ends, and
 * hono's HEAD handling would have answered again on top of it. As an ordinary answer it also
 * carries every answer's security headers, and a 200 where a `GET` might meet the stream limit
 * (429): a HEAD takes no slot, so none is checked.
 */
function headOfStream(c: Context<AppEnv>, headers: Record<string, string>): Response {
  return c.body(null, 200, { ...SSE_HEADERS, ...headers });
}

/**
 * Redis failed while a stream was opening. Any status but 200 stops an EventSource for good
 * (WHATWG HTML §9.2): tell it instead to come back shortly, with its Last-Event-ID, by ending
 * an empty stream. Other clients get a 503 problem.
 */
function unavailable(c: Context<AppEnv>, deps: EventRouteDeps, error: unknown): Response {
  if (error instanceof ProblemError) throw error;
  if (!deps.faults?.report(error)) deps.log.warn('event store unreachable; asking the client to reconnect', { error });
  if (c.req.header('accept')?.includes('text/event-stream')) {
    return c.body(
      `${encodeRetry(deps.connections.limits.retryMs)}${encodeComment('the event store is unreachable; reconnect shortly')}`,
      200,
      SSE_HEADERS,
    );
  }
  throw new ProblemError('unavailable', 'the event store is unreachable; retry shortly', {
    cause: error,
    headers: { 'retry-after': '1' },
  });
}
