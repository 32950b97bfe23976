/**
 * @module openapi/operations/jobs
 * The job routes: submit one or a batch, list, read, read the log and the webhook deliveries,
 * cancel. `POST /jobs` documents every job type of the registry it is given, so adding a job
 * type needs no change here.
 */
import type { JobTypeRegistry } from '../../jobs/registry.js';
import { ListJobsQuery, MAX_JOBS_PER_BATCH } from '../../jobs/schemas.js';
import {
  batchAcceptedExamples,
  batchExamples,
  cancelledExamples,
  jobExamples,
  jobListExamples,
  logExamples,
  submitExamples,
  submittedExamples,
  webhookDeliveryExamples,
} from '../examples.js';
import type { Operation } from '../operation.js';
import { queryParameters } from '../parameters.js';
import { json, ref } from '../refs.js';
import { REST } from '../security.js';

/** The job routes; `POST /jobs` lists `jobTypes`. */
export const jobOperations = (jobTypes: JobTypeRegistry): Operation[] => [
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
    problems: [400, 403, 429, 503],
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
    problems: [404, 429, 503],
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
    problems: [404, 429, 503],
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
    problems: [404, 429, 503],
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
    problems: [404, 409, 503],
  },
];
