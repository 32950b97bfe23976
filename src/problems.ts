/**
 * @module problems
 * One error class for every client-facing failure, and the catalogue of problem types. Routes
 * throw a {@link ProblemError}; `app.onError` turns it into an RFC 9457
 * `application/problem+json` response in one place. Anything else becomes a generic 500 whose
 * cause is logged, never returned.
 */
import type { z } from 'zod';

export interface FieldError {
  path: string;
  message: string;
}

/** The kinds of problem jobcast reports; `type` is `/problems/<key>`. */
export const problemTypes = {
  'malformed-json': { status: 400, title: 'Malformed JSON body' },
  'bad-request': { status: 400, title: 'Bad request' },
  'not-found': { status: 404, title: 'Not found' },
  'job-not-found': { status: 404, title: 'Job not found' },
  unauthorized: { status: 401, title: 'Authentication required' },
  'invalid-token': { status: 401, title: 'Invalid stream token' },
  'token-expired': { status: 401, title: 'Stream token expired' },
  'token-scope': { status: 403, title: 'Stream token does not cover this job' },
  'listing-needs-key': { status: 403, title: 'Listing jobs needs an API key' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'job-finished': { status: 409, title: 'Job already finished' },
  'idempotency-key-in-progress': { status: 409, title: 'Request with this Idempotency-Key in progress' },
  'idempotency-key-jobs-gone': { status: 409, title: 'The jobs of this Idempotency-Key are no longer kept' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'validation-failed': { status: 422, title: 'Validation failed' },
  'unknown-job-type': { status: 422, title: 'Unknown job type' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency key reused with a different request' },
  'too-many-requests': { status: 429, title: 'Too many requests' },
  'too-many-streams': { status: 429, title: 'Too many open streams' },
  'internal-error': { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemType = keyof typeof problemTypes;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  readonly problem: ProblemType;
  readonly status: number;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    problem: ProblemType,
    detail?: string,
    options: { extensions?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail ?? problemTypes[problem].title, { cause: options.cause });
    this.name = 'ProblemError';
    this.problem = problem;
    this.status = problemTypes[problem].status;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  body(instance?: string): ProblemBody {
    return {
      type: `/problems/${this.problem}`,
      title: problemTypes[this.problem].title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

/**
 * A zod failure as a problem (422 for bodies, 400 for query strings) that lists every field
 * error, quoting where it was.
 */
export function validationProblem(
  error: z.ZodError,
  where: string,
  problem: 'validation-failed' | 'bad-request' = 'validation-failed',
): ProblemError {
  return fieldProblem(fieldErrors(error, where), problem);
}

/** A zod failure as field errors; paths are dotted and start with `where` (`data.steps`). */
export function fieldErrors(error: z.ZodError, where: string): FieldError[] {
  const at = (path: PropertyKey[]) => [where, ...path.map(String)].filter(Boolean).join('.');
  // An unknown field is reported where it is (`data.bogus`), not at its parent object.
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: at([...issue.path, key]), message: `unknown field ${JSON.stringify(key)}` }))
      : [{ path: at(issue.path), message: issue.message }],
  );
}

/** A problem that lists field errors, each quoted in its detail too. */
export function fieldProblem(
  errors: FieldError[],
  problem: 'validation-failed' | 'bad-request' = 'validation-failed',
): ProblemError {
  const detail = errors.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ');
  return new ProblemError(problem, detail, { extensions: { errors } });
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
