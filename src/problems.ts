/**
 * @module problems
 * One error class for every client-facing failure, and the catalogue of problem types. Routes
 * throw a {@link ProblemError}; `app.onError` turns it into an RFC 9457
 * `application/problem+json` response in one place. Anything else becomes a generic 500 whose
 * cause is logged, never returned.
 *
 * The catalogue also writes the documentation of each type: the page its `type` URI answers
 * (`GET /problems/<type>`, see `routes/problem-pages`) and its example in the OpenAPI
 * document. Every field of an entry is required, so a type cannot be added undocumented.
 *
 * The catalogue itself is data, kept in `problems/catalogue`; this module re-exports it.
 */
import type { z } from 'zod';
import { type ProblemType, problemTypes } from './problems/catalogue.js';

export { type ProblemType, type ProblemTypeDefinition, problemTypes } from './problems/catalogue.js';

/** One field error of a validation failure: where (a dotted path) and what is wrong. */
export interface FieldError {
  path: string;
  message: string;
}

/** An RFC 9457 problem body, as the service sends it. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
  totalErrors?: number;
  [extension: string]: unknown;
}

/** A client-facing failure of a catalogued type; thrown by routes, answered by `app.onError`. */
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
      type: problemTypeUri(this.problem),
      title: problemTypes[this.problem].title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

/** The `type` of a problem: a relative URI that answers with the type's documentation. */
export const problemTypeUri = (problem: ProblemType) => `/problems/${problem}`;

/**
 * Field errors a problem lists at most. A body (or query string) with thousands of unknown
 * fields must not get an answer many times its own size: the rest are counted in
 * `totalErrors`, not listed.
 */
export const MAX_LISTED_ERRORS = 100;

/** Field errors quoted in `detail`; `errors` has the (listed) rest. */
const MAX_ERRORS_IN_DETAIL = 10;

/** A path or message longer than this (a field name of a megabyte) is cut, with `…`. */
const MAX_ERROR_TEXT = 200;

/**
 * A zod failure as a problem (422 for bodies, 400 for query strings) that lists the field
 * errors, quoting where they were.
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
  return withoutLooserBounds(error.issues).flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: at([...issue.path, key]), message: `unknown field ${JSON.stringify(key)}` }))
      : [{ path: at(issue.path), message: issue.message }],
  );
}

/**
 * The issues without a bound of a field that a tighter bound of the same field also failed:
 * `z.int().max(7 days)` checks the safe-integer range too, and 1e20 would be told both. One
 * pass and a map: a body can carry tens of thousands of issues.
 */
function withoutLooserBounds(issues: readonly z.core.$ZodIssue[]): readonly z.core.$ZodIssue[] {
  // As a number where smaller is tighter: a maximum, or a minimum negated.
  const bound = (issue: z.core.$ZodIssue) =>
    issue.code === 'too_big' ? Number(issue.maximum) : issue.code === 'too_small' ? -Number(issue.minimum) : undefined;
  const key = (issue: z.core.$ZodIssue) => `${issue.code}\0${issue.path.map(String).join('\0')}`;
  const tightest = new Map<string, number>();
  for (const issue of issues) {
    const b = bound(issue);
    if (b === undefined) continue;
    const known = tightest.get(key(issue));
    if (known === undefined || b < known) tightest.set(key(issue), b);
  }
  if (tightest.size === 0) return issues;
  return issues.filter((issue) => {
    const b = bound(issue);
    return b === undefined || b <= (tightest.get(key(issue)) as number);
  });
}

/**
 * A problem that lists field errors (the first {@link MAX_LISTED_ERRORS}, each cut to a
 * sane length) and counts them all in `totalErrors`; the first few are quoted in its detail.
 */
export function fieldProblem(
  errors: FieldError[],
  problem: 'validation-failed' | 'bad-request' = 'validation-failed',
): ProblemError {
  const listed = errors
    .slice(0, MAX_LISTED_ERRORS)
    .map(({ path, message }) => ({ path: clip(path), message: clip(message) }));
  const quoted = listed.slice(0, MAX_ERRORS_IN_DETAIL).map((e) => `${e.path || '(body)'}: ${e.message}`);
  const unquoted = errors.length - quoted.length;
  const detail = `${quoted.join('; ')}${unquoted > 0 ? `; and ${unquoted} more` : ''}`;
  return new ProblemError(problem, detail, { extensions: { errors: listed, totalErrors: errors.length } });
}

/** `text` cut to a length a problem's detail can carry (whatever a client sent: a 3,000-character id). */
export const clip = (text: string) => (text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT - 1)}…` : text);

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
