/**
 * @module webhooks
 * Webhooks (#17): a job's events delivered to a URL it names, signed per the Standard Webhooks
 * specification, queued in Redis (a BullMQ queue of their own) and sent by the workers, retried
 * with exponential backoff. This module wires the parts for the API and the workers:
 * - `schemas`: the contract; `view`: the job resource's `webhook`.
 * - `intake` (API): each submitted job's webhook, checked by `url-policy` (`addresses`), per-key
 *   `defaults`.
 * - `outbox` (API and workers): recorded events → queued deliveries (`plan`); `sweep` (workers)
 *   repairs what a crash left out.
 * - `queue`, `keys`: the delivery queue, delivery ids, the retry schedule.
 * - `deliveries`: each delivery's state, for `GET /jobs/{id}/webhooks`.
 * - `signing`, `metrics`. Sending is `workers/webhooks`.
 */
import type { Queue } from 'bullmq';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';
import type { RedisFaultLog } from '../redis-faults.js';
import { loadWebhookDefaults } from './defaults.js';
import { DeliveryLog } from './deliveries.js';
import { WebhookIntake } from './intake.js';
import { WebhookOutbox } from './outbox.js';
import { createWebhookQueue, type DeliveryData } from './queue.js';
import { createUrlPolicy } from './url-policy.js';

/** What queues deliveries in one process (API or worker). */
export interface Webhooks {
  queue: Queue<DeliveryData>;
  deliveries: DeliveryLog;
  outbox: WebhookOutbox;
}

/** True when deliveries can be signed; without WEBHOOK_SECRET webhooks are off (and cost nothing). */
export const webhooksEnabled = (config: Config): boolean => config.WEBHOOK_SECRET !== undefined;

/** The delivery queue and the outbox of one process, on its command connection. */
export function createWebhooks(config: Config, redis: RedisClient, log: Logger, faults?: RedisFaultLog): Webhooks {
  const queue = createWebhookQueue(redis, { prefix: config.KEY_PREFIX, queueName: config.QUEUE_NAME });
  queue.on('error', (error) => {
    if (!faults?.report(error)) log.warn('webhook queue error', { error });
  });
  const deliveries = new DeliveryLog(redis, config.KEY_PREFIX);
  const outbox = new WebhookOutbox(redis, queue, deliveries, {
    prefix: config.KEY_PREFIX,
    progressMinMs: config.WEBHOOK_PROGRESS_MIN_MS,
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    retentionSeconds: config.JOB_RETENTION_SECONDS,
    log,
  });
  return { queue, deliveries, outbox };
}

/** How long a submission waits for a webhook's host to resolve before answering 503. */
const SUBMIT_RESOLVE_TIMEOUT_MS = 3_000;

/** The API's intake of webhooks; refuses every webhook when they are off. */
export function createWebhookIntake(config: Config, webhooks: Webhooks | undefined): WebhookIntake {
  const policy = createUrlPolicy(config);
  return new WebhookIntake({
    enabled: webhooks !== undefined,
    policy,
    defaults: loadWebhookDefaults(config.WEBHOOK_DEFAULTS_FILE, policy),
    resolveTimeoutMs: Math.min(SUBMIT_RESOLVE_TIMEOUT_MS, config.WEBHOOK_TIMEOUT_MS),
    track: (ids, createdAt) => webhooks?.outbox.track(ids, createdAt) ?? Promise.resolve(),
  });
}
