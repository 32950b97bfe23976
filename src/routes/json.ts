/**
 * @module routes/json
 * JSON responses built with plain headers. `c.json(data, status, { location })` makes hono
 * build an undici `Headers` (more than one header) that @hono/node-server then converts back
 * for Node; a Response with a plain header object is written to Node as it is.
 *
 * The answer's request id and security headers (see `app`) go into that same object: set on
 * the Node response instead, each costs a validated `setHeader`, and Node's `writeHead` then
 * merges the two sets header by header (~10 µs of a `POST /jobs`).
 */
import type { Context } from 'hono';
import type { AppEnv } from '../server-types.js';

/** The responses built here: they already carry the answer headers (see `app`). */
const complete = new WeakSet<Response>();

export function jsonResponse(
  c: Context<AppEnv>,
  data: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  const plain: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': c.get('requestId') };
  for (const [name, value] of c.get('answerHeaders')) plain[name] = value;
  // The route's own headers win.
  Object.assign(plain, headers);
  const response = new Response(JSON.stringify(data), { status, headers: plain });
  complete.add(response);
  return response;
}

/**
 * Whether `response` was built by {@link jsonResponse} with every answer header in it. A
 * middleware that rebuilt the route's Response (hono's `c.res = …` copies its headers) gets
 * false: adding the headers again then is harmless.
 */
export const hasAnswerHeaders = (response: Response): boolean => complete.has(response);
