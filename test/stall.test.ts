/**
 * The stall signal (README, "Stalled jobs"): a running job that reports nothing for longer than
 * 5 × its usual interval, and at least STALL_AFTER_MS, is shown `stalled: true` to its
 * watchers and on its resource; its next report says `stalled: false`. Before it has a usual
 * interval, STALL_AFTER_MS alone decides. It is only a signal: BullMQ's own stalled-job
 * recovery is not touched, and the job runs to the end on its first attempt.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStalled, STALL_INTERVAL_MULTIPLE, stallThresholdMs } from '../src/jobs/stall.js';
import { type ScriptedHarness, startScriptedHarness } from './support/harness/scripted.js';
import { bullQueue, getJob } from './support/http/api.js';
import { liveWatch } from './support/sse/live-watch.js';
import type { ReceivedEvent } from './support/sse/sse.js';

// Wide margins: on a busy machine a 400 ms sleep may take 600, and a gap between two reports of
// a job without a usual interval must stay under STALL_AFTER_MS.
const STALL_AFTER_MS = 1_000;

describe('the stall rule (jobs/stall)', () => {
  it('STALL_AFTER_MS alone before a usual interval; then the larger of it and 5 intervals', () => {
    expect(stallThresholdMs({ state: 'active', atMs: 0 }, 400)).toBe(400);
    expect(stallThresholdMs({ state: 'active', atMs: 0, intervalMs: 50 }, 400)).toBe(400);
    expect(stallThresholdMs({ state: 'active', atMs: 0, intervalMs: 300 }, 400)).toBe(300 * STALL_INTERVAL_MULTIPLE);
    expect(isStalled({ state: 'active', atMs: 0 }, 401, 400)).toBe(true);
    expect(isStalled({ state: 'active', atMs: 0 }, 400, 400)).toBe(false);
    expect(isStalled({ state: 'queued', atMs: 0 }, 10_000, 400)).toBe(false);
  });
});

describe('a running job that goes quiet', () => {
  let s: ScriptedHarness;
  beforeAll(async () => {
    s = await startScriptedHarness({ STALL_AFTER_MS: String(STALL_AFTER_MS), PROGRESS_TICK_MS: '100' });
  });
  afterAll(async () => {
    await s?.close();
  });

  const stallTrail = (events: ReceivedEvent[]) =>
    events
      .filter((e) => e.type === 'progress' && e.data.state === 'active')
      .map((e) => `${e.data.progress}:${e.data.stalled}`);

  it('before it has a usual interval: stalled after STALL_AFTER_MS, not stalled at its next report', async () => {
    const quiet = s.scripts.gate();
    const id = await s.scripts.submit(s.h.url, async (ctx) => {
      await quiet.wait(ctx.signal);
      await ctx.progress(50, 'awake');
    });
    const w = liveWatch(`${s.h.url}/jobs/${id}/events`);
    try {
      const stalled = await w.next((e) => e.data.stalled === true, 5_000);
      // It restates the state the client has (the start), with that state's id.
      const start = w.events.find((e) => e.data.state === 'active' && e.data.stalled === false);
      expect(stalled.data).toMatchObject({ state: 'active', progress: 0, stalled: true });
      expect(stalled.id).toBe(start?.id);
      expect(Date.parse(stalled.data.at as string)).toBe(Date.parse(start?.data.at as string));
      expect((await getJob(s.h, id)).stalled).toBe(true);
      quiet.open();
      const awake = await w.next((e) => e.data.progress === 50, 5_000);
      expect(awake.data.stalled).toBe(false);
      await w.done(5_000);
      expect(stallTrail(w.events)).toEqual(['0:false', '0:true', '50:false']);
    } finally {
      w.close();
    }
  });

  it('with a usual interval: a pause longer than STALL_AFTER_MS but under 5 intervals is no stall; a longer one is', async () => {
    const resumed = s.scripts.gate();
    let paused = false;
    const id = await s.scripts.submit(s.h.url, async (ctx) => {
      for (const p of [10, 20, 30, 40]) {
        await sleep(400, undefined, { signal: ctx.signal });
        await ctx.progress(p);
      }
      // ≥ 400 ms usual interval: 5 × that is ≥ 2,000 ms. 1,300 ms of silence is not a stall.
      await sleep(1_300, undefined, { signal: ctx.signal });
      paused = true;
      await ctx.progress(50);
      await resumed.wait(ctx.signal);
      await ctx.progress(60);
    });
    const w = liveWatch(`${s.h.url}/jobs/${id}/events`);
    try {
      await w.next((e) => e.data.progress === 50, 10_000);
      expect(paused).toBe(true);
      expect(w.events.some((e) => e.data.stalled === true)).toBe(false);
      expect((await getJob(s.h, id)).stalled).toBe(false);
      // Now it stays quiet until told: stalled after 5 usual intervals.
      const stalled = await w.next((e) => e.data.stalled === true, 10_000);
      expect(stalled.data.progress).toBe(50);
      // It had a pace, and keeps its rate; an ETA it has not: the last one would soon be past.
      expect(w.events.some((e) => e.data.progress === 50 && e.data.stalled === false && e.data.eta)).toBe(true);
      expect(stalled.data.rate).toBeGreaterThan(0);
      expect(stalled.data.eta).toBeUndefined();
      const resource = await getJob(s.h, id);
      expect(resource).toMatchObject({ stalled: true, progress: 50 });
      expect(resource.eta).toBeUndefined();
      resumed.open();
      await w.done(5_000);
      expect(stallTrail(w.events)).toEqual([
        '0:false',
        '10:false',
        '20:false',
        '30:false',
        '40:false',
        '50:false',
        '50:true',
        '60:false',
      ]);
      // A signal only: one attempt, and BullMQ never counted a stall.
      const job = await getJob(s.h, id);
      expect(job).toMatchObject({ state: 'completed', attempts: 1 });
      const queue = bullQueue(s.h);
      const bull = await queue.getJob(id);
      expect(bull?.stalledCounter ?? 0).toBe(0);
      expect(bull?.attemptsStarted).toBe(1);
      await queue.close();
    } finally {
      w.close();
    }
  });
});
