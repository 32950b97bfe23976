/**
 * How a handler's run ends when it does not play by the rules: one that ignores its signal and
 * finishes after a cancel ends `cancelled` (the client was told 202), not `completed`; one that
 * throws something other than an Error still says why it failed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { type RunningWorker, startWorker } from '../workers/runner.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { call, getJob, submitJob } from './support/http/api.js';

let h: Harness;
let worker: RunningWorker;
let release: () => void = () => {};
beforeAll(async () => {
  h = await startHarness({ worker: false });
  worker = await startWorker(h.config, h.redisUrl, createLogger('silent'), {
    handlers: {
      simulate: async ({ steps }, ctx) => {
        // steps: 1 → never looks at ctx.signal, finishes when released; 2 → throws a string;
        // 3 → throws an object; 4 → throws an Error without a message.
        if (steps === 2) throw 'the disk is full';
        if (steps === 3) throw { code: 42 };
        if (steps === 4) throw new Error('');
        await ctx.progress(50, 'half way');
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        await ctx.progress(100, 'done anyway');
        return { steps };
      },
    },
  });
});
afterAll(async () => {
  release();
  await worker?.close();
  await h?.close();
});

describe('a handler that ignores its signal', () => {
  it('finishes after a cancel: the job ends cancelled, its result discarded', async () => {
    const job = await submitJob(h, { data: { steps: 1 } });
    await waitFor(async () => (await getJob(h, job.id)).progress === 50, 'the handler half way');
    expect((await call(h, 'POST', `/jobs/${job.id}/cancel`)).status).toBe(202);
    release();
    await waitFor(async () => (await getJob(h, job.id)).finishedAt !== undefined, 'the job to end', 10_000);
    const ended = await getJob(h, job.id);
    expect(ended).toMatchObject({ state: 'cancelled' });
    expect(ended.result).toBeUndefined();
  });
});

describe('a handler that throws something other than an Error', () => {
  it.each([
    [2, 'the disk is full'],
    [3, 'the handler threw {"code":42}'],
    [4, 'Error (without a message)'],
  ])('steps %i: the job fails saying %j', async (steps, error) => {
    const job = await submitJob(h, { data: { steps }, options: { attempts: 1 } });
    await waitFor(async () => (await getJob(h, job.id)).finishedAt !== undefined, 'the job to end', 10_000);
    expect(await getJob(h, job.id)).toMatchObject({ state: 'failed', error });
  });
});
