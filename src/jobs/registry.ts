/**
 * @module jobs/registry
 * The job-type catalogue, shared by the API (validates `data` on submit) and the workers
 * (re-validate and pick the handler). Adding a job type = one entry here + one handler file in
 * `workers/handlers/`; the handler map there is typed against this catalogue, so a type
 * without a handler does not compile.
 */
import { z } from 'zod';

export interface JobTypeDefinition {
  /** One line for the docs. */
  description: string;
  /** Validates and fills defaults of the submitted `data`. */
  input: z.ZodType;
  /** Describes the handler's return value (documentation; results are stored as JSON). */
  result: z.ZodType;
}

const SimulateInput = z
  .object({
    steps: z.int().min(1).max(10_000).default(10).describe('Number of steps to run.'),
    stepMs: z.int().min(0).max(60_000).default(200).describe('Milliseconds each step takes.'),
    failAtStep: z.int().min(1).optional().describe('Fail (throw) when this step is reached.'),
    jitter: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'Uneven steps: each step takes `stepMs` × a factor between 1 − jitter and 1 + jitter (a fixed sequence, the same on every run).',
      ),
  })
  .strict();

export const jobTypes = {
  simulate: {
    description:
      'Demo job: runs `steps` steps of `stepMs` each, reporting progress after every step; fails at `failAtStep` if given.',
    input: SimulateInput,
    result: z.object({ steps: z.int() }),
  },
} as const satisfies Record<string, JobTypeDefinition>;

export type JobType = keyof typeof jobTypes;
export type JobInput<T extends JobType> = z.output<(typeof jobTypes)[T]['input']>;
export type JobResult<T extends JobType> = z.output<(typeof jobTypes)[T]['result']>;

export const jobTypeNames = Object.keys(jobTypes) as JobType[];

export function isJobType(name: string): name is JobType {
  return Object.hasOwn(jobTypes, name);
}
