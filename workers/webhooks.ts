/**
 * @module workers/webhooks
 * The webhook side of a worker process: a BullMQ worker that sends deliveries (see
 * `workers/webhook-delivery`), and the sweep that queues the deliveries a crash kept from
 * being queued (see `webhooks/outbox`). Deliveries are BullMQ jobs, so they outlive any process:
 * a worker killed mid-attempt loses its lock and the attempt runs again elsewhere (BullMQ's
 * stalled-job check); one killed between attempts leaves the delivery waiting in Redis for
 * whichever worker is there when it is due.
 */
import { Worker } from 'bullmq';
import type { Registry } from 'prom-client';
import type { Config } from '../src/config.js';
import { bullPrefix } from '../src/jobs/keys.js';
import type { JobStore } from '../src/jobs/store.js';
import type { Logger } from '../src/log.js';
import type { RedisClient } from '../src/redis.js';
import type { RedisFaultLog } from '../src/redis-faults.js';
import type { Webhooks } from '../src/webhooks/index.js';
import { webhookQueueName } from '../src/webhooks/keys.js';
import { WebhookMetrics } from '../src/webhooks/metrics.js';
import type { DeliveryData } from '../src/webhooks/queue.js';
import { WebhookSigner } from '../src/webhooks/signing.js';
import { sweepOpenWebhooks } from '../src/webhooks/sweep.js';
import { createUrlPolicy } from '../src/webhooks/url-policy.js';
import { lostLock } from './outcomes.js';
import { checkStalledJobs, stalledCheckOptions } from './stalled-checks.js';
import { AttemptFailed, WebhookSender } from './webhook-delivery.js';
import { WebhookHttp } from './webhook-http.js';

export interface RunningWebhookWorker {
  worker: Worker<DeliveryData>;
  /** Lets attempts in flight finish (each is bounded by WEBHOOK_TIMEOUT_MS), then stops. */
  close(): Promise<void>;
}

export async function startWebhookWorker(
  config: Config,
  redis: RedisClient,
  store: JobStore,
  webhooks: Webhooks,
  log: Logger,
  registry: Registry,
  faults?: RedisFaultLog,
): Promise<RunningWebhookWorker> {
  const secret = config.WEBHOOK_SECRET;
  if (!secret) throw new Error('webhooks need WEBHOOK_SECRET');
  const http = new WebhookHttp();
  const sender = new WebhookSender({
    config,
    store,
    deliveries: webhooks.deliveries,
    signer: new WebhookSigner(secret),
    policy: createUrlPolicy(config),
    http,
    metrics: new WebhookMetrics(registry),
  });
  const worker = new Worker<DeliveryData>(webhookQueueName(config.QUEUE_NAME), sender.deliver, {
    connection: redis,
    prefix: bullPrefix(config.KEY_PREFIX),
    concurrency: config.WEBHOOK_CONCURRENCY,
    lockDuration: config.WORKER_LOCK_MS,
    ...stalledCheckOptions(config.WORKER_STALLED_INTERVAL_MS),
    // An attempt cut short by a dying worker is one more attempt, not a reason to give up.
    maxStalledCount: config.WEBHOOK_MAX_ATTEMPTS,
    settings: { backoffStrategy: sender.backoff },
  });
  worker.on('failed', (job, error) => {
    if (error instanceof AttemptFailed || error.name === 'UnrecoverableError') return;
    log.warn('webhook delivery error', { delivery: job?.id, error });
  });
  worker.on('error', (error) => {
    // An attempt that outlived its lock (Redis frozen past WORKER_LOCK_MS): BullMQ runs the
    // delivery again; a line, not an error with a stack.
    const lost = lostLock(error);
    if (lost) {
      log.info(
        'a webhook attempt lost its lock; the delivery runs again',
        lost === 'said' ? { error: error.message } : lost,
      );
      return;
    }
    // A Redis outage is the process's fault log's to tell (one line of advice, not a flood).
    if (!faults?.report(error)) log.error('webhook worker error', { error });
  });

  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweepOpenWebhooks(redis, webhooks.outbox, config.KEY_PREFIX, config.WEBHOOK_SWEEP_MS)
      .then((repaired) => {
        if (repaired > 0) log.info('webhook sweep queued deliveries a crash had left out', { jobs: repaired });
      })
      .catch((error: unknown) => log.debug('webhook sweep failed (next period retries)', { error }))
      .finally(() => {
        sweeping = false;
      });
  }, config.WEBHOOK_SWEEP_MS);
  sweeper.unref();

  await worker.waitUntilReady();
  const stopStalledChecks = checkStalledJobs(worker, config.WORKER_STALLED_INTERVAL_MS);
  let closing: Promise<void> | undefined;
  return {
    worker,
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        const stalledChecksStopped = stopStalledChecks();
        await worker.close();
        await stalledChecksStopped;
        http.close();
      })();
      return closing;
    },
  };
}
