/**
 * @module openapi
 * The OpenAPI 3.1 description of jobcast, generated from the zod schemas the routes validate
 * with (`jobs/schemas`), the job-type registry (`jobs/registry`) and the problem catalogue
 * (`problems`), so it cannot drift from the code. `npm run openapi` writes it to
 * `openapi.yaml`; `GET /openapi.yaml` and `GET /openapi.json` serve it.
 *
 * Adding a route = one entry in {@link operations}. Adding a job type to the registry needs no
 * change here: `POST /jobs` documents every registered type.
 *
 * @example
 * (openApiDocument().paths as any)['/jobs'].post.operationId // 'submitJob'
 */
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { z } from 'zod';
import pkg from '../package.json' with { type: 'json' };
import { jobTypes } from './jobs/registry.js';
import * as S from './jobs/schemas.js';
import { PROBLEM_CONTENT_TYPE, problemTypes } from './problems.js';
import { MAX_JOBS_PER_STREAM, StreamTokenRequest } from './routes/events.js';

type Json = Record<string, unknown>;

const ref = (kind: 'schemas' | 'responses' | 'parameters', name: string) => ({ $ref: `#/components/${kind}/${name}` });

// ---- Schemas -------------------------------------------------------------------------------

// What /healthz and /readyz answer. (They belong in jobs/schemas beside the rest, so the
// routes can be typed against them; until then the contract tests catch any drift.)
const HealthStatus = z.object({ status: z.literal('ok') }).describe('The process is up.');
const ReadyStatus = z.object({ status: z.literal('ready') }).describe('The process can reach Redis.');

/** What `POST /events/tokens` answers (the shape `JobService.streamToken` returns). */
const StreamToken = z
  .object({
    token: z.string().describe('Pass as `?token=` on the event stream.'),
    expiresAt: z.iso.datetime(),
    url: z.string().describe('The `/events` stream of the jobs, token included.'),
  })
  .describe('A stream token for several jobs.');

/** The `Idempotency-Key` header as `routes/jobs` checks it: 1–255 printable ASCII characters. */
const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/);

/** Component name of the `POST /jobs` body of one job type: `simulate` → `SubmitSimulateJob`. */
const submitSchemaName = (type: string) =>
  `Submit${type
    .split(/[^A-Za-z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}Job`;

/**
 * One `POST /jobs` body per registered job type: the envelope the route checks first, with
 * `type` fixed and `data` replaced by that type's input schema. The route reads a missing
 * `data` as `{}`, so `data` is required only where `{}` is not valid input.
 */
function submitSchemas(): Record<string, z.ZodType> {
  return Object.fromEntries(
    Object.entries(jobTypes).map(([type, definition]) => {
      const input: z.ZodType = definition.input;
      const data = input.safeParse({}).success ? input.optional() : input;
      const schema = S.SubmitJobEnvelope.extend({ type: z.literal(type).describe('The job type.'), data }).describe(
        definition.description,
      );
      return [submitSchemaName(type), schema];
    }),
  );
}

/** Schemas that read the same as input and as output; others refer to them by name. */
const sharedSchemas = { JobId: S.JobId, JobState: S.JobState, TerminalStatus: S.TerminalStatus };

/** Converted as what the server sends (`io: 'output'`: defaults are always present). */
const responseSchemas = {
  ...sharedSchemas,
  JobLinks: S.JobLinks,
  JobResource: S.JobResource,
  JobList: S.JobList,
  JobLogLine: S.JobLogLine,
  JobLogs: S.JobLogs,
  ProgressEvent: S.ProgressEvent,
  LogEvent: S.LogEvent,
  DoneEvent: S.DoneEvent,
  ResetEvent: S.ResetEvent,
  Problem: S.Problem,
  StreamToken,
  HealthStatus,
  ReadyStatus,
} satisfies Record<string, z.ZodType>;

/** The data schema of each SSE event name; a name added to `StreamEventNames` must appear here. */
const streamEventSchemas = {
  progress: 'ProgressEvent',
  log: 'LogEvent',
  done: 'DoneEvent',
  reset: 'ResetEvent',
} as const satisfies Record<S.StreamEventName, keyof typeof responseSchemas>;

/**
 * zod → JSON Schema 2020-12 for a set of named schemas; a schema of the set used inside
 * another becomes a `$ref` to its component.
 */
