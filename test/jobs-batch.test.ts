/**
 * `POST /jobs/batch`: up to 100 jobs in one request, all or none. Accepted jobs come back in
 * the order sent, each with its own options honoured, and one `links.events` stream carries
 * every job to its `done`. One bad job refuses the whole batch with one 422 problem that lists
 * every bad field (`jobs.<index>.<field>`), and nothing is written — no BullMQ job, no record.
 * `Idempotency-Key` replays a batch, refuses it with another body, and never
 * mixes a batch with a single job.
 */
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobBatch, MAX_JOBS_PER_BATCH } from '../src/jobs/schemas.js';
import { type Harness, startHarness } from './support/harness/harness.js';
import {
  type ApiResponse,
  bullJobTotal,
  bullQueue,
  call,
  expectProblem,
  getJob,
  recordCount,
  sleep,
} from './support/http/api.js';
import { EventSource, RecordingSource } from './support/sse/recording-source.js';

/** Small, so a too-large body is cheap to send; 100 small jobs still fit many times over. */
const MAX_BODY_BYTES = 32 * 1024;
const RETRY_MS = 100;

let h: Harness;
let queue: Queue;
beforeAll(async () => {
  h = await startHarness({
    worker: true,
    env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES), SSE_RETRY_MS: String(RETRY_MS) },
  });
  queue = bullQueue(h);
});
afterAll(async () => {
  await queue?.close();
  await h?.close();
});

type Problem = { errors?: { path: string; message: string }[] } & Record<string, unknown>;

const batch = (body: unknown, headers: Record<string, string> = {}) =>
  call(h, 'POST', '/jobs/batch', { body, headers });

/** A 202 answer's batch, checked against the contract's schema. */
function accepted(res: ApiResponse): JobBatch {
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return JobBatch.parse(res.body);
}

const idsOf = (b: JobBatch) => b.items.map((job) => job.id);

/** A simulate job that finishes at once; `steps` tells jobs apart (it is their result). */
const quick = (steps = 1) => ({ type: 'simulate', data: { steps, stepMs: 0 } });

/**
 * What a submission writes: BullMQ jobs (any state) and job records (without keys there is no
 * index: test/open-mode.test.ts).
 */
const footprint = async () => ({ bull: await bullJobTotal(queue), records: await recordCount(h) });
const plus = (before: { bull: number; records: number }, n: number) => ({
  bull: before.bull + n,
  records: before.records + n,
});

/** Sends a request that must be refused with `status` (and `problem`), and checks that it wrote nothing. */
async function refused(send: () => Promise<ApiResponse>, status: number, problem?: string): Promise<Problem> {
  const before = await footprint();
  const res = await send();
  expectProblem(res, status, problem);
  expect(await footprint()).toEqual(before);
  return res.body as Problem;
}

const pathsOf = (problem: Problem) => (problem.errors ?? []).map((e) => e.path);

/** Opens the batch's stream and waits for a `done` of every job; the source is returned open. */
async function watchToDone(b: JobBatch, timeoutMs = 10_000): Promise<RecordingSource> {
  const source = new RecordingSource(`${h.url}${b.links.events}`);
  const ids = idsOf(b);
  try {
    await source.until(
      (s) => new Set(s.events.filter((e) => e.type === 'done').map((e) => e.data.jobId)).size === ids.length,
      `a done of each of ${ids.length} jobs`,
      timeoutMs,
    );
  } catch (error) {
    source.close();
    throw error;
  }
  return source;
}

