/**
 * @module workers/runner
 * A BullMQ worker that runs jobs through their handlers and keeps each job's record (what
 * clients see) in step with BullMQ: active on start, progress while running, queued again
 * before a retry, and one `done` after BullMQ has recorded the outcome.
 */
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import { bullPrefix, cancelChannel } from '../src/jobs/keys.js';
import { reconcile } from '../src/jobs/reconcile.js';
import { isJobType, jobTypes } from '../src/jobs/registry.js';
import { CANCEL_REASON } from '../src/jobs/service.js';
import { JobStore } from '../src/jobs/store.js';
import type { Logger } from '../src/log.js';
import { WorkerMetrics } from '../src/metrics.js';
import { closeRedis, createRedis, isRedisUnavailable, outageLogger, redisSettings } from '../src/redis.js';
import { createWebhooks, webhooksEnabled } from '../src/webhooks/index.js';
import type { HandlerMap, JobContext } from './handler.js';
import { handlers as builtInHandlers } from './handlers/index.js';
import { startWebhookWorker } from './webhooks.js';

/** Thrown in place of the handler's error when the job was cancelled: never retried. */
export class JobCancelledError extends UnrecoverableError {
  override name = 'JobCancelledError';
}

/**
 * Thrown by a run that lost its lock while BullMQ started the job again elsewhere (a worker cut
 * off from Redis for longer than WORKER_LOCK_MS). BullMQ refuses its outcome (the lock is gone),
 * and the job's record ignores it: only the newest attempt reports.
 */
export class JobSupersededError extends Error {
  override name = 'JobSupersededError';
}

const SUPERSEDED_REASON = 'superseded by a newer attempt';

function abortError(signal: AbortSignal): Error {
  return signal.reason === SUPERSEDED_REASON
    ? new JobSupersededError(SUPERSEDED_REASON)
    : new JobCancelledError(CANCEL_REASON);
}

/** Abort reason when shutdown outlasts SHUTDOWN_TIMEOUT_MS: running jobs go back to the queue. */
const SHUTDOWN_REASON = 'worker shutting down';

export interface RunningWorker {
  worker: Worker;
  metrics: WorkerMetrics;
  /** Finishes running jobs (up to the shutdown timeout), hands back the rest, closes Redis. */
  close(): Promise<void>;
}

