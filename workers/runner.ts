/**
 * @module workers/runner
 * Starts and stops a BullMQ worker that runs jobs through their handlers
 * (`workers/processor`) and keeps each job's record in step with BullMQ (`workers/outcomes`):
 * active on start, progress while running, queued again before a retry, and one `done` after
 * BullMQ has recorded the outcome.
 */
import { Queue, Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import type { HandlerOverrides } from '../src/jobs/builtin/index.js';
import { WorkerAnnouncement } from '../src/jobs/capacity.js';
import { bullPrefix, cancelChannel } from '../src/jobs/keys.js';
import { loadJobTypes } from '../src/jobs/load.js';
import { JobCancelledError, JobSupersededError, WorkerShutdownError } from '../src/jobs/outcomes.js';
import type { JobTypeRegistry } from '../src/jobs/registry.js';
import { createJobStore } from '../src/jobs/store.js';
import type { Logger } from '../src/log.js';
import { WorkerMetrics } from '../src/metrics.js';
import { closeRedis, createRedis, faultLog, redisSettings } from '../src/redis.js';
import { createWebhooks, webhooksEnabled } from '../src/webhooks/index.js';
import { recordOutcomes } from './outcomes.js';
import { createProcessor } from './processor.js';
import { recordWrites } from './record-writes.js';
import { checkStalledJobs, stalledCheckOptions } from './stalled-checks.js';
import { startWebhookWorker } from './webhooks.js';

/**
 * BullMQ types an abort reason as a string, but hands it to `AbortController.abort()` untouched
 * (lock-manager.js): the handler's signal then carries one of the error classes of `jobs/outcomes`.
 */
const abortReason = (error: Error) => error as unknown as string;

/**
 * How long handlers get to stop once asked at shutdown (their signal aborted) before their jobs
 * are abandoned (see `JobProcessor.abandon`).
 */
const ABANDON_GRACE_MS = 3_000;

/**
 * BullMQ renews the locks of the jobs it runs until its close gets past waiting for them, which
 * a close left behind never does: its renewals can only fail now, and their timer would keep
 * running for as long as the process lives. (`lockManager` is protected in BullMQ's types.)
 */
function stopLockRenewal(worker: Worker): void {
  void (worker as unknown as { lockManager: { close(): Promise<void> } }).lockManager.close();
}

export interface RunningWorker {
  worker: Worker;
  metrics: WorkerMetrics;
  /** Resolves once Redis answered and the worker takes jobs (rejects if closed before). */
  ready: Promise<void>;
  /** Finishes running jobs (up to the shutdown timeout), hands back the rest, closes Redis. */
  close(): Promise<void>;
  /** Stops at once: running jobs are handed back now instead of after the shutdown timeout. */
  hurry(): Promise<void>;
}

export interface WorkerOptions {
  /** The job types to run; default: the built-in ones plus the module JOB_TYPES names. */
  jobTypes?: JobTypeRegistry;
  /** Handlers to run in place of those of `jobTypes` (tests script their jobs this way). */
  handlers?: HandlerOverrides;
}

/** A worker that takes jobs: resolves once Redis answered (see {@link createWorker}). */
export async function startWorker(
  config: Config,
  redisUrl: string,
  log: Logger,
  options: WorkerOptions = {},
): Promise<RunningWorker> {
  const jobTypes = options.jobTypes ?? (await loadJobTypes(config.JOB_TYPES));
  const running = createWorker(config, redisUrl, log, { ...options, jobTypes });
  await running.ready;
  return running;
}

/**
 * A worker that starts taking jobs as soon as Redis answers — at once, or whenever Redis
 * appears; `ready` says when. It can be closed before that.
 */
export function createWorker(
  config: Config,
  redisUrl: string,
  log: Logger,
  options: WorkerOptions & { jobTypes: JobTypeRegistry },
): RunningWorker {
  const jobTypes = options.handlers ? options.jobTypes.withHandlers(options.handlers) : options.jobTypes;
  const settings = redisSettings(config, redisUrl);
  const faults = faultLog(settings, log);
  const redis = createRedis(settings, 'worker', log);
  const subscriber = createRedis(settings, 'control', log);
  const queue = new Queue(config.QUEUE_NAME, { connection: redis, prefix: bullPrefix(config.KEY_PREFIX) });
  queue.on('error', (error) => {
    if (!faults.report(error)) log.warn('queue error', { error });
  });
  const metrics = new WorkerMetrics();
  metrics.watchReconnects(redis, 'worker');
  metrics.watchReconnects(subscriber, 'subscriber');
  // webhooks (#17): events this worker records queue their deliveries (see src/webhooks/outbox).
  const webhooks = webhooksEnabled(config) ? createWebhooks(config, redis, log, faults) : undefined;
  const store = createJobStore(redis, config, webhooks?.outbox);
  const write = recordWrites(faults, log);
  const processor = createProcessor({ jobTypes, store, write, faults, lockMs: config.WORKER_LOCK_MS });
  const worker = new Worker(config.QUEUE_NAME, processor.process, {
    connection: redis,
    prefix: bullPrefix(config.KEY_PREFIX),
    concurrency: config.WORKER_CONCURRENCY,
    lockDuration: config.WORKER_LOCK_MS,
    ...stalledCheckOptions(config.WORKER_STALLED_INTERVAL_MS),
    maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
    // Finished jobs are evicted by their own removeOnComplete/removeOnFail ages.
    autorun: true,
  });
  recordOutcomes(worker, { store, queue, redis, prefix: config.KEY_PREFIX, metrics, write, faults, log });

  subscriber.on('message', (_channel: string, id: string) =>
    worker.cancelJob(id, abortReason(new JobCancelledError())),
  );
  // A lock BullMQ could not renew is gone (Redis frozen or unreachable past WORKER_LOCK_MS):
  // its job is BullMQ's stalled-job check's to run again. The run stops now, rather than run to
  // its end while the job waits (it held a slot, and what it reported looked live), since
  // BullMQ would refuse its outcome anyway.
  // BullMQ names the job, not the run: if this process has started the job again since the
  // renewal was sent, the lock is that newer run's, and it is left alone.
  worker.on('lockRenewalFailed', (ids: string[]) => {
    void Promise.all(
      ids.map(async (id) => {
        const lock = await redis.get(`${queue.toKey(id)}:lock`);
        if (lock !== null && lock === processor.tokenOf(id)) return undefined;
        worker.cancelJob(id, abortReason(new JobSupersededError()));
        return id;
      }),
    ).then(
      (stopped) => {
        const jobIds = stopped.filter((id) => id !== undefined);
        if (jobIds.length === 0) return;
        log.warn(
          'lost the lock of running jobs (Redis did not answer in time to renew them, within WORKER_LOCK_MS): stopped them; BullMQ runs them again',
          { jobIds },
        );
      },
      // Redis cannot say whose the lock is: the runs go on, and BullMQ refuses a stale one's outcome.
      (error) => faults.report(error),
    );
  });
  // webhooks (#17): this process also sends deliveries, once Redis answers.
  let webhookWorker: Awaited<ReturnType<typeof startWebhookWorker>> | undefined;
  let stopStalledChecks = () => Promise.resolve();
  let closing: Promise<void> | undefined;
  // Issue #16: the slots this process offers, for the expected start of queued jobs.
  const announcement = new WorkerAnnouncement(redis, config.KEY_PREFIX, config.WORKER_CONCURRENCY);
  const ready = (async () => {
    await subscriber.subscribe(cancelChannel(config.KEY_PREFIX));
    await worker.waitUntilReady();
    if (!closing) stopStalledChecks = checkStalledJobs(worker, config.WORKER_STALLED_INTERVAL_MS);
    announcement.start();
    if (webhooks)
      webhookWorker = await startWebhookWorker(config, redis, store, webhooks, log, metrics.registry, faults);
    log.info('worker started', {
      queue: config.QUEUE_NAME,
      concurrency: config.WORKER_CONCURRENCY,
      jobTypes: jobTypes.names,
    });
  })();
  // Closed before Redis ever answered: nobody waits for `ready` any more.
  ready.catch(() => {});

  let hurried: () => void = () => {};
  const hurry = new Promise<'timeout'>((resolve) => {
    hurried = () => resolve('timeout');
  });
  const close = () => {
    closing ??= (async () => {
      // Stop taking jobs and let running ones finish for a while (or not at all, once hurried);
      // then ask them to stop, which hands them back to the queue. A handler that ignores its
      // signal is abandoned: its lock expires and BullMQ's stalled-job check gives the job to
      // another worker.
      // (close, not pause: pause() reconnects BullMQ's blocking connection once the running
      // jobs end — after this close, for a job that was abandoned — and leaves it open.)
      const announced = announcement.stop();
      const stalledChecksStopped = stopStalledChecks();
      // Without Redis nothing runs, and a graceful close would wait for Redis: nothing to drain.
      const idle = processor.running === 0 && redis.status !== 'ready';
      const closed = worker.close(idle);
      let closedOrLeft: Promise<void> = closed;
      const after = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(resolve, ms, 'timeout').unref());
      const within = async (...limits: Promise<'timeout'>[]) =>
        (await Promise.race([closed.then(() => 'closed' as const), ...limits])) === 'closed';
      if (!idle && !(await within(after(config.SHUTDOWN_TIMEOUT_MS), hurry))) {
        log.warn('jobs still running at shutdown; handing them back to the queue');
        worker.cancelAllJobs(abortReason(new WorkerShutdownError()));
        if (!(await within(after(ABANDON_GRACE_MS)))) {
          // Without Redis, a handler that did stop cannot hand its job back either: say which.
          const redisAway = redis.status !== 'ready';
          log.warn(
            redisAway
              ? 'running jobs could not be handed back: Redis is unreachable; leaving them to the stalled-job check'
              : 'a job handler ignored its abort signal; leaving its job to the stalled-job check',
          );
          processor.abandon();
          // What is left are BullMQ's own commands, waiting for a Redis that went away:
          // cutting the connection ends them (at once when Redis is known to be away).
          if (redisAway || !(await within(after(ABANDON_GRACE_MS)))) {
            redis.disconnect();
            // Still open: BullMQ waits for its blocking connection to end, and ioredis never
            // says a connection that was waiting to reconnect has ended when it is closed. Its
            // timers are gone with it, and Redis is away: nothing is left to wait for.
            if (!(await within(after(redisAway ? 100 : ABANDON_GRACE_MS)))) {
              log.warn(
                `BullMQ's worker did not finish closing${redisAway ? ' (Redis is unreachable)' : ''}; leaving it`,
              );
              closed.catch(() => {});
              stopLockRenewal(worker);
              closedOrLeft = Promise.resolve();
            }
          }
        }
      }
      await closedOrLeft;
      await stalledChecksStopped;
      // After the job worker: jobs finishing during shutdown still queue their deliveries.
      await webhookWorker?.close();
      await webhooks?.queue.close();
      await announced;
      await queue.close();
      await Promise.all([closeRedis(subscriber), closeRedis(redis)]);
      log.info('worker stopped');
    })();
    return closing;
  };

  return {
    worker,
    metrics,
    ready,
    close,
    hurry() {
      hurried();
      return close();
    },
  };
}
