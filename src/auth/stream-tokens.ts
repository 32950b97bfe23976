/**
 * @module auth/stream-tokens
 * Short-lived, signed tokens that let a browser's EventSource (which cannot send headers)
 * open event streams of specific jobs, and nothing else.
 *
 * A token is `<payload>.<signature>`, both base64url, the signature the payload's HMAC-SHA256.
 * The payload is binary when the job ids are UUIDs (as jobcast's are): a version byte (1),
 * the expiry (unix seconds, uint32 BE), the owner id's length and UTF-8 bytes, then 16 bytes
 * per job. A token for 100 jobs is then ~2.2 KB instead of ~5.2 KB as JSON, so a batch's
 * stream link (ids and token) stays under the 8 KB request line proxies such as nginx allow
 * by default. Other ids get the JSON payload `{"o": owner, "j": [job ids], "e": expiry}`,
 * which is also read.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  owner: string;
  jobs: string[];
  expiresAt: number;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' };

export class StreamTokens {
  readonly #secret: Buffer;
  readonly ttlSeconds: number;

  constructor(secret: string, ttlSeconds: number) {
    this.#secret = Buffer.from(secret);
    this.ttlSeconds = ttlSeconds;
  }

  issue(owner: string, jobs: string[], now = Date.now()): { token: string; expiresAt: Date } {
    const expires = Math.floor(now / 1000) + this.ttlSeconds;
    const payload = encodeClaims({ owner, jobs, expiresAt: expires });
    return { token: `${payload}.${this.#sign(payload)}`, expiresAt: new Date(expires * 1000) };
  }

  check(token: string, now = Date.now()): TokenCheck {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, reason: 'bad-signature' };
    const claims = decodeClaims(payload);
    if (!claims) return { ok: false, reason: 'malformed' };
    if (claims.expiresAt * 1000 <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#secret).update(payload).digest('base64url');
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BINARY = 1;

/** A token's payload (base64url) for these claims; see the module comment for the formats. */
export function encodeClaims(claims: TokenClaims): string {
  const owner = Buffer.from(claims.owner, 'utf8');
  if (owner.length > 255 || !claims.jobs.every((id) => UUID.test(id))) {
    return Buffer.from(JSON.stringify({ o: claims.owner, j: claims.jobs, e: claims.expiresAt })).toString('base64url');
  }
  const bytes = Buffer.alloc(6 + owner.length + 16 * claims.jobs.length);
  bytes[0] = BINARY;
  bytes.writeUInt32BE(claims.expiresAt, 1);
  bytes[5] = owner.length;
  owner.copy(bytes, 6);
  claims.jobs.forEach((id, i) => {
    bytes.write(id.replaceAll('-', ''), 6 + owner.length + 16 * i, 'hex');
  });
  return bytes.toString('base64url');
}

/** The claims of a payload, or undefined when it is neither format. */
export function decodeClaims(payload: string): TokenClaims | undefined {
  const bytes = Buffer.from(payload, 'base64url');
  if (bytes[0] === BINARY) {
    const ownerEnd = 6 + (bytes[5] ?? 0);
    if (bytes.length < ownerEnd || (bytes.length - ownerEnd) % 16 !== 0) return undefined;
    const jobs: string[] = [];
    for (let at = ownerEnd; at < bytes.length; at += 16) {
      const hex = bytes.toString('hex', at, at + 16);
      jobs.push(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
    }
    return { owner: bytes.toString('utf8', 6, ownerEnd), jobs, expiresAt: bytes.readUInt32BE(1) };
  }
  let claims: { o?: unknown; j?: unknown; e?: unknown };
  try {
    claims = JSON.parse(bytes.toString('utf8')) as typeof claims;
  } catch {
    return undefined;
  }
  const { o, j, e } = claims;
  if (typeof o !== 'string' || !Array.isArray(j) || !j.every((x) => typeof x === 'string') || typeof e !== 'number') {
    return undefined;
  }
  return { owner: o, jobs: j as string[], expiresAt: e };
}
