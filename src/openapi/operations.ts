/**
 * @module openapi/operations
 * The table of jobcast's routes, gathered from its groups: `operations/jobs`, `events` (the
 * streams), `docs` (what is served to read) and `health`. Adding a route = one entry in its
 * group. Adding a job type to the registry needs no change: `POST /jobs` documents every
 * registered type. A test fails when a route of the app is missing from this table.
 *
 * @example
 * operations(JobTypeRegistry.builtIn()).find((op) => op.path === '/jobs' && op.method === 'post')?.operationId // 'submitJob'
 */
import type { JobTypeRegistry } from '../jobs/registry.js';
import type { Operation } from './operation.js';
import { docsOperations } from './operations/docs.js';
import { eventOperations } from './operations/events.js';
import { healthOperations } from './operations/health.js';
import { jobOperations } from './operations/jobs.js';

/** Every route of the API, in the order of the document; `POST /jobs` lists `jobTypes`. */
export const operations = (jobTypes: JobTypeRegistry): Operation[] => [
  ...jobOperations(jobTypes),
  ...eventOperations,
  ...docsOperations,
  ...healthOperations,
];