export async function startWorker(
  config: Config,
  redisUrl: string,
  log: Logger,
  handlers: HandlerMap = builtInHandlers,
): Promise<RunningWorker> {
  const settings = redisSettings(config, redisUrl);
  const redis = createRedis(settings, 'worker', log);
  const subscriber = createRedis(settings, 'control', log);
  const queue = new Queue(config.QUEUE_NAME, { connection: redis, prefix: bullPrefix(config.KEY_PREFIX) });
  queue.on('error', outageLogger(log, 'queue error (retrying)'));
  const metrics = new WorkerMetrics();
  metrics.watchReconnects(redis, 'worker');
  metrics.watchReconnects(subscriber, 'subscriber');
  const observe = (job: Job, status: string) => {
    if (job.processedOn) metrics.duration.labels(job.name, status).observe((Date.now() - job.processedOn) / 1000);
  };
  // webhooks (#17): events this worker records queue their deliveries (see src/webhooks/outbox).
  const webhooks = webhooksEnabled(config) ? createWebhooks(config, redis, log) : undefined;
  const store = new JobStore(redis, {
    prefix: config.KEY_PREFIX,
    logMaxLines: config.JOB_LOG_MAX_LINES,
    retentionSeconds: config.JOB_RETENTION_SECONDS,
    publishCommand: config.REDIS_CLUSTER ? 'SPUBLISH' : 'PUBLISH',
    observer: webhooks?.outbox,
  });

  const report = (promise: Promise<unknown>, what: string, jobId: string): Promise<void> =>
    promise.then(
      () => {},
      (error: unknown) => log.warn(`could not record ${what}`, { jobId, error }),
    );

  const processor = async (job: Job, token?: string, bullSignal?: AbortSignal): Promise<unknown> => {
    const id = job.id as string;
    const type = job.name;
    if (!isJobType(type)) throw new UnrecoverableError(`unknown job type ${JSON.stringify(type)}`);
    const parsed = jobTypes[type].input.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.message}`);

    const attempt = job.attemptsStarted || job.attemptsMade + 1;
    // Aborted by BullMQ (cancel message, shutdown) or by a progress report that finds the job
    // cancelled (in case the cancel message was missed).
    const cancelled = new AbortController();
    const signal = bullSignal ? AbortSignal.any([bullSignal, cancelled.signal]) : cancelled.signal;
    const noteCancel = (seq: number) => {
      if (seq === -1) cancelled.abort(CANCEL_REASON);
      if (seq === -2) cancelled.abort(SUPERSEDED_REASON);
    };
    noteCancel(await store.report(id, { state: 'active', progress: 0, attempt, startedAt: Date.now() }));
    if (signal.aborted) throw abortError(signal);
    const ctx: JobContext = {
      jobId: id,
      attempt,
      signal,
      progress(percent, message) {
        const progress = Math.round(Math.min(100, Math.max(0, Number(percent) || 0)) * 100) / 100;
        return report(
          store.report(id, { state: 'active', progress, message, attempt }).then(noteCancel),
          'progress',
          id,
        );
      },
      log(line) {
        return report(store.log(id, String(line)), 'log line', id);
      },
    };
    const handler = handlers[type] as (input: unknown, ctx: JobContext) => Promise<unknown>;
    // This run renews its own lock as well. BullMQ tracks locks by job id, so when a stale run
    // of the same job (one cut off from Redis past its lock, see JobSupersededError) ends in
    // this process, BullMQ stops renewing the lock of the run that replaced it, which would
    // then stall for no reason.
    const renew = token
      ? setInterval(() => {
          job.extendLock(token, config.WORKER_LOCK_MS).catch(() => {});
        }, config.WORKER_LOCK_MS / 2)
      : undefined;
    try {
      // BullMQ stores undefined as nothing; keep "no result" explicit.
      return (await handler(parsed.data, ctx)) ?? null;
    } catch (error) {
      if (signal.aborted && (signal.reason === CANCEL_REASON || signal.reason === SUPERSEDED_REASON)) {
        throw abortError(signal);
      }
      if (signal.aborted && signal.reason === SHUTDOWN_REASON && token) {
        // Hand the job back: due now, so another worker takes it without waiting for the
        // stalled-job check. DelayedError tells BullMQ the move is done.
        await store.report(id, {
          state: 'queued',
          progress: 0,
          attempt,
          message: 'returned to the queue: worker shut down',
        });
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      throw error;
    } finally {
      clearInterval(renew);
    }
  };

  const worker = new Worker(config.QUEUE_NAME, processor, {
    connection: redis,
    prefix: bullPrefix(config.KEY_PREFIX),
    concurrency: config.WORKER_CONCURRENCY,
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
    maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
    // Finished jobs are evicted by their own removeOnComplete/removeOnFail ages.
    autorun: true,
  });

  // 'completed' and 'failed' fire after BullMQ has moved the job, so `done` never announces an
  // outcome BullMQ has not recorded.
  worker.on('completed', (job, result) => {
    observe(job, 'completed');
    void report(store.finish(job.id as string, 'completed', { result }), 'completion', job.id as string);
  });
  worker.on('failed', (job, error) => {
    if (!job?.id || error instanceof JobSupersededError) return;
    observe(job, error instanceof JobCancelledError ? 'cancelled' : job.finishedOn ? 'failed' : 'retried');
    if (error instanceof JobCancelledError) {
      void report(store.finish(job.id, 'cancelled', { error: error.message }), 'cancellation', job.id);
    } else if (job.finishedOn) {
      void report(store.finish(job.id, 'failed', { error: error.message }), 'failure', job.id);
    } else {
      // BullMQ will retry it (at once or after backoff).
      const message = `attempt ${job.attemptsMade} failed: ${error.message}; retrying`;
      void report(
        store.report(job.id, { state: 'queued', progress: 0, message, attempt: job.attemptsMade }),
        'retry',
        job.id,
      );
    }
  });
  // A Redis outage makes BullMQ report an error on every retry: log those once per 10 s.
  let lastOutageLog = 0;
  worker.on('error', (error) => {
    if (!isRedisUnavailable(error) && !/sentinels are unreachable/.test(error.message)) {
      log.error('worker error', { error });
    } else if (Date.now() - lastOutageLog > 10_000) {
      lastOutageLog = Date.now();
      log.warn('worker cannot reach Redis (retrying)', { error: error.message });
    }
  });
  // A job that stalled too often is failed by BullMQ itself, with no 'failed' event here.
  worker.on('stalled', (id) => {
    void report(reconcile(store, queue, id), 'stalled job outcome', id);
  });

  subscriber.on('message', (_channel: string, id: string) => worker.cancelJob(id, CANCEL_REASON));
  await subscriber.subscribe(cancelChannel(config.KEY_PREFIX));

  await worker.waitUntilReady();
  // webhooks (#17): this process also sends deliveries.
  const webhookWorker = webhooks
    ? await startWebhookWorker(config, redis, store, webhooks, log, metrics.registry)
    : undefined;
  log.info('worker started', { queue: config.QUEUE_NAME, concurrency: config.WORKER_CONCURRENCY });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Stop taking jobs and let running ones finish for a while; then ask them to stop, which
      // hands them back to the queue. A handler that ignores its signal is abandoned: its lock
      // expires and BullMQ's stalled-job check gives the job to another worker.
      // (pause, not close: BullMQ closes a worker once, so a later close(true) would be ignored.)
      const drained = worker.pause().then(() => 'drained' as const);
      const after = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(resolve, ms, 'timeout').unref());
      let force = false;
      if ((await Promise.race([drained, after(config.SHUTDOWN_TIMEOUT_MS)])) === 'timeout') {
        log.warn('jobs still running at shutdown; handing them back to the queue');
        worker.cancelAllJobs(SHUTDOWN_REASON);
        force = (await Promise.race([drained, after(3_000)])) === 'timeout';
      }
      await worker.close(force);
      // After the job worker: jobs finishing during shutdown still queue their deliveries.
      await webhookWorker?.close();
      await webhooks?.queue.close();
      await queue.close();
      await Promise.all([closeRedis(subscriber), closeRedis(redis)]);
      log.info('worker stopped');
    })();
    return closing;
  };

  return { worker, metrics, close };
}
