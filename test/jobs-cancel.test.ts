/**
 * `POST /jobs/{id}/cancel`: a queued job is cancelled at once; a running one is stopped
 * through its handler's AbortSignal — also when it runs in another worker process than the
 * API — and watchers see `done` with status `cancelled`; a cancelled job never completes and
 * is never retried; a finished job is a 409 problem and an unknown one a 404 problem.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { startWorker } from '../workers/runner.js';
import { type Harness, startHarness } from './support/harness/harness.js';
import { bullQueue, call, expectProblem, getJob, type Job, sleep, submitJob, UNKNOWN_ID } from './support/http/api.js';
import { startWorkerProcess } from './support/processes/worker-process.js';
import { type LiveWatch, useWatchedHarness } from './support/sse/live-watch.js';

/** A job that runs for 10 s unless stopped. */
const LONG = { steps: 100, stepMs: 100 };

const suite = useWatchedHarness();
const { watchJob } = suite;

const cancel = (harness: Harness, id: string) => call(harness, 'POST', `/jobs/${id}/cancel`);

/** Waits until the job has reported progress while active: it is really running. */
const running = (w: LiveWatch) =>
  w.next((e) => e.type === 'progress' && e.data.state === 'active' && (e.data.progress as number) > 0, 5_000);

/**
 * Asserts the job stays cancelled: its record does not move on, and BullMQ holds it as
 * failed (the cancellation error), neither completed nor waiting for another attempt.
 */
async function expectStaysCancelled(harness: Harness, before: Job, forMs: number): Promise<void> {
  await sleep(forMs);
  const after = await getJob(harness, before.id);
  expect(after).toMatchObject({ state: 'cancelled', progress: before.progress, attempts: before.attempts });
  expect(after.finishedAt).toBe(before.finishedAt);
  expect(after.result).toBeUndefined();
  const queue = bullQueue(harness);
  try {
    const job = await queue.getJob(before.id);
    if (job) {
      expect(await job.getState()).toBe('failed');
      expect(job.returnvalue ?? null).toBeNull();
    }
  } finally {
    await queue.close();
  }
}

describe('cancelling a queued job', () => {
  it('cancels a delayed job at once: 202 with the cancelled resource, done for watchers, gone from BullMQ', async () => {
    const job = await submitJob(suite.h, { data: { steps: 1, stepMs: 0 }, options: { delayMs: 60_000 } });
    const w = watchJob(suite.h, job.id);
    await w.live(2_000);
    const res = await cancel(suite.h, job.id);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: job.id, state: 'cancelled', attempts: 0 });
    const done = await w.done(2_000);
    expect(done.data).toMatchObject({ jobId: job.id, status: 'cancelled' });
    expect(w.events.filter((e) => e.type === 'done')).toHaveLength(1);
    expect(await getJob(suite.h, job.id)).toMatchObject({ state: 'cancelled', attempts: 0 });
    const queue = bullQueue(suite.h);
    try {
      expect(await queue.getJob(job.id)).toBeUndefined();
    } finally {
      await queue.close();
    }
  });

  it('cancels a waiting job (no worker running) at once, and a worker started later never runs it', async () => {
    const idle = await startHarness({ worker: false });
    try {
      const job = await submitJob(idle, { data: { steps: 1, stepMs: 0 } });
      const w = watchJob(idle, job.id);
      await w.live(2_000);
      const res = await cancel(idle, job.id);
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ state: 'cancelled' });
      expect((await w.done(10_000)).data).toMatchObject({ status: 'cancelled' });

      const worker = await startWorker(idle.config, idle.redisUrl, createLogger('warn'));
      try {
        await expectStaysCancelled(idle, await getJob(idle, job.id), 300);
        expect((await getJob(idle, job.id)).startedAt).toBeUndefined();
      } finally {
        await worker.close();
      }
    } finally {
      await idle.close();
    }
  });
});

