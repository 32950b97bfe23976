/**
 * @module workers/handler
 * What a job handler is: an async function of (validated input, context) → result.
 */
import type { JobInput, JobResult, JobType } from '../src/jobs/registry.js';

export interface JobContext {
  readonly jobId: string;
  /** 1 on the first attempt, 2 on the first retry, … */
  readonly attempt: number;
  /**
   * Reports progress, 0–100 (clamped), with an optional message and optional details (a JSON
   * object of at most 4 KB: counts, the current file…), each kept until replaced. Awaiting is
   * optional: reports are sent in order either way. Details that are not a plain JSON object,
   * or too large, throw an `InvalidDetailsError` here, before anything is sent.
   */
  progress(percent: number, message?: string, details?: Record<string, unknown>): Promise<void>;
  /** Appends a line to the job's log, streamed to watchers as `event: log`. */
  log(line: string): Promise<void>;
  /** Aborted when the job is cancelled or the worker shuts down: stop soon and throw. */
  readonly signal: AbortSignal;
}

export type Handler<T extends JobType> = (input: JobInput<T>, ctx: JobContext) => Promise<JobResult<T>>;

/** Every registered job type has exactly one handler: a missing one is a compile error. */
export type HandlerMap = { [T in JobType]: Handler<T> };
