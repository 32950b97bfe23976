/**
 * @module jobs/record
 * A job's record as Redis keeps it (a hash of strings), what `create` writes (and the record
 * it starts as), what a stream reads on connect, and who is told of each event recorded.
 */
import type { WebhookRecordFields } from '../webhooks/view.js';
import type { JobEvent } from './events.js';
import type { JobState } from './schemas.js';

/** A job record as stored (hash fields, all strings); the webhook fields are `webhooks/view`'s. */
export interface JobRecord extends WebhookRecordFields {
  id: string;
  type: string;
  createdAt: string;
  maxAttempts: string;
  seq: string;
  pseq: string;
  state: JobState;
  progress: string;
  attempt: string;
  at: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  /** seq of `done`; present once the job has finished. */
  dseq?: string;
  /** The done event's JSON. */
  done?: string;
  /** seq of the newest log line dropped by the cap. */
  ltrim?: string;
  /** When a delayed job is due (ms). */
  runAt?: string;
  /** Set when cancellation was requested: the reason. */
  cancel?: string;
  /** Owner id of the API key that created the job (absent when the service runs open). */
  owner?: string;
  /** Percent per second, while running (see `jobs/pace`). */
  rate?: string;
  /** When 100% is expected (ms), while running. */
  eta?: string;
  /** The latest progress details (JSON object). */
  details?: string;
  /** The usual interval between the running attempt's reports (ms), once it has one. */
  ivl?: string;
  /** The job's tags (JSON array); absent when it has none. */
  tags?: string;
}

/** A new job, as `create` writes it. */
export interface NewJob {
  id: string;
  type: string;
  maxAttempts: number;
  runAt?: number | undefined;
  tags?: string[] | undefined;
  /** The webhook's JSON (webhooks, #17), as the record keeps it. */
  webhook?: string | undefined;
}

/** What a stream needs on connect: the record and the kept log lines. */
export interface JobSnapshot {
  record: JobRecord;
  logs: JobEvent[];
}

/**
 * Told of each event a script recorded, after Redis answered, whichever process recorded it
 * (worker, API, reconciler). `done` stands for the job's end (its last progress and `done`);
 * `data` is the event's JSON for `log` and `done`.
 */
export interface JobEventObserver {
  recorded(jobId: string, event: 'progress' | 'log' | 'done', seq: number, data?: string): void;
}

/**
 * The record a new job starts as: queued, seq 1 (its first progress event), no progress yet.
 * `created` is the submission time (ms) as the record keeps it.
 */
export function newRecord(job: NewJob, owner: string | undefined, created: string): JobRecord {
  const record: JobRecord = {
    id: job.id,
    type: job.type,
    createdAt: created,
    maxAttempts: String(job.maxAttempts),
    seq: '1',
    pseq: '1',
    state: 'queued',
    progress: '0',
    attempt: '0',
    at: created,
  };
  if (job.runAt !== undefined) record.runAt = String(job.runAt);
  if (job.webhook !== undefined) record.webhook = job.webhook;
  if (owner !== undefined) record.owner = owner;
  if (job.tags?.length) record.tags = JSON.stringify(job.tags);
  return record;
}

/**
 * A record as HSET arguments (`field value field value …`), without an object copy, and
 * without the fields it does not have. `id` and `createdAt` come first, in that order:
 * `jobs/scripts/create-records` reads them by position.
 */
export function recordFields(record: JobRecord): string[] {
  const fields = ['id', record.id, 'createdAt', record.createdAt];
  for (const field in record) {
    const value = record[field as keyof JobRecord];
    if (value !== undefined && field !== 'id' && field !== 'createdAt') fields.push(field, value);
  }
  return fields;
}
