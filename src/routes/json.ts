/**
 * @module routes/json
 * JSON responses built with plain headers. `c.json(data, status, { location })` makes hono
 * build an undici `Headers` (more than one header) that @hono/node-server then converts back
 * for Node; a Response with a plain header object is written to Node as it is.
 *
 * The answer's request id and security headers (see `app`) go into that same object: set on
 * the Node response instead, each costs a validated `setHeader`, and Node's `writeHead` then
 * merges the two sets header by header (~10 µs of a `POST /jobs`). The constant part (content
 * type and security headers) is one object built once per app (`jsonHeaders`), copied with a
 * spread: cheaper than adding its entries one by one to every answer's object.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../server-types.js';

export function jsonResponse(
  c: Context<AppEnv>,
  data: unknown,
  status = 200,
  headers?: Record<string, string>,
): Response {
  // The route's own headers win.
  const plain = { ...c.get('jsonHeaders'), 'x-request-id': c.get('requestId'), ...headers };
  const response = new Response(JSON.stringify(data), { status, headers: plain });
  c.set('jsonAnswer', response);
  return response;
}

/**
 * Whether the request's answer (`c.res`) was built by {@link jsonResponse} with every answer
 * header in it. A middleware that rebuilt the route's Response (hono's `c.res = …` copies its
 * headers) gets false: adding the headers again then is harmless. (A context variable, not a
 * WeakSet of responses: every entry of a WeakSet is an ephemeron the garbage collector has to
 * trace apart.)
 */
export const hasAnswerHeaders = (c: Context<AppEnv>): boolean => c.get('jsonAnswer') === c.res;
