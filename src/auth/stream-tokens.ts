/**
 * @module auth/stream-tokens
 * Short-lived, signed tokens that let a browser's EventSource (which cannot send headers)
 * open event streams of specific jobs, and nothing else.
 *
 * A token is `<payload>.<signature>`, both base64url: the payload is JSON
 * `{"o": owner, "j": [job ids], "e": expiry (unix seconds)}`, the signature its HMAC-SHA256.
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
    const payload = Buffer.from(JSON.stringify({ o: owner, j: jobs, e: expires })).toString('base64url');
    return { token: `${payload}.${this.#sign(payload)}`, expiresAt: new Date(expires * 1000) };
  }

  check(token: string, now = Date.now()): TokenCheck {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, reason: 'bad-signature' };
    let claims: { o?: unknown; j?: unknown; e?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const { o, j, e } = claims;
    if (typeof o !== 'string' || !Array.isArray(j) || !j.every((x) => typeof x === 'string') || typeof e !== 'number') {
      return { ok: false, reason: 'malformed' };
    }
    if (e * 1000 <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims: { owner: o, jobs: j as string[], expiresAt: e } };
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#secret).update(payload).digest('base64url');
  }
}