describe('a valid batch', () => {
  it('runs 5 jobs end to end: 202, one stream gets one done per job and then ends, GET shows them completed', async () => {
    const before = await footprint();
    const jobs = [1, 2, 3, 4, 5].map((steps) => ({ type: 'simulate', data: { steps, stepMs: 10 } }));
    const res = await batch({ jobs });
    const b = accepted(res);
    // Several resources: no single Location; not a replay.
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(Object.keys(res.body).sort()).toEqual(['items', 'links']);
    expect(b.items).toHaveLength(5);
    const ids = idsOf(b);
    expect(new Set(ids).size).toBe(5);
    for (const job of b.items) {
      expect(job).toMatchObject({ type: 'simulate', state: 'queued', progress: 0, attempts: 0, maxAttempts: 1 });
      expect(job.links).toEqual({
        self: `/jobs/${job.id}`,
        events: `/jobs/${job.id}/events`,
        cancel: `/jobs/${job.id}/cancel`,
        logs: `/jobs/${job.id}/logs`,
      });
    }
    expect(b.links.events).toBe(`/events?jobs=${ids.join(',')}&summary=true`);
    expect(await footprint()).toEqual(plus(before, 5));

    const source = await watchToDone(b);
    try {
      // The server ends the stream after the last done; EventSource comes back once with the
      // final cursor and is told 204.
      await source.until((s) => s.readyState === EventSource.CLOSED, 'EventSource to stop', 5_000);
      await sleep(RETRY_MS * 3);
      expect(source.requests).toHaveLength(2);
      expect(source.errors.at(-1)?.code).toBe(204);
      expect(source.events.every((e) => e.request === 0)).toBe(true);
      expect(source.events.filter((e) => e.type === 'done')).toHaveLength(5);
      ids.forEach((id, i) => {
        const mine = source.events.filter((e) => e.data.jobId === id);
        const dones = mine.filter((e) => e.type === 'done');
        expect(dones, `job ${i}`).toHaveLength(1);
        expect(dones[0]?.data, `job ${i}`).toMatchObject({ jobId: id, status: 'completed', result: { steps: i + 1 } });
        expect(mine.at(-1)?.type, `job ${i}: done is its last event`).toBe('done');
      });
      for (const e of source.events) if (e.type !== 'summary') expect(ids).toContain(e.data.jobId);
      // The batch's link carries the group's summary: its last one says all five completed.
      const summaries = source.events.filter((e) => e.type === 'summary');
      expect(summaries.at(-1)?.data).toEqual({ total: 5, completed: 5, failed: 0, cancelled: 0, progress: 100 });
    } finally {
      source.close();
    }

    for (const [i, id] of ids.entries()) {
      const job = await getJob(h, id);
      expect(job, `job ${i}`).toMatchObject({ id, state: 'completed', progress: 100, result: { steps: i + 1 } });
    }
  });

  it("keeps the order sent and honours each job's own options and data", async () => {
    const jobs = [
      quick(11),
      { type: 'simulate', data: { steps: 12, stepMs: 0 }, options: { delayMs: 60_000 } },
      { type: 'simulate', data: { steps: 13, stepMs: 0 }, options: { priority: 7, attempts: 3, backoffMs: 250 } },
      // No data: all defaults (but stepMs, so it does not keep the worker busy).
      { type: 'simulate', data: { stepMs: 0 } },
      { type: 'simulate', data: { steps: 15, stepMs: 0 }, options: {} },
    ];
    const b = accepted(await batch({ jobs }));
    const ids = idsOf(b);
    expect(ids).toHaveLength(jobs.length);

    // Order: the i-th item is the i-th job sent (BullMQ holds the data sent at that index).
    const bull = await Promise.all(ids.map((id) => queue.getJob(id)));
    expect(bull.map((job) => job?.data)).toEqual([
      { steps: 11, stepMs: 0 },
      { steps: 12, stepMs: 0 },
      { steps: 13, stepMs: 0 },
      { steps: 10, stepMs: 0 },
      { steps: 15, stepMs: 0 },
    ]);
    expect(bull.map((job) => job?.id)).toEqual(ids);

    // Delayed: only job 1 has a runAt, delayMs after its creation, and BullMQ holds it delayed.
    const [plain, delayed, prioritised] = b.items;
    expect(delayed?.runAt).toBeDefined();
    expect(Date.parse(delayed?.runAt as string) - Date.parse(delayed?.createdAt as string)).toBe(60_000);
    expect(b.items.filter((job) => job.runAt !== undefined)).toEqual([delayed]);
    expect(bull[1]?.opts.delay).toBe(60_000);
    expect(await queue.getJobState(ids[1] as string)).toBe('delayed');
    expect(await getJob(h, ids[1] as string)).toMatchObject({ state: 'queued', runAt: delayed?.runAt });

    // Priority, attempts and backoff of job 2; defaults elsewhere.
    expect(prioritised?.maxAttempts).toBe(3);
    expect(bull[2]?.opts).toMatchObject({ priority: 7, attempts: 3, backoff: { type: 'exponential', delay: 250 } });
    expect(plain?.maxAttempts).toBe(1);
    for (const i of [0, 1, 3, 4]) {
      expect(bull[i]?.opts, `job ${i}`).toMatchObject({ attempts: 1, backoff: { delay: 1000 } });
      expect(bull[i]?.opts.priority ?? 0, `job ${i}`).toBe(0);
    }
    for (const i of [0, 2, 3, 4]) expect(bull[i]?.opts.delay ?? 0, `job ${i}`).toBe(0);

    // The others run; the delayed one waits. (Cancelled so it does not outlive the test.)
    for (const i of [0, 2, 3, 4]) {
      const id = ids[i] as string;
      await waitForState(id, 'completed');
    }
    expect((await getJob(h, ids[1] as string)).state).toBe('queued');
    expect((await call(h, 'POST', `/jobs/${ids[1]}/cancel`)).status).toBe(202);
  });

  it(`accepts ${MAX_JOBS_PER_BATCH} jobs in one request, all written, and its one stream carries them all to done`, async () => {
    const before = await footprint();
    const jobs = Array.from({ length: MAX_JOBS_PER_BATCH }, (_, i) => quick(i + 1));
    const b = accepted(await batch({ jobs }));
    const ids = idsOf(b);
    expect(ids).toHaveLength(MAX_JOBS_PER_BATCH);
    expect(new Set(ids).size).toBe(MAX_JOBS_PER_BATCH);
    expect(b.links.events).toBe(`/events?jobs=${ids.join(',')}&summary=true`);
    expect(await footprint()).toEqual(plus(before, MAX_JOBS_PER_BATCH));
    const source = await watchToDone(b, 15_000);
    try {
      for (const [i, id] of ids.entries()) {
        const dones = source.events.filter((e) => e.type === 'done' && e.data.jobId === id);
        expect(dones, `job ${i}`).toHaveLength(1);
        // Each job ran the data sent at its index.
        expect(dones[0]?.data, `job ${i}`).toMatchObject({ status: 'completed', result: { steps: i + 1 } });
      }
    } finally {
      source.close();
    }
  });

  it('accepts a one-job batch, and the media type may carry parameters or a +json suffix', async () => {
    const one = accepted(await batch({ jobs: [quick()] }));
    expect(one.items).toHaveLength(1);
    expect(one.links.events).toBe(`/events?jobs=${one.items[0]?.id}&summary=true`);
    for (const contentType of ['application/json; charset=utf-8', 'application/vnd.jobcast+json']) {
      const res = await batch({ jobs: [quick(), quick(2)] }, { 'content-type': contentType });
      expect(accepted(res).items, contentType).toHaveLength(2);
    }
  });
});

