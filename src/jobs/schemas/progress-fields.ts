/**
 * @module jobs/schemas/progress-fields
 * What a job's progress tells beyond the percentage: its pace and ETA, the handler's details,
 * its place in the queue and when it is expected to start, the stall signal. Both the job
 * resource and the `progress` event carry them, described once here.
 */
import { z } from 'zod';
import { MAX_DETAILS_BYTES } from '../details.js';

export const Rate = z
  .number()
  .min(0)
  .describe(
    'Running jobs that have made progress: percent per second, smoothed over the recent reports (README, "ETA and rate").',
  );
export const Eta = z.iso
  .datetime()
  .describe(
    'Running jobs that have made progress: when 100% is expected at `rate`. Absent while the job is `stalled`.',
  );
export const Details = z
  .record(z.string(), z.unknown())
  .describe(
    `The latest details the handler reported with its progress (a JSON object of at most ${MAX_DETAILS_BYTES} bytes); kept until it reports others.`,
  );
export const QueuePosition = z
  .int()
  .min(1)
  .describe(
    "Queued jobs: the job's place in the line, 1 = next to start. Absent while a delay or retry backoff runs (see `expectedStartAt`).",
  );
export const ExpectedStartAt = z.iso
  .datetime()
  .describe(
    'Queued jobs, when it can be estimated: when the job is expected to start (from the recent run times of its type and the workers running), or when its delay or backoff ends.',
  );
export const Stalled = z
  .boolean()
  .describe(
    'Running jobs: true while the job has reported nothing for longer than 5 × its usual interval between reports, and at least `STALL_AFTER_MS`. Only a signal: the job keeps running.',
  );
