/**
 * @module jobs/schemas/streams
 * What opens a stream: how many jobs one stream may watch, the stream tokens a browser opens
 * them with (`POST /events/tokens`), and the filters of the feed (`GET /events/feed`).
 */
import { z } from 'zod';
import { JobId, JobState, Tag } from './job.js';

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
