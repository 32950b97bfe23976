/**
 * The whole path, end to end: submit over HTTP, a worker runs the job, watchers see progress
 * and `done` over real SSE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { getJob } from './support/http/api.js';
import { type ReceivedEvent, watch, withoutRestatements } from './support/sse/sse.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const progressValues = (events: ReceivedEvent[]) =>
  events.filter((e) => e.type === 'progress').map((e) => e.data.progress as number);

describe('a job that succeeds', () => {
  it('is accepted with 202, a Location and the job resource', async () => {
    const res = await fetch(`${h.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'simulate', data: { steps: 2, stepMs: 10 } }),
    });
    expect(res.status).toBe(202);
    const job = (await res.json()) as Record<string, unknown>;
    expect(res.headers.get('location')).toBe(`/jobs/${job.id}`);
    expect(job).toMatchObject({ type: 'simulate', state: 'queued', progress: 0, attempts: 0 });
    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.links).toEqual({
      self: `/jobs/${job.id}`,
      events: `/jobs/${job.id}/events`,
      cancel: `/jobs/${job.id}/cancel`,
      logs: `/jobs/${job.id}/logs`,
    });
  });

  it('streams its current state, every step, then done with the result, and the stream ends', async () => {
    const job = await h.submit({ type: 'simulate', data: { steps: 5, stepMs: 60 } });
    const events = await watch(`${h.url}/jobs/${job.id}/events`);
    expect(events[0]?.type).toBe('progress');
    const done = events.at(-1) as ReceivedEvent;
    expect(done.type).toBe('done');
    expect(done.data).toMatchObject({ jobId: job.id, status: 'completed', result: { steps: 5 } });
    expect(progressValues(events)).toEqual(expect.arrayContaining([20, 40, 60, 80, 100]));
    // Ids are strictly increasing integers (but for a restatement of a queued job's place),
    // `at` is an ISO time with milliseconds.
    const ids = withoutRestatements(events).map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    for (const e of events) expect(e.data.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const step3 = events.find((e) => e.data.progress === 60);
    expect(step3?.data).toMatchObject({ state: 'active', message: 'step 3 of 5', attempt: 1 });

    const resource = (await (await fetch(`${h.url}/jobs/${job.id}`)).json()) as Record<string, unknown>;
    expect(resource).toMatchObject({ state: 'completed', progress: 100, result: { steps: 5 }, attempts: 1 });
    expect(Date.parse(resource.finishedAt as string)).toBeGreaterThanOrEqual(Date.parse(resource.startedAt as string));
  });

  it('sends the SSE headers that stop proxies buffering, and never compresses', async () => {
    const job = await h.submit({ type: 'simulate', data: { steps: 1, stepMs: 0 } });
    const res = await fetch(`${h.url}/jobs/${job.id}/events`, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toContain('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('content-encoding')).toBeNull();
    const text = await res.text();
    expect(text).toMatch(/^retry: \d+\n\n/);
    expect(text).toContain('event: done');
  });
});

describe('jobs submitted at once', () => {
  it('each get a job of their own, run with their own data, however their adds are gathered', async () => {
    // Requests that arrive together are written by one script call (jobs/recorded-adds); each
    // must still hear its own job, and each job carry its own data.
    const jobs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => h.submit({ type: 'simulate', data: { steps: i + 1, stepMs: 0 } })),
    );
    expect(new Set(jobs.map((job) => job.id)).size).toBe(40);
    let finished: Awaited<ReturnType<typeof getJob>>[] = [];
    await waitFor(
      async () => {
        finished = await Promise.all(jobs.map((job) => getJob(h, job.id)));
        return finished.every((job) => job.state === 'completed');
      },
      'the 40 jobs to complete',
      30_000,
    );
    expect(finished.map((job) => job.result)).toEqual(jobs.map((_, i) => ({ steps: i + 1 })));
  });
});

describe('a job that fails', () => {
  it('ends with done status failed and the error, and the resource says failed', async () => {
    const job = await h.submit({ type: 'simulate', data: { steps: 4, stepMs: 20, failAtStep: 3 } });
    const events = await watch(`${h.url}/jobs/${job.id}/events`);
    const done = events.at(-1) as ReceivedEvent;
    expect(done.data).toMatchObject({ status: 'failed', error: 'simulated failure at step 3 of 4' });
    expect(done.data.result).toBeUndefined();
    expect(Math.max(...progressValues(events))).toBe(50);
    const resource = (await (await fetch(`${h.url}/jobs/${job.id}`)).json()) as Record<string, unknown>;
    expect(resource).toMatchObject({ state: 'failed', error: 'simulated failure at step 3 of 4', progress: 50 });
  });
});

describe('a job that finished before the client connected', () => {
  it('gets its final state and done at once', async () => {
    const job = await h.submit({ type: 'simulate', data: { steps: 1, stepMs: 0 } });
    await watch(`${h.url}/jobs/${job.id}/events`);
    const started = Date.now();
    const events = await watch(`${h.url}/jobs/${job.id}/events`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(events.map((e) => e.type)).toEqual(['progress', 'done']);
    expect(events[0]?.data).toMatchObject({ state: 'completed', progress: 100 });
  });
});

describe('two watchers of one job', () => {
  it('both see the same events, with the same ids, ending in one done', async () => {
    const job = await h.submit({ type: 'simulate', data: { steps: 6, stepMs: 50 } });
    const [a, b] = await Promise.all([
      watch(`${h.url}/jobs/${job.id}/events`),
      watch(`${h.url}/jobs/${job.id}/events`),
    ]);
    const tail = (events: ReceivedEvent[]) => events.filter((e) => Number(e.id) >= 3).map((e) => `${e.id}:${e.type}`);
    expect(tail(a)).toEqual(tail(b));
    expect(a.filter((e) => e.type === 'done')).toHaveLength(1);
    expect(b.filter((e) => e.type === 'done')).toHaveLength(1);
  });
});

describe('an unknown job', () => {
  it('is a 404 problem on GET and on events', async () => {
    for (const path of [
      '/jobs/4b0c5a4e-8a8e-4a53-9d6e-8a3c2b1d0e9f',
      '/jobs/4b0c5a4e-8a8e-4a53-9d6e-8a3c2b1d0e9f/events',
      '/jobs/not-an-id/events',
    ]) {
      const res = await fetch(`${h.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ status: 404, title: 'Job not found', type: '/problems/job-not-found' });
    }
  });
});
