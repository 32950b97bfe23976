/**
 * @module workers/runner
 * A BullMQ worker that runs jobs through their handlers and keeps each job's record (what
 * clients see) in step with BullMQ: active on start, progress while running, queued again
 * before a retry, and one `done` after BullMQ has recorded the outcome.
 */
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import { bullPrefix } from '../src/jobs/keys.js';
import { isJobType, jobTypes } from '../src/jobs/registry.js';
import { JobStore } from '../src/jobs/store.js';
import type { Logger } from '../src/log.js';
import { closeRedis, createRedis } from '../src/redis.js';
import type { HandlerMap, JobContext } from './handler.js';
import { handlers as builtInHandlers } from './handlers/index.js';

export interface RunningWorker {
  worker: Worker;
  /** Finishes running jobs (up to the shutdown timeout), hands back the rest, closes Redis. */
  close(): Promise<void>;
}

export async function startWorker(
  config: Config,
  redisUrl: string,
  log: Logger,
  handlers: HandlerMap = builtInHandlers,
): Promise<RunningWorker> {
  const redis = createRedis(redisUrl, 'worker');
  const store = new JobStore(redis, {
    prefix: config.KEY_PREFIX,
    logMaxLines: config.JOB_LOG_MAX_LINES,
    retentionSeconds: config.JOB_RETENTION_SECONDS,
  });

  const report = (promise: Promise<unknown>, what: string, jobId: string): Promise<void> =>
    promise.then(
      () => {},
      (error: unknown) => log.warn(`could not record ${what}`, { jobId, error }),
    );

  const processor = async (job: Job, _token?: string, signal?: AbortSignal): Promise<unknown> => {
    const id = job.id as string;
    const type = job.name;
    if (!isJobType(type)) throw new UnrecoverableError(`unknown job type ${JSON.stringify(type)}`);
    const parsed = jobTypes[type].input.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.message}`);

    const attempt = job.attemptsStarted || job.attemptsMade + 1;
    let progress = 0;
    await store.report(id, { state: 'active', progress, attempt, startedAt: Date.now() });
    const ctx: JobContext = {
      jobId: id,
      attempt,
      signal: signal ?? new AbortController().signal,
      progress(percent, message) {
        progress = Math.round(Math.min(100, Math.max(0, Number(percent) || 0)) * 100) / 100;
        return report(store.report(id, { state: 'active', progress, message, attempt }), 'progress', id);
      },
      log(line) {
        return report(store.log(id, String(line)), 'log line', id);
      },
    };
    const handler = handlers[type] as (input: unknown, ctx: JobContext) => Promise<unknown>;
    const result = await handler(parsed.data, ctx);
    // BullMQ stores undefined as nothing; keep "no result" explicit.
    return result ?? null;
  };

  const worker = new Worker(config.QUEUE_NAME, processor, {
    connection: redis,
    prefix: bullPrefix(config.KEY_PREFIX),
    concurrency: config.WORKER_CONCURRENCY,
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
    // Finished jobs are evicted by their own removeOnComplete/removeOnFail ages.
    autorun: true,
  });

  // 'completed' and 'failed' fire after BullMQ has moved the job, so `done` never announces an
  // outcome BullMQ has not recorded.
  worker.on('completed', (job, result) => {
    void report(store.finish(job.id as string, 'completed', { result }), 'completion', job.id as string);
  });
  worker.on('failed', (job, error) => {
    if (!job?.id) return;
    if (job.finishedOn) {
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
  worker.on('error', (error) => log.error('worker error', { error }));

  await worker.waitUntilReady();
  log.info('worker started', { queue: config.QUEUE_NAME, concurrency: config.WORKER_CONCURRENCY });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Let running jobs finish for a while; after that, abandon them: their locks expire and
      // BullMQ's stalled-job check hands them to another worker.
      const finished = worker.close();
      const timeout = new Promise<'timeout'>((resolve) => {
        setTimeout(resolve, config.SHUTDOWN_TIMEOUT_MS, 'timeout').unref();
      });
      if ((await Promise.race([finished, timeout])) === 'timeout') {
        log.warn('jobs still running at shutdown; handing them back', {});
        await worker.close(true);
      }
      await closeRedis(redis);
      log.info('worker stopped');
    })();
    return closing;
  };

  return { worker, close };
}
