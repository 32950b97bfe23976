/**
 * @module routes/body
 * Reads a request body as text, refusing more than a limit with a 413 problem.
 *
 * It reads Node's request stream directly when there is one: going through the fetch
 * `Request` (what `c.req.text()` does on @hono/node-server) builds an undici Request, its
 * Headers and an AbortSignal per request, which was a large share of POST /jobs's CPU cost
 * (docs/performance.md).
 */
import type { Readable } from 'node:stream';
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
  return readLimited(incoming, maxBytes, tooLarge);
}

/**
 * Collects a Node stream's bytes with listeners, which is cheaper than `for await`. The
 * callbacks are inline and never removed (they end with the request): named closures made
 * per request cost a property definition each under tsx's keep-names transform.
 */
function readLimited(incoming: Readable, maxBytes: number, tooLarge: () => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    incoming.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      // Chunked bodies have no length to check up front: count as they arrive.
      if (size <= maxBytes) return void chunks.push(chunk);
      settled = true;
      // The rest is left unread; @hono/node-server drains it (bounded) once the answer is sent.
      incoming.pause();
      reject(tooLarge());
    });
    incoming.on('end', () => {
      if (!settled) resolve(Buffer.concat(chunks, size).toString('utf8'));
      settled = true;
    });
    incoming.on('error', (error) => {
      if (!settled) reject(error);
      settled = true;
    });
  });
}
