/**
 * @module jobs/job-type
 * What a job type is — a name, a schema for its input (zod, or a plain JSON Schema object), an
 * optional schema of its result, and a handler: an async function of (validated input,
 * context) → result — and `defineJobType`, which gives TypeScript authors the handler's input
 * type from a zod schema. The built-in types and the modules named by `JOB_TYPES` use this one
 * shape; `jobs/registry` checks and loads them.
 *
 * @example
 * export default [
 *   defineJobType({
 *     name: 'resize',
 *     input: z.object({ url: z.url(), width: z.int().min(1) }),
 *     async handler({ url, width }, ctx) {
 *       await ctx.progress(50, 'resizing');
 *       return { url: `${url}?w=${width}` };
 *     },
 *   }),
 * ];
 */
import type { z } from 'zod';

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

/** A JSON Schema (2020-12) as a plain object, e.g. `{ type: 'object', properties: {…} }`. */
export type JsonSchemaObject = { readonly [keyword: string]: unknown };

/** What a job type's `input` (and `result`) may be. */
export type Schema = z.ZodType | JsonSchemaObject;

/** The handler's input: a zod schema's output; whatever the handler declares for a JSON Schema. */
export type InputOf<S> = S extends z.ZodType ? z.output<S> : unknown;

export interface JobTypeDefinition<Name extends string = string, Input extends Schema = Schema, Result = unknown> {
  /** What clients send as `type`: letters, digits and `_ . : -`, at most 100 characters. */
  name: Name;
  /** One line for the docs (`/docs`, `/openapi.json`). */
  description?: string;
  /** Validates `data` (and fills its defaults) on submit, and again in the worker. */
  input: Input;
  /** Describes what the handler returns (documentation; results are stored as JSON). */
  result?: z.ZodType<Result> | JsonSchemaObject;
  /**
   * Runs one attempt. Report with `ctx.progress`/`ctx.log`, honour `ctx.signal`, return the
   * result; throwing fails the attempt with the error's message.
   */
  handler(input: InputOf<Input>, ctx: JobContext): Promise<Result> | Result;
}

/** Any job type's handler, as the worker calls it (with input its schema already checked). */
export type JobHandler = (input: never, ctx: JobContext) => unknown;

/**
 * Returns `definition` unchanged; its point is the types: `handler`'s input is inferred from a
 * zod `input` schema, and its return value checked against `result`.
 */
export function defineJobType<const Name extends string, Input extends Schema, Result = unknown>(
  definition: JobTypeDefinition<Name, Input, Result>,
): JobTypeDefinition<Name, Input, Result> {
  return definition;
}
