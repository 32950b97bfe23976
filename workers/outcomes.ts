/**
 * @module workers/outcomes
 * BullMQ's events about a job's outcome → the job's record (what clients see): `done` for a
 * completed, cancelled or failed job, `queued` again before a retry, the outcome of a job that
 * stalled too often; and the run times and durations the metrics and queue estimates use.
 * 'completed' and 'failed' fire after BullMQ has moved the job, so `done` never announces an
 * outcome BullMQ has not recorded.
 */
import type { Job, Queue, Worker } from 'bullmq';
import { recordRunTime } from '../src/jobs/capacity.js';
import { JobCancelledError, JobSupersededError } from '../src/jobs/outcomes.js';
import { reconcileRecord } from '../src/jobs/reconcile.js';
import type { JobStore } from '../src/jobs/store.js';
import type { Logger } from '../src/log.js';
import type { WorkerMetrics } from '../src/metrics.js';
import type { RedisClient } from '../src/redis.js';
import { publicFailure, type RedisFaultLog } from '../src/redis-faults.js';
import type { RecordWrite } from './record-writes.js';

export interface OutcomeOptions {
  store: JobStore;
  queue: Queue;
  /** The worker's connection, for the run times (issue #16). */
  redis: RedisClient;
  prefix: string;
  metrics: WorkerMetrics;
  write: RecordWrite;
  faults: RedisFaultLog;
  log: Logger;
}

/** BullMQ's words for a lost lock (lock-manager.js, finished-errors.js). */
const LOCK_NOT_RENEWED = /^could not renew lock for job /;
const LOCK_MISSING = /^(?:Missing lock|Lock mismatch) for job (\S+)\./;

/**
 * What a worker's 'error' about a lost lock comes to, for its log: `said` (the renewal's
 * failure, told once per renewal elsewhere), a job id (a run that had lost its lock ended:
 * BullMQ refused its outcome, as it should, and runs the job again), or undefined (another error).
 */
export function lostLock(error: Error): 'said' | { jobId: string } | undefined {
  if (LOCK_NOT_RENEWED.test(error.message)) return 'said';
  const lost = LOCK_MISSING.exec(error.message);
  return lost?.[1] === undefined ? undefined : { jobId: lost[1] };
}

/** Records the outcome of every job `worker` finishes, retries or gives up on as stalled. */
export function recordOutcomes(
  worker: Worker,
  { store, queue, redis, prefix, metrics, write, faults, log }: OutcomeOptions,
): void {
  const observe = (job: Job, status: string) => {
    if (job.processedOn) metrics.duration.labels(job.name, status).observe((Date.now() - job.processedOn) / 1000);
  };
  worker.on('completed', (job, result) => {
    observe(job, 'completed');
    // Issue #16: recent run times make the expected start of queued jobs.
    if (job.processedOn) {
      void write(recordRunTime(redis, prefix, job.name, Date.now() - job.processedOn), 'run time', job.id as string);
    }
    void write(store.finish(job.id as string, 'completed', { result }), 'completion', job.id as string);
  });
  worker.on('failed', (job, error) => {
    if (!job?.id || error instanceof JobSupersededError) return;
    observe(job, error instanceof JobCancelledError ? 'cancelled' : job.finishedOn ? 'failed' : 'retried');
    if (error instanceof JobCancelledError) {
      void write(store.finish(job.id, 'cancelled', { error: error.message }), 'cancellation', job.id);
    } else if (job.finishedOn) {
      void write(store.finish(job.id, 'failed', { error: publicFailure(error.message) }), 'failure', job.id);
    } else {
      // BullMQ will retry it (at once or after backoff).
      const message = `attempt ${job.attemptsMade} failed: ${publicFailure(error.message)}; retrying`;
      void write(
        store.report(job.id, { state: 'queued', progress: 0, message, attempt: job.attemptsMade }),
        'retry',
        job.id,
      );
    }
  });
  // A Redis outage makes BullMQ report an error on every retry: the fault log makes one line
  // of advice of them.
  worker.on('error', (error) => {
    // A renewal that failed is told once, as a warning, by the runner (it stops those runs).
    const lost = lostLock(error);
    if (lost === 'said') return;
    if (lost) {
      log.info('a run that had lost its lock ended; its outcome is ignored (the job runs again)', lost);
      return;
    }
    if (!faults.report(error)) log.error('worker error', { error });
  });
  // A job that stalled too often is failed by BullMQ itself, with no 'failed' event here.
  worker.on('stalled', (id) => {
    void write(stalledOutcome({ redis, store, queue }, id), 'stalled job outcome', id);
  });
}

/** What a stalled job's watchers see: its end, if BullMQ failed it; else that it waits again. */
async function stalledOutcome(
  { redis, store, queue }: Pick<OutcomeOptions, 'redis' | 'store' | 'queue'>,
  id: string,
): Promise<unknown> {
  // One read of the record serves both: the reconciling, and whether it still shows the run.
  const record = await store.get(id);
  if (!record || (await reconcileRecord(redis, store, queue, record)) !== 'pending') return;
  const job = record.state === 'active' ? await queue.getJob(id) : undefined;
  if (!job || job.finishedOn) return;
  // Back in the queue: said under the number of the run that stalled, and only while the record
  // still shows that run — once the next run has reported (a higher number, or already a retry
  // of it), this is older news.
  const attempt = job.attemptsMade + job.stalledCounter;
  if (Number(record.attempt) !== attempt) return;
  return store.report(id, {
    state: 'queued',
    progress: 0,
    attempt,
    message: 'returned to the queue: its worker stopped answering',
  });
}
