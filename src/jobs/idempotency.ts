/**
 * @module jobs/idempotency
 * Idempotency-Key (the IETF draft): the same key and body return the first request's jobs, the
 * same key with another body is refused. A key is claimed as pending before the jobs are
 * written, committed once they exist, released when the request fails, and replayed for the
 * requests that follow. Keys are per owner: two clients can never collide on, or probe, each
 * other's keys.
 *
 * Stored as `<prefix>:idem:<sha256(owner \n key)>` = `<fingerprint>:<id,id…>[:pending]`.
 */
import { createHash } from 'node:crypto';
import { ProblemError } from '../problems.js';
import type { RedisClient } from '../redis.js';
import { bindScript } from './script-runner.js';
import { releaseClaimScript } from './scripts/release-claim.js';
import type { JobRecord, JobStore } from './store.js';

/** How long a claimed Idempotency-Key waits for its request to commit (or fail) before it lapses. */
const PENDING_CLAIM_SECONDS = 60;

/** How often, and how far apart (ms), a replay looks again at a request still in flight. */
const IN_FLIGHT_CHECKS = 50;
const IN_FLIGHT_CHECK_MS = 40;

/** A key this request holds as pending: commit it once the jobs exist, release it if they never will. */
export interface IdempotencyClaim {
  /** The key now names the jobs for the key's full lifetime. */
  commit(): Promise<void>;
  /** Frees the key: a retry of the request starts afresh. */
  release(): Promise<unknown>;
}

/** What a claim found: the key is this request's now, or an earlier request's jobs are the answer. */
export type ClaimResult = { claim: IdempotencyClaim; replay?: undefined } | { replay: JobRecord[] };

export interface IdempotencyOptions {
  prefix: string;
  /** IDEMPOTENCY_KEY_TTL_SECONDS: how long a committed key is remembered. */
  ttlSeconds: number;
}

/** The Idempotency-Keys of every owner (see the module comment). */
export class IdempotencyKeys {
  readonly #release;

  constructor(
    readonly redis: RedisClient,
    readonly store: JobStore,
    readonly options: IdempotencyOptions,
  ) {
    this.#release = bindScript(redis, releaseClaimScript);
  }

  /**
   * Claims `key` of `owner` for the jobs `ids` that `body` is about to create, or returns the
   * jobs an earlier request with this key and body created. `kind` keeps the fingerprints of a
   * batch and of a single job apart. Throws a problem for a key used with another body, one
   * whose jobs are gone, or one whose request is still in flight for too long.
   */
  async claim(
    { owner, key, body, kind }: { owner: string | undefined; key: string; body: unknown; kind: 'job' | 'batch' },
    ids: string[],
  ): Promise<ClaimResult> {
    const fingerprint = sha256(kind === 'job' ? canonicalJson(body) : `batch\n${canonicalJson(body)}`);
    const idemKey = `${this.options.prefix}:idem:${sha256(`${owner ?? ''}\n${key}`)}`;
    const committed = `${fingerprint}:${ids.join(',')}`;
    const pending = `${committed}:pending`;
    const release = () => this.#release({ key: idemKey, value: pending });
    for (;;) {
      // Claimed as pending, for a short while: a request that dies before it commits or
      // releases the claim (a Redis blip at the wrong moment) cannot hold the key for long.
      // Committed, with the key's full lifetime, once the jobs exist (see #replay).
      let claimed: string | null;
      try {
        claimed = await this.redis.set(
          idemKey,
          pending,
          'EX',
          Math.min(PENDING_CLAIM_SECONDS, this.options.ttlSeconds),
          'NX',
        );
      } catch (error) {
        // A claim that timed out on a frozen Redis still runs once it thaws, after the client
        // was told 503 and to retry in a second: the release follows it on the same
        // connection, so that retry finds the key free rather than held for a minute.
        release().catch(() => {});
        throw error;
      }
      if (claimed === 'OK') break;
      const replay = await this.#replay(idemKey, fingerprint, owner);
      if (replay) return { replay };
      // The first request failed and released the key (or the key's lifetime ended just
      // now): this request starts afresh.
    }
    return {
      claim: {
        commit: async () => {
          await this.redis.set(idemKey, committed, 'EX', this.options.ttlSeconds, 'XX');
        },
        release,
      },
    };
  }

  /**
   * The records of the jobs an earlier request with this idempotency key created that are
   * still kept; undefined when there is no such request any more (it failed and released the
   * key, or the key expired). A request still in flight is waited for briefly. A key outlives
   * its jobs when retention is shorter than the key's lifetime: it is then refused, never
   * used again, so a late retry cannot create the work a second time.
   */
  async #replay(idemKey: string, fingerprint: string, owner: string | undefined): Promise<JobRecord[] | undefined> {
    for (let attempt = 0; attempt < IN_FLIGHT_CHECKS; attempt++) {
      const stored = await this.redis.get(idemKey);
      if (!stored) return undefined;
      const [storedFingerprint, ids, pending] = stored.split(':') as [string, string, string | undefined];
      if (storedFingerprint !== fingerprint) {
        throw new ProblemError(
          'idempotency-key-reused',
          'this Idempotency-Key was already used with a different request body',
        );
      }
      if (!pending) {
        const found = await Promise.all(ids.split(',').map((id) => this.store.get(id)));
        const records = found.filter((r): r is JobRecord => r !== undefined && r.owner === owner);
        // The jobs still kept: a batch whose first jobs outlived their retention is replayed
        // without them rather than submitted again beside the ones still there.
        if (records.length > 0) return records;
        const expiresIn = await this.redis.ttl(idemKey);
        throw new ProblemError(
          'idempotency-key-jobs-gone',
          `the ${ids.includes(',') ? 'jobs' : 'job'} this Idempotency-Key created finished and ${ids.includes(',') ? 'are' : 'is'} no longer kept (JOB_RETENTION_SECONDS); the key stays used${expiresIn > 0 ? ` for ${expiresIn} s more` : ''}: send new work with a new key`,
          { extensions: { jobIds: ids.split(',') } },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_CHECK_MS));
    }
    throw new ProblemError(
      'idempotency-key-in-progress',
      'a request with this Idempotency-Key is still being processed',
      {
        headers: { 'retry-after': '1' },
      },
    );
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** JSON with object keys sorted, so the same body in another key order has one fingerprint. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
