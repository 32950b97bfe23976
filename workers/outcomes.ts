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
import { reconcile } from '../src/jobs/reconcile.js';
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
    if (!faults.report(error)) log.error('worker error', { error });
  });
  // A job that stalled too often is failed by BullMQ itself, with no 'failed' event here.
  worker.on('stalled', (id) => {
    void write(reconcile(redis, store, queue, id), 'stalled job outcome', id);
  });
}
