/**
 * @module openapi/operations
 * The table of jobcast's routes: adding a route = one entry here. Adding a job type to the
 * registry needs no change: `POST /jobs` documents every registered type. A test fails when a
 * route of the app is missing from this table.
 *
 * @example
 * operations(JobTypeRegistry.builtIn()).find((op) => op.path === '/jobs' && op.method === 'post')?.operationId // 'submitJob'
 */
import type { JobTypeRegistry } from '../jobs/registry.js';
import { FeedQuery, ListJobsQuery, MAX_JOBS_PER_BATCH, MAX_JOBS_PER_STREAM } from '../jobs/schemas.js';
import { problemTypes } from '../problems.js';
import {
  batchAcceptedExamples,
  batchExamples,
  cancelledExamples,
  feedExamples,
  healthExamples,
  jobExamples,
  jobListExamples,
  jobStreamExamples,
  logExamples,
  metricsExamples,
  multiStreamExamples,
  readyExamples,
  submitExamples,
  submittedExamples,
  tokenExamples,
  tokenRequestExamples,
  webhookDeliveryExamples,
} from './examples.js';
import type { Operation } from './operation.js';
import { queryParameters } from './parameters.js';
import { json, ref } from './refs.js';
import { REST, STREAM } from './security.js';
import { eventStreamResponse, feedProtocol, finishedResponse, streamProtocol } from './streams.js';
import { assetVersion, webFile } from './web.js';

