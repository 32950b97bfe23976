/**
 * @module jobs/schemas/events
 * The events of a stream (`GET /jobs/{id}/events`, `GET /events`, `GET /events/feed`):
 * `progress`, `log`, `done`, `reset`, `gone` and a group's `summary`. Each one's description says
 * when it is sent; the resume cursors are explained in `events/session`.
 */
import { z } from 'zod';
import { JobId, JobState, TerminalStatus } from './job.js';
import { Details, Eta, ExpectedStartAt, QueuePosition, Rate, Stalled } from './progress-fields.js';

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
    "`event: reset` — the resume cursor was older than the events kept: some log lines (on the feed: some changes) were not replayed; or newer than anything the job reached (Redis lost recent writes, or another job's cursor): its id (on a multi-job stream, that job's part of it) is then 0 and the job starts over. The current state follows.",
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
        'When the group is expected to be done: its mean progress carried forward at the rate it gained over the last 30 s (or since the stream opened, once that is half a second).',
      ),
  })
  .describe(
    "`event: summary` — multi-job streams that ask for it (`summary=true`; a batch's `links.events` does): the group at a glance, once per change.",
  );
export type SummaryEvent = z.infer<typeof SummaryEvent>;

export const StreamEventNames = ['progress', 'log', 'done', 'reset', 'gone', 'summary'] as const;
export type StreamEventName = (typeof StreamEventNames)[number];
