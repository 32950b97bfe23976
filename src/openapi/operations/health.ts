/**
 * @module openapi/operations/health
 * The routes an operator's tools call: the liveness and readiness probes and the Prometheus
 * metrics.
 */
import { healthExamples, metricsExamples, readyExamples } from '../examples.js';
import type { Operation } from '../operation.js';
import { json, ref } from '../refs.js';
import { REST } from '../security.js';

/** The probes and metrics. */
export const healthOperations: Operation[] = [
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
      "This API process's metrics (`jobcast_api_*`), in the Prometheus text format. With API keys configured it needs one, like the job endpoints (any key; point Prometheus's `authorization` at it). The queue gauges (`jobcast_queue_jobs`, `jobcast_webhook_queue`) are read from Redis on each scrape: while Redis is down, frozen or slow to answer, the scrape still answers 200 within `REDIS_COMMAND_TIMEOUT_MS`, without them, and `jobcast_redis_up` is 0 (1 when they were read).",
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
