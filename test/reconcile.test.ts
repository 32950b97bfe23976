/**
 * The safety net under "every accepted job reaches a terminal state": when BullMQ has recorded
 * a job's outcome but its record never heard (a worker died between the two, Redis refused the
 * record's write), or BullMQ lost the job, the record is finished anyway.
 * - Watched jobs: the watcher still gets `done`.
 * - Unwatched jobs: the background reconciler walks the unfinished set, one bounded page per
 *   tick under a short lock that replicas share, and finishes them; failure reasons that quote
 *   Redis are replaced by our words.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUIET_CHECKS_PER_TICK } from '../src/events/hub.js';
import { bullPrefix, jobKeys } from '../src/jobs/keys.js';
import { LOST_REASON, reconcileRecord } from '../src/jobs/reconcile.js';
import { RECONCILE_PAGE_SIZE, Reconciler } from '../src/jobs/reconciler.js';
import { JobStore } from '../src/jobs/store.js';
import { createLogger } from '../src/log.js';
import { REDIS_FAILURE_REASON } from '../src/redis-faults.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { watch } from './support/sse/sse.js';

let h: Harness;
let connection: Redis;
const workers: Worker[] = [];

beforeAll(async () => {
  // No jobcast worker: bare BullMQ workers play ones that finish jobs and then die before
  // their records hear of it. The API's own reconciler ticks often.
  h = await startHarness({ worker: false, env: { WORKER_LOCK_MS: '1000', RECONCILE_INTERVAL_MS: '200' } });
  connection = new Redis(h.redisUrl, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await connection?.quit();
  await h.close();
});

/** A bare BullMQ worker on the harness's queue, running `run` for every job. */
function bareWorker(run: () => Promise<unknown>): Worker {
  const worker = new Worker(h.config.QUEUE_NAME, run, { connection, prefix: bullPrefix(h.config.KEY_PREFIX) });
  workers.push(worker);
  return worker;
}

const resource = async (id: string) => (await (await fetch(`${h.url}/jobs/${id}`)).json()) as Record<string, unknown>;

it('a watcher gets done when BullMQ finished the job but nobody published it', async () => {
  const job = await h.submit({ type: 'simulate', data: { steps: 1, stepMs: 0 } });
  const events = watch(`${h.url}/jobs/${job.id}/events`, { timeoutMs: 10_000 });
  const bare = bareWorker(async () => ({ by: 'bare worker' }));
  const received = await events;
  await bare.close();
  expect(received.at(-1)).toMatchObject({ type: 'done', data: { status: 'completed', result: { by: 'bare worker' } } });
  expect(await resource(job.id)).toMatchObject({ state: 'completed', result: { by: 'bare worker' } });
});

