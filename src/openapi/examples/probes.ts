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
`,
  },
} satisfies Record<string, Example>;
