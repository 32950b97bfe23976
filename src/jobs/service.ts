/**
 * @module jobs/service
 * What the REST routes do with jobs, independent of HTTP: submit them (`jobs/submission`),
 * read, list and cancel them, read a job's log, and hand out stream tokens. Every call is made
 * on behalf of an owner (an API key's owner id, or undefined when the service runs open), and
 * another owner's job is answered exactly like a job that does not exist.
 */
import type { Queue } from 'bullmq';
import type { StreamTokens } from '../auth/stream-tokens.js';
import { clip, ProblemError } from '../problems.js';
import type { RedisClient } from '../redis.js';
// webhooks (#17)
import type { WebhookIntake } from '../webhooks/intake.js';
import { cancelChannel } from './keys.js';
import { eventsUrl, JobLinks } from './links.js';
import { CANCEL_REASON, CancelRequest } from './outcomes.js';
import type { QueuePositions } from './queue-positions.js';
import type { JobTypeRegistry } from './registry.js';
import { isJobId, type JobResource } from './schemas.js';
import type { JobRecord, JobStore, ListFilter } from './store.js';
import { JobSubmissions, type Submitted, type SubmittedBatch, type Submitter } from './submission.js';

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

export class JobService {
  readonly #submissions: JobSubmissions;
  readonly #links: JobLinks;

  constructor(
    readonly store: JobStore,
    readonly queue: Queue,
    /** The connection `store` and `queue` use (for idempotency keys and cancel messages). */
    readonly redis: RedisClient,
    readonly options: ServiceOptions,
  ) {
    this.#links = new JobLinks({ streamTokens: options.streamTokens, stallAfterMs: options.stallAfterMs });
    this.#submissions = new JobSubmissions(store, queue, redis, this.#links, options);
  }

  /** Validates and enqueues a job (see `jobs/submission`). */
  submit(body: unknown, by: Submitter): Promise<Submitted> {
    return this.#submissions.submit(body, by);
  }

  /** Validates and enqueues a batch of jobs, all or none (see `jobs/submission`). */
  submitBatch(body: unknown, by: Submitter): Promise<SubmittedBatch> {
    return this.#submissions.submitBatch(body, by);
  }

  async get(id: string, owner: Owner): Promise<JobResource> {
    const record = await this.#owned(id, owner);
    const queued = await this.#queuePositions([record]);
    return this.#links.resource(record, queued.get(record.id));
  }

  /** A page of the owner's jobs (jobs submitted without a key are never listed). */
  async list(owner: string, filter: ListFilter, limit: number, cursor?: string) {
    // No job has a type the registry does not know: nothing to look up.
    if (filter.type !== undefined && !this.options.jobTypes.get(filter.type)) return { items: [], nextCursor: null };
    const page = await this.store.list(owner, filter, limit, cursor);
    const queued = await this.#queuePositions(page.records);
    return {
      items: page.records.map((r) => this.#links.resource(r, queued.get(r.id))),
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
    const snapshot = isJobId(id) ? await this.store.snapshot(id) : undefined;
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
    const record = isJobId(id) ? await this.store.get(id) : undefined;
    if (!record || record.owner !== owner) throw jobNotFound(id);
    return record;
  }
}

export function jobNotFound(id: string): ProblemError {
  return new ProblemError('job-not-found', `no job with id ${JSON.stringify(clip(id))}`);
}

/** The same for a stream of several jobs, none of which exists: each is named. */
export function jobsNotFound(ids: string[]): ProblemError {
  if (ids.length === 1) return jobNotFound(ids[0] as string);
  return new ProblemError('job-not-found', `no jobs with ids ${ids.map((id) => JSON.stringify(clip(id))).join(', ')}`);
}
