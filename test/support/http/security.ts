/**
 * Helpers for the security tests: API keys and their headers, a plain HTTP call that allows any
 * method and never follows anything, stream tokens made the way the server makes them (to
 * forge, expire or re-sign them), a keyed harness, and a guard against the rate limiter's minute boundary.
 */
import { request } from 'node:http';
import { ownerId } from '../../../src/auth/api-keys.js';
import { StreamTokens } from '../../../src/auth/stream-tokens.js';
import { type Harness, startHarness } from '../harness/harness.js';
import { sleep, submitJob } from './api.js';

export const KEY_A = 'key-a-1234567890';
export const KEY_B = 'key-b-0987654321';
export const KEYS = `${KEY_A},${KEY_B}`;
/** Signs the stream tokens of the servers the tests start, so tests can make their own. */
export const TOKEN_SECRET = 'test-stream-token-secret-0123456789abcdef';

/** The env of a keyed service: {@link KEYS} required, stream tokens signed with {@link TOKEN_SECRET}. */
export const KEYED_ENV: Readonly<Record<string, string>> = { API_KEYS: KEYS, STREAM_TOKEN_SECRET: TOKEN_SECRET };

/**
 * A harness for a keyed service ({@link KEYED_ENV}), with `env` on top.
 *
 * @example
 * h = await startKeyedHarness({ MAX_BODY_BYTES: '4096' });
 */
export function startKeyedHarness(
  env: Record<string, string> = {},
  options: { worker?: boolean } = {},
): Promise<Harness> {
  return startHarness({ ...options, env: { ...KEYED_ENV, ...env } });
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: Record<string, unknown> | undefined;
}

/**
 * Any method, any path (sent as is: no normalisation), any headers, from any local address; the
 * body is sent as JSON unless it is a string. Reads at most `timeoutMs` of the body (an event stream that stays
 * open is cut there). One connection per request (`Connection: close`): a pooled keep-alive
 * socket can be closed by the server's keep-alive timeout just as the client reuses it, and
 * that race — client and server share one event loop here — is not what these tests are about.
 *
 * @example
 * const res = await send(url, 'GET', '/jobs', { headers: bearer(KEY_A) });
 */
export function send(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number; localAddress?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const { hostname, port } = new URL(base);
  return new Promise<Reply>((resolve, reject) => {
    const req = request({
      host: hostname,
      port,
      method,
      path: path || '/',
      headers,
      agent: false,
      // Another loopback address (127.0.0.2…) is another client, as far as the server can tell.
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    let finish: (() => void) | undefined;
    const timeoutMs = options.timeoutMs ?? 5_000;
    // A stream still open at the deadline: keep the status, headers and what came so far.
    const timer = setTimeout(() => {
      req.destroy();
      if (finish) finish();
      else reject(new Error(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      finish = () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | undefined;
        try {
          json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
        } catch {
          json = undefined;
        }
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : [value ?? '']) responseHeaders.append(name, v);
        }
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, text, json });
      };
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', finish);
    });
    req.end(body);
  });
}

/** POSTs a `simulate` job with `key` ({@link submitJob}, 202 expected) and returns its resource. */
export async function submitAs(
  base: string,
  key: string,
  data: Record<string, unknown> = { steps: 1, stepMs: 0 },
): Promise<
  { id: string; links: { self: string; events: string; cancel: string; logs: string } } & Record<string, unknown>
> {
  return (await submitJob(base, { data }, bearer(key))) as never;
}

/** Stream tokens as a server with {@link TOKEN_SECRET} (or `secret`) issues them. */
export function tokensFor(secret = TOKEN_SECRET, ttlSeconds = 900): StreamTokens {
  return new StreamTokens(secret, ttlSeconds);
}

/** A token for `key`'s `jobs`, issued as if at `issuedAt` (so it may already have expired). */
export function tokenAs(key: string, jobs: string[], options: { issuedAt?: number; secret?: string } = {}): string {
  return tokensFor(options.secret).issue(ownerId(key), jobs, options.issuedAt ?? Date.now()).token;
}

/** `token` with one character of its signature changed. */
export function flipSignature(token: string): string {
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -2)}${last}${token.slice(-1)}`;
}

/** The `token` query parameter of a link. */
export const tokenOf = (link: string): string => {
  const token = new URL(link, 'http://x').searchParams.get('token');
  if (!token) throw new Error(`no token in ${link}`);
  return token;
};

/** The rate limiter counts in fixed one-minute windows: waits if fewer than `marginMs` remain in this one. */
export async function awayFromMinuteBoundary(marginMs = 8_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await sleep(left + 50);
}

/** The minute window the rate limiter is counting in right now. */
export const minuteWindow = (): number => Math.floor(Date.now() / 60_000);

/** A problem body with the job id replaced, for comparing two 404s. */
export function withoutId(body: Record<string, unknown> | undefined, id: string): unknown {
  return JSON.parse(JSON.stringify(body ?? {}).replaceAll(id, '<id>'));
}
