/**
 * @module events/opening
 * The opening of a stream (`events/session`), before anything is written: every job is
 * subscribed and read (`EventHub.watch`), and the reads decide the answer — a stream, a 404
 * when none of the jobs exists (for this owner), or a 204 when the client already has every
 * job's `done`. A job of another owner reads as one that does not exist.
 */
import type { JobSnapshot } from '../jobs/store.js';
import { GONE_CURSOR } from './cursors.js';
import type { EventHub } from './hub.js';
import type { WatchedJob } from './watched-job.js';

export type OpenOutcome =
  /** Ready to stream: call `start`. */
  | { kind: 'ready' }
  /** None of the jobs exists (for this owner): a 404, and EventSource stops. */
  | { kind: 'not-found'; jobIds: string[] }
  /** Every job's `done` (or `gone`) was already delivered: 204 tells EventSource to stop reconnecting. */
  | { kind: 'finished' };

/**
 * Watches and reads every job; each job's `unwatch` is set. The reads come back in the jobs'
 * order, undefined for a job that does not exist or is another owner's. Throws the first
 * failure, once every watch has settled: the caller then releases them all, including any
 * that succeeded after another failed.
 */
export async function watchAll(
  hub: EventHub,
  jobs: readonly WatchedJob[],
  owner: string | undefined,
): Promise<(JobSnapshot | undefined)[]> {
  // One job (most streams): its watch, without the settling of many.
  if (jobs.length === 1) return [ownersOnly(await watchOne(hub, jobs[0] as WatchedJob), owner)];
  const watched = await Promise.allSettled(jobs.map((job) => watchOne(hub, job)));
  const failed = watched.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return watched.map((result) => ownersOnly((result as PromiseFulfilledResult<JobSnapshot | undefined>).value, owner));
}

/** Watches one job and sets its `unwatch`; its snapshot as read. */
function watchOne(hub: EventHub, job: WatchedJob): Promise<JobSnapshot | undefined> {
  return hub.watch(job.jobId, job).then(({ unwatch, snapshot }) => {
    job.unwatch = unwatch;
    return snapshot;
  });
}

/** A job of another owner reads as one that does not exist. */
function ownersOnly(snapshot: JobSnapshot | undefined, owner: string | undefined): JobSnapshot | undefined {
  return snapshot?.record.owner === owner ? snapshot : undefined;
}

/** True when the client already has everything of `job`: its `done`, or its `gone`. */
export function alreadyDone(job: WatchedJob, snapshot: JobSnapshot | undefined): boolean {
  if (!snapshot) return job.cursor === GONE_CURSOR;
  const dseq = Number(snapshot.record.dseq ?? Number.POSITIVE_INFINITY);
  return job.cursor >= dseq;
}

/**
 * What the reads say to answer. In a multi-job stream a job that does not exist costs the
 * others nothing (it gets a `gone` event); only a stream none of whose jobs exists is a 404 —
 * unless the client has seen events of one, and so knows it existed: it is told `gone` instead.
 */
export function openOutcome(
  jobs: readonly WatchedJob[],
  snapshots: readonly (JobSnapshot | undefined)[],
  single: boolean,
): OpenOutcome {
  const missing = jobs.filter((_, i) => !snapshots[i]);
  const known = (job: WatchedJob) => !single && job.cursor > 0;
  if (missing.length === jobs.length && !jobs.some(known)) {
    return { kind: 'not-found', jobIds: missing.map((job) => job.jobId) };
  }
  if (jobs.every((job, i) => alreadyDone(job, snapshots[i]))) return { kind: 'finished' };
  return { kind: 'ready' };
}
