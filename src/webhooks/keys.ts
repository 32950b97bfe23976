/**
 * @module webhooks/keys
 * Redis keys and delivery ids of webhooks. A job's delivery list shares the job's hash tag
 * `{<id>}`, so on Redis Cluster it lives in the record's slot (one script updates both); the
 * queue shares BullMQ's `{<prefix>}` tag with the job queue.
 */
import type { WebhookEventName } from './schemas.js';

export interface WebhookKeys {
  /** Hash: delivery id → its state as JSON (what `GET /jobs/{id}/webhooks` lists). */
  deliveries: string;
  /** Sorted set of delivery ids by creation time, to list them in order and keep the newest. */
  order: string;
}

export function webhookKeys(prefix: string, jobId: string): WebhookKeys {
  const base = `${prefix}:{${jobId}}`;
  return { deliveries: `${base}:wh`, order: `${base}:whq` };
}

/**
 * Sorted set of jobs with a webhook whose end (`done`, the last progress, every log line) is
 * not yet known to be queued for delivery, scored by when they were last looked at. Written
 * with the job's record on submit; an entry leaves once its deliveries are queued, so an entry
 * a crash left behind is what the sweep finds.
 */
export const openWebhooksKey = (prefix: string): string => `${prefix}:webhooks:open`;

/** Held for one sweep period by the worker that sweeps, so workers take turns. */
export const sweepLockKey = (prefix: string): string => `${prefix}:webhooks:sweep`;

/** The BullMQ queue of deliveries, beside the job queue. */
export const webhookQueueName = (jobQueue: string): string => `${jobQueue}-webhooks`;

/**
 * The id of a delivery: its BullMQ job id and its `webhook-id` header. Deterministic, so queuing
 * the same delivery twice (a retried enqueue, the sweep after a crash) queues it once.
 * - `done`: one per job.
 * - `progress`: one per throttle slot (see `webhooks/outbox`).
 * - `log`: one per log line, by its event sequence number.
 * BullMQ ids may not contain `:`; these never do (job ids are UUIDs).
 */
export const deliveryId = (jobId: string, event: WebhookEventName, n?: number): string =>
  event === 'done' ? `${jobId}.done` : `${jobId}.${event}.${n ?? 0}`;
