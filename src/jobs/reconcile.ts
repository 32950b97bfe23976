/**
 * @module jobs/reconcile
 * Repairs the gap between BullMQ and a job's record: BullMQ recorded the outcome but no `done`
 * was published — the worker died between the two, BullMQ failed a job itself (a job that
 * stalled too often), or Redis refused the record's write (out of memory, a failover) — or
 * BullMQ no longer has the job at all (Redis lost data). Safe to call any time, from any
 * process: `finish` is idempotent.
 */
import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis.js';
import { publicFailure } from '../redis-faults.js';
import type { JobRecord, JobStore } from './store.js';

/**
 * What one check found:
 * - `gone`: no record (expired, or never written): nothing to do.
 * - `finished`: the record already has its `done`.
 * - `repaired`: BullMQ had finished (or lost) the job: `done` is now published.
 * - `pending`: BullMQ still has it waiting or running.
 */
export type ReconcileOutcome = 'gone' | 'finished' | 'repaired' | 'pending';

export interface ReconcileOptions {
  /**
   * A record whose job BullMQ does not know is failed as lost once it is this old (ms); younger
   * ones may still be on their way into the queue. Undefined: never.
   */
  lostAfterMs?: number | undefined;
}

/** Error of a job BullMQ no longer has (Redis lost data: a restart without persistence, a failover). */
export const LOST_REASON = 'the queue lost this job (Redis lost data); submit it again';

/** Publishes `done` for a job BullMQ has finished but its record has not. Returns true if it did. */
export async function reconcile(redis: RedisClient, store: JobStore, queue: Queue, id: string): Promise<boolean> {
  const record = await store.get(id);
  return record ? (await reconcileRecord(redis, store, queue, record)) === 'repaired' : false;
}

/**
 * What reconciling needs to know of BullMQ's job: finished (and how), still there (waiting,
 * delayed, running…), or unknown. Not `queue.getJobState`: for a waiting job that scans
 * BullMQ's wait list (LPOS), milliseconds per call behind a backlog of 100,000 jobs, which held
 * Redis past the API's command time-out (`POST /jobs` answered 503 under the enqueue bench).
 * Three O(log n) reads instead, in one round trip (the keys share the queue's hash slot).
 */
async function bullState(
  redis: RedisClient,
  queue: Queue,
  id: string,
): Promise<'completed' | 'failed' | 'pending' | 'unknown'> {
  // Three commands, not a pipeline: they leave in one write all the same (the connection
  // coalesces a turn's writes), and ioredis' Pipeline copies every command defined on the
  // connection onto itself (~17 KB each): the quiet-job check runs up to 500 of these at once
  // in a process holding thousands of streams, and that much garbage, alive across the round
  // trip, was promoted to the old generation every WORKER_LOCK_MS.
  const [completed, failed, exists] = await Promise.all([
    redis.zscore(queue.toKey('completed'), id),
    redis.zscore(queue.toKey('failed'), id),
    redis.exists(queue.toKey(id)),
  ]);
  if (completed !== null && completed !== undefined) return 'completed';
  if (failed !== null && failed !== undefined) return 'failed';
  return exists === 1 ? 'pending' : 'unknown';
}

/** Compares `record` with BullMQ's job and finishes the record if BullMQ finished (or lost) the job. */
export async function reconcileRecord(
  redis: RedisClient,
  store: JobStore,
  queue: Queue,
  record: JobRecord,
  options: ReconcileOptions = {},
): Promise<ReconcileOutcome> {
  if (record.dseq) return 'finished';
  const id = record.id;
  const state = await bullState(redis, queue, id);
  if (state === 'completed' || state === 'failed') {
    const job = await queue.getJob(id);
    // Removed between the two reads (its retention ran out): the next pass finds it unknown.
    if (!job) return 'pending';
    const repaired =
      state === 'completed'
        ? await store.finish(id, 'completed', { result: job.returnvalue ?? null })
        : await store.finish(id, record.cancel ? 'cancelled' : 'failed', {
            error: record.cancel ?? publicFailure(job.failedReason ?? 'failed'),
          });
    return repaired > 0 ? 'repaired' : 'finished';
  }
  const age = Date.now() - Number(record.createdAt);
  if (state === 'unknown' && options.lostAfterMs !== undefined && age >= options.lostAfterMs) {
    // Cancelled while queued: BullMQ's copy was removed, and only the record's finish was lost.
    const finished = record.cancel
      ? await store.finish(id, 'cancelled', { error: record.cancel })
      : await store.finish(id, 'failed', { error: LOST_REASON });
    return finished > 0 ? 'repaired' : 'finished';
  }
  return 'pending';
}
