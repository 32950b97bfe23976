/**
 * @module client/webhooks
 * Verifying jobcast's webhook deliveries in a receiver, per the Standard Webhooks
 * specification: the `webhook-signature` header must hold an HMAC-SHA256 of
 * `<webhook-id>.<webhook-timestamp>.<raw body>` under the shared `whsec_` secret, and the
 * timestamp must be recent (replays of old deliveries are refused). WebCrypto only, so it runs
 * in Node ≥ 20, Deno, Bun, edge runtimes and browsers alike.
 *
 * @example
 * // Any framework: pass the raw body text (not re-serialised JSON) and the request headers.
 * const event = await verifyWebhook(rawBody, request.headers, process.env.JOBCAST_WEBHOOK_SECRET);
 * if (seen.has(event.id)) return new Response(null, { status: 200 }); // at least once: drop repeats
 * if (event.type === 'job.done') console.log(event.data.status, event.data.result);
 */
import type { DoneEvent, LogEvent, ProgressEvent } from './types.js';

/** A verified delivery: its `webhook-id` and its body. */
export type WebhookEvent =
  | { id: string; type: 'job.progress'; timestamp: string; data: ProgressEvent }
  | { id: string; type: 'job.log'; timestamp: string; data: LogEvent }
  | { id: string; type: 'job.done'; timestamp: string; data: DoneEvent };

/** A delivery that does not verify: answer it with a 4xx (jobcast then retries it). */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
}

/** Request headers as fetch (`Headers`) or Node (`IncomingMessage['headers']`) give them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far the timestamp may be from now, either way (Standard Webhooks suggests 5 minutes). */
  toleranceSeconds?: number;
  /** The current time (ms), for tests. */
  now?: number;
}

const SECRET_PREFIX = 'whsec_';
const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Verifies a delivery and returns it parsed; throws {@link WebhookVerificationError} if it
 * does not verify. `secret` is the `WEBHOOK_SECRET` jobcast signs with; during a rotation,
 * pass both (old and new) and either signature will do.
 */
export async function verifyWebhook(
  body: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | readonly string[],
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures)
    throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
  const seconds = Number(timestamp);
  if (!/^\d+$/.test(timestamp) || !Number.isSafeInteger(seconds)) {
    throw new WebhookVerificationError('webhook-timestamp is not a number of seconds');
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - seconds) > tolerance)
    throw new WebhookVerificationError('webhook-timestamp is too old or too new');

  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${text}`);
  const given = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => base64Bytes(s.slice(3)))
    .filter((bytes): bytes is Uint8Array<ArrayBuffer> => bytes !== undefined);
  for (const one of typeof secret === 'string' ? [secret] : secret) {
    const key = await crypto.subtle.importKey('raw', secretBytes(one), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'verify',
    ]);
    for (const signature of given) {
      // subtle.verify compares in constant time.
      if (await crypto.subtle.verify('HMAC', key, signature, signed)) return parse(id, text);
    }
  }
  throw new WebhookVerificationError('no signature matches the secret');
}

function parse(id: string, text: string): WebhookEvent {
  let payload: { type?: unknown; timestamp?: unknown; data?: unknown };
  try {
    payload = JSON.parse(text) as typeof payload;
  } catch {
    throw new WebhookVerificationError('the body is not JSON');
  }
  return { id, ...payload } as WebhookEvent;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  const bytes = base64Bytes(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
  if (!bytes || bytes.length === 0) throw new TypeError('the webhook secret is not whsec_ followed by base64');
  return bytes;
}

function base64Bytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}
