/**
 * `Idempotency-Key` on `POST /jobs`: the same key and body return the same job (marked
 * `idempotent-replayed: true`) and create nothing more — in BullMQ or as a job record — even
 * when ten requests race; the same key with another body is a 422 problem; a malformed key is
 * a 400 problem. A key is kept for its whole lifetime: once its job is no longer kept, the key
 * is a 409 problem, never a second job.
 */
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobResource } from '../src/jobs/schemas.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { type ApiResponse, bullJobTotal, bullQueue, call, expectProblem, recordCount } from './support/http/api.js';

let h: Harness;
let queue: Queue;
// No worker: jobs stay waiting, so BullMQ's count is exactly the jobs submitted.
beforeAll(async () => {
  h = await startHarness({ worker: false });
  queue = bullQueue(h);
});
afterAll(async () => {
  await queue?.close();
  await h?.close();
});

let keyCounter = 0;
const freshKey = () => `key-${Date.now()}-${++keyCounter}`;

const post = (body: unknown, key: string | undefined) =>
  call(h, 'POST', '/jobs', { body, headers: key === undefined ? {} : { 'idempotency-key': key } });

/** Jobs in BullMQ and job records right now. */
const counts = async () => ({ bull: await bullJobTotal(queue), records: await recordCount(h) });

const idOf = (res: ApiResponse) => JobResource.parse(res.body).id;

describe('the same key and the same body', () => {
  it('returns the same job, the second time marked idempotent-replayed, and creates one job', async () => {
    const before = await counts();
    const key = freshKey();
    const body = { type: 'simulate', data: { steps: 3, stepMs: 10 } };
    const first = await post(body, key);
    const second = await post(body, key);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(idOf(second)).toBe(idOf(first));
    expect(second.headers.get('location')).toBe(`/jobs/${idOf(first)}`);
    expect(second.body).toMatchObject({ id: idOf(first), type: 'simulate', state: 'queued' });
    expect(await counts()).toEqual({ bull: before.bull + 1, records: before.records + 1 });
    expect(await queue.getJob(idOf(first))).toBeDefined();
  });

  it('ten simultaneous requests create one job, and all ten answer with its id', async () => {
    const before = await counts();
    const key = freshKey();
    const body = { type: 'simulate', data: { steps: 2, stepMs: 5 }, options: { attempts: 2 } };
    const responses = await Promise.all(Array.from({ length: 10 }, () => post(body, key)));
    expect(responses.map((r) => r.status)).toEqual(new Array(10).fill(202));
    const ids = new Set(responses.map(idOf));
    expect(ids.size).toBe(1);
    // Exactly one request created it; the other nine replayed it.
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    expect(await counts()).toEqual({ bull: before.bull + 1, records: before.records + 1 });
  });

  it('a different key (or none) is a different job', async () => {
    const before = await counts();
    const body = { type: 'simulate', data: { steps: 1 } };
    const a = await post(body, freshKey());
    const b = await post(body, freshKey());
    const c = await post(body, undefined);
    expect(new Set([idOf(a), idOf(b), idOf(c)]).size).toBe(3);
    expect(await counts()).toEqual({ bull: before.bull + 3, records: before.records + 3 });
  });
});

describe('the same key with a different body', () => {
  it('is a 422 problem and creates nothing; the first job is untouched', async () => {
    const key = freshKey();
    const first = await post({ type: 'simulate', data: { steps: 1 } }, key);
    expect(first.status).toBe(202);
    const before = await counts();
    for (const body of [
      { type: 'simulate', data: { steps: 2 } },
      { type: 'simulate', data: { steps: 1 }, options: { attempts: 2 } },
    ]) {
      const res = await post(body, key);
      expectProblem(res, 422, 'idempotency-key-reused');
      expect(res.headers.get('idempotent-replayed')).toBeNull();
    }
    expect(await counts()).toEqual(before);
    // The original still replays.
    const again = await post({ type: 'simulate', data: { steps: 1 } }, key);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(idOf(again)).toBe(idOf(first));
  });

  it('a refused request does not use up its key', async () => {
    const key = freshKey();
    const refused = await post({ type: 'simulate', data: { steps: 0 } }, key);
    expectProblem(refused, 422, 'validation-failed');
    const accepted = await post({ type: 'simulate', data: { steps: 1 } }, key);
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('idempotent-replayed')).toBeNull();
  });
});

describe('an invalid key', () => {
  it.each([
    ['300 characters', 'k'.repeat(300)],
    ['256 characters', 'k'.repeat(256)],
    ['a space', 'my key'],
    ['non-ASCII', 'clé-é'],
    ['empty', ''],
  ])('with %s is a 400 problem and creates nothing', async (_what, key) => {
    const before = await counts();
    const res = await post({ type: 'simulate', data: { steps: 1 } }, key);
    expectProblem(res, 400, 'bad-request');
    expect(await counts()).toEqual(before);
  });

  it('255 printable ASCII characters is a valid key', async () => {
    const key = `${freshKey()}-`.padEnd(255, '~');
    const res = await post({ type: 'simulate', data: { steps: 1 } }, key);
    expect(res.status).toBe(202);
  });
});

describe('a key outlives its job (JOB_RETENTION_SECONDS=1, IDEMPOTENCY_KEY_TTL_SECONDS=4)', () => {
  let short: Harness;
  let shortQueue: Queue;
  beforeAll(async () => {
    short = await startHarness({ env: { JOB_RETENTION_SECONDS: '1', IDEMPOTENCY_KEY_TTL_SECONDS: '4' } });
    shortQueue = bullQueue(short);
  });
  afterAll(async () => {
    await shortQueue?.close();
    await short?.close();
  });
  const send = (body: unknown, key: string) =>
    call(short, 'POST', '/jobs', { body, headers: { 'idempotency-key': key } });
  const footprint = async () => ({ bull: await bullJobTotal(shortQueue), records: await recordCount(short) });

  it('refuses the key with a 409 for the rest of its lifetime, never creating a second job; then it is free', async () => {
    const key = freshKey();
    const body = { type: 'simulate', data: { steps: 1, stepMs: 0 } };
    const first = await send(body, key);
    expect(first.status).toBe(202);
    const id = idOf(first);
    // The job runs, finishes, and its record expires a second later.
    await waitFor(async () => (await call(short, 'GET', `/jobs/${id}`)).status === 404, 'the job to expire', 15_000);

    const before = await footprint();
    const again = await send(body, key);
    expectProblem(again, 409, 'idempotency-key-jobs-gone');
    expect(again.body.jobIds).toEqual([id]);
    expect(again.body.detail).toMatch(/no longer kept/);
    // Another body with the key is still the other problem.
    expectProblem(await send({ ...body, data: { steps: 2 } }, key), 422, 'idempotency-key-reused');
    expect(await footprint()).toEqual(before);

    // Once the key's own lifetime is over, it names nothing: the same request is new work.
    await waitFor(
      async () => (await short.redis.keys(`${short.config.KEY_PREFIX}:idem:*`)).length === 0,
      'the key to expire',
      15_000,
    );
    const fresh = await send(body, key);
    expect(fresh.status).toBe(202);
    expect(fresh.headers.get('idempotent-replayed')).toBeNull();
    expect(idOf(fresh)).not.toBe(id);
  }, 30_000);
});
