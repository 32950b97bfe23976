/**
 * @module jobs/submission
 * Submitting jobs, one or a batch, independent of HTTP: the body's checks (nothing is written
 * unless every one passes), the Idempotency-Key (the same key and body return the first
 * request's jobs), the rate limit (only for requests that create jobs), then the writes
 * (`jobs/enqueue`) and the resources the caller gets back.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis.js';
// webhooks (#17)
import type { WebhookIntake } from '../webhooks/intake.js';
import type { StoredWebhook } from '../webhooks/view.js';
import { enqueueJobs } from './enqueue.js';
import { type IdempotencyClaim, IdempotencyKeys } from './idempotency.js';
import type { JobLinks } from './links.js';
import type { JobRecord } from './record.js';
import { RecordedAdds } from './recorded-adds.js';
import type { JobTypeRegistry } from './registry.js';
import type { JobBatch, JobResource } from './schemas.js';
import type { JobStore } from './store.js';
import { checkedBatch, checkedJob, checkedWebhooks, type ValidJob } from './submission-checks.js';

export interface SubmissionOptions {
  prefix: string;
  retentionSeconds: number;
  /** How long an Idempotency-Key is remembered. */
  idempotencySeconds: number;
  /** The job types submissions are checked against. */
  jobTypes: JobTypeRegistry;
  /** Checks and keeps each job's webhook (#17); without it a job asking for one is refused. */
  webhooks?: WebhookIntake | undefined;
}

/** Who submits, and the checks that depend on the request rather than the body. */
export interface Submitter {
  /** The API key's owner id, or undefined when the service runs open. */
  owner: string | undefined;
  idempotencyKey?: string | undefined;
  /** Called once the body passed every check and before new jobs are written (the rate limit); not for a replay. */
  admit?: ((jobs: number) => Promise<void>) | undefined;
}

export interface Submitted {
  job: JobResource;
  /** True when an Idempotency-Key matched an earlier request and its job is returned. */
  replayed: boolean;
}

export interface SubmittedBatch {
  batch: JobBatch;
  /** True when an Idempotency-Key matched an earlier request and its jobs are returned. */
  replayed: boolean;
}

export class JobSubmissions {
  readonly #idempotency: IdempotencyKeys;
  readonly #recordedAdds: RecordedAdds;

  constructor(
    readonly store: JobStore,
    readonly queue: Queue,
    /** The connection `store` and `queue` use (for idempotency keys). */
    redis: RedisClient,
    readonly links: JobLinks,
    readonly options: SubmissionOptions,
  ) {
    this.#recordedAdds = new RecordedAdds(redis, queue);
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
    const { records, replayed } = await this.#enqueue([job], webhooks, by, body, 'job');
    // Not where it stands in the queue: that costs a Redis call per submission. GET says it.
    return { job: this.links.resource(records[0] as JobRecord), replayed };
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
        items: records.map((r) => this.links.resource(r)),
        links: { events: this.links.eventsUrl(ids, by.owner, true) },
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
    kind: 'job' | 'batch',
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
      if (admit) await admit(jobs.length);
    } catch (error) {
      await claim?.release().catch(() => {});
      throw error;
    }

    const records = await enqueueJobs(
      {
        store: this.store,
        queue: this.queue,
        recordedAdds: this.#recordedAdds,
        retentionSeconds: this.options.retentionSeconds,
        webhooks: this.options.webhooks,
      },
      { jobs, ids, webhooks, owner, kind },
      () => claim?.release(),
    );
    // (Not `await claim?.commit()`: awaiting nothing still costs a promise and a turn.)
    if (claim) await claim.commit();
    return { records, replayed: false };
  }
}
