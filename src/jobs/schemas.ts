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
import { MAX_DETAILS_BYTES } from './details.js';

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

/** Tags one job may carry. */
export const MAX_TAGS = 10;

/** A tag: a short label to find a job by (`GET /jobs?tag=`, `GET /events/feed?tag=`). */
export const Tag = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:=@/+-]*$/,
    'letters, digits and _ . : = @ / + - only, starting with a letter or digit',
  )
  .describe('A label to find the job by: 1–64 letters, digits and `_ . : = @ / + -`.');

export const Tags = z
  .array(Tag)
  .max(MAX_TAGS)
  .refine((tags) => new Set(tags).size === tags.length, 'each tag at most once')
  .describe(`Up to ${MAX_TAGS} tags, to list and follow the job by (\`GET /jobs?tag=\`, \`GET /events/feed?tag=\`).`);

/** The envelope of `POST /jobs`; `data` is validated afterwards by the job type's own schema. */
export const SubmitJobEnvelope = z
  .object({
    type: z.string().min(1).max(100).describe('A registered job type, e.g. `simulate`.'),
    data: z.unknown().optional().describe("Input of the job, validated by the type's schema."),
    options: JobOptions.optional(),
    webhook: WebhookRequest.nullable().optional(),
    tags: Tags.optional(),
  })
  .strict();

export const JobLinks = z.object({
  self: z.string(),
  events: z.string().describe("The job's Server-Sent Events stream."),
  cancel: z.string().describe('POST here to cancel the job.'),
  logs: z.string().describe("The job's log lines."),
  webhooks: z.string().optional().describe("The job's webhook deliveries (jobs with a webhook)."),
});

// ---- What a job's progress tells beyond the percentage (resource and progress events) ----

const Rate = z
  .number()
  .min(0)
  .describe(
    'Running jobs that have made progress: percent per second, smoothed over the recent reports (README, "ETA and rate").',
  );
const Eta = z.iso.datetime().describe('Running jobs that have made progress: when 100% is expected at `rate`.');
const Details = z
  .record(z.string(), z.unknown())
  .describe(
    `The latest details the handler reported with its progress (a JSON object of at most ${MAX_DETAILS_BYTES} bytes); kept until it reports others.`,
  );
const QueuePosition = z
  .int()
  .min(1)
  .describe(
    "Queued jobs: the job's place in the line, 1 = next to start. Absent while a delay or retry backoff runs (see `expectedStartAt`).",
  );
const ExpectedStartAt = z.iso
  .datetime()
  .describe(
    'Queued jobs, when it can be estimated: when the job is expected to start (from the recent run times of its type and the workers running), or when its delay or backoff ends.',
  );
const Stalled = z
  .boolean()
  .describe(
    'Running jobs: true while the job has reported nothing for longer than 5 × its usual interval between reports, and at least `STALL_AFTER_MS`. Only a signal: the job keeps running.',
  );

export const JobResource = z.object({
  id: JobId,
  type: z.string(),
  state: JobState,
  progress: z.number().min(0).max(100).describe('Percent complete, 0–100.'),
  message: z.string().optional().describe('The latest progress message.'),
  details: Details.optional(),
  rate: Rate.optional(),
  eta: Eta.optional(),
  queuePosition: QueuePosition.optional(),
  expectedStartAt: ExpectedStartAt.optional(),
  stalled: Stalled.optional(),
  tags: z.array(z.string()).optional().describe('The tags the job was submitted with (absent: none).'),
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
    rate: Rate.optional(),
    eta: Eta.optional(),
    details: Details.optional(),
    queuePosition: QueuePosition.optional(),
    expectedStartAt: ExpectedStartAt.optional(),
    stalled: Stalled.optional(),
    type: z.string().optional().describe('On the feed (`GET /events/feed`) only: the job type.'),
    tags: z.array(z.string()).optional().describe("On the feed only: the job's tags (absent: none)."),
  })
  .describe(
    "`event: progress` — the job's current state. Sent on connect and on every change, including a change of its queue position or stall signal (with the id of the state it updates).",
  );
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
  .object({
    jobId: JobId.optional().describe(
      'The job whose log lines were not kept; absent on the feed, where it is the feed.',
    ),
    reason: z.string(),
  })
  .describe(
    '`event: reset` — the resume cursor was older than the events kept: some log lines (on the feed: some changes) were not replayed. The current state follows.',
  );
export type ResetEvent = z.infer<typeof ResetEvent>;

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

export const SummaryEvent = z
  .object({
    total: z.int().min(0).describe('Jobs of the stream that exist.'),
    completed: z.int().min(0),
    failed: z.int().min(0),
    cancelled: z.int().min(0),
    progress: z
      .number()
      .min(0)
      .max(100)
      .describe('Mean progress of the jobs, a finished job counting 100: how far the group is.'),
    eta: z.iso
      .datetime()
      .optional()
      .describe(
        "When the group is expected to be done: the ETA smoothing of `jobs/pace` applied to the group's mean progress.",
      ),
  })
  .describe(
    "`event: summary` — multi-job streams that ask for it (`summary=true`; a batch's `links.events` does): the group at a glance, once per change.",
  );
export type SummaryEvent = z.infer<typeof SummaryEvent>;

export const StreamEventNames = ['progress', 'log', 'done', 'reset', 'gone', 'summary'] as const;
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
    tag: Tag.optional().describe('Only jobs submitted with this tag.'),
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

// ---- The feed (GET /events/feed) ----

/** Values one feed filter may list. */
export const MAX_FEED_FILTER_VALUES = 20;

/** A query parameter holding a comma-separated list of `item`s (any of them matches). */
const commaList = <T extends z.ZodType<string, string>>(item: T, what: string) =>
  z
    .string()
    .transform((value) => value.split(',').map((part) => part.trim()))
    .pipe(z.array(item).min(1).max(MAX_FEED_FILTER_VALUES))
    .optional()
    .describe(`${what}, comma-separated (any of them; at most ${MAX_FEED_FILTER_VALUES}).`);

export const FeedQuery = z
  .object({
    state: commaList(
      JobState,
      'Only jobs entering, in or leaving these states (`queued`, `active`, `completed`, `failed`, `cancelled`): a job that leaves them, or finishes, sends that event too',
    ),
    type: commaList(z.string().min(1).max(100), 'Only jobs of these types'),
    tag: commaList(Tag, 'Only jobs with one of these tags'),
  })
  .strict();
export type FeedFilter = z.output<typeof FeedQuery>;

// ---- Probes ----

/** What `GET /healthz` answers. */
export const HealthStatus = z.object({ status: z.literal('ok') }).describe('The process is up.');
export type HealthStatus = z.infer<typeof HealthStatus>;

/** What `GET /readyz` answers. */
export const ReadyStatus = z.object({ status: z.literal('ready') }).describe('The process can reach Redis.');
export type ReadyStatus = z.infer<typeof ReadyStatus>;
