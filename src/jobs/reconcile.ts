/**
 * @module jobs/reconcile
 * Repairs the one gap between BullMQ and a job's record: BullMQ recorded the outcome but no
 * `done` was published — the worker died between the two, or BullMQ failed a job itself (a
 * job that stalled too often). Safe to call any time: `finish` is idempotent.
 */
import type { Queue } from 'bullmq';
import type { JobStore } from './store.js';

/** Publishes `done` for a job BullMQ has finished but its record has not. Returns true if it did. */
export async function reconcile(store: JobStore, queue: Queue, id: string): Promise<boolean> {
  const record = await store.get(id);
  if (!record || record.dseq) return false;
  const job = await queue.getJob(id);
  if (!job?.finishedOn) return false;
  const state = await job.getState();
  if (state === 'completed') {
    return (await store.finish(id, 'completed', { result: job.returnvalue ?? null })) > 0;
  }
  if (state === 'failed') {
    const status = record.cancel ? 'cancelled' : 'failed';
    return (await store.finish(id, status, { error: record.cancel ?? job.failedReason ?? 'failed' })) > 0;
  }
  return false;
}
