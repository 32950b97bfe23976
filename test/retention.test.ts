/**
 * Retention (JOB_RETENTION_SECONDS, here 2 s): a finished job is readable right after it
 * finishes; once retention has passed it is gone everywhere — GET, events, logs and cancel
 * answer a 404 problem, `GET /jobs` no longer lists it (and its index entry is dropped), and
 * BullMQ evicts it (which BullMQ does only when another job finishes). Jobs that have not
 * finished are kept however old. Keyed, so that jobs are listed (an open service lists none).
 */
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './support/harness/harness.js';
import {
  bullJobTotal,
  bullQueue,
  call,
  expectProblem,
  getJob,
  indexHas,
  type Job,
  sleep,
  submitJob,
  walkPages,
} from './support/http/api.js';
import { bearer, KEY_A, startKeyedHarness } from './support/http/security.js';
import { liveWatch } from './support/sse/live-watch.js';
import { watch } from './support/sse/sse.js';

const AUTH = bearer(KEY_A);

const RETENTION_S = 2;

let h: Harness;
let queue: Queue;
/** Finished jobs, by how they ended. */
const finished: Record<'completed' | 'failed' | 'cancelled', Job | undefined> = {
  completed: undefined,
  failed: undefined,
  cancelled: undefined,
};
/** A job with an Idempotency-Key, finished, and the key and body it was submitted with. */
let keyed: { job: Job; key: string; body: unknown };
/** A job still waiting (delayed for an hour): never expires. */
let waiting: Job;
/** When the last of the finished jobs finished (ms). */
let lastFinishedAt = 0;

const finish = async (job: Job) => {
  const done = await watch(`${h.url}/jobs/${job.id}/events`, { timeoutMs: 5_000, headers: AUTH });
  lastFinishedAt = Math.max(lastFinishedAt, Date.parse(String(done.at(-1)?.data.at)));
  return done.at(-1);
};

beforeAll(async () => {
  h = await startKeyedHarness({ JOB_RETENTION_SECONDS: String(RETENTION_S) });
  queue = bullQueue(h);
  waiting = await submitJob(h, { data: { steps: 1, stepMs: 0 }, options: { delayMs: 3_600_000 } }, AUTH);
  finished.completed = await submitJob(h, { data: { steps: 2, stepMs: 5 } }, AUTH);
  finished.failed = await submitJob(h, { data: { steps: 2, stepMs: 5, failAtStep: 2 } }, AUTH);
  finished.cancelled = await submitJob(h, { data: { steps: 100, stepMs: 50 } }, AUTH);
  const body = { type: 'simulate', data: { steps: 1, stepMs: 0 } };
  const key = `retention-${Date.now()}`;
  const res = await call(h, 'POST', '/jobs', { body, headers: { ...AUTH, 'idempotency-key': key } });
  keyed = { job: res.body as unknown as Job, key, body };

  const w = liveWatch(`${h.url}/jobs/${finished.cancelled.id}/events`, { headers: AUTH });
  try {
    await w.next((e) => e.data.state === 'active', 5_000);
    await call(h, 'POST', `/jobs/${finished.cancelled.id}/cancel`, { headers: AUTH });
    lastFinishedAt = Date.parse(String((await w.done(3_000)).data.at));
  } finally {
    w.close();
  }
  expect((await finish(finished.completed))?.data.status).toBe('completed');
  expect((await finish(finished.failed))?.data.status).toBe('failed');
  expect((await finish(keyed.job))?.data.status).toBe('completed');
});
afterAll(async () => {
  await queue?.close();
  await h?.close();
});

const finishedJobs = () => Object.values(finished) as Job[];

describe('a finished job', () => {
  it('is readable right after it finishes: GET, events, logs, list', async () => {
    for (const job of finishedJobs()) {
      const resource = await getJob(h, job.id, AUTH);
      expect(['completed', 'failed', 'cancelled']).toContain(resource.state);
      const events = await watch(`${h.url}/jobs/${job.id}/events`, { timeoutMs: 2_000, headers: AUTH });
      expect(events.map((e) => e.type)).toEqual(['progress', 'done']);
      expect((await call(h, 'GET', `/jobs/${job.id}/logs`, { headers: AUTH })).status).toBe(200);
    }
    const listed = (await walkPages(h, { limit: 100 }, { headers: AUTH })).flatMap((p) => p.items).map((j) => j.id);
    for (const job of finishedJobs()) expect(listed).toContain(job.id);
    // BullMQ still has them too.
    expect(await (await queue.getJob(finished.completed?.id as string))?.getState()).toBe('completed');
  });

  it('is gone after the retention time: GET, events, logs and cancel are 404 problems', async () => {
    await sleep(Math.max(0, lastFinishedAt + RETENTION_S * 1_000 + 1_000 - Date.now()));
    for (const job of finishedJobs()) {
      for (const [method, path] of [
        ['GET', `/jobs/${job.id}`],
        ['GET', `/jobs/${job.id}/events`],
        ['GET', `/jobs/${job.id}/logs`],
        ['POST', `/jobs/${job.id}/cancel`],
      ] as const) {
        const res = await call(h, method, path, { headers: AUTH });
        expectProblem(res, 404, 'job-not-found');
      }
    }
  });

  it('is no longer listed, and its index entry is dropped', async () => {
    const listed = (await walkPages(h, { limit: 2 }, { headers: AUTH })).flatMap((p) => p.items).map((j) => j.id);
    for (const job of finishedJobs()) {
      expect(listed).not.toContain(job.id);
      expect(await indexHas(h, job.id)).toBe(false);
    }
    // A job that has not finished stays, however long it waits.
    expect(listed).toEqual([waiting.id]);
    expect(await getJob(h, waiting.id, AUTH)).toMatchObject({ state: 'queued' });
  });

  it('is evicted from BullMQ once another job completes and another fails', async () => {
    const trigger = [
      await submitJob(h, { data: { steps: 1, stepMs: 0 } }, AUTH),
      await submitJob(h, { data: { steps: 1, stepMs: 0, failAtStep: 1 } }, AUTH),
    ];
    for (const job of trigger) await finish(job);
    for (const job of finishedJobs()) {
      const left = await queue.getJob(job.id);
      expect(left, `${job.id} (${left ? await left.getState() : ''}) still in BullMQ`).toBeUndefined();
    }
    // The triggering jobs themselves are kept until their own retention passes.
    expect(await queue.getJob(trigger[0]?.id as string)).toBeDefined();
  });

  it('replaying its Idempotency-Key answers at once with a 409, never a second job', async () => {
    // The key outlives the job (IDEMPOTENCY_KEY_TTL_SECONDS is a day): the job it names is gone.
    const jobsBefore = await bullJobTotal(queue);
    const started = Date.now();
    const res = await call(h, 'POST', '/jobs', {
      body: keyed.body,
      headers: { ...AUTH, 'idempotency-key': keyed.key },
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expectProblem(res, 409, 'idempotency-key-jobs-gone');
    expect(res.body.jobIds).toEqual([keyed.job.id]);
    expect(await bullJobTotal(queue)).toBe(jobsBefore);
  });
});