function toComponents(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const converted = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas;
  return Object.fromEntries(
    Object.entries(converted).map(([id, { $schema: _, $id: __, ...schema }]) => {
      // Local `$defs` (cycles, shared sub-schemas) would dangle once moved under components.
      if ('$defs' in schema) throw new Error(`openapi: schema ${id} has $defs; name its shared parts as components`);
      return [id, schema as Json];
    }),
  );
}

function componentSchemas(): Record<string, Json> {
  const schemas = toComponents(responseSchemas, 'output');
  const requests = toComponents(
    { ...sharedSchemas, JobOptions: S.JobOptions, StreamTokenRequest, ...submitSchemas() },
    'input',
  );
  for (const [id, schema] of Object.entries(requests)) {
    if (id in schemas && !isDeepStrictEqual(schemas[id], schema)) {
      throw new Error(`openapi: ${id} differs as input and as output; give the two different component names`);
    }
    schemas[id] = schema;
  }
  const types = Object.keys(jobTypes);
  schemas.SubmitJob = {
    description: `A job to run: its \`type\` (${types.map((t) => `\`${t}\``).join(', ')}), the input \`data\` that type takes, and queue \`options\`.`,
    oneOf: types.map((type) => ref('schemas', submitSchemaName(type))),
    discriminator: {
      propertyName: 'type',
      mapping: Object.fromEntries(types.map((type) => [type, ref('schemas', submitSchemaName(type)).$ref])),
    },
  };
  return sortKeys(schemas);
}

/** One parameter per field of a zod object the route parses its query string with. */
function queryParameters(schema: z.ZodObject): Json[] {
  const { properties = {}, required = [] } = toComponents({ ...sharedSchemas, Query: schema }, 'input').Query as {
    properties?: Record<string, Json>;
    required?: string[];
  };
  return Object.entries(properties).map(([name, { description, ...property }]) => ({
    name,
    in: 'query',
    required: required.includes(name),
    ...(description ? { description } : {}),
    schema: property,
  }));
}

// ---- Shared responses and parameters -------------------------------------------------------

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
};

/** Every problem status an operation may answer with, and its shared response component. */
const problemResponses = {
  400: { name: 'BadRequest', description: 'The request is malformed: the `detail` says how.' },
  401: {
    name: 'Unauthorized',
    description: 'API keys are configured and the request has no valid key (or stream token).',
    headers: {
      'WWW-Authenticate': { required: true, description: 'The `Bearer` challenge.', schema: { type: 'string' } },
    },
  },
  403: { name: 'Forbidden', description: 'The stream token does not cover every job asked for.' },
  404: { name: 'NotFound', description: "No such job (another API key's jobs included), or nothing at this path." },
  409: { name: 'Conflict', description: 'The request conflicts with the current state.', headers: retryAfter },
  413: { name: 'PayloadTooLarge', description: 'The body is larger than the limit (`MAX_BODY_BYTES`).' },
  415: {
    name: 'UnsupportedMediaType',
    description: 'The body is not `application/json`.',
    headers: { 'Accept-Post': { description: 'The media type to send instead.', schema: { type: 'string' } } },
  },
  422: {
    name: 'UnprocessableContent',
    description: 'The body is JSON but not a valid job; field errors are listed in `errors`.',
  },
  429: {
    name: 'TooManyRequests',
    description: 'Past a per-client limit: submissions per minute, or open streams.',
    headers: { 'Retry-After': { ...retryAfter['Retry-After'], required: true } },
  },
  503: { name: 'ServiceUnavailable', description: 'Redis is unreachable; retry shortly.', headers: retryAfter },
} as const satisfies Record<number, { name: string; description: string; headers?: Json }>;
type ProblemStatus = keyof typeof problemResponses;

function problemResponse(status: ProblemStatus): Json {
  const { description, ...rest } = problemResponses[status];
  // One example per problem type of this status, straight from the catalogue.
  const examples = Object.fromEntries(
    Object.entries(problemTypes)
      .filter(([, p]) => p.status === status)
      .map(([key, p]) => [key, { summary: p.title, value: { type: `/problems/${key}`, title: p.title, status } }]),
  );
  return {
    description,
    ...('headers' in rest ? { headers: rest.headers } : {}),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: ref('schemas', 'Problem'), examples } },
  };
}

