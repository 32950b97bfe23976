/**
 * @module webhooks/signing
 * Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme"): HMAC-SHA256
 * over `<webhook-id>.<webhook-timestamp>.<body>` with the bytes of a `whsec_<base64>` secret,
 * sent as `webhook-signature: v1,<base64>`. With two secrets (a rotation), the header carries
 * both signatures, space-separated, so receivers holding either secret accept the delivery.
 */
import { createHmac } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** Standard Webhooks recommends secrets of 24 to 64 random bytes. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

/** Thrown for a secret that is not `whsec_` + base64 of 24–64 bytes. */
export class WebhookSecretError extends Error {
  override name = 'WebhookSecretError';
}

/** The key bytes of a `whsec_…` secret. */
export function secretBytes(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new WebhookSecretError('a webhook secret starts with whsec_');
  const encoded = secret.slice(SECRET_PREFIX.length);
  const bytes = Buffer.from(encoded, 'base64');
  // Buffer.from ignores what is not base64; a round trip catches it.
  if (bytes.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
    throw new WebhookSecretError('a webhook secret is whsec_ followed by base64');
  }
  if (bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) {
    throw new WebhookSecretError(
      `a webhook secret holds ${MIN_SECRET_BYTES}–${MAX_SECRET_BYTES} bytes, not ${bytes.length}`,
    );
  }
  return bytes;
}

/** The headers that make a delivery verifiable. */
export type SignatureHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export class WebhookSigner {
  readonly #keys: Buffer[];

  /** @param secrets `WEBHOOK_SECRET`: one `whsec_…` secret, or two separated by a comma (new first). */
  constructor(secrets: string) {
    this.#keys = secrets
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(secretBytes);
    if (this.#keys.length === 0) throw new WebhookSecretError('no webhook secret given');
  }

  /**
   * The signature headers of one attempt. `timestampSeconds` is the attempt's time: receivers
   * reject old timestamps (replays), so each retry is signed afresh, with the same id.
   *
   * @example
   * signer.headers('3f…e1.done', Math.floor(Date.now() / 1000), body)['webhook-signature'] // 'v1,K5o…='
   */
  headers(id: string, timestampSeconds: number, body: string): SignatureHeaders {
    const signed = `${id}.${timestampSeconds}.${body}`;
    const signature = this.#keys
      .map((key) => `v1,${createHmac('sha256', key).update(signed).digest('base64')}`)
      .join(' ');
    return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': signature };
  }
}
