/**
 * @module jobs/service
 * What the REST routes do with jobs, independent of HTTP: validate a submission against the
 * job type's schema, write the record, enqueue; read, list and cancel jobs. Every call is made
 * on behalf of an owner (an API key's owner id, or undefined when the service runs open), and
 * another owner's job is answered exactly like a job that does not exist.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { StreamTokens } from '../auth/stream-tokens.js';
import { ProblemError, validationProblem } from '../problems.js';
import type { RedisClient } from '../redis.js';
import { cancelChannel } from './keys.js';
import { bullJobOptions } from './queue.js';
import { isJobType, jobTypeNames, jobTypes } from './registry.js';
import { JobId, JobOptions, type JobResource, SubmitJobEnvelope } from './schemas.js';
import { type JobRecord, type JobStore, type ListFilter, toResource } from './store.js';

export type Owner = string | undefined;

export interface ServiceOptions {
  prefix: string;
  retentionSeconds: number;
  /** How long an Idempotency-Key is remembered. */
  idempotencySeconds: number;
  /** Set when API keys are on: events links then carry a stream token. */
  streamTokens?: StreamTokens | undefined;
}

export interface Submitted {
  job: JobResource;
  /** True when an Idempotency-Key matched an earlier request and its job is returned. */
  replayed: boolean;
}

export const CANCEL_REASON = 'cancelled by request';

export class JobService {
  constructor(
    readonly store: JobStore,
    readonly queue: Queue,
    /** The connection `store` and `queue` use (for idempotency keys and cancel messages). */
    readonly redis: RedisClient,
    readonly options: ServiceOptions,
  ) {}