/** Shared parameters (a function: the document is built on first use, not on import). */
const sharedParameters = (): Record<string, Json> => ({
  JobIdPath: { name: 'id', in: 'path', required: true, description: 'The job id.', schema: ref('schemas', 'JobId') },
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes a retried submission safe: the same key with the same body returns the job the first request created (with `Idempotent-Replayed: true`); the same key with another body is a 422 `idempotency-key-reused` problem, and while the first request is still being processed a 409 `idempotency-key-in-progress`.',
    schema: toComponents({ IdempotencyKey }, 'input').IdempotencyKey,
  },
  LastEventIdHeader: {
    name: 'Last-Event-ID',
    in: 'header',
    required: false,
    description:
      'The `id:` of the last event received (EventSource sends it when it reconnects): the stream resumes after it. An id that is not one of ours means "from the start".',
    schema: { type: 'string' },
  },
  LastEventIdQuery: {
    name: 'lastEventId',
    in: 'query',
    required: false,
    description:
      'The same as the `Last-Event-ID` header, for a first connection (EventSource cannot send headers). The header wins when both are sent.',
    schema: { type: 'string' },
  },
  IfNoneMatch: {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'The `ETag` of the copy the client has: a 304 when it is still current.',
    schema: { type: 'string' },
  },
  JobsQuery: {
    name: 'jobs',
    in: 'query',
    required: true,
    description: `The jobs to watch, comma-separated (1 to ${MAX_JOBS_PER_STREAM}; duplicates are ignored). Their order is the order of the cursors in each \`id:\`.`,
    style: 'form',
    explode: false,
    schema: { type: 'array', items: ref('schemas', 'JobId'), minItems: 1, maxItems: MAX_JOBS_PER_STREAM },
  },
});

const securitySchemes = {
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (`API_KEYS`, `API_KEYS_FILE`) as `Authorization: Bearer <key>`. Needed only when keys are configured; otherwise the service is open. A key sees only the jobs it created: any other job is a 404.',
  },
  streamToken: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description:
      "A short-lived signed token naming the jobs it may watch, for EventSource, which cannot send headers. With keys configured, a job's `links.events` carries one, and `POST /events/tokens` issues one for several jobs. Event streams only; expired → 401 `token-expired`: fetch the job again for a fresh link and resume with `lastEventId`.",
  },
} as const;
type Scheme = keyof typeof securitySchemes;

/** `open`: allowed without credentials while no API key is configured. */
const securityRequirements = (accepted: (Scheme | 'open')[]) =>
  accepted.map((scheme) => (scheme === 'open' ? {} : { [scheme]: [] }));

// ---- Server-Sent Events --------------------------------------------------------------------

/** The stream protocol, for the description of a 200 `text/event-stream` response. */
function streamProtocol(ids: string, end: string): string {
  return `Server-Sent Events (WHATWG HTML §9.2); each event's \`data\` is one JSON object:

- \`retry: <ms>\` first (how long EventSource waits before reconnecting), then at once the current state as a \`progress\` event, so a page can draw its bar.
- \`event: progress\`: the job's state changed. Progress is state, not a log: a slow client may miss intermediate values, never the latest.
- \`event: log\`: a line the handler logged; never dropped.
- \`event: reset\`: the resume cursor was older than the log lines kept; the current state follows.
- \`event: done\`: the job finished (completed, failed or cancelled): its last event. ${end}
- \`: ping\` comment lines keep an idle stream alive.
- ${ids} Send the last one back in the \`Last-Event-ID\` header (EventSource does when it reconnects) or the \`lastEventId\` query parameter to resume: nothing already received comes again and \`done\` is never missed. Once \`done\` was received, a reconnect gets \`204 No Content\`, which makes EventSource stop.

The \`data\` schema of each event name is in \`x-sse-events\`; \`schema\` models the stream as OpenAPI 3.2 models sequential media types (its \`itemSchema\`): one item per event.`;
}

function eventStreamResponse(description: string, idPattern: string): Json {
  const events = Object.entries(streamEventSchemas).map(([event, component]) => ({
    title: event,
    type: 'object',
    properties: {
      id: { type: 'string', pattern: idPattern },
      event: { type: 'string', const: event },
      data: { type: 'string', contentMediaType: 'application/json', contentSchema: ref('schemas', component) },
    },
    required: ['id', 'event', 'data'],
    additionalProperties: false,
  }));
  const retry = {
    title: 'retry',
    type: 'object',
    properties: { retry: { type: 'integer', minimum: 0 } },
    required: ['retry'],
    additionalProperties: false,
  };
  return {
    description,
    headers: {
      'Cache-Control': { required: true, description: '`no-cache, no-transform`.', schema: { type: 'string' } },
      'X-Accel-Buffering': {
        required: true,
        description: 'Tells nginx not to buffer the stream.',
        schema: { type: 'string', const: 'no' },
      },
    },
    content: {
      'text/event-stream': {
        schema: { type: 'array', items: { oneOf: [...events, retry] } },
        'x-sse-events': Object.fromEntries(
          Object.entries(streamEventSchemas).map(([event, component]) => [event, ref('schemas', component)]),
        ),
      },
    },
  };
}

