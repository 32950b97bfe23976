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
 * openApiDocument().paths['/jobs'].post.operationId // 'submitJob'
 */
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { z } from 'zod';
import pkg from '../package.json' with { type: 'json' };
import { jobTypes } from './jobs/registry.js';
import * as S from './jobs/schemas.js';
import { PROBLEM_CONTENT_TYPE, problemTypes } from './problems.js';
import { MAX_JOBS_PER_STREAM } from './routes/events.js';

type Json = Record<string, unknown>;

const ref = (kind: 'schemas' | 'responses' | 'parameters', name: string) => ({ $ref: `#/components/${kind}/${name}` });

// ---- Schemas -------------------------------------------------------------------------------

// What /healthz and /readyz answer. (They belong in jobs/schemas beside the rest, so the
// routes can be typed against them; until then the contract tests catch any drift.)
const HealthStatus = z.object({ status: z.literal('ok') }).describe('The process is up.');
const ReadyStatus = z.object({ status: z.literal('ready') }).describe('The process can reach Redis.');

/** `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header). */
const IdempotencyKey = z.string().min(1).max(255);

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
      const schema = S.SubmitJobEnvelope.extend({
        type: z.literal(type).describe('The job type.'),
        data,
      }).describe(definition.description);
      return [submitSchemaName(type), schema];
    }),
  );
}

/** Converted as what the server sends (`io: 'output'`: defaults are always present). */
const responseSchemas = {
  JobId: S.JobId,
  JobState: S.JobState,
  TerminalStatus: S.TerminalStatus,
  JobLinks: S.JobLinks,
  JobResource: S.JobResource,
  ProgressEvent: S.ProgressEvent,
  LogEvent: S.LogEvent,
  DoneEvent: S.DoneEvent,
  ResetEvent: S.ResetEvent,
  Problem: S.Problem,
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
  const submits = submitSchemas();
  const schemas = toComponents(responseSchemas, 'output');
  const requests = toComponents({ JobOptions: S.JobOptions, ...submits }, 'input');
  for (const [id, schema] of Object.entries(requests)) {
    if (id in schemas && !isDeepStrictEqual(schemas[id], schema)) {
      throw new Error(`openapi: ${id} differs as input and as output; give the two different component names`);
    }
    schemas[id] = schema;
  }
  const names = Object.keys(jobTypes);
  schemas.SubmitJob = {
    description: `A job to run: its \`type\` (one of ${names.map((n) => `\`${n}\``).join(', ')}), the input \`data\` that type takes, and queue \`options\`.`,
    oneOf: names.map((type) => ref('schemas', submitSchemaName(type))),
    discriminator: {
      propertyName: 'type',
      mapping: Object.fromEntries(names.map((type) => [type, ref('schemas', submitSchemaName(type)).$ref])),
    },
  };
  return sortKeys(schemas);
}

// ---- Shared responses and parameters -------------------------------------------------------

/** Every problem status an operation may answer with, and its shared response component. */
const problemResponses = {
  400: { name: 'BadRequest', description: 'The request is malformed.' },
  404: { name: 'NotFound', description: 'No such job (or nothing at this path).' },
  413: { name: 'PayloadTooLarge', description: 'The body is larger than `MAX_BODY_BYTES`.' },
  415: {
    name: 'UnsupportedMediaType',
    description: 'The body is not `application/json`.',
    headers: {
      'Accept-Post': { description: 'The media type to send instead.', schema: { type: 'string' } },
    },
  },
  422: {
    name: 'UnprocessableContent',
    description: 'The body is JSON but not a valid job: the field errors are listed in `errors`.',
  },
  503: {
    name: 'ServiceUnavailable',
    description: 'Redis is unreachable; retry shortly.',
    headers: {
      'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
    },
  },
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

const parameters: Record<string, Json> = {
  JobIdPath: { name: 'id', in: 'path', required: true, description: 'The job id.', schema: ref('schemas', 'JobId') },
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes a retried submission safe: the same key with the same body returns the job the first request created; the same key with a different body is a 422 `idempotency-key-reused` problem.',
    schema: toComponents({ IdempotencyKey }, 'input').IdempotencyKey,
  },
  LastEventIdHeader: {
    name: 'Last-Event-ID',
    in: 'header',
    required: false,
    description:
      'The `id:` of the last event received; EventSource sends it when it reconnects. The stream resumes after it. An id that is not one of ours means "from the start".',
    schema: { type: 'string' },
  },
  LastEventIdQuery: {
    name: 'lastEventId',
    in: 'query',
    required: false,
    description:
      'Same as the `Last-Event-ID` header, for a first connection (EventSource cannot send headers); the header wins when both are sent.',
    schema: { type: 'string' },
  },
  JobsQuery: {
    name: 'jobs',
    in: 'query',
    required: true,
    description: `The jobs to watch, comma-separated (1 to ${MAX_JOBS_PER_STREAM}; duplicates are ignored). Their order is the order of the cursors in each event's \`id:\`.`,
    style: 'form',
    explode: false,
    schema: { type: 'array', items: ref('schemas', 'JobId'), minItems: 1, maxItems: MAX_JOBS_PER_STREAM },
  },
};

