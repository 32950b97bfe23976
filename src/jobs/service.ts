/**
 * @module jobs/service
 * What the REST routes do with jobs, independent of HTTP: validate a submission against the
 * job type's schema, write the record, enqueue; read, list and cancel jobs.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ProblemError, validationProblem } from '../problems.js';
import { cancelChannel } from './keys.js';
import { bullJobOptions } from './queue.js';
import { isJobType, jobTypeNames, jobTypes } from './registry.js';
import { JobId, JobOptions, type JobResource, SubmitJobEnvelope } from './schemas.js';
import { type JobStore, type ListFilter, toResource } from './store.js';

export interface ServiceOptions {
  prefix: string;
  retentionSeconds: number;
  /** How long an Idempotency-Key is remembered. */
  idempotencySeconds: number;
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
    readonly redis: Redis,
    readonly options: ServiceOptions,
  ) {}

  /**
   * Validates and enqueues a job. Nothing is written unless every check passes. With an
   * idempotency key, the same key and body return the first request's job (the IETF
   * Idempotency-Key draft), and the same key with another body is refused.
   */
  async submit(body: unknown, idempotencyKey?: string): Promise<Submitted> {
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
    const data = jobTypes[type].input.safeParse(envelope.data.data ?? {});
    if (!data.success) throw validationProblem(data.error, 'data');
    const options = envelope.data.options ?? JobOptions.parse({});

    const id = randomUUID();
    let idemKey: string | undefined;
    if (idempotencyKey !== undefined) {
      const fingerprint = sha256(JSON.stringify(body));
      idemKey = `${this.options.prefix}:idem:${sha256(idempotencyKey)}`;
      const claimed = await this.redis.set(
        idemKey,
        `${fingerprint}:${id}`,
        'EX',
        this.options.idempotencySeconds,
        'NX',
      );
      if (claimed !== 'OK') return { job: await this.#replay(idemKey, fingerprint), replayed: true };
    }

    const createdAt = Date.now();
    // Record first, so a worker that takes the job at once finds it; the commands go out on
    // one connection, in this order, without waiting for each other.
    const runAt = options.delayMs > 0 ? createdAt + options.delayMs : undefined;
    const { record, written } = this.store.create({ id, type, maxAttempts: options.attempts, createdAt, runAt });
    const added = this.queue.add(type, data.data, bullJobOptions(id, options, this.options.retentionSeconds));
    try {
      await Promise.all([written, added]);
    } catch (error) {
      await Promise.all([this.store.discard(id, createdAt), idemKey ? this.redis.del(idemKey) : undefined]).catch(
        () => {},
      );
      throw new ProblemError('unavailable', 'the job could not be enqueued; try again', { cause: error });
    }
    return { job: toResource(record), replayed: false };
  }

  /** The job an earlier request with this idempotency key created. */
  async #replay(idemKey: string, fingerprint: string): Promise<JobResource> {
    // The first request may still be writing its job: wait for it a little.
    for (let attempt = 0; attempt < 50; attempt++) {
      const stored = await this.redis.get(idemKey);
      if (!stored) break;
      const [storedFingerprint, id] = stored.split(':') as [string, string];
      if (storedFingerprint !== fingerprint) {
        throw new ProblemError(
          'idempotency-key-reused',
          'this Idempotency-Key was already used with a different request body',
        );
      }
      const record = await this.store.get(id);
      if (record) return toResource(record);
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

  async get(id: string): Promise<JobResource> {
    const record = JobId.safeParse(id).success ? await this.store.get(id) : undefined;
    if (!record) throw jobNotFound(id);
    return toResource(record);
  }

  async list(filter: ListFilter, limit: number, cursor?: string) {
    const page = await this.store.list(filter, limit, cursor);
    return { items: page.records.map(toResource), nextCursor: page.nextCursor ?? null };
  }

  async logs(id: string) {
    const snapshot = JobId.safeParse(id).success ? await this.store.snapshot(id) : undefined;
    if (!snapshot) throw jobNotFound(id);
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
  async cancel(id: string): Promise<JobResource> {
    if (!JobId.safeParse(id).success) throw jobNotFound(id);
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
    return this.get(id);
  }
}

export function jobNotFound(id: string): ProblemError {
  return new ProblemError('job-not-found', `no job with id ${JSON.stringify(id)}`);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
