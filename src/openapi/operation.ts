/**
 * @module openapi/operation
 * What one entry of the operations table says about a route, and the tags that group the
 * routes. The document turns each entry into an OpenAPI operation (see `openapi/document`).
 *
 * @example
 * const health: Operation = {
 *   method: 'get', path: '/healthz', operationId: 'getHealth', summary: 'Liveness probe', tag: 'health',
 *   responses: { 200: { description: 'Alive.', content: json(ref('schemas', 'HealthStatus')) } },
 * };
 */
import type { ProblemStatus } from './problems.js';
import type { Json } from './refs.js';
import type { Scheme } from './security.js';

/** The tags of the document, in the order a reader meets them. */
export const tags = [
  { name: 'jobs', description: 'Submit, read, list and cancel jobs.' },
  { name: 'events', description: 'Watch jobs live over Server-Sent Events.' },
  { name: 'web', description: 'The live page and the files it loads.' },
  { name: 'docs', description: 'This description.' },
  { name: 'health', description: 'Liveness and readiness probes, and metrics.' },
] as const;

export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** An OpenAPI path template: `/jobs/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: (typeof tags)[number]['name'];
  /** Names in `sharedParameters` (`openapi/parameters`), or parameter objects. */
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
