/**
 * @module jobs/schemas
 * The shapes of the public contract: request bodies and headers, the job resource, stream
 * events, stream tokens, problems and probe answers. Routes validate with these and
 * `openapi.yaml` is generated from these, so the documentation cannot drift from the code.
 *
 * Glossary:
 * - **seq**: a job's event sequence number; every event of a job (progress, log, done) takes
 *   the next one. It is the SSE `id:` of a single-job stream and the resume cursor.
 * - **record**: the Redis hash holding a job's current state (see `jobs/store`).
 */
import { z } from 'zod';
import { MAX_LISTED_ERRORS } from '../problems.js';
// webhooks (#17): a submission's `webhook` and the resource's `webhook`, defined in their module.
import { Webhook, WebhookRequest } from '../webhooks/schemas.js';

export const JobState = z
  .enum(['queued', 'active', 'completed', 'failed', 'cancelled'])
  .describe('queued (waiting, delayed or retrying) → active → completed | failed | cancelled');
export type JobState = z.infer<typeof JobState>;

export const TerminalStatus = z.enum(['completed', 'failed', 'cancelled']);
export type TerminalStatus = z.infer<typeof TerminalStatus>;

/** Job ids are random UUIDs (122 random bits): knowing an id is what lets one read a job. */
export const JobId = z.uuid().describe('Random, unguessable job id (UUID).');

const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;

export const JobOptions = z
  .object({
    attempts: z.int().min(1).max(20).default(1).describe('Attempts before the job fails.'),
    backoffMs: z
      .int()
      .min(0)
      .max(SEVEN_DAYS_MS)
      .default(1000)
      .describe('Delay before a retry; doubles on each further attempt.'),
    delayMs: z.int().min(0).max(SEVEN_DAYS_MS).default(0).describe('Run no earlier than this.'),
    priority: z
      .int()
      .min(0)
      // BullMQ's ceiling (2^21 - 1), checked in Job.validateOptions.
      .max(2_097_151)
      .default(0)
      .describe('0 = none (first in, first out); otherwise 1 is the highest priority.'),
  })
  .strict();
export type JobOptions = z.output<typeof JobOptions>;

/** The envelope of `POST /jobs`; `data` is validated afterwards by the job type's own schema. */
export const SubmitJobEnvelope = z
  .object({
    type: z.string().min(1).max(100).describe('A registered job type, e.g. `simulate`.'),
    data: z.unknown().optional().describe("Input of the job, validated by the type's schema."),
    options: JobOptions.optional(),
    webhook: WebhookRequest.nullable().optional(),
  })
  .strict();

export const JobLinks = z.object({
  self: z.string(),
  events: z.string().describe("The job's Server-Sent Events stream."),
  cancel: z.string().describe('POST here to cancel the job.'),
  logs: z.string().describe("The job's log lines."),
  webhooks: z.string().optional().describe("The job's webhook deliveries (jobs with a webhook)."),
});

export const JobResource = z.object({
  id: JobId,
  type: z.string(),
  state: JobState,
  progress: z.number().min(0).max(100).describe('Percent complete, 0–100.'),
  message: z.string().optional().describe('The latest progress message.'),
  result: z.unknown().optional().describe("The handler's return value (completed jobs)."),
  error: z.string().optional().describe('Why the job failed or was cancelled.'),
  attempts: z
    .int()
    .min(0)
    .describe(
      'Attempts started so far. A run restarted after its worker died or lost its lock counts too, so this can exceed maxAttempts; a job handed back to the queue (a worker shutting down) does not.',
    ),
  maxAttempts: z.int().min(1),
  createdAt: z.iso.datetime(),
  runAt: z.iso.datetime().optional().describe('When a delayed job is due (queued jobs submitted with delayMs).'),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  webhook: Webhook.optional(),
  links: JobLinks,
});
export type JobResource = z.infer<typeof JobResource>;

// ---- Server-Sent Events (GET /jobs/{id}/events) ----

export const ProgressEvent = z
  .object({
    jobId: JobId,
    state: JobState,
    progress: z.number().min(0).max(100),
    message: z.string().optional(),
    attempt: z.int().min(0).optional(),
    at: z.iso.datetime().describe('When the worker reported it (ISO 8601, milliseconds).'),
  })
  .describe("`event: progress` — the job's current state. Sent on connect and on every change.");
export type ProgressEvent = z.infer<typeof ProgressEvent>;

export const LogEvent = z
  .object({ jobId: JobId, line: z.string(), at: z.iso.datetime() })
  .describe('`event: log` — a line the handler logged. Never dropped; replayed once on resume.');
export type LogEvent = z.infer<typeof LogEvent>;

export const DoneEvent = z
  .object({
    jobId: JobId,
    status: TerminalStatus,
    result: z.unknown().optional(),
    error: z.string().optional(),
    at: z.iso.datetime(),
  })
  .describe('`event: done` — the last event of a job; the server then ends the stream.');