/** Polls GET /jobs/{id} until the job is in `state`. */
async function waitForState(id: string, state: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(h, id);
    if (job.state === state) return;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${job.state}, not ${state}, after ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe('a batch with bad jobs', () => {
  it('is one 422 that lists every bad field of every job, and writes nothing', async () => {
    const jobs = [
      quick(),
      { type: 'simulate', data: { steps: 0 } },
      quick(2),
      { type: 'simulate', bogus: 1 },
      { type: 'simulate', options: { attempts: 0, priority: -1 } },
      { type: 'simulate', data: { steps: 2, extra: true } },
      { type: 'simulate', data: null },
      { data: { steps: 1 } },
      quick(3),
    ];
    const problem = await refused(() => batch({ jobs }), 422, 'validation-failed');
    expect(pathsOf(problem).sort()).toEqual(
      [
        'jobs.1.data.steps',
        'jobs.3.bogus',
        'jobs.4.options.attempts',
        'jobs.4.options.priority',
        'jobs.5.data.extra',
        'jobs.6.data',
        'jobs.7.type',
      ].sort(),
    );
    for (const error of problem.errors ?? []) {
      expect(error.message.length, error.path).toBeGreaterThan(0);
      expect(problem.detail).toContain(error.path);
    }
    expect(problem.errors?.find((e) => e.path === 'jobs.3.bogus')?.message).toMatch(/unknown field "bogus"/);
  });

  it('reports an unknown type at its index, naming the known types, among the other errors', async () => {
    const jobs = [quick(), { type: 'no-such-type', data: {} }, quick(), { type: 'simulate', data: { steps: -1 } }];
    const problem = await refused(() => batch({ jobs }), 422, 'validation-failed');
    expect(pathsOf(problem)).toEqual(['jobs.1.type', 'jobs.3.data.steps']);
    const message = problem.errors?.[0]?.message ?? '';
    expect(message).toContain('no-such-type');
    expect(message).toContain('simulate');
  });

  it('one bad job among many good ones refuses them all', async () => {
    const jobs = Array.from({ length: 50 }, (_, i) =>
      i === 37 ? { type: 'simulate', data: { stepMs: -5 } } : quick(),
    );
    const problem = await refused(() => batch({ jobs }), 422, 'validation-failed');
    expect(pathsOf(problem)).toEqual(['jobs.37.data.stepMs']);
  });

  it('jobs that are not objects are reported at their index', async () => {
    const problem = await refused(() => batch({ jobs: [1, 'simulate', null, [], quick()] }), 422, 'validation-failed');
    expect(pathsOf(problem).sort()).toEqual(['jobs.0', 'jobs.1', 'jobs.2', 'jobs.3']);
  });
});

describe('a batch whose envelope is wrong', () => {
  it.each([
    ['no jobs', { jobs: [] }, ['jobs']],
    [
      `${MAX_JOBS_PER_BATCH + 1} jobs`,
      { jobs: Array.from({ length: MAX_JOBS_PER_BATCH + 1 }, () => quick()) },
      ['jobs'],
    ],
    ['no jobs field', {}, ['jobs']],
    ['jobs that is not a list', { jobs: quick() }, ['jobs']],
    ['jobs: null', { jobs: null }, ['jobs']],
    ['a field besides jobs', { jobs: [quick()], bogus: true }, ['bogus']],
    ['a single-job body', quick(), ['jobs', 'type', 'data'].sort()],
  ])('%s → 422, nothing written', async (_what, body, paths) => {
    const problem = await refused(() => batch(body), 422, 'validation-failed');
    expect(pathsOf(problem).sort()).toEqual(paths);
  });

  it.each([
    ['a list', [quick()]],
    ['null', null],
    ['a string', 'jobs'],
    ['a number', 42],
  ])('a body that is %s → 422, nothing written', async (_what, body) => {
    // Sent as JSON text (call() would send a string body as is).
    await refused(() => batch(JSON.stringify(body)), 422, 'validation-failed');
  });
});

describe('a batch the request itself rules out', () => {
  const valid = JSON.stringify({ jobs: [quick()] });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['a look-alike', { 'content-type': 'application/jsonx' }],
  ])('sent as %s → 415, even when the body is valid JSON', async (_what, headers) => {
    const problem = await refused(() => batch(valid, headers), 415, 'unsupported-media-type');
    expect(problem.detail).toMatch(/application\/json/);
  });

  it('sent with no content type → 415 with Accept-Post', async () => {
    const before = await footprint();
    const res = await fetch(`${h.url}/jobs/batch`, { method: 'POST', body: new TextEncoder().encode(valid) });
    const text = await res.text();
    expect(res.status, text).toBe(415);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('accept-post')).toBe('application/json');
    expect(await footprint()).toEqual(before);
  });

  it.each([
    ['truncated', '{"jobs":[{"type":"simulate"}'],
    ['trailing garbage', `${valid}]`],
    ['empty', ''],
    ['single quotes', "{'jobs':[]}"],
  ])('%s JSON → 400 malformed-json', async (_what, body) => {
    await refused(() => batch(body, { 'content-type': 'application/json' }), 400, 'malformed-json');
  });

  it('a body over MAX_BODY_BYTES → 413', async () => {
    const jobs = Array.from({ length: 20 }, () => ({ type: 'simulate', data: { steps: 1, pad: 'x'.repeat(2_000) } }));
    const body = JSON.stringify({ jobs });
    expect(body.length).toBeGreaterThan(MAX_BODY_BYTES);
    await refused(() => batch(body), 413, 'payload-too-large');
  });

  it('a malformed Idempotency-Key → 400', async () => {
    await refused(() => batch({ jobs: [quick()] }, { 'idempotency-key': 'has a space' }), 400, 'bad-request');
  });

  it('GET /jobs/batch is not a way to submit: 405, Allow: POST', async () => {
    const before = await footprint();
    const res = await call(h, 'GET', '/jobs/batch');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await footprint()).toEqual(before);
  });
});

