/**
 * @module jobs/schemas/listing
 * Reading jobs in bulk: the query and the pages of `GET /jobs`, and a job's log lines
 * (`GET /jobs/{id}/logs`).
 */
import { z } from 'zod';
import { JobResource, JobState, Tag } from './job.js';

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