/** Every route of the API; `POST /jobs` lists `jobTypes`. */
export const operations = (jobTypes: JobTypeRegistry): Operation[] => [
  {
    method: 'post',
    path: '/jobs',
    operationId: 'submitJob',
    summary: 'Submit a job',
    description: `Validates the job against its type's schema and queues it; nothing is written unless every check passes. Job types:\n\n${jobTypes.names
      .map((type) => `- \`${type}\`${jobTypes.get(type)?.description ? `: ${jobTypes.get(type)?.description}` : ''}`)
      .join('\n')}`,
    tag: 'jobs',
    parameters: ['IdempotencyKey'],
    security: [...REST, 'open'],
    requestBody: { required: true, content: json(ref('schemas', 'SubmitJob'), submitExamples) },
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
        content: json(ref('schemas', 'JobResource'), submittedExamples),
      },
    },
    problems: [400, 409, 413, 415, 422, 429, 503],
  },
  {
    method: 'post',
    path: '/jobs/batch',
    operationId: 'submitJobBatch',
    summary: 'Submit many jobs at once',
    description: `Up to ${MAX_JOBS_PER_BATCH} jobs in one request, each checked like a \`POST /jobs\` body, all or none: one problem lists what is wrong with every job (\`errors[].path\` \`jobs.<index>.…\`), and nothing is written unless every job passes. Each job counts against the rate limit (a batch larger than the limit itself is a 422). With an \`Idempotency-Key\`, a replay returns the batch's jobs that are still kept. The answer links one event stream for all the jobs. For clients that submit many jobs: it costs the service far less per job than one request each (docs/performance.md).`,
    tag: 'jobs',
    parameters: ['IdempotencyKey'],
    security: [...REST, 'open'],
    requestBody: { required: true, content: json(ref('schemas', 'SubmitJobBatch'), batchExamples) },
    responses: {
      202: {
        description: 'Accepted and queued, in the order sent. Watch them all at `links.events`.',
        headers: {
          'Idempotent-Replayed': {
            description: '`true` when an earlier request with this `Idempotency-Key` created the jobs.',
            schema: { type: 'string', const: 'true' },
          },
        },
        content: json(ref('schemas', 'JobBatch'), batchAcceptedExamples),
      },
    },
    problems: [400, 409, 413, 415, 422, 429, 503],
  },
  {
    method: 'get',
    path: '/jobs',
    operationId: 'listJobs',
    summary: 'List jobs',
    description:
      "The API key's jobs, newest first, filtered by state and type, a page at a time. One request reads at most 100 job records, so a page with a state filter may be short (even empty) and still have a `nextCursor`: follow it. Counts against the read limit (`READ_RATE_LIMIT_PER_MINUTE`). Needs an API key: without keys configured, a job id is the only way to a job, so nothing lists them (403 `listing-needs-key`).",
    tag: 'jobs',
    parameters: queryParameters(ListJobsQuery),
    security: REST,
    responses: { 200: { description: 'A page of jobs.', content: json(ref('schemas', 'JobList'), jobListExamples) } },
    problems: [400, 403, 429],
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
    responses: { 200: { description: 'The job.', content: json(ref('schemas', 'JobResource'), jobExamples) } },
    problems: [404, 429],
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
    responses: {
      200: { description: 'The log lines, oldest first.', content: json(ref('schemas', 'JobLogs'), logExamples) },
    },
    problems: [404, 429],
  },
  {
    method: 'get',
    path: '/jobs/{id}/webhooks',
    operationId: 'listJobWebhookDeliveries',
    summary: "List a job's webhook deliveries",
    description:
      "Each delivery of the job's webhook (one per `done`, per throttled progress tick, per log line, as the webhook asks): its status, attempts, the receiver's last status code and error, and when the next attempt is due. A delivery's `id` is the `webhook-id` header its receiver got, the same on every attempt. Empty for a job without a webhook. Receivers get `WebhookPayload` bodies (see the schema).",
    tag: 'jobs',
    parameters: ['JobIdPath'],
    security: [...REST, 'open'],
    responses: {
      200: {
        description: 'The deliveries, oldest first.',
        content: json(ref('schemas', 'WebhookDeliveries'), webhookDeliveryExamples),
      },
    },
    problems: [404, 429],
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
        content: json(ref('schemas', 'JobResource'), cancelledExamples),
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
        jobStreamExamples,
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
    description: `Browsers allow about six HTTP/1.1 connections per origin: one stream carries the events of up to ${MAX_JOBS_PER_STREAM} jobs, interleaved (each event's \`jobId\` says whose). With \`summary=true\`, also the group's \`summary\` after every change.`,
    tag: 'events',
    parameters: ['JobsQuery', 'SummaryQuery', 'LastEventIdHeader', 'LastEventIdQuery'],
    security: [...STREAM, 'open'],
    responses: {
      200: eventStreamResponse(
        streamProtocol(
          "Every event's `id:` is the cursors (event sequence numbers) of all the jobs joined by `.`, in the order of the `jobs` parameter (`4.0.12`), so one `Last-Event-ID` resumes them all.",
          "The server ends the response after the last job's `done`.",
        ),
        '^\\d+(\\.\\d+)*$',
        multiStreamExamples,
      ),
      204: finishedResponse('every job'),
    },
    problems: [400, 403, 404, 429, 503],
  },
  {
    method: 'get',
    path: '/events/feed',
    operationId: 'streamFeed',
    summary: 'Watch every job of your API key (SSE)',
    description:
      'One stream of every job the API key submits — from any client — as it is created and as it changes, never ending: for dashboards that do not know the ids in advance. Filters: `state`, `type`, `tag` (each a comma-separated list; any value matches). Resumable with `Last-Event-ID`; bounded like every stream (conflation, stuck clients cut, heartbeats, `MAX_STREAMS_PER_CLIENT`). Needs an API key (a stream token covers jobs, not the feed): without keys configured it is a 403 `listing-needs-key`. Queue positions and the stall signal are worked out for jobs watched by id (their own streams); the feed carries what the workers report.',
    tag: 'events',
    parameters: [...queryParameters(FeedQuery), 'LastEventIdHeader', 'LastEventIdQuery'],
    security: REST,
    responses: {
      200: eventStreamResponse(feedProtocol, '^\\d+-\\d+$', feedExamples, ['progress', 'done', 'reset']),
    },
    problems: [400, 403, 429, 503],
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
    requestBody: { required: true, content: json(ref('schemas', 'StreamTokenRequest'), tokenRequestExamples) },
    responses: {
      201: {
        description: 'The token, and the stream URL with it.',
        content: json(ref('schemas', 'StreamToken'), tokenExamples),
      },
    },
    problems: [400, 404, 413, 415, 422],
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
    path: '/docs',
    operationId: 'getDocs',
    summary: 'Interactive API reference',
    description: 'Swagger UI over `/openapi.json`, with every asset served by jobcast itself (no CDN).',
    tag: 'docs',
    responses: {
      200: { description: 'The reference page.', content: { 'text/html': { schema: { type: 'string' } } } },
    },
  },
  {
    method: 'get',
    path: '/docs/{asset}',
    operationId: 'getDocsAsset',
    summary: "The reference page's files",
    tag: 'docs',
    parameters: [
      {
        name: 'asset',
        in: 'path',
        required: true,
        schema: { type: 'string', enum: ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js', 'problems.css'] },
      },
    ],
    responses: {
      200: {
        description: 'A stylesheet or script.',
        content: { 'text/css': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } } },
      },
    },
    problems: [404],
  },
  {
    method: 'get',
    path: '/problems',
    operationId: 'getProblemTypes',
    summary: 'The problem types',
    description: 'A page listing every problem type an error response may have, each linked to its own page.',
    tag: 'docs',
    responses: {
      200: { description: 'The list, as HTML.', content: { 'text/html': { schema: { type: 'string' } } } },
    },
  },
  {
    method: 'get',
    path: '/problems/{type}',
    operationId: 'getProblemType',
    summary: 'What a problem type means',
    description:
      "The page a problem's `type` URI leads to: the type's title and status, when it happens, what to do, and an example.",
    tag: 'docs',
    parameters: [
      {
        name: 'type',
        in: 'path',
        required: true,
        description: 'The last segment of a problem `type`.',
        schema: { type: 'string', enum: Object.keys(problemTypes) },
      },
    ],
    responses: {
      200: { description: 'The page, as HTML.', content: { 'text/html': { schema: { type: 'string' } } } },
    },
    problems: [404],
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    summary: 'Liveness probe',
    description: 'Answers while the process runs; checks nothing else.',
    tag: 'health',
    responses: { 200: { description: 'Alive.', content: json(ref('schemas', 'HealthStatus'), healthExamples) } },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'Readiness probe',
    description:
      'Ready when Redis answers a PING within `REDIS_COMMAND_TIMEOUT_MS`. When not, a 503 problem whose `reason` says why: `unreachable`, `timeout` (frozen or overloaded), `out-of-memory`, `read-only`, `loading`, `busy`, `auth`, `cluster-down` or `error`. `/healthz` stays 200 whatever Redis does.',
    tag: 'health',
    responses: { 200: { description: 'Ready.', content: json(ref('schemas', 'ReadyStatus'), readyExamples) } },
    problems: [503],
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description:
      "This API process's metrics (`jobcast_api_*`), in the Prometheus text format. With API keys configured it needs one, like the job endpoints (any key; point Prometheus's `authorization` at it).",
    tag: 'health',
    security: [...REST, 'open'],
    responses: {
      200: {
        description: 'The metrics.',
        content: { 'text/plain': { schema: { type: 'string' }, examples: metricsExamples } },
      },
    },
  },
];