  /**
   * Validates and enqueues a job. Nothing is written unless every check passes. With an
   * idempotency key, the same key and body return the first request's job (the IETF
   * Idempotency-Key draft), and the same key with another body is refused.
   */
  async submit(body: unknown, owner: Owner, idempotencyKey?: string): Promise<Submitted> {
    const envelope = SubmitJobEnvelope.safeParse(body);
    if (!envelope.success) throw validationProblem(envelope.error, '');
    const { type } = envelope.data;
    if (!isJobType(type)) {
      throw new ProblemError(
        'unknown-job-type',
        `unknown job type ${JSON.stringify(type)}; known types: ${jobTypeNames.join(', ')}`,
        { extensions: { knownTypes: jobTypeNames } },
      );
    }
    // Absent data means "all defaults"; null is a value, and the schema judges it.
    const data = jobTypes[type].input.safeParse(envelope.data.data === undefined ? {} : envelope.data.data);
    if (!data.success) throw validationProblem(data.error, 'data');
    const options = envelope.data.options ?? JobOptions.parse({});

    const id = randomUUID();
    let idemKey: string | undefined;
    let fingerprint = '';
    if (idempotencyKey !== undefined) {
      fingerprint = sha256(canonicalJson(body));
      // Keys are per owner: two clients can never collide on, or probe, each other's keys.
      idemKey = `${this.options.prefix}:idem:${sha256(`${owner ?? ''}\n${idempotencyKey}`)}`;
      // Claimed as pending; marked committed once the job exists (see #replay).
      const claimed = await this.redis.set(
        idemKey,
        `${fingerprint}:${id}:pending`,
        'EX',
        this.options.idempotencySeconds,
        'NX',
      );
      if (claimed !== 'OK') {
        const replay = await this.#replay(idemKey, fingerprint, owner);
        if (replay) return { job: replay, replayed: true };
        // The key outlived its job (retention is shorter than the key's lifetime), or the first
        // request failed: the key was released, so this request starts afresh.
        return this.submit(body, owner, idempotencyKey);
      }
    }

    const createdAt = Date.now();
    const runAt = options.delayMs > 0 ? createdAt + options.delayMs : undefined;
    // Record first, so a worker that takes the job at once finds it; the commands go out on
    // one connection, in this order, without waiting for each other.
    const { record, written } = this.store.create({ id, type, maxAttempts: options.attempts, createdAt, runAt, owner });
    const added = this.queue.add(type, data.data, bullJobOptions(id, options, this.options.retentionSeconds));
    try {
      await Promise.all([written, added]);
    } catch (error) {
      await Promise.all([
        this.store.discard(id, createdAt, owner),
        idemKey ? this.redis.del(idemKey) : undefined,
      ]).catch(() => {});
      throw new ProblemError('unavailable', 'the job could not be enqueued; try again', { cause: error });
    }
    if (idemKey) await this.redis.set(idemKey, `${fingerprint}:${id}`, 'KEEPTTL', 'XX');
    return { job: this.#resource(record), replayed: false };
  }

  /**
   * The job an earlier request with this idempotency key created; undefined when that job has
   * expired or its request failed (the key is then released). A request still in flight is
   * waited for briefly.
   */
  async #replay(idemKey: string, fingerprint: string, owner: Owner): Promise<JobResource | undefined> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const stored = await this.redis.get(idemKey);
      if (!stored) return undefined;
      const [storedFingerprint, id, pending] = stored.split(':') as [string, string, string | undefined];
      if (storedFingerprint !== fingerprint) {
        throw new ProblemError(
          'idempotency-key-reused',
          'this Idempotency-Key was already used with a different request body',
        );
      }
      if (!pending) {
        const record = await this.store.get(id);
        if (record && record.owner === owner) return this.#resource(record);
        // Committed but gone: the job outlived its retention. Release the key, unless another
        // request re-claimed it meanwhile.
        await this.redis.eval(RELEASE_IF_UNCHANGED, 1, idemKey, stored);
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    throw new ProblemError(
      'idempotency-key-in-progress',
      'a request with this Idempotency-Key is still being processed',
      {
        headers: { 'retry-after': '1' },
      },
    );
  }

  async get(id: string, owner: Owner): Promise<JobResource> {
    return this.#resource(await this.#owned(id, owner));
  }

  async list(owner: Owner, filter: ListFilter, limit: number, cursor?: string) {
    const page = await this.store.list(owner, filter, limit, cursor);
    return { items: page.records.map((r) => this.#resource(r)), nextCursor: page.nextCursor ?? null };
  }

  async logs(id: string, owner: Owner) {
    const snapshot = JobId.safeParse(id).success ? await this.store.snapshot(id) : undefined;
    if (!snapshot || snapshot.record.owner !== owner) throw jobNotFound(id);
    return {
      items: snapshot.logs.map((entry) => {
        const { line, at } = JSON.parse(entry.data) as { line: string; at: string };
        return { seq: entry.seq, line, at };
      }),
      truncated: snapshot.record.ltrim !== undefined,
    };
  }

  /**
   * Cancels a job. One that has not started is taken out of the queue and finished at once;
   * a running one is stopped through its handler's AbortSignal by whichever worker runs it
   * (told over pub/sub, and by its next progress report in case that message is missed).
   */
  async cancel(id: string, owner: Owner): Promise<JobResource> {
    await this.#owned(id, owner);
    const requested = await this.store.requestCancel(id, CANCEL_REASON);
    if (requested === -1) throw jobNotFound(id);
    if (requested === 0) {
      const record = await this.store.get(id);
      throw new ProblemError('job-finished', `the job already finished: it is ${record?.state ?? 'finished'}`, {
        extensions: { state: record?.state },
      });
    }
    // 1: removed from waiting/delayed/prioritized; 0: it is running (locked) or already gone.
    if ((await this.queue.remove(id)) === 1) {
      await this.store.finish(id, 'cancelled', { error: CANCEL_REASON });
    } else {
      await this.redis.publish(cancelChannel(this.options.prefix), id);
    }
    return this.get(id, owner);
  }

  /** A stream token (and URL) for watching several of the owner's jobs on one connection. */
  async streamToken(ids: string[], owner: Owner): Promise<{ token: string; expiresAt: string; url: string }> {
    const tokens = this.options.streamTokens;
    if (!tokens || owner === undefined) {
      throw new ProblemError('bad-request', 'stream tokens are only needed, and issued, when API keys are configured');
    }
    await Promise.all(ids.map((id) => this.#owned(id, owner)));
    const { token, expiresAt } = tokens.issue(owner, ids);
    return {
      token,
      expiresAt: expiresAt.toISOString(),
      url: `/events?jobs=${ids.join(',')}&token=${encodeURIComponent(token)}`,
    };
  }

  /** The record of a job the owner may see, or a 404 that says nothing more. */
  async #owned(id: string, owner: Owner): Promise<JobRecord> {
    const record = JobId.safeParse(id).success ? await this.store.get(id) : undefined;
    if (!record || record.owner !== owner) throw jobNotFound(id);
    return record;
  }

  #resource(record: JobRecord): JobResource {
    const tokens = this.options.streamTokens;
    if (!tokens || record.owner === undefined) return toResource(record);
    const { token } = tokens.issue(record.owner, [record.id]);
    return toResource(record, `?token=${encodeURIComponent(token)}`);
  }
}

export function jobNotFound(id: string): ProblemError {
  return new ProblemError('job-not-found', `no job with id ${JSON.stringify(id)}`);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const RELEASE_IF_UNCHANGED = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

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
