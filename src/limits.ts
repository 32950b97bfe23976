/**
 * @module limits
 * Limits that hold across API replicas, kept in Redis: job submissions and reads per client
 * per minute, and concurrent event streams per client. A client is a key's owner, or an
 * address (see `auth/middleware` and `client-address`).
 */
import { randomBytes } from 'node:crypto';
import { bindScript } from './jobs/script-runner.js';
import { Admission, admitScript } from './limits/scripts/admit.js';
import { claimSlotScript, SlotClaim } from './limits/scripts/claim-slot.js';
import { ProblemError } from './problems.js';
import type { RedisClient } from './redis.js';
import type { Principal } from './server-types.js';

/**
 * Whom a limit counts against. Its id is read only when a limit applies: an open caller's id
 * is its address, a system call to find.
 */
type Counted = Pick<Principal, 'clientId'>;

/** What a limiter counts: submitted jobs, or reads (a job, its log, a page of the list). */
export type RateKind = 'jobs' | 'reads';

/** What a limiter that is off answers: nothing to wait for. */
const UNLIMITED: Promise<void> = Promise.resolve();

/** Fixed one-minute windows: simple, shared by all replicas, at most 2× the rate at a boundary. */
export class RateLimiter {
  readonly #admit;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly perMinute: number,
    private readonly kind: RateKind = 'jobs',
  ) {
    this.#admit = bindScript(redis, admitScript);
  }

  /** Whether it limits anything (0 per minute: no). */
  get limits(): boolean {
    return this.perMinute > 0;
  }

  /**
   * Counts `jobs` submissions (or reads); throws a 429 problem with Retry-After when they would
   * go past the limit, and then counts none of them (a batch is admitted whole or not at all),
   * and a 422 for more jobs than the limit allows in any minute. 0 = no limit.
   */
  hit(caller: Counted, jobs = 1): Promise<void> {
    // No limit: one settled promise for every request, without an async frame (a promise and
    // a turn less per request; see routes/body).
    if (this.perMinute <= 0) return UNLIMITED;
    return this.#hit(caller, jobs);
  }

  async #hit(caller: Counted, jobs: number): Promise<void> {
    if (jobs > this.perMinute) {
      // Waiting would never help: say so rather than send a Retry-After.
      throw new ProblemError(
        'validation-failed',
        `this request has ${jobs} jobs; at most ${this.perMinute} can be submitted per minute: send smaller batches`,
        {
          extensions: {
            limit: this.perMinute,
            // As every validation-failed problem: its field errors, and how many there are.
            errors: [{ path: 'jobs', message: `at most ${this.perMinute} jobs` }],
            totalErrors: 1,
          },
        },
      );
    }
    const now = Date.now();
    const window = Math.floor(now / 60_000);
    const key = `${this.prefix}:${this.kind === 'jobs' ? 'rate' : 'reads'}:${caller.clientId}:${window}`;
    const admitted = await this.#admit({ window: key, count: jobs, limit: this.perMinute });
    if (admitted === Admission.REFUSED) {
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000));
      const batch = jobs > 1 ? ` (this request has ${jobs})` : '';
      throw new ProblemError(
        'too-many-requests',
        `at most ${this.perMinute} ${this.kind} per minute${batch}; retry in ${retryAfter} s`,
        {
          headers: { 'retry-after': String(retryAfter) },
          extensions: { limit: this.perMinute, retryAfterSeconds: retryAfter },
        },
      );
    }
  }
}

/** The release of a slot that was never claimed (no limit): one function for every stream. */
const NO_SLOT = (): void => {};

/**
 * Stream slots per client, claimed in Redis (`limits/scripts/claim-slot`) so the limit holds
 * across replicas; each replica renews the slots it holds.
 */
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
  readonly #claim;

  constructor(redis: RedisClient, prefix: string, max: number, leaseMs = 30_000) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#max = max;
    this.#leaseMs = leaseMs;
    this.#claim = bindScript(redis, claimSlotScript);
  }

  get held(): number {
    return this.#held.size;
  }

  /**
   * Takes a stream slot for the caller, or throws a 429 problem. Returns its release. 0 = no
   * limit, and then the caller's id is not even read (for an address, that is a system call).
   */
  async acquire(caller: Counted): Promise<() => void> {
    if (this.#max <= 0) return NO_SLOT;
    const key = `${this.#prefix}:streams:${caller.clientId}`;
    const member = `${this.#replica}:${++this.#counter}`;
    const now = Date.now();
    const claimed = await this.#claim({
      slots: key,
      now,
      max: this.#max,
      expiresAt: now + this.#leaseMs,
      member,
      keepMs: this.#leaseMs * 2,
    });
    if (claimed !== SlotClaim.CLAIMED) {
      throw new ProblemError('too-many-streams', `at most ${this.#max} open streams per client; close one first`, {
        headers: { 'retry-after': '5' },
        extensions: { limit: this.#max },
      });
    }
    this.#held.set(member, key);
    this.#startRenewing();
    return this.#releaser(key, member);
  }

  /**
   * Built outside `acquire`: a closure there gives the whole call a context (even on the
   * no-limit path, which returns early), and every open stream kept one (a heap snapshot of
   * 4,000 idle streams: ~0.1 KB each).
   */
  #releaser(key: string, member: string): () => void {
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
