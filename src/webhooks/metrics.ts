/**
 * @module webhooks/metrics
 * Prometheus metrics of webhooks: deliveries by outcome, attempts by result and delivery
 * latency (counted by the workers that send them), and the queue backlog (on the API's
 * /metrics, beside the job queue's).
 */
import type { Queue } from 'bullmq';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { RedisGauges } from '../redis-gauges.js';
import type { DeliveryData } from './queue.js';
import type { WebhookEventName } from './schemas.js';

/**
 * How a delivery ended. `superseded`: a progress delivery a newer one replaced; `skipped`: not
 * sent, the job's record was gone (a progress delivery).
 */
export type DeliveryOutcome = 'delivered' | 'failed' | 'disabled' | 'superseded' | 'skipped';

/** What one attempt got: the class of the receiver's status, or why there was none. */
export type AttemptResult = '2xx' | '3xx' | '4xx' | '5xx' | 'timeout' | 'network' | 'refused';

export class WebhookMetrics {
  readonly #deliveries: Counter<'outcome'>;
  readonly #attempts: Counter<'result'>;
  readonly #latency: Histogram<'event'>;

  constructor(registry: Registry) {
    this.#deliveries = new Counter({
      name: 'jobcast_webhook_deliveries_total',
      help: 'Webhook deliveries that ended, by outcome: delivered (2xx), failed (attempts used up), disabled (410 Gone, or not sent after one), superseded (progress replaced by newer progress), skipped.',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.#attempts = new Counter({
      name: 'jobcast_webhook_attempts_total',
      help: "Webhook delivery attempts, by result: the receiver's status class, timeout, network (connection failed), refused (URL policy).",
      labelNames: ['result'],
      registers: [registry],
    });
    this.#latency = new Histogram({
      name: 'jobcast_webhook_delivery_latency_seconds',
      help: 'From an event to its webhook delivery acknowledged with a 2xx (retries and throttling included), by event.',
      labelNames: ['event'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 14_400],
      registers: [registry],
    });
  }

  ended(outcome: DeliveryOutcome): void {
    this.#deliveries.labels(outcome).inc();
  }

  attempted(result: AttemptResult): void {
    this.#attempts.labels(result).inc();
  }

  delivered(event: WebhookEventName, seconds: number): void {
    this.#latency.labels(event).observe(seconds);
  }
}

/** The delivery queue's backlog by BullMQ state: `delayed` is retries and throttled progress waiting. */
export function registerWebhookBacklog(gauges: RedisGauges, queue: Queue<DeliveryData>): void {
  gauges.add(
    {
      name: 'jobcast_webhook_queue',
      help: 'Webhook deliveries in the queue by BullMQ state: wait (due now), delayed (waiting for a retry or a progress tick), active (being sent), failed (given up, kept for JOB_RETENTION_SECONDS).',
      label: 'state',
    },
    () => queue.getJobCounts('wait', 'delayed', 'active', 'failed'),
  );
}
