/**
 * @module jobs/schemas/job
 * A job as the API shows it: its id, state, tags and links, and the resource `GET /jobs/{id}`
 * answers with (and every other route that answers with a job).
 */
import { z } from 'zod';
// webhooks (#17): the resource's `webhook`, defined in its module.
import { Webhook } from '../../webhooks/schemas.js';
import { Details, Eta, ExpectedStartAt, QueuePosition, Rate, Stalled } from './progress-fields.js';

export const JobState = z
  .enum(['queued', 'active', 'completed', 'failed', 'cancelled'])
  .describe('queued (waiting, delayed or retrying) → active → completed | failed | cancelled');
export type JobState = z.infer<typeof JobState>;

export const TerminalStatus = z.enum(['completed', 'failed', 'cancelled']);
export type TerminalStatus = z.infer<typeof TerminalStatus>;

/** Job ids are random UUIDs (122 random bits): knowing an id is what lets one read a job. */
/** As jobcast writes them (`crypto.randomUUID`): lower case. */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const JobId = z.stringFormat('uuid', JOB_ID).describe('Random, unguessable job id (a UUID, in lower case).');

/**
 * Whether `id` is a job id: `JobId`'s own pattern, tested directly. It runs on every stream
 * opened and every job read, and `safeParse` costs several times the regular expression it
 * comes down to (a result object, zod's checks around it). A string passes the one exactly
 * when it passes the other.
 */
export const isJobId: (id: string) => boolean = JobId.def.pattern
  ? RegExp.prototype.test.bind(JobId.def.pattern)
  : (id) => JobId.safeParse(id).success;

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
