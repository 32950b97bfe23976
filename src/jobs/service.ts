/**
 * @module jobs/service
 * What the REST routes do with jobs, independent of HTTP: validate a submission against the
 * job type's schema, write the record, enqueue; read, list and cancel jobs. Every call is made
 * on behalf of an owner (an API key's owner id, or undefined when the service runs open), and
 * another owner's job is answered exactly like a job that does not exist.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { StreamTokens } from '../auth/stream-tokens.js';
import { ProblemError } from '../problems.js';
import type { RedisClient } from '../redis.js';
// webhooks (#17)
import type { WebhookIntake } from '../webhooks/intake.js';
import type { StoredWebhook } from '../webhooks/view.js';
import { enqueueJobs } from './enqueue.js';
import type { DerivedProgress } from './events.js';
import { type IdempotencyClaim, IdempotencyKeys } from './idempotency.js';
import { cancelChannel } from './keys.js';
import { CANCEL_REASON, CancelRequest } from './outcomes.js';
import type { QueuePositions } from './queue-positions.js';
import type { JobTypeRegistry } from './registry.js';
import { toResource } from './resource.js';
import { type JobBatch, JobId, type JobResource } from './schemas.js';
import type { JobRecord, JobStore, ListFilter } from './store.js';
import { checkedBatch, checkedJob, checkedWebhooks, type ValidJob } from './submission-checks.js';

export type Owner = string | undefined;

export interface ServiceOptions {
  prefix: string;
  retentionSeconds: number;
  /** How long an Idempotency-Key is remembered. */
  idempotencySeconds: number;
  /** Set when API keys are on: events links then carry a stream token. */
  streamTokens?: StreamTokens | undefined;
  /** The job types submissions are checked against. */
  jobTypes: JobTypeRegistry;
  /** Checks and keeps each job's webhook (#17); without it a job asking for one is refused. */
  webhooks?: WebhookIntake | undefined;
  /** STALL_AFTER_MS: a running job's resource says whether it is `stalled`. */
  stallAfterMs?: number;
  /** Where queued jobs stand: their resources then carry `queuePosition` and `expectedStartAt`. */
  positions?: QueuePositions | undefined;
}

export interface Submitted {
  job: JobResource;
  /** True when an Idempotency-Key matched an earlier request and its job is returned. */
  replayed: boolean;
}

/** Who submits, and the checks that depend on the request rather than the body. */
export interface Submitter {
  owner: Owner;
  idempotencyKey?: string | undefined;
  /** Called once the body passed every check and before new jobs are written (the rate limit); not for a replay. */
  admit?: (jobs: number) => Promise<void>;
}

export interface SubmittedBatch {
  batch: JobBatch;
  /** True when an Idempotency-Key matched an earlier request and its jobs are returned. */
  replayed: boolean;
}

export class JobService {
  readonly #idempotency: IdempotencyKeys;