// ---- Server-Sent Events --------------------------------------------------------------------

const SSE_PROTOCOL = `Server-Sent Events (WHATWG HTML §9.2), one JSON object in each event's \`data\`:

- On connect: \`retry: <ms>\` (how long EventSource waits before reconnecting), then at once the current state as a \`progress\` event, so a page can draw its bar.
- \`event: progress\`: the job's state changed. Progress is state, not a log: a slow client may skip intermediate values, never the latest.
- \`event: log\`: a line the handler logged; never dropped.
- \`event: reset\`: the resume cursor was older than the log lines kept; the current state follows.
- \`event: done\`: the job finished (completed, failed or cancelled). It is the last event; the server then ends the response.
- Idle streams get a \`: ping\` comment line as a heartbeat.
- Every event has an \`id:\`. Resume with it in the \`Last-Event-ID\` header (EventSource sends it on reconnect) or the \`lastEventId\` query parameter: nothing already received is sent again and \`done\` is never missed. Reconnecting after \`done\` gets \`204 No Content\`, which tells EventSource to stop.
- The data schema of each event name is in the media type's \`x-sse-events\`; \`schema\` models the stream the way OpenAPI 3.2 models sequential media types (\`itemSchema\`): one item per event.`;

function eventStreamResponse(description: string, idPattern: string): Json {
  const items = Object.entries(streamEventSchemas).map(([event, component]) => ({
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
      'Cache-Control': { required: true, description: 'No caching or transforming proxy.', schema: { type: 'string' } },
      'X-Accel-Buffering': {
        required: true,
        description: 'Tells nginx not to buffer the stream.',
        schema: { type: 'string', const: 'no' },
      },
    },
    content: {
      'text/event-stream': {
        schema: { type: 'array', items: { oneOf: [...items, retry] } },
        'x-sse-events': Object.fromEntries(
          Object.entries(streamEventSchemas).map(([event, component]) => [event, ref('schemas', component)]),
        ),
      },
    },
  };
}

const finishedResponse = (what: string) => ({
  description: `No content: ${what} already finished and its \`done\` was delivered (the \`Last-Event-ID\` is \`done\`'s). A 204 tells EventSource to stop reconnecting.`,
});

// ---- Operations ----------------------------------------------------------------------------

const tags = [
  { name: 'jobs', description: 'Submit jobs and read their state.' },
  { name: 'events', description: 'Watch jobs live over Server-Sent Events.' },
  { name: 'docs', description: 'This description.' },
  { name: 'health', description: 'Liveness and readiness probes.' },
] as const;

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** An OpenAPI path template: `/jobs/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: (typeof tags)[number]['name'];
  /** Names in {@link parameters}. */
  parameters?: string[];
  requestBody?: Json;
  /** Success (and other non-problem) responses by status. */
  responses: Record<string, Json>;
  /** Problem statuses; each refs its shared response. */
  problems?: ProblemStatus[];
}

const json = (schema: Json) => ({ 'application/json': { schema } });

/** Every route of the API. */
const operations: Operation[] = [
  {
    method: 'post',
    path: '/jobs',
    operationId: 'submitJob',
    summary: 'Submit a job',
    description: `Validates the job against its type's schema and queues it. Nothing is written unless every check passes. Job types: ${Object.entries(
      jobTypes,
    )
      .map(([type, d]) => `\`${type}\` (${d.description})`)
      .join('; ')}.`,
    tag: 'jobs',
    parameters: ['IdempotencyKey'],
    requestBody: { required: true, content: json(ref('schemas', 'SubmitJob')) },
    responses: {
      202: {
        description: 'Accepted and queued. Watch it at `links.events`.',
        headers: {
          Location: {
            required: true,
            description: 'The job resource.',
            schema: { type: 'string', format: 'uri-reference' },
          },
        },
        content: json(ref('schemas', 'JobResource')),
      },
    },
    problems: [400, 413, 415, 422, 503],
  },
  {
    method: 'get',
    path: '/jobs/{id}',
    operationId: 'getJob',
    summary: 'Read a job',
    description: "The job's current state, progress, and result or error once finished.",
    tag: 'jobs',
    parameters: ['JobIdPath'],
    responses: { 200: { description: 'The job.', content: json(ref('schemas', 'JobResource')) } },
    problems: [404, 503],
  },
  {
    method: 'get',
    path: '/jobs/{id}/events',
    operationId: 'streamJobEvents',
    summary: "Watch a job's progress live (SSE)",
    description: `${SSE_PROTOCOL}\n\nHere each event's \`id:\` is the job's event sequence number (an integer that only grows). An unknown job is a 404 problem, which makes EventSource stop without reconnecting.`,
    tag: 'events',
    parameters: ['JobIdPath', 'LastEventIdHeader', 'LastEventIdQuery'],
    responses: {
      200: eventStreamResponse(
        "The job's events, from its current state to `done`; then the server ends the response.",
        '^\\d+$',
      ),
      204: finishedResponse('the job'),
    },
    problems: [404, 503],
  },
  {
    method: 'get',
    path: '/events',
    operationId: 'streamEvents',
    summary: 'Watch many jobs on one connection (SSE)',
    description: `${SSE_PROTOCOL}\n\nBrowsers allow about six HTTP/1.1 connections per origin: this stream carries the events of up to ${MAX_JOBS_PER_STREAM} jobs (each event's \`jobId\` says whose). Each \`id:\` is the cursors of all the jobs joined by \`.\`, in the order of the \`jobs\` parameter (\`4.0.12\`), so one \`Last-Event-ID\` resumes them all. The stream ends when every job is done.`,
    tag: 'events',
    parameters: ['JobsQuery', 'LastEventIdHeader', 'LastEventIdQuery'],
    responses: {
      200: eventStreamResponse(
        "The jobs' events, interleaved, until every job's `done`; then the server ends the response.",
        '^\\d+(\\.\\d+)*$',
      ),
      204: finishedResponse('every job'),
    },
    problems: [400, 404, 503],
  },
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
];

