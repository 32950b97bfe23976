/**
 * @module limits
 * Limits that hold across API replicas, kept in RedisClient: job submissions per client per minute,
 * and concurrent event streams per client.
 */
import { randomBytes } from 'node:crypto';
import { ProblemError } from './problems.js';
import type { RedisClient } from './redis.js';

/** Fixed one-minute windows: simple, shared by all replicas, at most 2× the rate at a boundary. */
export class RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly perMinute: number,
  ) {}

  /** Counts one request; throws a 429 problem with Retry-After past the limit. 0 = no limit. */
  async hit(clientId: string): Promise<void> {
    if (this.perMinute <= 0) return;
    const now = Date.now();
    const window = Math.floor(now / 60_000);
    const key = `${this.prefix}:rate:${clientId}:${window}`;
    const [[, count]] = (await this.redis.multi().incr(key).expire(key, 61).exec()) as [[Error | null, number]];
    if (count > this.perMinute) {
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000));
      throw new ProblemError(
        'too-many-requests',
        `at most ${this.perMinute} jobs per minute; retry in ${retryAfter} s`,
        {
          headers: { 'retry-after': String(retryAfter) },
          extensions: { limit: this.perMinute, retryAfterSeconds: retryAfter },
        },
      );
    }
  }
}

/**
 * Claim: drop expired slots, refuse when full, else add ours. A slot is a sorted-set member
 * whose score is its expiry; each replica renews its own slots, so a replica that dies frees
 * its slots within one lease.
 */
const claimScript = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

export class StreamSlots {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #max: number;
  readonly #leaseMs: number;
  readonly #replica = randomBytes(6).toString('hex');
  #counter = 0;
  /** Slots held by this process: member → key. */
  readonly #held = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(redis: RedisClient, prefix: string, max: number, leaseMs = 30_000) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#max = max;
    this.#leaseMs = leaseMs;
    redis.defineCommand('jobcastClaimSlot', { numberOfKeys: 1, lua: claimScript });
  }

  get held(): number {
    return this.#held.size;
  }

  /** Takes a stream slot for `clientId`, or throws a 429 problem. Returns its release. 0 = no limit. */
  async acquire(clientId: string): Promise<() => void> {
    if (this.#max <= 0) return () => {};
    const key = `${this.#prefix}:streams:${clientId}`;
    const member = `${this.#replica}:${++this.#counter}`;
    const now = Date.now();
    const claim = (this.#redis as unknown as Record<string, (...a: unknown[]) => Promise<number>>).jobcastClaimSlot;
    const ok = await claim?.call(this.#redis, key, now, this.#max, now + this.#leaseMs, member, this.#leaseMs * 2);
    if (ok !== 1) {
      throw new ProblemError('too-many-streams', `at most ${this.#max} open streams per client; close one first`, {
        headers: { 'retry-after': '5' },
        extensions: { limit: this.#max },
      });
    }
    this.#held.set(member, key);
    this.#startRenewing();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held.delete(member);
      this.#redis.zrem(key, member).catch(() => {});
    };
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #startRenewing(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#held.size === 0) return;
      const expiry = Date.now() + this.#leaseMs;
      // One command per slot rather than a pipeline: on Redis Cluster the keys live on
      // different shards. ioredis still writes them out together.
      for (const [member, key] of this.#held) this.#redis.zadd(key, 'XX', expiry, member).catch(() => {});
    }, this.#leaseMs / 3);
    this.#timer.unref();
  }
}