  constructor(
    readonly store: JobStore,
    readonly queue: Queue,
    /** The connection `store` and `queue` use (for idempotency keys and cancel messages). */
    readonly redis: RedisClient,
    readonly options: ServiceOptions,
  ) {
    this.#idempotency = new IdempotencyKeys(redis, store, {
      prefix: options.prefix,
      ttlSeconds: options.idempotencySeconds,
    });
  }

  /**
   * Validates and enqueues a job. Nothing is written unless every check passes. With an
   * idempotency key, the same key and body return the first request's job (the IETF
   * Idempotency-Key draft), and the same key with another body is refused.
   */
  async submit(body: unknown, by: Submitter): Promise<Submitted> {
    const job = checkedJob(body, this.options.jobTypes);
    const webhooks = await checkedWebhooks(this.options.webhooks, [job], [''], by.owner);
    const { records, replayed } = await this.#enqueue([job], webhooks, by, body);
    // Not where it stands in the queue: that costs a Redis call per submission. GET says it.
    return { job: this.#resource(records[0] as JobRecord), replayed };
  }

  /**
   * Validates and enqueues up to MAX_JOBS_PER_BATCH jobs at once, all or none: one problem
   * lists what is wrong with every job (paths `jobs.<index>.…`), and nothing is written
   * unless every job passes. Idempotency keys work as for one job.
   */
  async submitBatch(body: unknown, by: Submitter): Promise<SubmittedBatch> {
    const jobs = checkedBatch(body, this.options.jobTypes);
    const webhooks = await checkedWebhooks(
      this.options.webhooks,
      jobs,
      jobs.map((_, i) => `jobs.${i}`),
      by.owner,
    );
    const { records, replayed } = await this.#enqueue(jobs, webhooks, by, body, 'batch');
    const ids = records.map((r) => r.id);
    return {
      batch: {
        items: records.map((r) => this.#resource(r)),
        links: { events: this.#eventsUrl(ids, by.owner, true) },
      },
      replayed,
    };
  }

  /**
   * Writes the records and queues the jobs, or, with an idempotency key already used with
   * the same body, returns the records of its jobs instead. `kind` keeps the fingerprints of
   * a batch and of a single job apart.
   */
  async #enqueue(
    jobs: ValidJob[],
    webhooks: (StoredWebhook | undefined)[],
    { owner, idempotencyKey, admit }: Submitter,
    body: unknown,
    kind: 'job' | 'batch' = 'job',
  ): Promise<{ records: JobRecord[]; replayed: boolean }> {
    const ids = jobs.map(() => randomUUID());
    let claim: IdempotencyClaim | undefined;
    if (idempotencyKey !== undefined) {
      const claimed = await this.#idempotency.claim({ owner, key: idempotencyKey, body, kind }, ids);
      if (claimed.replay) return { records: claimed.replay, replayed: true };
      claim = claimed.claim;
    }

    // Only requests that create jobs count against the limit: a replay creates nothing.
    try {
      await admit?.(jobs.length);
    } catch (error) {
      await claim?.release().catch(() => {});
      throw error;
    }

    const records = await enqueueJobs(
      {
        store: this.store,
        queue: this.queue,
        retentionSeconds: this.options.retentionSeconds,
        webhooks: this.options.webhooks,
      },
      { jobs, ids, webhooks, owner, kind },
      () => claim?.release(),
    );
    await claim?.commit();
    return { records, replayed: false };
  }

  async get(id: string, owner: Owner): Promise<JobResource> {
    const record = await this.#owned(id, owner);
    const queued = await this.#queuePositions([record]);
    return this.#resource(record, queued.get(record.id));
  }

  /** A page of the owner's jobs (jobs submitted without a key are never listed). */
  async list(owner: string, filter: ListFilter, limit: number, cursor?: string) {
    // No job has a type the registry does not know: nothing to look up.
    if (filter.type !== undefined && !this.options.jobTypes.get(filter.type)) return { items: [], nextCursor: null };
    const page = await this.store.list(owner, filter, limit, cursor);
    const queued = await this.#queuePositions(page.records);
    return {
      items: page.records.map((r) => this.#resource(r, queued.get(r.id))),
      nextCursor: page.nextCursor ?? null,
    };
  }

  /** Where the queued ones of `records` stand: one Redis call for all of them (none if none is queued). */
  async #queuePositions(records: JobRecord[]) {
    const queued = records.filter((r) => r.state === 'queued');
    if (!this.options.positions || queued.length === 0) return new Map();
    return this.options.positions.read(queued.map(({ id, type }) => ({ id, type })));
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
    if (requested === CancelRequest.NO_SUCH_JOB) throw jobNotFound(id);
    if (requested === CancelRequest.ALREADY_FINISHED) {
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
      url: eventsUrl(ids, token),
    };
  }

  /** The record of a job the owner may see, or a 404 that says nothing more. */
  async #owned(id: string, owner: Owner): Promise<JobRecord> {
    const record = JobId.safeParse(id).success ? await this.store.get(id) : undefined;
    if (!record || record.owner !== owner) throw jobNotFound(id);
    return record;
  }

  /** The multiplexed stream of the owner's jobs `ids`, with a stream token when keys are on. */
  #eventsUrl(ids: string[], owner: Owner, summary = false): string {
    const tokens = this.options.streamTokens;
    return eventsUrl(ids, tokens && owner !== undefined ? tokens.issue(owner, ids).token : undefined, summary);
  }

  #resource(record: JobRecord, queued?: DerivedProgress): JobResource {
    const tokens = this.options.streamTokens;
    const options = { stallAfterMs: this.options.stallAfterMs, queued };
    if (!tokens || record.owner === undefined) return toResource(record, options);
    const { token } = tokens.issue(record.owner, [record.id]);
    return toResource(record, { ...options, eventsQuery: `?token=${encodeURIComponent(token)}` });
  }
}

/** The `GET /events` URL of several jobs, with `token` when there is one (and the group's summary if asked). */
const eventsUrl = (ids: string[], token?: string, summary = false) =>
  `/events?jobs=${ids.join(',')}${summary ? '&summary=true' : ''}${token === undefined ? '' : `&token=${encodeURIComponent(token)}`}`;

export function jobNotFound(id: string): ProblemError {
  return new ProblemError('job-not-found', `no job with id ${JSON.stringify(id)}`);
}