const finishedResponse = (what: string) => ({
  description: `No content: ${what} finished and \`done\` was already received (the \`Last-Event-ID\` is \`done\`'s id). A 204 tells EventSource to stop reconnecting.`,
});

// ---- Operations ----------------------------------------------------------------------------

const tags = [
  { name: 'jobs', description: 'Submit, read, list and cancel jobs.' },
  { name: 'events', description: 'Watch jobs live over Server-Sent Events.' },
  { name: 'web', description: 'The live page and the files it loads.' },
  { name: 'docs', description: 'This description.' },
  { name: 'health', description: 'Liveness and readiness probes, and metrics.' },
] as const;

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** An OpenAPI path template: `/jobs/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: (typeof tags)[number]['name'];
  /** Names in {@link sharedParameters}, or parameter objects. */
  parameters?: (string | Json)[];
  requestBody?: Json;
  /**
   * Credentials accepted; none = a public route. Routes that take a key or token answer 401
   * without one (once keys are configured).
   */
  security?: (Scheme | 'open')[];
  /** Success (and other non-problem) responses by status. */
  responses: Record<number, Json>;
  /** Problem statuses; each refs its shared response. */
  problems?: ProblemStatus[];
}

const json = (schema: Json) => ({ 'application/json': { schema } });

/** The REST endpoints' credentials, and the event streams'. */
const REST: Scheme[] = ['apiKey'];
const STREAM: Scheme[] = ['apiKey', 'streamToken'];

/** A file of the web page: 200 with an ETag, or 304 when the client's copy is current. */
function webFile(path: string, operationId: string, summary: string, mediaType: string, parameters: Json[] = []) {
  return {
    method: 'get',
    path,
    operationId,
    summary,
    tag: 'web',
    parameters: [...parameters, 'IfNoneMatch'],
    responses: {
      200: {
        description: summary,
        headers: {
          ETag: { required: true, description: 'A hash of the content.', schema: { type: 'string' } },
          'Cache-Control': { required: true, description: 'How long it may be cached.', schema: { type: 'string' } },
        },
        content: { [mediaType]: { schema: { type: 'string' } } },
      },
      304: { description: 'Not modified: the copy the client has (`If-None-Match`) is current.' },
    },
  } satisfies Operation;
}

/** `?v=<hash>`: the page links its files by content hash; such a URL is cached for good. */
const assetVersion = {
  name: 'v',
  in: 'query',
  required: false,
  description:
    "The file's content hash, as the page links it: with the current hash the response is cacheable for a year.",
  schema: { type: 'string' },
};

/** Every route of the API. */
const operations = (): Operation[] => [
  {
    method: 'post',
    path: '/jobs',
    operationId: 'submitJob',
    summary: 'Submit a job',
    description: `Validates the job against its type's schema and queues it; nothing is written unless every check passes. Job types:\n\n${Object.entries(
      jobTypes,
    )
      .map(([type, d]) => `- \`${type}\`: ${d.description}`)
      .join('\n')}`,
    tag: 'jobs',
    parameters: ['IdempotencyKey'],
    security: [...REST, 'open'],
    requestBody: { required: true, content: json(ref('schemas', 'SubmitJob')) },
    responses: {
      202: {
        description: 'Accepted and queued. Watch it at `links.events`.',
        headers: {
          Location: { required: true, description: 'The job.', schema: { type: 'string', format: 'uri-reference' } },
          'Idempotent-Replayed': {
            description: '`true` when an earlier request with this `Idempotency-Key` created the job.',
            schema: { type: 'string', const: 'true' },
          },
        },
        content: json(ref('schemas', 'JobResource')),
      },
    },
    problems: [400, 409, 413, 415, 422, 429, 503],
  },
  {
    method: 'get',
    path: '/jobs',
    operationId: 'listJobs',
    summary: 'List jobs',
    description: 'Newest first, filtered by state and type, a page at a time.',
    tag: 'jobs',
    parameters: queryParameters(S.ListJobsQuery),
    security: [...REST, 'open'],
    responses: { 200: { description: 'A page of jobs.', content: json(ref('schemas', 'JobList')) } },
    problems: [400],
  },
  {
    method: 'get',
    path: '/jobs/{id}',
    operationId: 'getJob',
    summary: 'Read a job',
    description: "The job's state and progress, and its result or error once finished.",
    tag: 'jobs',
    parameters: ['JobIdPath'],
    security: [...REST, 'open'],
    responses: { 200: { description: 'The job.', content: json(ref('schemas', 'JobResource')) } },
    problems: [404],
  },
  {
    method: 'get',
    path: '/jobs/{id}/logs',
    operationId: 'getJobLogs',
    summary: "Read a job's log",
    description: 'The log lines kept (the newest `JOB_LOG_MAX_LINES`).',
    tag: 'jobs',
    parameters: ['JobIdPath'],
    security: [...REST, 'open'],
    responses: { 200: { description: 'The log lines, oldest first.', content: json(ref('schemas', 'JobLogs')) } },
    problems: [404],
  },
  {
    method: 'post',
    path: '/jobs/{id}/cancel',
    operationId: 'cancelJob',
    summary: 'Cancel a job',
    description:
      "A queued job is cancelled at once; a running one is stopped through its handler's AbortSignal, and its stream ends with `done` status `cancelled`.",
    tag: 'jobs',
    parameters: ['JobIdPath'],
    security: [...REST, 'open'],
    responses: {
      202: {
        description: 'Cancellation requested; the job as it is now.',
        content: json(ref('schemas', 'JobResource')),
      },
    },
    problems: [404, 409],
  },
  {
    method: 'get',
    path: '/jobs/{id}/events',
    operationId: 'streamJobEvents',
    summary: "Watch a job's progress live (SSE)",
    description:
      'The job as a stream of events, from its current state to `done`. An unknown job is a 404 problem, which makes EventSource stop without reconnecting.',
    tag: 'events',
    parameters: ['JobIdPath', 'LastEventIdHeader', 'LastEventIdQuery'],
    security: [...STREAM, 'open'],
    responses: {
      200: eventStreamResponse(
        streamProtocol(
          "Every event's `id:` is the job's event sequence number (an integer that only grows).",
          'The server then ends the response.',
        ),
        '^\\d+$',
      ),
      204: finishedResponse('the job'),
    },
    problems: [403, 404, 429, 503],
  },
  {
    method: 'get',
    path: '/events',
    operationId: 'streamEvents',
    summary: 'Watch many jobs on one connection (SSE)',
    description: `Browsers allow about six HTTP/1.1 connections per origin: one stream carries the events of up to ${MAX_JOBS_PER_STREAM} jobs, interleaved (each event's \`jobId\` says whose).`,
    tag: 'events',
    parameters: ['JobsQuery', 'LastEventIdHeader', 'LastEventIdQuery'],
    security: [...STREAM, 'open'],
    responses: {
      200: eventStreamResponse(
        streamProtocol(
          "Every event's `id:` is the cursors (event sequence numbers) of all the jobs joined by `.`, in the order of the `jobs` parameter (`4.0.12`), so one `Last-Event-ID` resumes them all.",
          "The server ends the response after the last job's `done`.",
        ),
        '^\\d+(\\.\\d+)*$',
      ),
      204: finishedResponse('every job'),
    },
    problems: [400, 403, 404, 429, 503],
  },
  {
    method: 'post',
    path: '/events/tokens',
    operationId: 'createStreamToken',
    summary: 'Get a stream token for several jobs',
    description:
      "With API keys configured, a browser opens `GET /events` with `?token=` instead of a key. The token covers exactly the jobs named, all of which must be the caller's, until `expiresAt` (`STREAM_TOKEN_TTL_SECONDS`). Without keys there is nothing to issue: 400.",
    tag: 'events',
    security: REST,
    requestBody: { required: true, content: json(ref('schemas', 'StreamTokenRequest')) },
    responses: {
      201: { description: 'The token, and the stream URL with it.', content: json(ref('schemas', 'StreamToken')) },
    },
    problems: [400, 404, 422],
  },
  webFile('/', 'getPage', 'The live page', 'text/html'),
  webFile('/app.js', 'getPageScript', "The page's script", 'text/javascript', [assetVersion]),
  webFile('/styles.css', 'getPageStyles', "The page's styles", 'text/css', [assetVersion]),
  {
    method: 'get',
    path: '/openapi.yaml',
    operationId: 'getOpenApiYaml',
    summary: 'This description, as YAML',
    tag: 'docs',
    responses: {
      200: { description: 'OpenAPI 3.1.', content: { 'application/yaml': { schema: { type: 'string' } } } },
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiJson',
    summary: 'This description, as JSON',
    tag: 'docs',
    responses: { 200: { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) } },
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    summary: 'Liveness probe',
    description: 'Answers while the process runs; checks nothing else.',
    tag: 'health',
    responses: { 200: { description: 'Alive.', content: json(ref('schemas', 'HealthStatus')) } },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'Readiness probe',
    description: 'Ready when Redis answers a PING.',
    tag: 'health',
    responses: { 200: { description: 'Ready.', content: json(ref('schemas', 'ReadyStatus')) } },
    problems: [503],
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description: "This API process's metrics (`jobcast_api_*`), in the Prometheus text format.",
    tag: 'health',
    responses: {
      200: { description: 'The metrics.', content: { 'text/plain': { schema: { type: 'string' } } } },
    },
  },
];

