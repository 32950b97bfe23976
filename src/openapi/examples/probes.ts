/**
 * @module openapi/examples/probes
 * Examples of the probes and metrics: `GET /healthz`, `GET /readyz` and a few lines of
 * `GET /metrics`.
 */
import type { Example } from './story.js';

export const healthExamples = { ok: { summary: 'Alive', value: { status: 'ok' } } } satisfies Record<string, Example>;
export const readyExamples = {
  ready: { summary: 'Redis answers', value: { status: 'ready' } },
} satisfies Record<string, Example>;
export const metricsExamples = {
  streams: {
    summary: 'A few of the metrics',
    value: `# HELP jobcast_open_streams Event streams open on this process.
# TYPE jobcast_open_streams gauge
jobcast_open_streams 2

# HELP jobcast_events_sent_total Events written to streams, by event type.
# TYPE jobcast_events_sent_total counter
jobcast_events_sent_total{type="progress"} 27
jobcast_events_sent_total{type="done"} 9

# HELP jobcast_redis_up Whether this scrape read the gauges that live in Redis (1), or Redis did not answer and they are left out (0).
# TYPE jobcast_redis_up gauge
jobcast_redis_up 1

# HELP jobcast_queue_jobs Jobs in the BullMQ queue by BullMQ state (wait + delayed + prioritized = queue depth).
# TYPE jobcast_queue_jobs gauge
jobcast_queue_jobs{state="wait"} 4
jobcast_queue_jobs{state="active"} 2
`,
  },
  redisDown: {
    summary: 'While Redis does not answer: no queue gauges, jobcast_redis_up 0',
    value: `# HELP jobcast_redis_up Whether this scrape read the gauges that live in Redis (1), or Redis did not answer and they are left out (0).
# TYPE jobcast_redis_up gauge
jobcast_redis_up 0

# HELP jobcast_redis_reconnects_total Redis reconnection attempts, by connection role.
# TYPE jobcast_redis_reconnects_total counter
jobcast_redis_reconnects_total{role="command"} 3
jobcast_redis_reconnects_total{role="subscriber"} 3
`,
  },
} satisfies Record<string, Example>;
