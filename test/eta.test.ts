/**
 * ETA and rate (README, "ETA and rate"): the smoothing keeps one odd step from making the
 * estimate jump, and on real `simulate` jobs run by a real worker the ETA shown at 50% lands
 * within ±15% of the real finish for even steps and within ±50% for uneven ones (`jitter`).
 * The error is measured against the time that was left: (eta − finish) ÷ (finish − report).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepNoise } from '../src/jobs/builtin/simulate.js';
import { OUTLIER_CAP, ProgressPace } from '../src/jobs/pace.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { getJob, submitJob } from './support/http/api.js';
import { liveWatch } from './support/sse/live-watch.js';
import type { ReceivedEvent } from './support/sse/sse.js';

describe('the pace of a job (jobs/pace)', () => {
  /** Reports at `times` (ms after the start) of evenly spaced progress; the paces they give. */
  const run = (times: number[]) => {
    const pace = new ProgressPace(0);
    return times.map((at, i) => pace.observe(((i + 1) / times.length) * 100, at));
  };

  it('even steps: the rate and ETA are exact from the first report', () => {
    const paces = run(Array.from({ length: 10 }, (_, i) => (i + 1) * 100));
    for (const pace of paces) {
      expect(pace.rate).toBeCloseTo(100, 6);
      expect(pace.etaMs).toBe(1_000);
    }
    expect(paces[0]?.intervalMs).toBeUndefined();
    expect(paces[1]?.intervalMs).toBe(100);
    expect(paces.at(-1)?.reports).toBe(10);
  });

  it('one step 5× slower moves the ETA by under 20%, then it recovers', () => {
    // 20 steps of 100 ms, except step 10 which takes 500 ms.
    let t = 0;
    const times = Array.from({ length: 20 }, (_, i) => (t += i === 9 ? 500 : 100));
    const paces = run(times);
    // After the slow step, the remaining 10 steps really take 1,000 ms.
    const after = paces[9] as { etaMs: number };
    const left = (after.etaMs - (times[9] as number)) / 1_000;
    expect(left).toBeGreaterThan(1);
    expect(left).toBeLessThan(1.2);
    // Counted as OUTLIER_CAP usual intervals: without the cap it would be ~1.4.
    expect(OUTLIER_CAP).toBe(2);
    // Ten steps later the estimate is back within 5% of exact.
    const later = paces[18] as { etaMs: number };
    expect(Math.abs(later.etaMs - (times[19] as number)) / 100).toBeLessThan(0.05);
  });

  it('a job that really slows down is followed within a few reports', () => {
    let t = 0;
    const times = Array.from({ length: 30 }, (_, i) => (t += i < 10 ? 100 : 400));
    const paces = run(times);
    // 400 ms per 3.33%: 8.33 %/s. After 10 slow reports the estimate is within 30% of it, after
    // 15 within 15%.
    expect((paces[20] as { rate: number }).rate).toBeLessThan(8.33 * 1.3);
    expect((paces[25] as { rate: number }).rate).toBeLessThan(8.33 * 1.15);
  });

  it('progress that goes backwards starts the estimate afresh; no progress, no rate', () => {
    const pace = new ProgressPace(0);
    expect(pace.observe(0, 500)).toEqual({ reports: 1 });
    pace.observe(50, 1_000);
    const back = pace.observe(10, 1_100);
    expect(back.rate).toBeUndefined();
    const again = pace.observe(20, 1_600);
    expect(again.rate).toBeCloseTo(20, 6);
  });

  it('the uneven steps of simulate are a fixed sequence within ±1', () => {
    const noise = Array.from({ length: 1000 }, (_, i) => stepNoise(i + 1));
    expect(Math.min(...noise)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...noise)).toBeLessThan(1);
    expect(stepNoise(7)).toBe(stepNoise(7));
  });
});

describe('ETA of simulate jobs run by a real worker', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Runs a job to done, watched; the ETA error at its 50% report, against the time left then. */
  async function etaErrorAt50(data: Record<string, number>): Promise<{ error: number; events: ReceivedEvent[] }> {
    const job = await submitJob(h, { data });
    const w = liveWatch(`${h.url}/jobs/${job.id}/events`);
    try {
      const done = await w.done(30_000);
      const half = w.events.find((e) => e.type === 'progress' && e.data.progress === 50);
      expect(half, 'a report at 50%').toBeDefined();
      const at = Date.parse(half?.data.at as string);
      const eta = Date.parse(half?.data.eta as string);
      const finish = Date.parse(done.data.at as string);
      return { error: (eta - finish) / (finish - at), events: w.events };
    } finally {
      w.close();
    }
  }

  it('even steps: the ETA at 50% is within ±15% of the real finish', async () => {
    const { error, events } = await etaErrorAt50({ steps: 30, stepMs: 100 });
    console.log(`ETA error at 50%, even steps (30 × 100 ms): ${(error * 100).toFixed(1)}%`);
    expect(Math.abs(error)).toBeLessThanOrEqual(0.15);
    // Rate and ETA on every running report after the start; none once finished.
    for (const e of events.filter((e) => e.type === 'progress')) {
      const running = e.data.state === 'active' && (e.data.progress as number) > 0;
      expect(e.data.rate !== undefined, JSON.stringify(e.data)).toBe(running);
      expect(e.data.eta !== undefined, JSON.stringify(e.data)).toBe(running);
    }
  });

  it('uneven steps (jitter 0.8): the ETA at 50% is within ±50% of the real finish', async () => {
    // Two jobs side by side (the worker has slots for both): each is timed on its own.
    const errors = await Promise.all(
      [60, 100].map(async (stepMs) => (await etaErrorAt50({ steps: 20, stepMs, jitter: 0.8 })).error),
    );
    console.log(
      `ETA error at 50%, uneven steps (20 steps, jitter 0.8): ${errors.map((e) => `${(e * 100).toFixed(1)}%`).join(', ')}`,
    );
    for (const error of errors) expect(Math.abs(error)).toBeLessThanOrEqual(0.5);
  });

  it('the resource carries rate and eta while the job runs, and drops them when it is done', async () => {
    const job = await submitJob(h, { data: { steps: 10, stepMs: 150 } });
    let seen = false;
    await waitFor(async () => {
      const now = await getJob(h, job.id);
      seen = now.state === 'active' && now.progress > 0 && now.rate !== undefined;
      return seen || now.state === 'completed';
    }, 'a running resource with a rate');
    expect(seen).toBe(true);
    const running = await getJob(h, job.id);
    if (running.state === 'active') {
      expect(running.rate).toBeGreaterThan(0);
      expect(Date.parse(running.eta as string)).toBeGreaterThan(Date.parse(running.startedAt as string));
    }
    await waitFor(async () => (await getJob(h, job.id)).state === 'completed', 'completed');
    const finished = await getJob(h, job.id);
    expect(finished.rate).toBeUndefined();
    expect(finished.eta).toBeUndefined();
  });
});