describe('Idempotency-Key on a batch', () => {
  let counter = 0;
  const freshKey = () => `batch-key-${Date.now()}-${++counter}`;
  const withKey = (key: string) => ({ 'idempotency-key': key });

  it('the same key and body return the same jobs in the same order, marked replayed, and create nothing more', async () => {
    const key = freshKey();
    const body = {
      jobs: [quick(1), quick(2), { type: 'simulate', data: { steps: 3, stepMs: 0 }, options: { attempts: 2 } }],
    };
    const before = await footprint();
    const first = accepted(await batch(body, withKey(key)));
    expect(await footprint()).toEqual(plus(before, 3));
    const again = await batch(body, withKey(key));
    const second = accepted(again);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBeNull();
    expect(idsOf(second)).toEqual(idsOf(first));
    expect(second.links.events).toBe(first.links.events);
    expect(second.items[2]?.maxAttempts).toBe(2);
    // The same body with its object keys in another order is the same body.
    const reordered = {
      jobs: [
        { data: { stepMs: 0, steps: 1 }, type: 'simulate' },
        { data: { stepMs: 0, steps: 2 }, type: 'simulate' },
        { options: { attempts: 2 }, data: { stepMs: 0, steps: 3 }, type: 'simulate' },
      ],
    };
    const third = await batch(reordered, withKey(key));
    expect(third.headers.get('idempotent-replayed')).toBe('true');
    expect(idsOf(accepted(third))).toEqual(idsOf(first));
    expect(await footprint()).toEqual(plus(before, 3));
  });

  it('five simultaneous requests with one key create one batch, and all five answer with its jobs', async () => {
    const key = freshKey();
    const body = { jobs: [quick(1), quick(2)] };
    const before = await footprint();
    const responses = await Promise.all(Array.from({ length: 5 }, () => batch(body, withKey(key))));
    const batches = responses.map(accepted);
    expect(new Set(batches.map((b) => idsOf(b).join(','))).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(4);
    expect(await footprint()).toEqual(plus(before, 2));
  });

  it('the same key with another body → 422 idempotency-key-reused, nothing written; the original still replays', async () => {
    const key = freshKey();
    const body = { jobs: [quick(1), quick(2)] };
    const first = accepted(await batch(body, withKey(key)));
    for (const other of [
      { jobs: [quick(2), quick(1)] },
      { jobs: [quick(1)] },
      { jobs: [quick(1), quick(2), quick(3)] },
      { jobs: [quick(1), { ...quick(2), options: { priority: 1 } }] },
    ]) {
      await refused(() => batch(other, withKey(key)), 422, 'idempotency-key-reused');
    }
    const again = await batch(body, withKey(key));
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(idsOf(accepted(again))).toEqual(idsOf(first));
  });

  it('a key first used on POST /jobs cannot be replayed on /jobs/batch, and the other way round', async () => {
    const single = quick(4);
    const keyOfJob = freshKey();
    const job = await call(h, 'POST', '/jobs', { body: single, headers: withKey(keyOfJob) });
    expect(job.status).toBe(202);
    await refused(() => batch({ jobs: [single] }, withKey(keyOfJob)), 422, 'idempotency-key-reused');
    // The job's key still replays the job.
    const jobAgain = await call(h, 'POST', '/jobs', { body: single, headers: withKey(keyOfJob) });
    expect(jobAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(jobAgain.body.id).toBe(job.body.id);

    const keyOfBatch = freshKey();
    const first = accepted(await batch({ jobs: [single] }, withKey(keyOfBatch)));
    await refused(
      () => call(h, 'POST', '/jobs', { body: single, headers: withKey(keyOfBatch) }),
      422,
      'idempotency-key-reused',
    );
    const batchAgain = await batch({ jobs: [single] }, withKey(keyOfBatch));
    expect(batchAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(idsOf(accepted(batchAgain))).toEqual(idsOf(first));
  });

  it('a refused batch does not use up its key', async () => {
    const key = freshKey();
    await refused(() => batch({ jobs: [quick(), { type: 'simulate', data: { steps: 0 } }] }, withKey(key)), 422);
    const res = await batch({ jobs: [quick(), quick(2)] }, withKey(key));
    expect(accepted(res).items).toHaveLength(2);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
  });
  it('replays without the jobs that expired meanwhile, never beside them again; once all expired, a 409, never a second batch', async () => {
    const key = freshKey();
    const body = { jobs: [quick(1), quick(2)] };
    const first = accepted(await batch(body, withKey(key)));
    const [gone, kept] = idsOf(first) as [string, string];
    // The first job outlives its retention (its record expires); the second is still kept.
    await h.redis.del(`${h.config.KEY_PREFIX}:{${gone}}`);
    const before = await footprint();
    const partly = await batch(body, withKey(key));
    expect(partly.headers.get('idempotent-replayed')).toBe('true');
    expect(idsOf(accepted(partly))).toEqual([kept]);
    expect(await footprint()).toEqual(before);
    // All gone: the key still stands for them, so the same request is refused, not run again.
    await h.redis.del(`${h.config.KEY_PREFIX}:{${kept}}`);
    const problem = await refused(() => batch(body, withKey(key)), 409, 'idempotency-key-jobs-gone');
    expect(problem.jobIds).toEqual([gone, kept]);
  });

  it("keeps a committed key for IDEMPOTENCY_KEY_TTL_SECONDS, not for the short claim's lifetime", async () => {
    const key = freshKey();
    accepted(await batch({ jobs: [quick()] }, withKey(key)));
    const keys = await h.redis.keys(`${h.config.KEY_PREFIX}:idem:*`);
    const ttls = await Promise.all(keys.map((k) => h.redis.ttl(k)));
    // Every committed key of this file: none is left with the 60 s claim.
    expect(Math.min(...ttls)).toBeGreaterThan(h.config.IDEMPOTENCY_KEY_TTL_SECONDS - 600);
  });
});