// ---- The document --------------------------------------------------------------------------

const DESCRIPTION = `jobcast tracks long-running jobs. Clients submit a job with \`POST /jobs\`; workers run it and report percentage progress; any number of clients watch it live on \`GET /jobs/{id}/events\` (or many jobs on one connection, \`GET /events?jobs=…\`).

**Streams** are Server-Sent Events: on connect the current state as a \`progress\` event, then \`progress\`, \`log\` and \`reset\` events as they happen, and a final \`done\`, after which the server closes the stream. Every event has an \`id:\`; a client that reconnects with \`Last-Event-ID\` (or \`?lastEventId=\`) gets nothing it already had and never misses \`done\`; after \`done\` it gets \`204\`. \`retry:\` is sent, and idle streams get \`: ping\` comments.

**Errors** are RFC 9457 problem details (\`application/problem+json\`) whose \`type\` is \`/problems/<kind>\`. An unexpected failure is a generic 500 problem.

**Access.** With API keys configured (\`API_KEYS\`), every job and event endpoint needs \`Authorization: Bearer <key>\`, and a key sees only its own jobs; event streams also take a short-lived \`?token=\` (EventSource cannot send headers). Without keys the service is open, and ids are capabilities: job ids are random UUIDs, and knowing one is what lets one read a job. Every response carries an \`X-Request-Id\`.`;

