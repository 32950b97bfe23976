/**
 * @module openapi/problems
 * The problem responses operations share (`components.responses`): one per HTTP status, with
 * the headers that status carries, a link to the page of each problem type of the catalogue
 * (`problems`) that answers with it, and that type's example.
 *
 * @example
 * problemResponse(503).headers // { 'Retry-After': { … } }
 */
import { PROBLEM_CONTENT_TYPE, type ProblemType, problemTypes, problemTypeUri } from '../problems.js';
import { type Json, ref } from './refs.js';

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
};

/** Every problem status an operation may answer with, and its shared response component. */
export const problemResponses = {
  400: { name: 'BadRequest', description: 'The request is malformed: the `detail` says how.' },
  401: {
    name: 'Unauthorized',
    description: 'API keys are configured and the request has no valid key (or stream token).',
    headers: {
      'WWW-Authenticate': { required: true, description: 'The `Bearer` challenge.', schema: { type: 'string' } },
    },
  },
  403: {
    name: 'Forbidden',
    description:
      'The stream token does not cover every job asked for, or jobs are listed without an API key (the service runs open: an id is the only way to a job).',
  },
  404: { name: 'NotFound', description: "No such job (another API key's jobs included), or nothing at this path." },
  409: {
    name: 'Conflict',
    description:
      'The request conflicts with the current state: the job already finished, a request with this `Idempotency-Key` is still in progress, or the jobs it created are no longer kept.',
    headers: retryAfter,
  },
  413: { name: 'PayloadTooLarge', description: 'The body is larger than the limit (`MAX_BODY_BYTES`).' },
  431: {
    name: 'RequestHeaderFieldsTooLarge',
    description:
      'The request line and headers together are larger than 16 KiB (a long URL counts): refused before any route, on any path, and the connection is closed.',
  },
  415: {
    name: 'UnsupportedMediaType',
    description: 'The body is not `application/json`, or it is compressed (`Content-Encoding`).',
    headers: {
      'Accept-Post': { description: 'The media type to send instead.', schema: { type: 'string' } },
      'Accept-Encoding': {
        description: 'On a compressed body: `identity`, the only content coding accepted.',
        schema: { type: 'string' },
      },
    },
  },
  422: {
    name: 'UnprocessableContent',
    description: 'The body is JSON but not a valid job; field errors are listed in `errors`.',
  },
  429: {
    name: 'TooManyRequests',
    description: 'Past a per-client limit: submissions or reads per minute, or open streams.',
    headers: { 'Retry-After': { ...retryAfter['Retry-After'], required: true } },
  },
  503: {
    name: 'ServiceUnavailable',
    description:
      "Redis cannot serve the request — unreachable, not answering within `REDIS_COMMAND_TIMEOUT_MS` (frozen), out of memory, read-only or loading: any Redis failure, never a 500, in our words (never Redis's). For a part served from files read on its first request (the live page, this description, the API reference), its files could not be read (a broken install): the detail names the part. Retry after `Retry-After` seconds; nothing was changed.",
    headers: { 'Retry-After': { ...retryAfter['Retry-After'], required: true } },
  },
} as const satisfies Record<number, { name: string; description: string; headers?: Json }>;

/** A status an operation may list among its problems. */
export type ProblemStatus = keyof typeof problemResponses;

/** The problem types (keys of the catalogue) a status answers with. */
const problemTypesOf = (status: number) =>
  (Object.keys(problemTypes) as ProblemType[]).filter((key) => problemTypes[key].status === status);

/**
 * The shared response component of one problem status: its description links the page of
 * each problem type it answers with (`GET /problems/<type>`), and each type has its example,
 * straight from the catalogue.
 */
export function problemResponse(status: ProblemStatus): Json {
  const { description, ...rest } = problemResponses[status];
  const types = problemTypesOf(status);
  const examples = Object.fromEntries(
    types.map((key) => {
      const { title, example } = problemTypes[key];
      return [key, { summary: title, value: { type: problemTypeUri(key), title, status, ...example } }];
    }),
  );
  const pages = types.map((key) => `[${problemTypes[key].title}](${problemTypeUri(key)})`).join(', ');
  return {
    description: `${description} Problem types: ${pages}.`,
    ...('headers' in rest ? { headers: rest.headers } : {}),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: ref('schemas', 'Problem'), examples } },
  };
}