describe('cancelling a running job', () => {
  it('stops it: watchers get done cancelled within 2 s, and it never completes afterwards', async () => {
    const job = await submitJob(suite.h, { data: LONG });
    const w = watchJob(suite.h, job.id);
    const other = watchJob(suite.h, job.id);
    await running(w);
    const asked = Date.now();
    const res = await cancel(suite.h, job.id);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: job.id });
    const [done, otherDone] = await Promise.all([w.done(2_000), other.done(2_000)]);
    expect(Date.now() - asked).toBeLessThan(2_000);
    expect(done.data).toMatchObject({ jobId: job.id, status: 'cancelled' });
    expect(otherDone.id).toBe(done.id);
    const final = await getJob(suite.h, job.id);
    expect(final).toMatchObject({ state: 'cancelled', attempts: 1 });
    expect(final.progress).toBeLessThan(100);
    await expectStaysCancelled(suite.h, final, 500);
  });

  it('is not retried, even with attempts 3', async () => {
    const job = await submitJob(suite.h, { data: LONG, options: { attempts: 3, backoffMs: 10 } });
    const w = watchJob(suite.h, job.id);
    await running(w);
    expect((await cancel(suite.h, job.id)).status).toBe(202);
    expect((await w.done(10_000)).data).toMatchObject({ status: 'cancelled' });
    const final = await getJob(suite.h, job.id);
    expect(final).toMatchObject({ state: 'cancelled', attempts: 1, maxAttempts: 3 });
    // Long enough for BullMQ to have started a second attempt after a 10 ms backoff.
    await expectStaysCancelled(suite.h, final, 600);
    const queue = bullQueue(suite.h);
    try {
      expect((await queue.getJob(job.id))?.attemptsMade).toBe(1);
    } finally {
      await queue.close();
    }
  });

  it('is cancelled between attempts (waiting out its backoff) at once, with no further attempt', async () => {
    const job = await submitJob(suite.h, {
      data: { steps: 2, stepMs: 10, failAtStep: 1 },
      options: { attempts: 3, backoffMs: 60_000 },
    });
    const w = watchJob(suite.h, job.id);
    await w.next((e) => e.type === 'progress' && e.data.state === 'queued' && e.data.attempt === 1, 5_000);
    expect((await cancel(suite.h, job.id)).status).toBe(202);
    expect((await w.done(10_000)).data).toMatchObject({ status: 'cancelled' });
    expect(await getJob(suite.h, job.id)).toMatchObject({ state: 'cancelled', attempts: 1 });
  });

  it('stops it when it runs in another worker process than the API', async () => {
    const apiOnly = await startHarness({ worker: false });
    const child = await startWorkerProcess(apiOnly.config, apiOnly.redisUrl);
    try {
      const job = await submitJob(apiOnly, { data: LONG, options: { attempts: 3, backoffMs: 10 } });
      const w = watchJob(apiOnly, job.id);
      await running(w);
      const asked = Date.now();
      expect((await cancel(apiOnly, job.id)).status).toBe(202);
      const done = await w.done(2_000);
      expect(Date.now() - asked).toBeLessThan(2_000);
      expect(done.data).toMatchObject({ jobId: job.id, status: 'cancelled' });
      const final = await getJob(apiOnly, job.id);
      expect(final).toMatchObject({ state: 'cancelled', attempts: 1 });
      await expectStaysCancelled(apiOnly, final, 500);
      expect(child.child.exitCode).toBeNull();
    } finally {
      await child.stop();
      await apiOnly.close();
    }
  });
});

describe('what cannot be cancelled', () => {
  it('a finished job: 409 problem naming its state, and nothing changes', async () => {
    const job = await submitJob(suite.h, { data: { steps: 1, stepMs: 0 } });
    const w = watchJob(suite.h, job.id);
    expect((await w.done(5_000)).data).toMatchObject({ status: 'completed' });
    const res = await cancel(suite.h, job.id);
    expectProblem(res, 409, 'job-finished');
    expect(res.body.state).toBe('completed');
    expect(await getJob(suite.h, job.id)).toMatchObject({ state: 'completed', result: { steps: 1 } });
  });

  it('a job cancelled already: 409 problem', async () => {
    const job = await submitJob(suite.h, { data: { steps: 1, stepMs: 0 }, options: { delayMs: 60_000 } });
    expect((await cancel(suite.h, job.id)).status).toBe(202);
    const again = await cancel(suite.h, job.id);
    expectProblem(again, 409, 'job-finished');
    expect(again.body.state).toBe('cancelled');
  });

  it.each([
    ['an unknown id', UNKNOWN_ID],
    ['a malformed id', 'not-a-job-id'],
  ])('%s: 404 problem', async (_what, id) => {
    expectProblem(await cancel(suite.h, id), 404, 'job-not-found');
  });
});
