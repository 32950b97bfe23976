/**
 * Job logs: a handler's `ctx.log(line)` lines come back from `GET /jobs/{id}/logs` as
 * `{items: [{seq, line, at}], truncated}` in order, and travel on the stream as `event: log`
 * whose `id:` is the same seq — live, on a late connect, and on resume. With
 * JOB_LOG_MAX_LINES below the lines logged, only the newest are kept and `truncated` is true.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandlerOverrides } from '../src/jobs/builtin/index.js';
import { createLogger } from '../src/log.js';
import { type RunningWorker, startWorker } from '../workers/runner.js';
import { type Harness, startHarness } from './support/harness/harness.js';
import { call, expectProblem, submitJob, UNKNOWN_ID } from './support/http/api.js';
import { liveWatch } from './support/sse/live-watch.js';
import { type ReceivedEvent, watch } from './support/sse/sse.js';

const LINES = 5;

/** `simulate`, but logging `line i` before reporting each step. */
const logging: HandlerOverrides = {
  simulate: async ({ steps, stepMs }, ctx) => {
    for (let step = 1; step <= steps; step++) {
      await sleepFor(stepMs, undefined, { signal: ctx.signal });
      await ctx.log(`line ${step}`);
      await ctx.progress((step / steps) * 100, `step ${step}`);
    }
    return { steps };
  },
};

interface Logs {
  items: { seq: number; line: string; at: string }[];
  truncated: boolean;
}

async function getLogs(h: Harness, id: string): Promise<Logs> {
  const res = await call(h, 'GET', `/jobs/${id}/logs`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(Object.keys(res.body).sort()).toEqual(['items', 'truncated']);
  return res.body as unknown as Logs;
}

const logEvents = (events: ReceivedEvent[]) => events.filter((e) => e.type === 'log');

/** A harness whose worker runs the logging handler (started after the API, as in production). */
async function startLoggingHarness(env: Record<string, string> = {}): Promise<{ h: Harness; worker: RunningWorker }> {
  const h = await startHarness({ worker: false, env });
  const worker = await startWorker(h.config, h.redisUrl, createLogger('warn'), { handlers: logging });
  return { h, worker };
}

describe('all lines kept', () => {
  let h: Harness;
  let worker: RunningWorker;
  beforeAll(async () => {
    ({ h, worker } = await startLoggingHarness());
  });
  afterAll(async () => {
    await worker?.close();
    await h?.close();
  });

  it('streams each line live as event: log, between the progress events, with its seq as id', async () => {
    // Delayed a little so the watcher is live before the first line.
    const job = await submitJob(h, { data: { steps: LINES, stepMs: 20 }, options: { delayMs: 300 } });
    const w = liveWatch(`${h.url}/jobs/${job.id}/events`);
    try {
      await w.live(2_000);
      const done = await w.done(5_000);
      expect(done.data).toMatchObject({ status: 'completed' });
      const logs = await getLogs(h, job.id);
      expect(logs.truncated).toBe(false);
      expect(logs.items.map((l) => l.line)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
      const seqs = logs.items.map((l) => l.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      for (const item of logs.items) expect(item.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      const live = logEvents(w.events);
      expect(live.map((e) => e.id)).toEqual(seqs.map(String));
      expect(live.map((e) => e.data)).toEqual(logs.items.map((l) => ({ jobId: job.id, line: l.line, at: l.at })));
      // Each line comes before the progress report of its step.
      const order = w.events.map((e) => (e.type === 'log' ? e.data.line : `${e.type}:${e.data.progress ?? ''}`));
      expect(order.indexOf('line 2')).toBeLessThan(order.indexOf('progress:40'));
      expect(order.indexOf('progress:20')).toBeLessThan(order.indexOf('line 2'));
    } finally {
      w.close();
    }
  });

  it('replays the kept lines to a client that connects after the job finished, then done', async () => {
    const job = await submitJob(h, { data: { steps: LINES, stepMs: 0 } });
    await watch(`${h.url}/jobs/${job.id}/events`, { timeoutMs: 5_000 });
    const logs = await getLogs(h, job.id);
    expect(logs).toMatchObject({ truncated: false });
    expect(logs.items).toHaveLength(LINES);
    const late = await watch(`${h.url}/jobs/${job.id}/events`, { timeoutMs: 2_000 });
    expect(late.map((e) => e.type)).toEqual(['log', 'log', 'log', 'log', 'log', 'progress', 'done']);
    expect(logEvents(late).map((e) => [Number(e.id), e.data.line])).toEqual(logs.items.map((l) => [l.seq, l.line]));

    // Resuming after line 3 replays only lines 4 and 5.
    const third = logs.items[2]?.seq as number;
    const resumed = await watch(`${h.url}/jobs/${job.id}/events`, {
      timeoutMs: 2_000,
      headers: { 'last-event-id': String(third) },
    });
    expect(logEvents(resumed).map((e) => e.data.line)).toEqual(['line 4', 'line 5']);
    expect(resumed.at(-1)?.type).toBe('done');
  });

  it('an unknown job has no logs: 404 problem', async () => {
    expectProblem(await call(h, 'GET', `/jobs/${UNKNOWN_ID}/logs`), 404, 'job-not-found');
    expectProblem(await call(h, 'GET', '/jobs/not-an-id/logs'), 404, 'job-not-found');
  });

  it('a job that has not run yet has an empty log', async () => {
    const job = await submitJob(h, { data: { steps: 1, stepMs: 0 }, options: { delayMs: 60_000 } });
    expect(await getLogs(h, job.id)).toEqual({ items: [], truncated: false });
    await call(h, 'POST', `/jobs/${job.id}/cancel`);
  });
});

describe('JOB_LOG_MAX_LINES 3, five lines logged', () => {
  let h: Harness;
  let worker: RunningWorker;
  beforeAll(async () => {
    ({ h, worker } = await startLoggingHarness({ JOB_LOG_MAX_LINES: '3' }));
  });
  afterAll(async () => {
    await worker?.close();
    await h?.close();
  });

  it('keeps the newest 3 lines and says truncated; a late watcher gets those 3', async () => {
    const job = await submitJob(h, { data: { steps: LINES, stepMs: 0 } });
    const first = await watch(`${h.url}/jobs/${job.id}/events`, { timeoutMs: 5_000 });
    expect(first.at(-1)?.data).toMatchObject({ status: 'completed' });
    const logs = await getLogs(h, job.id);
    expect(logs.truncated).toBe(true);
    expect(logs.items.map((l) => l.line)).toEqual(['line 3', 'line 4', 'line 5']);

    const late = await watch(`${h.url}/jobs/${job.id}/events`, { timeoutMs: 2_000 });
    expect(logEvents(late).map((e) => [Number(e.id), e.data.line])).toEqual(logs.items.map((l) => [l.seq, l.line]));
  });

  it('a watcher resuming from before the dropped lines is told so with a reset event', async () => {
    const job = await submitJob(h, { data: { steps: LINES, stepMs: 0 } });
    await watch(`${h.url}/jobs/${job.id}/events`, { timeoutMs: 5_000 });
    const resumed = await watch(`${h.url}/jobs/${job.id}/events`, {
      timeoutMs: 2_000,
      headers: { 'last-event-id': '1' },
    });
    expect(resumed[0]?.type).toBe('reset');
    expect(logEvents(resumed).map((e) => e.data.line)).toEqual(['line 3', 'line 4', 'line 5']);
    expect(resumed.at(-1)?.type).toBe('done');
  });
});
