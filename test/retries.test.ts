/**
 * Job options: `attempts` + `backoffMs` (retries, seen live by watchers), `delayMs` (runs no
 * earlier than asked), `priority` (honoured by the queue), and the 422 problem for options out
 * of bounds — which changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { startWorker } from '../workers/runner.js';
import { startHarness, waitFor } from './support/harness/harness.js';
import {
  bullJobTotal,
  bullQueue,
  call,
  expectProblem,
  getJob,
  recordCount,
  sleep,
  submitJob,
} from './support/http/api.js';
import { stateTrail, useWatchedHarness } from './support/sse/live-watch.js';
import type { ReceivedEvent } from './support/sse/sse.js';

const suite = useWatchedHarness();
const { watchJob } = suite;

const at = (e: ReceivedEvent | undefined) => Date.parse(String(e?.data.at));

describe('attempts and backoffMs', () => {
  it('retries a failing job: queued again between attempts, attempt 1, 2, 3, then one done failed', async () => {
    // No worker until the watcher is live, so it sees the first attempt start.
    const idle = await startHarness({ worker: false });
    try {
      const job = await submitJob(idle, {
        data: { failAtStep: 1, steps: 2, stepMs: 10 },
        options: { attempts: 3, backoffMs: 50 },
      });
      expect(job).toMatchObject({ state: 'queued', attempts: 0, maxAttempts: 3 });
      const w = watchJob(idle, job.id);
      await w.live(2_000);
      const worker = await startWorker(idle.config, idle.redisUrl, createLogger('warn'));
      try {
        const done = await w.done(10_000);
        expect(done.data).toMatchObject({
          jobId: job.id,
          status: 'failed',
          error: 'simulated failure at step 1 of 2',
        });
        // Nothing after done: the stream ended with it.
        await sleep(200);
        expect(w.events.at(-1)).toBe(done);
        expect(w.events.filter((e) => e.type === 'done')).toHaveLength(1);

        expect(stateTrail(w.events)).toEqual([
          'queued@0',
          'active@1',
          'queued@1',
          'active@2',
          'queued@2',
          'active@3',
          'failed@3',
        ]);
        const progress = w.events.filter((e) => e.type === 'progress');
        const retrying = progress.filter((e) => e.data.state === 'queued' && e.data.attempt !== 0);
        for (const e of retrying) expect(e.data.message).toMatch(/^attempt \d failed: simulated failure/);
        // Ids keep increasing across attempts.
        const ids = w.events.map((e) => Number(e.id));
        expect(ids).toEqual([...ids].sort((a, b) => a - b));
        // Exponential backoff: 50 ms before attempt 2, 100 ms before attempt 3 (each attempt
        // also spends 10 ms in its step).
        const starts = progress.filter((e) => e.data.state === 'active');
        expect(at(starts[1]) - at(starts[0])).toBeGreaterThanOrEqual(50);
        expect(at(starts[2]) - at(starts[1])).toBeGreaterThanOrEqual(100);

        const final = await getJob(idle, job.id);
        expect(final).toMatchObject({
          state: 'failed',
          attempts: 3,
          maxAttempts: 3,
          error: 'simulated failure at step 1 of 2',
        });
      } finally {
        await worker.close();
      }
    } finally {
      await idle.close();
    }
  });

  it('stops retrying once an attempt succeeds', async () => {
    // attempts without a failure: one attempt, completed.
    const job = await submitJob(suite.h, { data: { steps: 2, stepMs: 5 }, options: { attempts: 3, backoffMs: 10 } });
    const done = await watchJob(suite.h, job.id).done(5_000);
    expect(done.data).toMatchObject({ status: 'completed', result: { steps: 2 } });
    expect(await getJob(suite.h, job.id)).toMatchObject({ state: 'completed', attempts: 1, maxAttempts: 3 });
  });
});

describe('delayMs', () => {
  it('keeps the job queued with runAt = createdAt + delayMs, and does not start it before', async () => {
    const job = await submitJob(suite.h, { data: { steps: 1, stepMs: 0 }, options: { delayMs: 1_500 } });
    expect(job.state).toBe('queued');
    expect(Date.parse(job.runAt as string) - Date.parse(job.createdAt)).toBe(1_500);
    const w = watchJob(suite.h, job.id);
    await sleep(1_000);
    const waiting = await getJob(suite.h, job.id);
    expect(waiting).toMatchObject({ state: 'queued', attempts: 0, runAt: job.runAt });
    expect(waiting.startedAt).toBeUndefined();
    expect(w.events.filter((e) => e.data.state === 'active')).toEqual([]);

    const done = await w.done(5_000);
    expect(done.data).toMatchObject({ status: 'completed' });
    const started = await w.next((e) => e.data.state === 'active', 0);
    expect(at(started)).toBeGreaterThanOrEqual(Date.parse(job.runAt as string));
    const final = await getJob(suite.h, job.id);
    expect(Date.parse(final.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(job.runAt as string));
    // runAt describes a job still waiting for its time; a finished job has none.
    expect(final.runAt).toBeUndefined();
  });
});

describe('priority', () => {
  it('is accepted, and a higher priority (lower number) runs first', async () => {
    const idle = await startHarness({ worker: false });
    try {
      const low = await submitJob(idle, { data: { steps: 1, stepMs: 20 }, options: { priority: 100 } });
      const high = await submitJob(idle, { data: { steps: 1, stepMs: 20 }, options: { priority: 1 } });
      const queue = bullQueue(idle);
      try {
        expect((await queue.getJob(high.id))?.opts.priority).toBe(1);
      } finally {
        await queue.close();
      }
      // One job at a time, so the order of starts is the order the queue hands them out.
      const worker = await startWorker({ ...idle.config, WORKER_CONCURRENCY: 1 }, idle.redisUrl, createLogger('warn'));
      try {
        await waitFor(async () => (await getJob(idle, low.id)).state === 'completed', 'the low-priority job', 5_000);
        const [l, hi] = [await getJob(idle, low.id), await getJob(idle, high.id)];
        expect(hi.state).toBe('completed');
        expect(Date.parse(hi.finishedAt as string)).toBeLessThanOrEqual(Date.parse(l.startedAt as string));
      } finally {
        await worker.close();
      }
    } finally {
      await idle.close();
    }
  });
});

describe('invalid options', () => {
  const WEEK_MS = 7 * 24 * 3600 * 1000;
  it.each([
    [{ attempts: 0 }, 'options.attempts'],
    [{ attempts: 21 }, 'options.attempts'],
    [{ attempts: 1.5 }, 'options.attempts'],
    [{ attempts: '3' }, 'options.attempts'],
    [{ delayMs: WEEK_MS + 1 }, 'options.delayMs'],
    [{ delayMs: -1 }, 'options.delayMs'],
    [{ backoffMs: -1 }, 'options.backoffMs'],
    [{ priority: -1 }, 'options.priority'],
    [{ retries: 3 }, 'options.retries'],
  ])('%j is a 422 problem naming the field, and nothing is created', async (options, path) => {
    const queue = bullQueue(suite.h);
    try {
      const [jobsBefore, recordsBefore] = [await bullJobTotal(queue), await recordCount(suite.h)];
      const res = await call(suite.h, 'POST', '/jobs', { body: { type: 'simulate', data: { steps: 1 }, options } });
      expectProblem(res, 422, 'validation-failed');
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
      expect(await bullJobTotal(queue)).toBe(jobsBefore);
      expect(await recordCount(suite.h)).toBe(recordsBefore);
    } finally {
      await queue.close();
    }
  });

  it('accepts the bounds themselves', async () => {
    const job = await submitJob(suite.h, {
      data: { steps: 1, stepMs: 0 },
      // 2^21 - 1: BullMQ's highest priority number (Job.validateOptions).
      options: { attempts: 20, delayMs: WEEK_MS, backoffMs: 0, priority: 2_097_151 },
    });
    expect(job).toMatchObject({ state: 'queued', maxAttempts: 20 });
    expect(Date.parse(job.runAt as string) - Date.parse(job.createdAt)).toBe(WEEK_MS);
    expect((await call(suite.h, 'POST', `/jobs/${job.id}/cancel`)).status).toBe(202);
  });

  it('refuses a priority BullMQ cannot take (2^21) with a 422 problem, not a 503 "try again"', async () => {
    // BullMQ refuses priorities above 2_097_151; the schema's bound must not let one through,
    // or a client is told to retry a request that can never succeed.
    const queue = bullQueue(suite.h);
    try {
      const [jobsBefore, recordsBefore] = [await bullJobTotal(queue), await recordCount(suite.h)];
      const res = await call(suite.h, 'POST', '/jobs', {
        body: { type: 'simulate', data: { steps: 1 }, options: { priority: 2_097_152 } },
      });
      expect(await bullJobTotal(queue)).toBe(jobsBefore);
      expect(await recordCount(suite.h)).toBe(recordsBefore);
      expectProblem(res, 422, 'validation-failed');
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'options.priority' })]));
    } finally {
      await queue.close();
    }
  });
});
