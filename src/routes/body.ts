/**
 * @module routes/body
 * The one way a route reads a request body: JSON only, uncompressed (415 otherwise), at most
 * `MAX_BODY_BYTES` (413, counted as the bytes arrive, so a body without a length cannot slip
 * past), parsed (400 when malformed). Routes call it after authentication (middleware runs
 * first), so nobody without credentials makes the service hold a byte of their body. A
 * client that goes away mid-body is a {@link ClientAbortedError}, not a server error.
 *
 * It reads Node's request stream directly when there is one: going through the fetch
 * `Request` (what `c.req.text()` does on @hono/node-server) builds an undici Request, its
 * Headers and an AbortSignal per request, which was a large share of POST /jobs's CPU cost
 * (docs/performance.md).
 */
import type { Readable } from 'node:stream';
import type { Context, MiddlewareHandler } from 'hono';
import { parseJsonText } from '../json-text.js';
import { ProblemError } from '../problems.js';
import type { AppEnv } from '../server-types.js';

/** `application/json`, or any `application/<x>+json`, with or without parameters. */
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
/** A `charset` parameter: JSON is UTF-8 (RFC 8259 §8.1), so any other is refused, not misread. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/** The client closed the connection before its body arrived: nobody is left to answer. */
export class ClientAbortedError extends Error {
  constructor() {
    super('the client closed the connection before sending its whole body');
    this.name = 'ClientAbortedError';
  }
}

/**
 * The request's JSON body. `what` names it in the problems (`send the job as
 * application/json`).
 *
 * @example
 * const body = await readJsonBody(c, maxBodyBytes, 'the job');
 */
export async function readJsonBody(c: Context<AppEnv>, maxBytes: number, what: string): Promise<unknown> {
  const contentType = c.req.header('content-type') ?? '';
  if (!JSON_TYPE.test(contentType)) {
    throw new ProblemError(
      'unsupported-media-type',
      `send ${what} as application/json${contentType ? `, not ${contentType}` : ''}`,
      { headers: { 'accept-post': 'application/json' } },
    );
  }
  const charset = CHARSET.exec(contentType)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ProblemError('unsupported-media-type', `send ${what} as UTF-8 JSON, not charset=${charset}`, {
      headers: { 'accept-post': 'application/json' },
    });
  }
  // A compressed body would be read as JSON text and fail as malformed, its bytes in the detail.
  // RFC 9110 §15.5.16: an unsupported content coding is a 415, and Accept-Encoding names what is.
  const encoding = c.req.header('content-encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new ProblemError(
      'unsupported-media-type',
      `send ${what} uncompressed, not with Content-Encoding: ${encoding}`,
      {
        headers: { 'accept-encoding': 'identity' },
      },
    );
  }
  const text = await readBodyText(c, maxBytes);
  try {
    return parseJsonText(text);
  } catch (error) {
    throw new ProblemError('malformed-json', `the body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Refuses at once, from its headers alone, a request that announces a body larger than
 * `maxBytes`, whatever the route: nothing of it is read (the server drains and drops the rest).
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  // Not async: a middleware that only passes on returns next()'s promise as it is (an async one
  // wraps it in one more, two more microtask turns per request). A throw here is caught by
  // hono's compose as a rejection would be.
  return (c, next) => {
    if (announcesTooLarge(declaredLength(c), maxBytes)) throw tooLarge(maxBytes);
    return next();
  };
}

const tooLarge = (maxBytes: number) =>
  new ProblemError('payload-too-large', `the request body is larger than ${maxBytes} bytes`);

/**
 * Whether a `Content-Length` announces more than `maxBytes` (none, or not a number: no). The one
 * rule for refusing a body from its headers: here, and before `Expect: 100-continue` is answered
 * (`api/listen`), which must agree.
 */
export function announcesTooLarge(contentLength: string | undefined, maxBytes: number): boolean {
  return Number(contentLength) > maxBytes;
}

function declaredLength(c: Context<AppEnv>): string | undefined {
  // Node's own parse when there is one: asking the fetch Request's headers for content-length
  // copies every raw header, and an event stream's request would keep the copy while it lasts.
  const incoming = c.env?.incoming;
  return incoming ? incoming.headers['content-length'] : c.req.header('content-length');
}

/** Not async: from Node's stream it hands on `readLimited`'s promise as it is (see bodyLimit). */
function readBodyText(c: Context<AppEnv>, maxBytes: number): Promise<string> {
  if (announcesTooLarge(declaredLength(c), maxBytes)) return Promise.reject(tooLarge(maxBytes));
  const incoming = c.env?.incoming;
  if (!incoming) return readRequestText(c, maxBytes);
  return readLimited(incoming, maxBytes);
}

/** In-process (app.request): a plain fetch Request. */
async function readRequestText(c: Context<AppEnv>, maxBytes: number): Promise<string> {
  const text = await c.req.text();
  if (Buffer.byteLength(text) > maxBytes) throw tooLarge(maxBytes);
  return text;
}

/**
 * Collects a Node stream's bytes with listeners, which is cheaper than `for await`. The
 * callbacks are inline and never removed (they end with the request): named closures made
 * per request cost a property definition each under tsx's keep-names transform.
 */
function readLimited(incoming: Readable, maxBytes: number): Promise<string> {
  // Gone before the route got here (during authentication): its 'close' has been and gone.
  if (incoming.destroyed || incoming.readableAborted) return Promise.reject(new ClientAbortedError());
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
      reject(tooLarge(maxBytes));
    });
    incoming.on('end', () => {
      if (!settled) resolve(Buffer.concat(chunks, size).toString('utf8'));
      settled = true;
    });
    // A client that goes away mid-body: 'error' (ECONNRESET "aborted") on HTTP/1, 'aborted'
    // then 'close' on HTTP/2. Either way the body never comes.
    const aborted = () => {
      if (!settled) reject(new ClientAbortedError());
      settled = true;
    };
    incoming.on('error', aborted);
    incoming.on('aborted', aborted);
    incoming.on('close', aborted);
  });
}
