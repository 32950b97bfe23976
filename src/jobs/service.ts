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
import { type FieldError, fieldErrors, fieldProblem, ProblemError, validationProblem } from '../problems.js';
import type { RedisClient } from '../redis.js';
// webhooks (#17)
import type { RequestedWebhook, WebhookIntake } from '../webhooks/intake.js';
import { type StoredWebhook, storeWebhook } from '../webhooks/view.js';
import type { DerivedProgress } from './events.js';
import { cancelChannel } from './keys.js';
import { CANCEL_REASON, CancelRequest } from './outcomes.js';
import { bullJobOptions } from './queue.js';
import type { QueuePositions } from './queue-positions.js';
import type { JobTypeRegistry } from './registry.js';
import { toResource } from './resource.js';
import {
  type JobBatch,
  JobId,
  JobOptions,
  type JobResource,
  SubmitBatchEnvelope,
  SubmitJobEnvelope,
} from './schemas.js';
import type { JobRecord, JobStore, ListFilter } from './store.js';

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

/** A submission that passed every check: what gets enqueued. */
interface ValidJob {
  type: string;
  data: unknown;
  options: JobOptions;
  /** As submitted: absent (the key's default applies), null (none), or a webhook. */
  webhook: RequestedWebhook;
  tags: string[] | undefined;
}

type Checked = { job: ValidJob; errors?: undefined } | { errors: FieldError[]; unknownType?: string };

