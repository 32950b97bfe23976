/**
 * @module routes/json
 * JSON responses built with plain headers. `c.json(data, status, { location })` makes hono
 * build an undici `Headers` (more than one header) that @hono/node-server then converts back
 * for Node; a Response with a plain header object is written to Node as it is. Middleware
 * headers still apply: hono merges any it set on `c.res` into the route's Response.
 */
export function jsonResponse(data: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(data), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}
