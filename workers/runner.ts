/**
 * @module workers/runner
 * A BullMQ worker that runs jobs through their handlers and keeps each job's record (what
 * clients see) in step with BullMQ: active on start, progress while running, queued again
 * before a retry, and one `done` after BullMQ has recorded the outcome.
 */
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import type { HandlerOverrides } from '../src/jobs/builtin/index.js';
import { recordRunTime, WorkerAnnouncement } from '../src/jobs/capacity.js';
import { serializeDetails } from '../src/jobs/details.js';
import type { JobContext } from '../src/jobs/job-type.js';
import { bullPrefix, cancelChannel } from '../src/jobs/keys.js';
import { loadJobTypes } from '../src/jobs/load.js';
import { ProgressPace } from '../src/jobs/pace.js';
import { reconcile } from '../src/jobs/reconcile.js';
import type { JobTypeRegistry } from '../src/jobs/registry.js';
import { CANCEL_REASON } from '../src/jobs/service.js';
import { JobStore } from '../src/jobs/store.js';
import type { Logger } from '../src/log.js';
import { WorkerMetrics } from '../src/metrics.js';
import { closeRedis, createRedis, faultLog, redisSettings } from '../src/redis.js';
import { isRedisFault, publicFailure, REDIS_FAILURE_REASON } from '../src/redis-faults.js';
import { createWebhooks, webhooksEnabled } from '../src/webhooks/index.js';
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

/**
 * A job whose start Redis refused to record (full, read-only) goes back to the queue for this
 * long rather than failing: the outage is not the job's fault, and a hand-back is no attempt.
 */