// ---- The document --------------------------------------------------------------------------

const DESCRIPTION = `jobcast tracks long-running jobs. Clients submit a job with \`POST /jobs\`; workers run it and report percentage progress; any number of clients watch it live on \`GET /jobs/{id}/events\`, a Server-Sent Events stream that ends with a terminal \`done\` event, or many jobs at once on \`GET /events?jobs=…\`.

**Streams.** ${SSE_PROTOCOL}

**Errors** are RFC 9457 problem details (\`application/problem+json\`) whose \`type\` is \`/problems/<kind>\`. Unexpected failures are a generic 500 problem.

**Ids are capabilities.** Job ids are random UUIDs: where no API key is configured, knowing an id is what lets one read a job.`;

function buildDocument(): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const usedProblems = new Set<ProblemStatus>();
  for (const op of operations) {
    const responses: Json = { ...op.responses };
    for (const status of op.problems ?? []) {
      usedProblems.add(status);
      responses[status] = ref('responses', problemResponses[status].name);
    }
    paths[op.path] ??= {};
    (paths[op.path] as Record<string, Json>)[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      ...(op.parameters ? { parameters: op.parameters.map((name) => ref('parameters', name)) } : {}),
      ...(op.requestBody ? { requestBody: op.requestBody } : {}),
      responses: sortKeys(responses),
    };
  }
  const responses = Object.fromEntries(
    [...usedProblems].sort((a, b) => a - b).map((status) => [problemResponses[status].name, problemResponse(status)]),
  );
  return {
    openapi: '3.1.0',
    info: { title: 'jobcast', version: pkg.version, description: DESCRIPTION },
    servers: [{ url: '/' }],
    // No authentication yet: ids are capabilities (see the description).
    security: [],
    tags,
    paths,
    components: { schemas: componentSchemas(), responses, parameters },
  };
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b, 'en')));
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

/** The OpenAPI document (built once, frozen: clone it before handing it to code that mutates). */
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