export type DoneEvent = z.infer<typeof DoneEvent>;

export const ResetEvent = z
  .object({ jobId: JobId, reason: z.string() })
  .describe(
    '`event: reset` — the resume cursor was older than the events kept: some log lines were not replayed. The current state follows.',
  );

export const GoneEvent = z
  .object({
    jobId: JobId,
    reason: z
      .enum(['not-found', 'expired'])
      .describe(
        '`not-found`: no such job (or not yours); `expired`: a job this stream had shown events of no longer exists (its retention ran out).',
      ),
  })
  .describe(
    "`event: gone` — multi-job streams only: this job does not exist (any more). It gets no `done`; the other jobs' events go on, and the stream ends after their `done`. Sent once: a resume from its `id:` does not repeat it.",
  );
export type GoneEvent = z.infer<typeof GoneEvent>;

export const StreamEventNames = ['progress', 'log', 'done', 'reset', 'gone'] as const;
export type StreamEventName = (typeof StreamEventNames)[number];

// ---- RFC 9457 problem details ----

export const Problem = z
  .object({
    type: z.string().describe('A URI reference naming the kind of problem.'),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .max(MAX_LISTED_ERRORS)
      .optional()
      .describe(`Field errors of a validation failure: the first ${MAX_LISTED_ERRORS}.`),
    totalErrors: z
      .int()
      .min(0)
      .optional()
      .describe(`How many field errors there were in all (\`errors\` lists at most the first ${MAX_LISTED_ERRORS}).`),
  })
  .loose()
  .describe('RFC 9457 problem details (`application/problem+json`).');

// ---- Listing and logs ----

export const ListJobsQuery = z
  .object({
    state: JobState.optional(),
    type: z.string().min(1).max(100).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .regex(/^\d{15}:[0-9a-f-]{36}$/, 'not a cursor returned by this API')
      .optional()
      .describe('`nextCursor` of the previous page.'),
  })
  .strict();

export const JobList = z.object({
  items: z.array(JobResource),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
});

export const JobLogLine = z.object({
  seq: z.int().min(1).describe('The event id this line had on the stream.'),
  line: z.string(),
  at: z.iso.datetime(),
});

export const JobLogs = z.object({
  items: z.array(JobLogLine),
  truncated: z.boolean().describe('True when older lines were dropped (JOB_LOG_MAX_LINES).'),
});

// ---- Request headers ----

/**
 * The `Idempotency-Key` header of `POST /jobs`: 1–255 printable ASCII characters, as in the
 * IETF draft's examples, bounded in size. (Written as `min`/`max` plus a pattern rather than
 * one `{1,255}` pattern so its JSON Schema reads `minLength`/`maxLength`.)
 */
export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/);

// ---- Stream tokens (POST /events/tokens) ----

/** Jobs one multiplexed stream (`GET /events?jobs=…`) may watch, and one stream token may cover. */
export const MAX_JOBS_PER_STREAM = 100;

export const StreamTokenRequest = z.object({ jobs: z.array(JobId).min(1).max(MAX_JOBS_PER_STREAM) }).strict();

/** What `POST /events/tokens` answers (the shape `JobService.streamToken` returns). */
export const StreamToken = z
  .object({
    token: z.string().describe('Pass as `?token=` on the event stream.'),
    expiresAt: z.iso.datetime(),
    url: z.string().describe('The `/events` stream of the jobs, token included.'),
  })
  .describe('A stream token for several jobs.');
export type StreamToken = z.infer<typeof StreamToken>;

// ---- Batches (POST /jobs/batch) ----

/** Jobs one batch may submit: as many as one multiplexed stream watches, so one link covers them. */
export const MAX_JOBS_PER_BATCH = MAX_JOBS_PER_STREAM;

/** The envelope of `POST /jobs/batch`; each job is then checked like a `POST /jobs` body. */
export const SubmitBatchEnvelope = z.object({ jobs: z.array(z.unknown()).min(1).max(MAX_JOBS_PER_BATCH) }).strict();

/** What `POST /jobs/batch` answers. */
export const JobBatch = z
  .object({
    items: z.array(JobResource).describe('The jobs, in the order they were sent.'),
    links: z.object({
      events: z.string().describe('One event stream (`GET /events`) for all the jobs of the batch.'),
    }),
  })
  .describe('The jobs of a batch, all queued.');
export type JobBatch = z.infer<typeof JobBatch>;

// ---- Probes ----

/** What `GET /healthz` answers. */
export const HealthStatus = z.object({ status: z.literal('ok') }).describe('The process is up.');
export type HealthStatus = z.infer<typeof HealthStatus>;

/** What `GET /readyz` answers. */
export const ReadyStatus = z.object({ status: z.literal('ready') }).describe('The process can reach Redis.');
export type ReadyStatus = z.infer<typeof ReadyStatus>;
