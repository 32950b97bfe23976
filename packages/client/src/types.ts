/**
 * @module types
 * The shapes jobcast sends and takes, generated from the service's zod schemas by
 * `npm run openapi` (scripts/client-types.ts): do not edit.
 */

/** Random, unguessable job id (a UUID, in lower case). */
export type JobId = string;

/** queued (waiting, delayed or retrying) → active → completed | failed | cancelled */
export type JobState = 'queued' | 'active' | 'completed' | 'failed' | 'cancelled';

export type TerminalStatus = 'completed' | 'failed' | 'cancelled';

export interface JobLinks {
  self: string;
  /** The job's Server-Sent Events stream. */
  events: string;
  /** POST here to cancel the job. */
  cancel: string;
  /** The job's log lines. */
  logs: string;
  /** The job's webhook deliveries (jobs with a webhook). */
  webhooks?: string;
}

export interface JobResource {
  id: JobId;
  type: string;
  state: JobState;
  /** Percent complete, 0–100. */
  progress: number;
  /** The latest progress message. */
  message?: string;
  /** The latest details the handler reported with its progress (a JSON object of at most 4096 bytes); kept until it reports others. */
  details?: {
    [key: string]: unknown;
  };
  /** Running jobs that have made progress: percent per second, smoothed over the recent reports (README, "ETA and rate"). */
  rate?: number;
  /** Running jobs that have made progress: when 100% is expected at `rate`. Absent while the job is `stalled`. */
  eta?: string;
  /** Queued jobs: the job's place in the line, 1 = next to start. Absent while a delay or retry backoff runs (see `expectedStartAt`). */
  queuePosition?: number;
  /** Queued jobs, when it can be estimated: when the job is expected to start (from the recent run times of its type and the workers running), or when its delay or backoff ends. */
  expectedStartAt?: string;
  /** Running jobs: true while the job has reported nothing for longer than 5 × its usual interval between reports, and at least `STALL_AFTER_MS`. Only a signal: the job keeps running. */
  stalled?: boolean;
  /** The tags the job was submitted with (absent: none). */
  tags?: string[];
  /** The handler's return value (completed jobs). */
  result?: unknown;
  /** Why the job failed or was cancelled. */
  error?: string;
  /** Attempts started so far. A run restarted after its worker died or lost its lock counts too, so this can exceed maxAttempts; a job handed back to the queue (a worker shutting down) does not. */
  attempts: number;
  maxAttempts: number;
  createdAt: string;
  /** When a delayed job is due (queued jobs submitted with delayMs). */
  runAt?: string;
  startedAt?: string;
  finishedAt?: string;
  webhook?: Webhook;
  links: JobLinks;
}

