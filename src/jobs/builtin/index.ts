/**
 * @module jobs/builtin
 * The job types every jobcast knows without a `JOB_TYPES` module. Adding one here = one file
 * beside this one, in the shape of `jobs/job-type` (as `simulate.ts`), listed below.
 */
import { simulate } from './simulate.js';

export const builtInJobTypes = [simulate] as const;

type BuiltIn = (typeof builtInJobTypes)[number];

/** Handlers to run in place of built-in ones, by job type (tests script their jobs this way). */
export type HandlerOverrides = { [T in BuiltIn as T['name']]?: T['handler'] };