describe('the background reconciler', () => {
  it('finishes unwatched jobs BullMQ finished, in our words when BullMQ quotes Redis, and forgets them', async () => {
    const ok = await h.submit({ type: 'simulate', data: { steps: 1, stepMs: 0 } });
    const oom = await h.submit({ type: 'simulate', data: { steps: 2, stepMs: 0 } });
    const bare = bareWorker(async (...args: unknown[]) => {
      const [job] = args as [{ id: string }];
      if (job.id === oom.id) throw new Error("OOM command not allowed when used memory > 'maxmemory'. script: 85da46");
      return { by: 'bare worker' };
    });
    // Nobody watches: only the reconciler can finish them.
    await waitFor(
      async () => (await resource(ok.id)).state === 'completed' && (await resource(oom.id)).state === 'failed',
      'both jobs to be reconciled',
      15_000,
    );
    await bare.close();
    expect(await resource(ok.id)).toMatchObject({ state: 'completed', result: { by: 'bare worker' } });
    expect(await resource(oom.id)).toMatchObject({ state: 'failed', error: REDIS_FAILURE_REASON });
    const unfinished = `${h.config.KEY_PREFIX}:unfinished`;
    expect(await h.redis.zscore(unfinished, ok.id)).toBeNull();
    expect(await h.redis.zscore(unfinished, oom.id)).toBeNull();
  });

  it('fails a job BullMQ lost (Redis lost data) once it is old enough, and leaves queued ones alone', async () => {
    const queue = new Queue(h.config.QUEUE_NAME, { connection, prefix: bullPrefix(h.config.KEY_PREFIX) });
    try {
      const store = new JobStore(connection, {
        prefix: h.config.KEY_PREFIX,
        logMaxLines: 10,
        retentionSeconds: 60,
      });
      const lost = await h.submit({ type: 'simulate', data: { steps: 1 } });
      const queued = await h.submit({ type: 'simulate', data: { steps: 1 } });
      await queue.remove(lost.id);
      const record = async (id: string) => (await store.get(id)) as NonNullable<Awaited<ReturnType<JobStore['get']>>>;
      // Too young to call lost: it may be on its way into the queue.
      expect(await reconcileRecord(connection, store, queue, await record(lost.id), { lostAfterMs: 60_000 })).toBe(
        'pending',
      );
      expect(await reconcileRecord(connection, store, queue, await record(lost.id), { lostAfterMs: 0 })).toBe(
        'repaired',
      );
      expect(await resource(lost.id)).toMatchObject({ state: 'failed', error: LOST_REASON });
      expect(await reconcileRecord(connection, store, queue, await record(queued.id), { lostAfterMs: 0 })).toBe(
        'pending',
      );
      await queue.remove(queued.id);
      await store.finish(queued.id, 'cancelled', { error: 'test cleanup' });
    } finally {
      await queue.close();
    }
  });

  it('checks one bounded page per tick, resuming where the last page (of any replica) stopped; replicas share a lock', async () => {
    // A prefix of its own, with more unfinished jobs than a page: records only, all queued in
    // BullMQ's eyes... of a queue that does not exist, so each one is 'pending' (too young to be lost).
    const prefix = `${h.config.KEY_PREFIX}r`;
    const store = new JobStore(connection, { prefix, logMaxLines: 10, retentionSeconds: 60 });
    const queue = new Queue('none', { connection, prefix: bullPrefix(prefix) });
    const total = RECONCILE_PAGE_SIZE + 50;
    const { written } = store.create(
      Array.from({ length: total }, () => ({ id: crypto.randomUUID(), type: 'simulate', maxAttempts: 1 })),
      undefined,
      Date.now(),
    );
    await written;
    const log = createLogger('silent');
    const options = { prefix, intervalMs: 60_000, quietMs: 1_000, log };
    const [a, b] = [
      new Reconciler(connection, store, queue, options),
      new Reconciler(connection, store, queue, options),
    ];
    try {
      // Replica B cannot take the lock while A holds it.
      const lockKey = `${prefix}:reconciler:lock`;
      await connection.set(lockKey, 'someone else', 'PX', 5_000);
      expect(await b.tick()).toBeUndefined();
      await connection.del(lockKey);

      const first = await a.tick();
      expect(first).toMatchObject({ checked: RECONCILE_PAGE_SIZE, wrapped: false });
      const second = await b.tick();
      expect(second).toMatchObject({ checked: 50, wrapped: true });
      const third = await a.tick();
      expect(third).toMatchObject({ checked: RECONCILE_PAGE_SIZE, wrapped: false });
    } finally {
      await queue.close();
      const ids = await connection.zrange(store.unfinished.key, '0', '-1');
      await connection.del(store.unfinished.key, `${prefix}:reconciler:cursor`, `${prefix}:index:open`);
      for (const id of ids) await connection.del(jobKeys(prefix, id).record);
    }
  });
});

describe('the safety net over watched quiet jobs, at scale', () => {
  it(`checks at most ${QUIET_CHECKS_PER_TICK} per tick, those waiting longest first: 1,200 quiet jobs are all checked before any twice`, async () => {
    // Its own API, whose timer (one lock period: an hour here) never ticks during the test.
    const api = await startHarness({ worker: false, env: { WORKER_LOCK_MS: '3600000' } });
    try {
      const ignore = { event() {}, snapshot() {}, gone() {} };
      const watches = await Promise.all(Array.from({ length: 1_200 }, () => api.api.hub.watch(randomUUID(), ignore)));
      const watchedBy = Date.now();
      await waitFor(() => Date.now() > watchedBy, 'the clock to move past the watches');
      const ticks: string[][] = [];
      for (let i = 0; i < 3; i++) {
        const at = Date.now();
        ticks.push(api.api.hub.quietJobs(0));
        await waitFor(() => Date.now() > at, 'the next millisecond');
      }
      expect(ticks.map((t) => t.length)).toEqual([QUIET_CHECKS_PER_TICK, QUIET_CHECKS_PER_TICK, QUIET_CHECKS_PER_TICK]);
      expect(new Set(ticks.flat().slice(0, 1_200)).size).toBe(1_200);
      for (const watch of watches) watch.unwatch();
    } finally {
      await api.close();
    }
  });
});