export interface JobList {
  items: JobResource[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** The jobs of a batch, all queued. */
export interface JobBatch {
  /** The jobs, in the order they were sent. */
  items: JobResource[];
  links: {
    /** One event stream (`GET /events`) for all the jobs of the batch. */
    events: string;
  };
}

export interface JobLogLine {
  /** The event id this line had on the stream. */
  seq: number;
  line: string;
  at: string;
}

export interface JobLogs {
  items: JobLogLine[];
  /** True when older lines were dropped (JOB_LOG_MAX_LINES). */
  truncated: boolean;
}

/** `event: progress` — the job's current state. Sent on connect and on every change, including a change of its queue position or stall signal (with the id of the state it updates). */
export interface ProgressEvent {
  jobId: JobId;
  state: JobState;
  progress: number;
  message?: string;
  attempt?: number;
  /** When the worker reported it (ISO 8601, milliseconds). */
  at: string;
  /** Running jobs that have made progress: percent per second, smoothed over the recent reports (README, "ETA and rate"). */
  rate?: number;
  /** Running jobs that have made progress: when 100% is expected at `rate`. Absent while the job is `stalled`. */
  eta?: string;
  /** The latest details the handler reported with its progress (a JSON object of at most 4096 bytes); kept until it reports others. */
  details?: {
    [key: string]: unknown;
  };
  /** Queued jobs: the job's place in the line, 1 = next to start. Absent while a delay or retry backoff runs (see `expectedStartAt`). */
  queuePosition?: number;
  /** Queued jobs, when it can be estimated: when the job is expected to start (from the recent run times of its type and the workers running), or when its delay or backoff ends. */
  expectedStartAt?: string;
  /** Running jobs: true while the job has reported nothing for longer than 5 × its usual interval between reports, and at least `STALL_AFTER_MS`. Only a signal: the job keeps running. */
  stalled?: boolean;
  /** On the feed (`GET /events/feed`) only: the job type. */
  type?: string;
  /** On the feed only: the job's tags (absent: none). */
  tags?: string[];
}

/** `event: log` — a line the handler logged. Never dropped; replayed once on resume. */
export interface LogEvent {
  jobId: JobId;
  line: string;
  at: string;
}

/** `event: done` — the last event of a job; the server then ends the stream. */
export interface DoneEvent {
  jobId: JobId;
  status: TerminalStatus;
  result?: unknown;
  error?: string;
  at: string;
}

/** `event: reset` — the resume cursor was older than the events kept: some log lines (on the feed: some changes) were not replayed; or newer than anything the job reached (Redis lost recent writes, or another job's cursor): its id (on a multi-job stream, that job's part of it) is then 0 and the job starts over. The current state follows. */
export interface ResetEvent {
  /** The job whose log lines were not kept; absent on the feed, where it is the feed. */
  jobId?: JobId;
  reason: string;
}

/** `event: gone` — multi-job streams only: this job does not exist (any more). It gets no `done`; the other jobs' events go on, and the stream ends after their `done`. Sent once: a resume from its `id:` does not repeat it. */
export interface GoneEvent {
  jobId: JobId;
  /** `not-found`: no such job (or not yours); `expired`: a job this stream had shown events of no longer exists (its retention ran out). */
  reason: 'not-found' | 'expired';
}

/** `event: summary` — multi-job streams that ask for it (`summary=true`; a batch's `links.events` does): the group at a glance, once per change. */
export interface SummaryEvent {
  /** Jobs of the stream that exist. */
  total: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Mean progress of the jobs, a finished job counting 100: how far the group is. */
  progress: number;
  /** When the group is expected to be done: its mean progress carried forward at the rate it gained over the last 30 s (or since the stream opened, once that is half a second). */
  eta?: string;
}

/** RFC 9457 problem details (`application/problem+json`). */
export interface Problem {
  /** A URI reference naming the kind of problem. */
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** Field errors of a validation failure: the first 100. */
  errors?: Array<{
    path: string;
    message: string;
  }>;
  /** How many field errors there were in all (`errors` lists at most the first 100). */
  totalErrors?: number;
  [key: string]: unknown;
}

/** A stream token for several jobs. */
export interface StreamToken {
  /** Pass as `?token=` on the event stream. */
  token: string;
  expiresAt: string;
  /** The `/events` stream of the jobs, token included. */
  url: string;
}

export type WebhookEventName = 'progress' | 'log' | 'done';

/** The job's webhook and the state of its deliveries; `links.webhooks` lists them. */
export interface Webhook {
  /** The receiver, with any password in it masked. */
  url: string;
  events: WebhookEventName[];
  /** disabled once the receiver answered 410 Gone: nothing more is sent for this job. */
  status: 'active' | 'disabled';
  disabledReason?: string;
  /** Deliveries so far, by outcome. */
  deliveries: {
    pending: number;
    delivered: number;
    /** Given up, or not sent because the webhook was disabled. */
    failed: number;
    /** Progress deliveries replaced by a newer one before they got through. */
    superseded: number;
  };
  /** The receiver's status code at the latest attempt. */
  lastResponseCode?: number;
  lastAttemptAt?: string;
}

export interface WebhookDelivery {
  /** The `webhook-id` header: the same on every attempt of this delivery. */
  id: string;
  type: 'job.progress' | 'job.log' | 'job.done';
  /** pending (queued, or waiting for a retry) → delivered (a 2xx) | failed (attempts used up) | disabled (the receiver answered 410 Gone, for this or an earlier delivery) | superseded (a failed progress delivery not retried because a newer one carries a later state). */
  status: 'pending' | 'delivered' | 'failed' | 'disabled' | 'superseded';
  /** Attempts made so far. */
  attempts: number;
  createdAt: string;
  lastAttemptAt?: string;
  /** The receiver's status code at the latest attempt, if it answered. */
  lastResponseCode?: number;
  /** Why the latest attempt failed (timeout, connection refused, status). */
  lastError?: string;
  /** When the next attempt is due (pending deliveries). */
  nextAttemptAt?: string;
  deliveredAt?: string;
}

export interface WebhookDeliveries {
  /** Oldest first. */
  items: WebhookDelivery[];
  /** True when older deliveries are no longer listed (only the newest 200 are). */
  truncated: boolean;
}

export interface JobOptionsInput {
  /** Attempts before the job fails. */
  attempts?: number;
  /** Delay before a retry; doubles on each further attempt. */
  backoffMs?: number;
  /** Run no earlier than this. */
  delayMs?: number;
  /** 0 = none (first in, first out); otherwise 1 is the highest priority. */
  priority?: number;
}
