/**
 * @module jobs/schemas/submission
 * What a client sends to submit work: the envelope of `POST /jobs` (its `data` is checked
 * afterwards by the job type's own schema), the options of a job, the `Idempotency-Key`
 * header, and a batch of jobs (`POST /jobs/batch`) with what it answers.
 */
import { z } from 'zod';
// webhooks (#17): a submission's `webhook`, defined in its module.
import { WebhookRequest } from '../../webhooks/schemas.js';
import { JobResource, Tags } from './job.js';
import { MAX_JOBS_PER_STREAM } from './streams.js';

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
    tags: Tags.optional(),
  })
  .strict();

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