const DEFAULT_OPTIONS: JobOptions = JobOptions.parse({});

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
  async submit(body: unknown, by: Submitter): Promise<Submitted> {
    const { jobTypes } = this.options;
    const checked = checkJob(body, '', jobTypes);
    if (checked.errors) {
      if (checked.unknownType === undefined) throw fieldProblem(checked.errors);
      throw new ProblemError('unknown-job-type', unknownTypeMessage(checked.unknownType, jobTypes), {
        extensions: { knownTypes: jobTypes.names },
      });
    }
    const webhooks = await this.#webhooks([checked.job], [''], by.owner);
    const { records, replayed } = await this.#enqueue([checked.job], webhooks, by, body);
    // Not where it stands in the queue: that costs a Redis call per submission. GET says it.
    return { job: this.#resource(records[0] as JobRecord), replayed };
  }

  /**
   * Validates and enqueues up to MAX_JOBS_PER_BATCH jobs at once, all or none: one problem
   * lists what is wrong with every job (paths `jobs.<index>.…`), and nothing is written
   * unless every job passes. Idempotency keys work as for one job.
   */
  async submitBatch(body: unknown, by: Submitter): Promise<SubmittedBatch> {
    const jobs = batchJobs(body, this.options.jobTypes);
    const webhooks = await this.#webhooks(
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
    let idemKey: string | undefined;
    let fingerprint = '';
    if (idempotencyKey !== undefined) {
      fingerprint = sha256(kind === 'job' ? canonicalJson(body) : `batch\n${canonicalJson(body)}`);
      // Keys are per owner: two clients can never collide on, or probe, each other's keys.
      idemKey = `${this.options.prefix}:idem:${sha256(`${owner ?? ''}\n${idempotencyKey}`)}`;
      for (;;) {
        // Claimed as pending, for a short while: a request that dies before it commits or
        // releases the claim (a Redis blip at the wrong moment) cannot hold the key for long.
        // Committed, with the key's full lifetime, once the jobs exist (see #replay).
        const claimed = await this.redis.set(
          idemKey,
          `${fingerprint}:${ids.join(',')}:pending`,
          'EX',
          Math.min(PENDING_CLAIM_SECONDS, this.options.idempotencySeconds),
          'NX',
        );
        if (claimed === 'OK') break;
        const replay = await this.#replay(idemKey, fingerprint, owner);
        if (replay) return { records: replay, replayed: true };
        // The first request failed and released the key (or the key's lifetime ended just
        // now): this request starts afresh.
      }
    }

    // Only requests that create jobs count against the limit: a replay creates nothing.
    try {
      await admit?.(jobs.length);
    } catch (error) {
      if (idemKey) await this.redis.del(idemKey).catch(() => {});
      throw error;
    }

    const createdAt = Date.now();
    // Records first, so a worker that takes a job at once finds it; the commands go out on
    // one connection, in this order, without waiting for each other.
    const { records, written } = this.store.create(
      jobs.map(({ type, options, tags }, i) => ({
        id: ids[i] as string,
        type,
        maxAttempts: options.attempts,
        runAt: options.delayMs > 0 ? createdAt + options.delayMs : undefined,
        webhook: webhooks[i] && storeWebhook(webhooks[i]),
        tags,
      })),
      owner,
      createdAt,
    );
    // webhooks (#17): jobs with one are listed as open, before they are queued (see webhooks/outbox).
    const withWebhook = ids.filter((_, i) => webhooks[i] !== undefined);
    const tracked = withWebhook.length > 0 ? this.options.webhooks?.track(withWebhook, createdAt) : undefined;
    const retention = this.options.retentionSeconds;
    const bulk = jobs.map(({ type, data, options }, i) => ({
      name: type,
      data,
      opts: bullJobOptions(ids[i] as string, options, retention, createdAt),
    }));
    // addBulk sends through an ioredis pipeline, which costs more than one command for one job.
    const [one] = bulk;
    const added = bulk.length === 1 && one ? this.queue.add(one.name, one.data, one.opts) : this.queue.addBulk(bulk);
    try {
      await Promise.all([written, tracked, added]);
    } catch (error) {
      // Undone in the background: the client hears 503 now, not after one more command
      // timeout on a frozen Redis. (What cannot be undone, the reconciler finishes later.)
      Promise.all([
        this.store.discard(
          jobs.map(({ type, tags, options }, i) => ({
            id: ids[i] as string,
            type,
            tags,
            maxAttempts: options.attempts,
          })),
          createdAt,
          owner,
        ),
        // A batch is added job by job: take out those that made it. And an add that timed out
        // may still run once Redis thaws: the remove follows it on the same connection.
        ...ids.map((id) => this.queue.remove(id)),
        idemKey ? this.redis.del(idemKey) : undefined,
      ]).catch(() => {});
      throw new ProblemError('unavailable', `the ${kind} could not be enqueued; try again`, {
        cause: error,
        headers: { 'retry-after': '1' },
      });
    }
    if (idemKey) {
      await this.redis.set(idemKey, `${fingerprint}:${ids.join(',')}`, 'EX', this.options.idempotencySeconds, 'XX');
    }
    return { records, replayed: false };
  }

  /**
   * The records of the jobs an earlier request with this idempotency key created that are
   * still kept; undefined when there is no such request any more (it failed and released the
   * key, or the key expired). A request still in flight is waited for briefly. A key outlives
   * its jobs when retention is shorter than the key's lifetime: it is then refused, never
   * used again, so a late retry cannot create the work a second time.
   */
  async #replay(idemKey: string, fingerprint: string, owner: Owner): Promise<JobRecord[] | undefined> {
    for (let attempt = 0; attempt < 50; attempt++) {
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

  /**
   * webhooks (#17): each job's webhook — the one it asks for or its key's default — checked
   * before anything is written (see webhooks/intake). `where` are the jobs' places in the body.
   */
  async #webhooks(jobs: ValidJob[], where: string[], owner: Owner): Promise<(StoredWebhook | undefined)[]> {
    const intake = this.options.webhooks;
    if (intake)
      return intake.resolve(
        jobs.map((j) => j.webhook),
        where,
        owner,
      );
    const asked = jobs.flatMap((j, i) =>
      j.webhook
        ? [{ path: [where[i], 'webhook'].filter(Boolean).join('.'), message: 'webhooks are off on this server' }]
        : [],
    );
    if (asked.length > 0) throw fieldProblem(asked);
    return jobs.map(() => undefined);
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

/**
 * Checks one submission: the envelope, then the type, then the data against the type's
 * schema. Field paths start with `where` (`jobs.3` in a batch).
 */
function checkJob(body: unknown, where: string, jobTypes: JobTypeRegistry): Checked {
  const at = (field: string) => (where ? `${where}.${field}` : field);
  const envelope = SubmitJobEnvelope.safeParse(body);
  if (!envelope.success) return { errors: fieldErrors(envelope.error, where) };
  const { type } = envelope.data;
  const jobType = jobTypes.get(type);
  if (!jobType) {
    return { errors: [{ path: at('type'), message: unknownTypeMessage(type, jobTypes) }], unknownType: type };
  }
  // Absent data means "all defaults"; null is a value, and the schema judges it.
  const data = jobType.input.safeParse(envelope.data.data === undefined ? {} : envelope.data.data);
  if (!data.success) return { errors: fieldErrors(data.error, at('data')) };
  return {
    job: {
      type,
      data: data.data,
      options: envelope.data.options ?? DEFAULT_OPTIONS,
      webhook: envelope.data.webhook,
      tags: envelope.data.tags,
    },
  };
}

/** The jobs of a batch body, every one checked; one problem lists what is wrong with all. */
function batchJobs(body: unknown, jobTypes: JobTypeRegistry): ValidJob[] {
  const envelope = SubmitBatchEnvelope.safeParse(body);
  if (!envelope.success) throw validationProblem(envelope.error, '');
  const jobs: ValidJob[] = [];
  const errors: FieldError[] = [];
  envelope.data.jobs.forEach((job, i) => {
    const checked = checkJob(job, `jobs.${i}`, jobTypes);
    if (checked.errors) errors.push(...checked.errors);
    else jobs.push(checked.job);
  });
  if (errors.length > 0) throw fieldProblem(errors);
  return jobs;
}

const unknownTypeMessage = (type: string, jobTypes: JobTypeRegistry) =>
  `unknown job type ${JSON.stringify(type)}; known types: ${jobTypes.names.join(', ')}`;

export function jobNotFound(id: string): ProblemError {
  return new ProblemError('job-not-found', `no job with id ${JSON.stringify(id)}`);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** How long a claimed Idempotency-Key waits for its request to commit (or fail) before it lapses. */
const PENDING_CLAIM_SECONDS = 60;

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