function buildDocument(): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const usedProblems = new Set<ProblemStatus>();
  for (const op of operations()) {
    const responses: Json = { ...op.responses };
    const problems = new Set(op.problems);
    if (op.security?.some((s) => s !== 'open')) problems.add(401);
    for (const status of [...problems].sort((a, b) => a - b)) {
      usedProblems.add(status);
      responses[status] = ref('responses', problemResponses[status].name);
    }
    paths[op.path] ??= {};
    const pathItem = paths[op.path] as Record<string, Json>;
    if (pathItem[op.method]) throw new Error(`openapi: ${op.method.toUpperCase()} ${op.path} is listed twice`);
    pathItem[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      ...(op.parameters
        ? { parameters: op.parameters.map((p) => (typeof p === 'string' ? ref('parameters', p) : p)) }
        : {}),
      ...(op.requestBody ? { requestBody: op.requestBody } : {}),
      security: securityRequirements(op.security ?? []),
      responses,
    };
  }
  const responses = Object.fromEntries(
    [...usedProblems].sort((a, b) => a - b).map((status) => [problemResponses[status].name, problemResponse(status)]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'jobcast',
      version: pkg.version,
      description: DESCRIPTION,
      // An SPDX id from package.json, once it names one.
      ...('license' in pkg && typeof pkg.license === 'string'
        ? { license: { name: pkg.license, identifier: pkg.license } }
        : {}),
    },
    servers: [{ url: '/' }],
    tags,
    paths,
    components: {
      schemas: componentSchemas(),
      responses,
      parameters: sharedParameters(),
      securitySchemes,
    },
  };
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

let cachedDocument: Json | undefined;
let cachedYaml: string | undefined;

/** The OpenAPI document, built on first use and frozen (clone it for code that mutates). */
export function openApiDocument(): Record<string, unknown> {
  cachedDocument ??= deepFreeze(buildDocument());
  return cachedDocument;
}

/** The document as YAML: exactly the text of the committed `openapi.yaml`. */
export function openApiYaml(): string {
  cachedYaml ??= `# Generated from src/openapi.ts by \`npm run openapi\`: do not edit.\n${stringify(openApiDocument(), {
    aliasDuplicateObjects: false,
    lineWidth: 0,
  })}`;
  return cachedYaml;
}
