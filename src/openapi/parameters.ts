/**
 * @module openapi/parameters
 * Parameters: the shared ones (`components.parameters`, named by operations) and those
 * derived from the zod object a route parses its query string with.
 *
 * @example
 * queryParameters(ListJobsQuery).map((p) => p.name) // ['state', 'type', 'limit', 'cursor']
 */
import type { z } from 'zod';
import { IdempotencyKey, MAX_JOBS_PER_STREAM } from '../jobs/schemas.js';
import { sharedSchemas, toComponents } from './components.js';
import { type Json, ref } from './refs.js';

/** One parameter per field of a zod object the route parses its query string with. */
export function queryParameters(schema: z.ZodObject): Json[] {
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

/** Shared parameters (a function: the document is built on first use, not on import). */
export const sharedParameters = (): Record<string, Json> => ({
  JobIdPath: { name: 'id', in: 'path', required: true, description: 'The job id.', schema: ref('schemas', 'JobId') },
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes a retried submission safe: the same key with the same body returns the job the first request created (with `Idempotent-Replayed: true`); the same key with another body is a 422 `idempotency-key-reused` problem, and while the first request is still being processed a 409 `idempotency-key-in-progress`. A key is kept for `IDEMPOTENCY_KEY_TTL_SECONDS` whatever happens to its jobs: once they finished and are no longer kept (`JOB_RETENTION_SECONDS`), the key is a 409 `idempotency-key-jobs-gone`, never a second job.',
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
  SummaryQuery: {
    name: 'summary',
    in: 'query',
    required: false,
    description:
      "`true`: the stream also carries the group's `summary` event after every change (a batch's `links.events` asks for it).",
    schema: { type: 'string', enum: ['true', 'false'] },
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
