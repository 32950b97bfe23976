/**
 * @module app-errors
 * Every error a request can end in, turned into a response in one place: a `ProblemError` as
 * itself, a Redis fault as a 503 in our words, anything else as a generic 500 whose cause is
 * logged, never returned; and a client that left as nothing at all.
 */
import type { Context } from 'hono';
import type { Logger } from './log.js';
import { PROBLEM_CONTENT_TYPE, ProblemError } from './problems.js';
import { PUBLIC_REASONS, type RedisFaultLog, redisFault } from './redis-faults.js';
import { ClientAbortedError } from './routes/body.js';
import type { RouteMethods } from './routes/methods.js';
import type { AppEnv } from './server-types.js';

/** The access log's status for a request whose client left before it could be answered (nginx's). */
const CLIENT_CLOSED_REQUEST = 499;

/** hono's `onError` handler for the app. */
export function errorHandler(deps: { log: Logger; faults?: RedisFaultLog | undefined }) {
  return (error: Error, c: Context<AppEnv>): Response => {
    if (error instanceof ClientAbortedError) {
      // Nobody is left to answer: not our error, and not worth a stack.
      deps.log.debug('client closed the request', { requestId: c.get('requestId'), path: c.req.path });
      return c.body(null, CLIENT_CLOSED_REQUEST as 400);
    }
    if (error instanceof ProblemError) {
      if (error.status >= 500 && !(error.cause && deps.faults?.report(error.cause)))
        deps.log.warn(error.message, { requestId: c.get('requestId'), path: c.req.path, cause: error.cause });
      // Every 503 says when to come back.
      const retry: Record<string, string> =
        error.status === 503 && !('retry-after' in error.headers) ? { 'retry-after': '1' } : {};
      return problemResponse(c, error, retry);
    }
    // Any Redis failure — unreachable, frozen, full, read-only, loading… — is a 503 the client
    // may retry, in our words: Redis's own text never reaches a client. The operator gets one
    // line of advice per outage (the fault log), not a warning per request.
    const fault = deps.faults ? deps.faults.classify(error) : redisFault(error);
    if (fault) {
      if (!deps.faults?.report(error)) deps.log.warn('redis fault', { requestId: c.get('requestId'), fault });
      deps.log.debug('redis fault', { requestId: c.get('requestId'), path: c.req.path, fault });
      return problemResponse(
        c,
        new ProblemError('unavailable', `${PUBLIC_REASONS[fault]}; retry shortly`, {
          headers: { 'retry-after': '1' },
        }),
      );
    }
    deps.log.error('unhandled error', { requestId: c.get('requestId'), method: c.req.method, path: c.req.path, error });
    return problemResponse(c, new ProblemError('internal-error', 'something went wrong on our side'));
  };
}

/** 405, naming the methods that path answers. */
export const methodNotAllowed = (method: string, allowed: string[]) =>
  new ProblemError('method-not-allowed', `${method} is not allowed here; use ${allowed.join(' or ')}`, {
    headers: { allow: allowed.join(', ') },
  });

/** A request no route answered: 405 where the path answers other methods, else 404. */
export function unmatched(methods: RouteMethods, method: string, path: string): ProblemError {
  const allowed = methods.allowed(path);
  // A route that answers this method but found nothing is a plain 404.
  if (allowed.length > 0 && !allowed.includes(method)) return methodNotAllowed(method, allowed);
  return new ProblemError('not-found', `nothing at ${method} ${path}`);
}

/** A problem response that keeps the headers middleware set (request id, CORS). */
export function problemResponse(
  c: Context<AppEnv>,
  error: ProblemError,
  headers: Record<string, string> = {},
): Response {
  return c.newResponse(JSON.stringify(error.body(c.req.path)), error.status as 400, {
    ...error.headers,
    ...headers,
    'content-type': PROBLEM_CONTENT_TYPE,
  });
}
