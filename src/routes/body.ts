/**
 * @module routes/body
 * Reads a request body as text, refusing more than a limit with a 413 problem.
 *
 * It reads Node's request stream directly when there is one: going through the fetch
 * `Request` (what `c.req.text()` does on @hono/node-server) builds an undici Request, its
 * Headers and an AbortSignal per request, which was a large share of POST /jobs's CPU cost
 * (docs/performance.md).
 */
import type { Context } from 'hono';
import { ProblemError } from '../problems.js';
import type { AppEnv } from '../server-types.js';

export async function readBodyText(c: Context<AppEnv>, maxBytes: number): Promise<string> {
  const tooLarge = () => new ProblemError('payload-too-large', `the request body is larger than ${maxBytes} bytes`);
  const declared = Number(c.req.header('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const incoming = c.env?.incoming;
  if (!incoming) {
    // In-process (app.request): a plain fetch Request.
    const text = await c.req.text();
    if (Buffer.byteLength(text) > maxBytes) throw tooLarge();
    return text;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Chunked bodies have no length to check up front: count as they arrive.
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)).toString('utf8');
}
