/**
 * @module jobs/enqueue
 * Writing checked jobs: their records first, then (for jobs with a webhook) the open-job list,
 * then BullMQ's queue — all sent at once on one connection, in that order. Where nothing has
 * to go between them (one Redis server, no webhook, BullMQ's standard add), the records and
 * the adds go as one script (`jobs/recorded-adds`). When any of it fails, what was written is
 * undone in the background and the client hears 503 at once.
 */
import type { Queue } from 'bullmq';
import { ProblemError } from '../problems.js';
import type { WebhookIntake } from '../webhooks/intake.js';
import { type StoredWebhook, storeWebhook } from '../webhooks/view.js';
import { allOf } from './pending.js';
import { bullJobOptions } from './queue.js';
import { RecordedAdds } from './recorded-adds.js';
import type { JobRecord, JobStore } from './store.js';
import type { ValidJob } from './submission-checks.js';

export interface EnqueueDeps {
  store: JobStore;
  queue: Queue;
  /** Records and adds in one script, for jobs BullMQ adds the standard way (see `jobs/recorded-adds`). */
  recordedAdds?: RecordedAdds | undefined;
  retentionSeconds: number;
  /** webhooks (#17): tracks the jobs that have a webhook. */
  webhooks?: WebhookIntake | undefined;
}

export interface Enqueued {
  jobs: ValidJob[];
  /** The new jobs' ids, one per job. */
  ids: string[];
  /** Each job's webhook, as resolved (undefined: none). */
  webhooks: (StoredWebhook | undefined)[];
  owner: string | undefined;
  /** For the problem's wording: `the job` or `the batch` could not be enqueued. */
  kind: 'job' | 'batch';
}

/**
 * Writes and queues `jobs`; returns their records as written. On failure, undoes the writes
 * (and runs `alsoUndo`) in the background and throws an `unavailable` problem.
 */
export async function enqueueJobs(
  { store, queue, retentionSeconds, webhooks: intake, recordedAdds }: EnqueueDeps,
  { jobs, ids, webhooks, owner, kind }: Enqueued,
  alsoUndo: () => Promise<unknown> | undefined,
): Promise<JobRecord[]> {
  const createdAt = Date.now();
  const bulk = jobs.map(({ type, data, options }, i) => ({
    name: type,
    data,
    opts: bullJobOptions(ids[i] as string, options, retentionSeconds, createdAt),
  }));
  // One script for the records and BullMQ's adds, where it can: every key on one server, no
  // webhook (whose open-job list goes between them), BullMQ's standard add. The call is shared
  // with the other requests of this turn; the owner's index and feed entries follow it.
  const together =
    recordedAdds &&
    !store.cluster &&
    webhooks.every((w) => w === undefined) &&
    bulk.every((b) => RecordedAdds.fits(b.opts));
  // Records first, so a worker that takes a job at once finds it; the commands go out on
  // one connection, in this order, without waiting for each other.
  const { records, written } = store.create(
    jobs.map(({ type, options, tags }, i) => ({
      id: ids[i] as string,
      type,
      maxAttempts: options.attempts,
      runAt: options.delayMs > 0 ? createdAt + options.delayMs : undefined,
      webhook: webhooks[i] && storeWebhook(webhooks[i]),
      tags,
    })),
    owner,
    createdAt,
    together
      ? (records, follow) =>
          recordedAdds.add(
            store.unfinished.key,
            ids.map((id) => store.keys(id).record),
            records,
            bulk,
            follow,
          ).done
      : undefined,
  );
  // webhooks (#17): jobs with one are listed as open, before they are queued (see webhooks/outbox).
  const withWebhook = ids.filter((_, i) => webhooks[i] !== undefined);
  const tracked = withWebhook.length > 0 ? intake?.track(withWebhook, createdAt) : undefined;
  // Together, the adds went with the records (their promise is `written`).
  // addBulk sends through an ioredis pipeline, which costs more than one command for one job.
  const [one] = bulk;
  const added = together
    ? undefined
    : bulk.length === 1 && one
      ? queue.add(one.name, one.data, one.opts)
      : queue.addBulk(bulk);
  try {
    await allOf([written, tracked, added]);
  } catch (error) {
    // Undone in the background: the client hears 503 now, not after one more command
    // timeout on a frozen Redis. (What cannot be undone, the reconciler finishes later.)
    Promise.all([
      store.discard(
        jobs.map(({ type, tags, options }, i) => ({
          id: ids[i] as string,
          type,
          tags,
          maxAttempts: options.attempts,
        })),
        createdAt,
        owner,
      ),
      // A batch is added job by job: take out those that made it. And an add that timed out
      // may still run once Redis thaws: the remove follows it on the same connection.
      ...ids.map((id) => queue.remove(id)),
      alsoUndo(),
    ]).catch(() => {});
    throw new ProblemError('unavailable', `the ${kind} could not be enqueued; try again`, {
      cause: error,
      headers: { 'retry-after': '1' },
    });
  }
  return records;
}
