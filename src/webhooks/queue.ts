/**
 * @module webhooks/queue
 * The BullMQ queue of deliveries: what one delivery carries, the options it is queued with,
 * and the retry schedule. The API and the workers queue deliveries; the workers send them
 * (`workers/webhooks`).
 */
import { type JobsOptions, Queue } from 'bullmq';
import { bullPrefix } from '../jobs/keys.js';
import type { RedisClient } from '../redis.js';
import { webhookQueueName } from './keys.js';
import type { DeliveryType, WebhookEventName } from './schemas.js';

/** What one delivery carries (the BullMQ job's data). */
export interface DeliveryData {
  jobId: string;
  event: WebhookEventName;
  /** The receiver, as the job asked for it (kept here so a retry outlives the job's record). */
  url: string;
  /**
   * The stream event's data JSON. Progress deliveries leave it out: the first attempt reads
   * the job's state then (the latest state wins) and keeps it for the retries.
   */
  data?: string;
  /** When the event happened (ms): the body's `timestamp`, and where delivery latency starts. */
  at?: number;
  /** A progress delivery's tick (see `webhooks/outbox`): a newer tick supersedes it. */
  tick?: number;
}

/** Delays grow to this and no further. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

/** Retried deliveries are spread out: each delay is shortened by up to this fraction. */
const JITTER = 0.2;

/**
 * The delay before retry `n` (1 = the first retry): `baseMs` doubling per retry, capped at one
 * hour, then shortened at random by up to 20 % so that deliveries that failed together (a
 * receiver that was down) do not all come back at the same instant.
 */
export function retryDelayMs(n: number, baseMs: number, random = Math.random()): number {
  const full = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, n - 1));
  return Math.round(full * (1 - JITTER * random));
}

export interface WebhookQueueSettings {
  prefix: string;
  queueName: string;
}

export function createWebhookQueue(connection: RedisClient, settings: WebhookQueueSettings): Queue<DeliveryData> {
  return new Queue<DeliveryData>(webhookQueueName(settings.queueName), {
    connection,
    prefix: bullPrefix(settings.prefix),
  });
}

/** The name of the custom backoff strategy the webhook worker implements (see `retryDelayMs`). */
export const BACKOFF_TYPE = 'webhook';

/** BullMQ options of one delivery. */
export function deliveryJobOptions(
  id: string,
  options: { maxAttempts: number; retentionSeconds: number; delayMs?: number },
): JobsOptions {
  return {
    jobId: id,
    attempts: options.maxAttempts,
    backoff: { type: BACKOFF_TYPE },
    ...(options.delayMs && options.delayMs > 0 ? { delay: options.delayMs } : {}),
    // Kept as long as the job itself: a delivery queued again (by the sweep, after a crash)
    // while its first copy is kept is a no-op rather than a second delivery.
    removeOnComplete: { age: options.retentionSeconds },
    removeOnFail: { age: options.retentionSeconds },
  };
}

/** A delivery's BullMQ job name: its body's `type`. */
export const deliveryName = (event: WebhookEventName): DeliveryType => `job.${event}`;