const REDIS_HAND_BACK_DELAY_MS = 1_000;

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
  const observe = (job: Job, status: string) => {
    if (job.processedOn) metrics.duration.labels(job.name, status).observe((Date.now() - job.processedOn) / 1000);
  };
  // webhooks (#17): events this worker records queue their deliveries (see src/webhooks/outbox).
  const webhooks = webhooksEnabled(config) ? createWebhooks(config, redis, log, faults) : undefined;
  const store = new JobStore(redis, {
    prefix: config.KEY_PREFIX,
    logMaxLines: config.JOB_LOG_MAX_LINES,
    retentionSeconds: config.JOB_RETENTION_SECONDS,
    publishCommand: config.REDIS_CLUSTER ? 'SPUBLISH' : 'PUBLISH',
    observer: webhooks?.outbox,
    feedMaxEvents: config.FEED_MAX_EVENTS,
  });

  // A record write that fails is logged, never thrown: the job goes on, and the reconciler
  // (API side) brings the record in line once Redis takes writes again.
  const report = (promise: Promise<unknown>, what: string, jobId: string): Promise<void> =>
    promise.then(
      () => {},
      (error: unknown) => {
        if (!faults.report(error)) log.warn(`could not record ${what}`, { jobId, error });
      },
    );

  /** Jobs in the processor right now. */
  let running = 0;
  const processor = async (job: Job, token?: string, bullSignal?: AbortSignal): Promise<unknown> => {
    running++;
    try {
      return await runJob(job, token, bullSignal);
    } finally {
      running--;
    }
  };
  const runJob = async (job: Job, token?: string, bullSignal?: AbortSignal): Promise<unknown> => {
    const id = job.id as string;
    const jobType = jobTypes.get(job.name);
    if (!jobType) throw new UnrecoverableError(`unknown job type ${JSON.stringify(job.name)}`);
    const parsed = jobType.input.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.message}`);

    // Failed attempts (retries) and runs restarted after a stall count; hand-backs (shutdown, a
    // Redis that refused the start) do not, though BullMQ's attemptsStarted counts those too.
    // Only ever grows, so a stale run of the same job is told apart by its lower number.
    const attempt = job.attemptsMade + job.stalledCounter + 1;
    // Aborted by BullMQ (cancel message, shutdown) or by a progress report that finds the job
    // cancelled (in case the cancel message was missed).
    const cancelled = new AbortController();
    const signal = bullSignal ? AbortSignal.any([bullSignal, cancelled.signal]) : cancelled.signal;
    const noteCancel = (seq: number) => {
      if (seq === -1) cancelled.abort(CANCEL_REASON);
      if (seq === -2) cancelled.abort(SUPERSEDED_REASON);
    };
    const startedAt = Date.now();
    // Issue #16: the attempt's pace (rate, ETA, usual interval), worked out here, once per report.
    const pace = new ProgressPace(startedAt);
    try {
      noteCancel(await store.report(id, { state: 'active', progress: 0, attempt, startedAt }, startedAt));
    } catch (error) {
      if (!isRedisFault(error)) throw error;
      // Redis refused to record the start (out of memory, read-only…): hand the job back
      // rather than fail it for Redis's sake. The move itself works on a full Redis (BullMQ's
      // script frees the lock first).
      faults.report(error);
      if (!token) throw new Error(REDIS_FAILURE_REASON);
      await job.moveToDelayed(Date.now() + REDIS_HAND_BACK_DELAY_MS, token).catch(() => {
        throw new Error(REDIS_FAILURE_REASON);
      });
      throw new DelayedError();
    }
    if (signal.aborted) throw abortError(signal);
    const ctx: JobContext = {
      jobId: id,
      attempt,
      signal,
      progress(percent, message, details) {
        const progress = Math.round(Math.min(100, Math.max(0, Number(percent) || 0)) * 100) / 100;
        // Thrown to the handler, before anything is sent (jobs/details).
        const detailsJson = details === undefined ? undefined : serializeDetails(details);
        const at = Date.now();
        const change = { state: 'active' as const, progress, message, attempt, details: detailsJson };
        return report(
          store.report(id, { ...change, pace: pace.observe(progress, at) }, at).then(noteCancel),
          'progress',
          id,
        );
      },
      log(line) {
        return report(store.log(id, String(line)), 'log line', id);
      },
    };
    const handler = jobType.handler as (input: unknown, ctx: JobContext) => unknown;
    // A re-run after a stall renews its own lock as well. BullMQ tracks locks by job id, so
    // when a stale run of the same job (one cut off from Redis past its lock, see
    // JobSupersededError) ends in this process, BullMQ stops renewing the lock of the run that
    // replaced it, which would then stall for no reason. A first run has no stale twin, and
    // BullMQ's renewal suffices: this halves the Redis cost of a running job (README).
    const renew =
      token && job.stalledCounter > 0
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
        // Hand the job back: due now, so another worker (or this one, started again) takes it
        // without waiting for the stalled-job check; not an attempt (see `attempt`). The
        // record first, so the next run's `active` cannot be overtaken by this `queued`.
        // DelayedError tells BullMQ the move is done.
        await report(
          store.report(id, {
            state: 'queued',
            progress: 0,
            attempt,
            message: 'returned to the queue: worker shut down',
          }),
          'hand-back',
          id,
        );
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      // A handler's own Redis trouble is not its failure to explain: BullMQ keeps the text.
      if (isRedisFault(error)) throw new Error(REDIS_FAILURE_REASON);
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
    // Issue #16: recent run times make the expected start of queued jobs.
    if (job.processedOn) {
      void report(
        recordRunTime(redis, config.KEY_PREFIX, job.name, Date.now() - job.processedOn),
        'run time',
        job.id as string,
      );
    }
    void report(store.finish(job.id as string, 'completed', { result }), 'completion', job.id as string);
  });
  worker.on('failed', (job, error) => {
    if (!job?.id || error instanceof JobSupersededError) return;
    observe(job, error instanceof JobCancelledError ? 'cancelled' : job.finishedOn ? 'failed' : 'retried');
    if (error instanceof JobCancelledError) {
      void report(store.finish(job.id, 'cancelled', { error: error.message }), 'cancellation', job.id);
    } else if (job.finishedOn) {
      void report(store.finish(job.id, 'failed', { error: publicFailure(error.message) }), 'failure', job.id);
    } else {
      // BullMQ will retry it (at once or after backoff).
      const message = `attempt ${job.attemptsMade} failed: ${publicFailure(error.message)}; retrying`;
      void report(
        store.report(job.id, { state: 'queued', progress: 0, message, attempt: job.attemptsMade }),
        'retry',
        job.id,
      );
    }
  });
  // A Redis outage makes BullMQ report an error on every retry: the fault log makes one line
  // of advice of them.
  worker.on('error', (error) => {
    if (!faults.report(error)) log.error('worker error', { error });
  });
  // A job that stalled too often is failed by BullMQ itself, with no 'failed' event here.
  worker.on('stalled', (id) => {
    void report(reconcile(store, queue, id), 'stalled job outcome', id);
  });

  subscriber.on('message', (_channel: string, id: string) => worker.cancelJob(id, CANCEL_REASON));
  // webhooks (#17): this process also sends deliveries, once Redis answers.
  let webhookWorker: Awaited<ReturnType<typeof startWebhookWorker>> | undefined;
  // Issue #16: the slots this process offers, for the expected start of queued jobs.
  const announcement = new WorkerAnnouncement(redis, config.KEY_PREFIX, config.WORKER_CONCURRENCY);
  const ready = (async () => {
    await subscriber.subscribe(cancelChannel(config.KEY_PREFIX));
    await worker.waitUntilReady();
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

  let closing: Promise<void> | undefined;
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
      // (pause, not close: BullMQ closes a worker once, so a later close(true) would be ignored.)
      const announced = announcement.stop();
      const drained = worker.pause().then(() => 'drained' as const);
      const after = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(resolve, ms, 'timeout').unref());
      // Without Redis nothing runs, and pausing would wait for Redis: nothing to drain.
      const idle = running === 0 && redis.status !== 'ready';
      let force = idle;
      if (!idle && (await Promise.race([drained, after(config.SHUTDOWN_TIMEOUT_MS), hurry])) === 'timeout') {
        log.warn('jobs still running at shutdown; handing them back to the queue');
        worker.cancelAllJobs(SHUTDOWN_REASON);
        force = (await Promise.race([drained, after(3_000)])) === 'timeout';
      }
      await worker.close(force);
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
