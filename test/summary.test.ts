/**
 * Group progress (README, "Many jobs on one connection"): a batch's stream — or any
 * `/events?jobs=…&summary=true` — carries a `summary` event per change: jobs in all, how many
 * completed, failed and were cancelled, their mean progress (a finished job counting 100), and
 * the group's ETA. Streams that do not ask get none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupSummary } from '../src/events/summary.js';
import { type Harness, startHarness } from './support/harness/harness.js';
import { call } from './support/http/api.js';
import { RecordingSource } from './support/sse/recording-source.js';

describe('the summary of a group (events/summary)', () => {
  it('counts outcomes, averages progress with finished jobs at 100, and reports only changes', () => {
    const group = new GroupSummary();
    group.progress('a', 0);
    group.progress('b', 0);
    expect(JSON.parse(group.take(0) as string)).toEqual({
      total: 2,
      completed: 0,
      failed: 0,
      cancelled: 0,
      progress: 0,
    });
    expect(group.take(10)).toBeUndefined();
    group.progress('a', 50);
    // The first change gives the group a pace: 25% in a second, so 3 s more.
    expect(JSON.parse(group.take(1_000) as string)).toMatchObject({ progress: 25, eta: new Date(4_000).toISOString() });
    group.done('b', 'failed');
    expect(JSON.parse(group.take(1_500) as string)).toMatchObject({ failed: 1, progress: 75 });
    group.done('a', 'completed');
    const last = JSON.parse(group.take(2_000) as string);
    expect(last).toEqual({ total: 2, completed: 1, failed: 1, cancelled: 0, progress: 100 });
    group.gone('b');
    expect(JSON.parse(group.take(2_000) as string)).toMatchObject({ total: 1, failed: 0 });
  });
});

describe('the group ETA', () => {
  it.each([
    ['watched from the start', 0],
    ['queued for ten minutes first', 600_000],
  ])('follows the real pace of jobs that report in bursts (%s): 40 jobs in waves of 15, 10 steps of 2 s', (_, idle) => {
    // Each wave's jobs report in the same millisecond every 2 s; a wave takes 20 s, three take 60 s.
    const group = new GroupSummary();
    const jobs = Array.from({ length: 40 }, (_, j) => ({ id: `j${j}`, start: idle + Math.floor(j / 15) * 20_000 }));
    for (const job of jobs) group.progress(job.id, 0);
    group.take(0);
    const end = idle + 60_000;
    const seen: { at: number; left: number }[] = [];
    for (let at = idle + 2_000; at <= end; at += 2_000) {
      for (const job of jobs) {
        const step = (at - job.start) / 2_000;
        if (step < 1 || step > 10) continue;
        if (step === 10) group.done(job.id, 'completed');
        else group.progress(job.id, step * 10);
        const summary = group.take(at);
        const eta = summary === undefined ? undefined : (JSON.parse(summary) as { eta?: string }).eta;
        if (eta !== undefined) seen.push({ at, left: Date.parse(eta) - at });
      }
    }
    expect(seen.length).toBeGreaterThan(100);
    // Never "done in a moment" with most of the group to go: within half and twice the real wait.
    for (const { at, left } of seen.filter((s) => s.at >= idle + 6_000 && s.at <= idle + 56_000)) {
      const real = end - at;
      expect(left, `at ${at} ms, ${real} ms really left`).toBeGreaterThanOrEqual(real / 2);
      expect(left, `at ${at} ms, ${real} ms really left`).toBeLessThanOrEqual(real * 2);
    }
  });
});

describe("a batch's stream", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('carries the group at a glance after every change, down to its end', async () => {
    const res = await call(h, 'POST', '/jobs/batch', {
      body: {
        jobs: [
          { type: 'simulate', data: { steps: 8, stepMs: 100 } },
          { type: 'simulate', data: { steps: 8, stepMs: 100 } },
          { type: 'simulate', data: { steps: 4, stepMs: 50, failAtStep: 2 } },
          { type: 'simulate', options: { delayMs: 60_000 } },
        ],
      },
    });
    expect(res.status).toBe(202);
    const items = res.body.items as { id: string }[];
    const source = new RecordingSource(`${h.url}${(res.body.links as { events: string }).events}`);
    try {
      await source.until((s) => s.events.filter((e) => e.type === 'done').length === 3, 'three jobs done', 15_000);
      expect((await call(h, 'POST', `/jobs/${items[3]?.id}/cancel`)).status).toBe(202);
      await source.until((s) => s.events.filter((e) => e.type === 'done').length === 4, 'all four done', 10_000);
      const summaries = source.events.filter((e) => e.type === 'summary');
      // The first is the group as the stream opened (on a slow machine, jobs may have moved by then).
      expect(summaries[0]?.data).toMatchObject({ total: 4, completed: 0, cancelled: 0 });
      expect(summaries[0]?.data.progress as number).toBeLessThan(50);
      expect(summaries.at(-1)?.data).toEqual({ total: 4, completed: 2, failed: 1, cancelled: 1, progress: 100 });
      // Mean progress only grows here, and each summary differs from the one before.
      const means = summaries.map((e) => e.data.progress as number);
      expect([...means].sort((a, b) => a - b)).toEqual(means);
      const texts = summaries.map((e) => JSON.stringify({ ...e.data, eta: undefined }));
      expect(texts.every((text, i) => i === 0 || text !== texts[i - 1])).toBe(true);
      // While running, the group has an ETA (the delayed job counts at 0%, so it is far off).
      const withEta = summaries.filter((e) => e.data.eta !== undefined);
      expect(withEta.length).toBeGreaterThan(0);
      for (const e of withEta) expect(Date.parse(e.data.eta as string)).toBeGreaterThan(e.at - 1_000);
      // Its id is the cursors of the stream at that point: a resume from it loses nothing.
      for (const e of summaries) expect(e.id).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    } finally {
      source.close();
    }
  });

  it('is only sent to streams that ask for it; summary=maybe is a 400', async () => {
    const res = await call(h, 'POST', '/jobs/batch', { body: { jobs: [{ type: 'simulate', data: { steps: 1 } }] } });
    const id = (res.body.items as { id: string }[])[0]?.id;
    const plain = await fetch(`${h.url}/events?jobs=${id}`);
    expect(await plain.text()).not.toContain('event: summary');
    expect((await call(h, 'GET', `/events?jobs=${id}&summary=maybe`)).status).toBe(400);
  });
});
