/**
 * @module problems/catalogue
 * The kinds of problem jobcast reports, each with its status and title, and its documentation:
 * when the service answers with it, what to do about it, and a body it really sends. The
 * documentation is the page its `type` URI answers (`GET /problems/<type>`, see
 * `routes/problem-pages`) and its example in the OpenAPI document. Every field of an entry is
 * required, so a type cannot be added undocumented. A `ProblemError` (`problems`) names one of these.
 */

/** What the catalogue says about one problem type. */
export interface ProblemTypeDefinition {
  status: number;
  title: string;
  /** When the service answers with it: one or two sentences, Markdown code spans allowed. */
  when: string;
  /** What the client (or operator) should do about it. */
  todo: string;
  /**
   * A body the service really sends, minus `type`, `title` and `status` (which follow from
   * the entry): `detail`, `instance` and any extension members.
   */
  example: { detail: string; instance?: string; [extension: string]: unknown };
}

/** The id the catalogue's examples use for "some job". */
const JOB = '6f1c2b9e-4d3a-4e7b-9a58-0c2e1d7f3b64';

/** The kinds of problem jobcast reports; `type` is `/problems/<key>`. */
export const problemTypes = {
  'malformed-json': {
    status: 400,
    title: 'Malformed JSON body',
    when: 'The request body could not be parsed as JSON.',
    todo: 'Send a valid JSON document (check quoting and commas); `detail` quotes the parser’s complaint.',
    example: {
      detail: "the body is not valid JSON: Expected ',' or '}' after property value in JSON at position 19",
      instance: '/jobs',
    },
  },
  'bad-request': {
    status: 400,
    title: 'Bad request',
    when: 'A header or query parameter is invalid: an `Idempotency-Key` that is not 1–255 printable ASCII characters, a `GET /jobs` query the API does not know, or a `GET /events` without `jobs`. Stream tokens asked for while no API keys are configured get it too, and so does a request that is not readable HTTP (a malformed request line, header or `Content-Length`), answered before any route and then closed.',
    todo: 'Fix the request as `detail` (and `errors`, for query parameters) says; sending it again unchanged will not help.',
    example: { detail: 'Idempotency-Key must be 1–255 printable ASCII characters', instance: '/jobs' },
  },
  'not-found': {
    status: 404,
    title: 'Not found',
    when: 'Nothing is routed at this path, or the operator view is off.',
    todo: 'Check the path against the API reference (`/docs`).',
    example: { detail: 'nothing at GET /job', instance: '/job' },
  },
  'job-not-found': {
    status: 404,
    title: 'Job not found',
    when: 'No job has this id: it never existed, it finished longer ago than the retention period (`JOB_RETENTION_SECONDS`), or it belongs to another API key. An event stream answers it too, which makes EventSource stop.',
    todo: 'Check the id. A job that is gone stays gone: submit it again if you still need it.',
    example: { detail: `no job with id "${JOB}"`, instance: `/jobs/${JOB}` },
  },
  unauthorized: {
    status: 401,
    title: 'Authentication required',
    when: 'API keys are configured and the request has no valid key: no `Authorization` header, an unknown key, or a stream token where only a key is accepted.',
    todo: 'Send `Authorization: Bearer <API key>`. Event streams also take the `?token=` of a job’s `links.events`.',
    example: { detail: 'send Authorization: Bearer <API key>', instance: '/jobs' },
  },
  'invalid-token': {
    status: 401,
    title: 'Invalid stream token',
    when: 'The `?token=` of an event stream is not one this service signed (altered, cut short, or signed with another `STREAM_TOKEN_SECRET`).',
    todo: 'Use the events link exactly as the API gave it (`links.events`), or get a new token with `POST /events/tokens`.',
    example: { detail: 'the stream token is not valid', instance: `/jobs/${JOB}/events` },
  },
  'token-expired': {
    status: 401,
    title: 'Stream token expired',
    when: 'The stream token is older than `STREAM_TOKEN_TTL_SECONDS`.',
    todo: 'Fetch the job again with your API key (`GET /jobs/{id}`) for a fresh events link, and open it with `&lastEventId=<last id seen>`: nothing is lost.',
    example: {
      detail:
        'the stream token has expired: fetch the job again (GET /jobs/{id}) for a fresh events link, and resume with lastEventId',
      instance: `/jobs/${JOB}/events`,
    },
  },
  'token-scope': {
    status: 403,
    title: 'Stream token does not cover this job',
    when: 'The stream token is valid but was issued for other jobs than some of those asked for.',
    todo: 'Get a token that names every job of the stream (`POST /events/tokens`), or open one stream per events link.',
    example: { detail: `the stream token does not cover ${JOB}`, instance: '/events' },
  },
  'listing-needs-key': {
    status: 403,
    title: 'Listing jobs needs an API key',
    when: '`GET /jobs` on a service that runs without API keys: there a job id is a capability, so nothing enumerates them.',
    todo: 'Keep the ids of the jobs you submit (the `202` answer has them), or have the operator set `API_KEYS`: then each key lists its own jobs.',
    example: {
      detail:
        'jobs are listed only to the API key that created them; without API keys a job is reached by its id alone (set API_KEYS to list your jobs)',
      instance: '/jobs',
    },
  },
  'method-not-allowed': {
    status: 405,
    title: 'Method not allowed',
    when: 'The path exists but does not answer this method; the `Allow` header lists those it does.',
    todo: 'Use a method from `Allow`.',
    example: { detail: 'GET is not allowed here; use POST', instance: '/jobs/batch' },
  },
  'job-finished': {
    status: 409,
    title: 'Job already finished',
    when: 'A cancel arrived after the job had completed, failed or been cancelled.',
    todo: 'Nothing to cancel: `state` says how the job ended, and `GET /jobs/{id}` has its result or error.',
    example: {
      detail: 'the job already finished: it is completed',
      instance: `/jobs/${JOB}/cancel`,
      state: 'completed',
    },
  },
  'idempotency-key-in-progress': {
    status: 409,
    title: 'Request with this Idempotency-Key in progress',
    when: 'An earlier request with the same `Idempotency-Key` is still being processed.',
    todo: 'Retry after `Retry-After` seconds with the same key and body: you then get that request’s job(s).',
    example: { detail: 'a request with this Idempotency-Key is still being processed', instance: '/jobs' },
  },
  'idempotency-key-jobs-gone': {
    status: 409,
    title: 'The jobs of this Idempotency-Key are no longer kept',
    when: 'The `Idempotency-Key` was used before, and the jobs it created have finished and expired (`JOB_RETENTION_SECONDS` is shorter than `IDEMPOTENCY_KEY_TTL_SECONDS`). The key stays used for the rest of its lifetime, so it never creates a second job.',
    todo: 'The work was done already. To run it again, send it with a new key; `jobIds` names the jobs the key created.',
    example: {
      detail:
        'the job this Idempotency-Key created finished and is no longer kept (JOB_RETENTION_SECONDS); the key stays used for 86395 s more: send new work with a new key',
      instance: '/jobs',
      jobIds: [JOB],
    },
  },
  'payload-too-large': {
    status: 413,
    title: 'Request body too large',
    when: 'The request body is larger than `MAX_BODY_BYTES`.',
    todo: 'Send less: keep large inputs elsewhere and pass a reference in `data`, or split a batch.',
    example: { detail: 'the request body is larger than 1048576 bytes', instance: '/jobs/batch' },
  },
  'headers-too-large': {
    status: 431,
    title: 'Request header fields too large',
    when: 'The request line and headers together are larger than the server reads (16 KiB: a long URL counts). Answered before any route, without `instance`, and the connection is closed.',
    todo: 'Send a shorter URL or fewer, shorter headers: what is large belongs in the body.',
    example: { detail: 'the request line and headers are larger than 16384 bytes' },
  },
  'unsupported-media-type': {
    status: 415,
    title: 'Unsupported media type',
    when: 'A submission’s `Content-Type` is not JSON, or its body is compressed (a `Content-Encoding` other than `identity`).',
    todo: 'Send the body as `application/json` (the `Accept-Post` header says so too), uncompressed (`Accept-Encoding: identity`).',
    example: { detail: 'send the job as application/json, not text/plain', instance: '/jobs' },
  },
  'validation-failed': {
    status: 422,
    title: 'Validation failed',
    when: 'The body is JSON but not a valid request: a field is missing, unknown or out of range, or a batch has more jobs than may be submitted in a minute. `errors` lists the field errors (the first 100; `totalErrors` counts them all).',
    todo: 'Fix each field in `errors` (its `path` is dotted: `data.steps`, `jobs.3.type`); the same body will fail again.',
    example: {
      detail: 'data.steps: Too small: expected number to be >=1; data.colour: unknown field "colour"',
      instance: '/jobs',
      errors: [
        { path: 'data.steps', message: 'Too small: expected number to be >=1' },
        { path: 'data.colour', message: 'unknown field "colour"' },
      ],
      totalErrors: 2,
    },
  },
  'unknown-job-type': {
    status: 422,
    title: 'Unknown job type',
    when: 'The job’s `type` is not one this service runs.',
    todo: 'Use one of `knownTypes`.',
    example: {
      detail: 'unknown job type "no-such-type"; known types: simulate',
      instance: '/jobs',
      knownTypes: ['simulate'],
    },
  },
  'idempotency-key-reused': {
    status: 422,
    title: 'Idempotency key reused with a different request',
    when: 'The `Idempotency-Key` was already used, within `IDEMPOTENCY_KEY_TTL_SECONDS`, with another body.',
    todo: 'Use a new key for a new request; reuse a key only to retry the very same request.',
    example: { detail: 'this Idempotency-Key was already used with a different request body', instance: '/jobs' },
  },
  'too-many-requests': {
    status: 429,
    title: 'Too many requests',
    when: 'This client submitted more jobs this minute than `RATE_LIMIT_PER_MINUTE` allows (each job of a batch counts).',
    todo: 'Wait `Retry-After` seconds, then send again; nothing of the refused request was kept.',
    example: {
      detail: 'at most 600 jobs per minute; retry in 17 s',
      instance: '/jobs',
      limit: 600,
      retryAfterSeconds: 17,
    },
  },
  'too-many-streams': {
    status: 429,
    title: 'Too many open streams',
    when: 'This client already holds `MAX_STREAMS_PER_CLIENT` event streams open.',
    todo: 'Close a stream you no longer read, or watch several jobs on one (`GET /events?jobs=…`).',
    example: {
      detail: 'at most 200 open streams per client; close one first',
      instance: `/jobs/${JOB}/events`,
      limit: 200,
    },
  },
  'internal-error': {
    status: 500,
    title: 'Internal server error',
    when: 'Something failed inside the service that no other type describes. Its cause is logged with the `X-Request-Id`, never returned.',
    todo: 'Retry later; if it persists, give the operator the response’s `X-Request-Id`.',
    example: { detail: 'something went wrong on our side', instance: '/jobs' },
  },
  unavailable: {
    status: 503,
    title: 'Service unavailable',
    when: 'Redis, which holds the queue and every job, cannot be reached; or a part loaded on its first request (the live page, the API description, the API reference, the operator view) could not be loaded, which the detail names. A rejected submission wrote nothing.',
    todo: 'Retry after `Retry-After` seconds (the same `Idempotency-Key` makes a retried submission safe).',
    example: { detail: 'the job store is unreachable; retry shortly', instance: '/jobs' },
  },
} as const satisfies Record<string, ProblemTypeDefinition>;

export type ProblemType = keyof typeof problemTypes;
