/**
 * Limits that hold across API replicas because their state is in Redis: job submissions per
 * key per minute (429 + Retry-After past the limit), concurrent event streams per key (429
 * past the limit, a slot freed when a stream closes), and the header timeout that stops a
 * client from holding a socket by sending its request slowly.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { type RunningApi, startApi } from '../src/server.js';
import { type Harness, startHarness } from './support/harness/harness.js';
import { bullJobTotal, bullQueue } from './support/http/api.js';
import {
  awayFromMinuteBoundary,
  bearer,
  KEY_A,
  KEY_B,
  minuteWindow,
  type Reply,
  send,
  submitAs,
  TOKEN_SECRET,
} from './support/http/security.js';
import { openStream, type RawStream } from './support/sse/raw-sse.js';

const KEY_C = 'key-c-5555555555';
const KEY_D = 'key-d-6666666666';
const KEY_E = 'key-e-7777777777';
const KEY_F = 'key-f-8888888888';
const KEY_G = 'key-g-9999999999';
const KEY_H = 'key-h-0000000000';
const KEYS = [KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H].join(',');

/** Two replicas sharing one KEY_PREFIX (so one Redis state); no worker: jobs stay queued, streams stay open. */
let h: Harness;
let second: RunningApi;
const streams: RawStream[] = [];

beforeAll(async () => {
  h = await startHarness({
    env: {
      API_KEYS: KEYS,
      STREAM_TOKEN_SECRET: TOKEN_SECRET,
      RATE_LIMIT_PER_MINUTE: '5',
      MAX_STREAMS_PER_CLIENT: '3',
    },
    worker: false,
  });
  second = await startApi(h.config, h.redisUrl, createLogger('silent'));
});
afterAll(async () => {
  for (const stream of streams) stream.close();
  await Promise.all([second?.close(), h?.close()]);
});

const post = (url: string, key: string) =>
  send(url, 'POST', '/jobs', { headers: bearer(key), body: { type: 'simulate', data: { steps: 1 } } });

/** POSTs a batch of `n` jobs. */
const postBatch = (url: string, key: string, n: number, headers: Record<string, string> = {}) =>
  send(url, 'POST', '/jobs/batch', {
    headers: { ...bearer(key), ...headers },
    body: { jobs: Array.from({ length: n }, () => ({ type: 'simulate', data: { steps: 1 } })) },
  });

function expectTooMany(res: Reply, type: string): number {
  expect(res.status, res.text).toBe(429);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.json).toMatchObject({ status: 429, type: `/problems/${type}` });
  const retryAfter = res.headers.get('retry-after') ?? '';
  expect(retryAfter, 'Retry-After is delay-seconds').toMatch(/^\d+$/);
  return Number(retryAfter);
}

describe('RATE_LIMIT_PER_MINUTE=5', () => {
  it('refuses the 6th submission of a key in a minute with 429 and Retry-After; other keys are not affected', async () => {
    await awayFromMinuteBoundary();
    const window = minuteWindow();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(h.url, KEY_A)).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202]);
    const sixth = await post(h.url, KEY_A);
    const retryAfter = expectTooMany(sixth, 'too-many-requests');
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Refused, not merely slowed: nothing was enqueued for it.
    expect(sixth.json?.id).toBeUndefined();
    // Another key has its own count; reading is not limited.
    expect((await post(h.url, KEY_B)).status).toBe(202);
    expect((await send(h.url, 'GET', '/jobs', { headers: bearer(KEY_A) })).status).toBe(200);
    expect(minuteWindow(), 'the test stayed in one rate window').toBe(window);
  });

  it('counts one key across replicas that share Redis', async () => {
    await awayFromMinuteBoundary();
    const window = minuteWindow();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(i % 2 === 0 ? h.url : second.url, KEY_C)).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202]);
    expectTooMany(await post(second.url, KEY_C), 'too-many-requests');
    expectTooMany(await post(h.url, KEY_C), 'too-many-requests');
    expect(minuteWindow(), 'the test stayed in one rate window').toBe(window);
  });

  it('counts every job of a batch, and refuses a batch that would go past the limit whole, counting none of it', async () => {
    await awayFromMinuteBoundary();
    const window = minuteWindow();
    /** Jobs this key has in the index (GET /jobs is not rate limited). */
    const listed = async () => {
      const res = await send(h.url, 'GET', '/jobs?limit=100', { headers: bearer(KEY_F) });
      return ((res.json?.items ?? []) as unknown[]).length;
    };
    const queue = bullQueue(h);
    try {
      const first = await postBatch(h.url, KEY_F, 3);
      expect(first.status, first.text).toBe(202);
      expect(await listed()).toBe(3);
      // 3 + 3 > 5: refused whole, nothing enqueued (in the index or in BullMQ).
      const enqueued = await bullJobTotal(queue);
      const tooMany = await postBatch(h.url, KEY_F, 3);
      const retryAfter = expectTooMany(tooMany, 'too-many-requests');
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(tooMany.json?.items).toBeUndefined();
      expect(await listed()).toBe(3);
      expect(await bullJobTotal(queue)).toBe(enqueued);
    } finally {
      await queue.close();
    }
    // The refused batch counted nothing: 3 + 2 = 5 still fits.
    const rest = await postBatch(h.url, KEY_F, 2);
    expect(rest.status, rest.text).toBe(202);
    expect(await listed()).toBe(5);
    // And now the limit is reached, for single jobs too.
    expectTooMany(await post(h.url, KEY_F), 'too-many-requests');
    expect(await listed()).toBe(5);
    expect(minuteWindow(), 'the test stayed in one rate window').toBe(window);
  });

  it('refuses a batch larger than the limit itself with 422 (no Retry-After: waiting would not help), counting nothing', async () => {
    await awayFromMinuteBoundary();
    const window = minuteWindow();
    const tooBig = await postBatch(h.url, KEY_H, 6);
    expect(tooBig.status, tooBig.text).toBe(422);
    expect(tooBig.headers.get('retry-after')).toBeNull();
    expect(tooBig.json).toMatchObject({
      type: '/problems/validation-failed',
      limit: 5,
      errors: [{ path: 'jobs' }],
      totalErrors: 1,
    });
    expect((await postBatch(h.url, KEY_H, 5)).status).toBe(202);
    expect(minuteWindow(), 'the test stayed in one rate window').toBe(window);
  });

  it('does not count an idempotent replay: a client retrying after a lost answer is not refused', async () => {
    await awayFromMinuteBoundary();
    const window = minuteWindow();
    const retry = { 'idempotency-key': 'limits-replay-1' };
    const first = await postBatch(h.url, KEY_G, 3, retry);
    expect(first.status, first.text).toBe(202);
    for (let i = 0; i < 3; i++) {
      const again = await postBatch(h.url, KEY_G, 3, retry);
      expect(again.status, again.text).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    }
    // Only the first request counted: 3 + 2 = 5 fits.
    expect((await postBatch(h.url, KEY_G, 2)).status).toBe(202);
    expectTooMany(await post(h.url, KEY_G), 'too-many-requests');
    expect(minuteWindow(), 'the test stayed in one rate window').toBe(window);
  });
});

describe('MAX_STREAMS_PER_CLIENT=3', () => {
  /** Opens a stream and waits for its status. */
  async function open(url: string, headers: Record<string, string> = {}) {
    const stream = openStream(url, { headers });
    streams.push(stream);
    const res = await stream.response;
    return { stream, status: res.statusCode };
  }

  it('refuses a 4th concurrent stream with 429 too-many-streams, and accepts one again once a stream closes', async () => {
    const job = await submitAs(h.url, KEY_D, { steps: 1 });
    const url = `${h.url}/jobs/${job.id}/events`;
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await open(url, bearer(KEY_D)));
    expect(held.map((s) => s.status)).toEqual([200, 200, 200]);
    const fourth = await send(h.url, 'GET', `/jobs/${job.id}/events`, { headers: bearer(KEY_D) });
    expectTooMany(fourth, 'too-many-streams');
    // A stream opened with the job's token counts against its holder (this address), not the
    // key that issued the token (test/client-address.test.ts has viewers at other addresses).
    const viewer = await open(`${h.url}${job.links.events}`);
    expect(viewer.status).toBe(200);
    viewer.stream.close();
    // Others are not affected.
    const other = await submitAs(h.url, KEY_B, { steps: 1 });
    const others = await open(`${h.url}/jobs/${other.id}/events`, bearer(KEY_B));
    expect(others.status).toBe(200);
    others.stream.close();

    held[0]?.stream.close();
    const deadline = Date.now() + 5_000;
    let again = await send(h.url, 'GET', `/jobs/${job.id}/events`, { headers: bearer(KEY_D), timeoutMs: 300 });
    while (again.status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await send(h.url, 'GET', `/jobs/${job.id}/events`, { headers: bearer(KEY_D), timeoutMs: 300 });
    }
    expect(again.status, 'a slot is free again after a stream closed').toBe(200);
    for (const s of held) s.stream.close();
  });

  it('counts one key across replicas that share Redis', async () => {
    const job = await submitAs(h.url, KEY_E, { steps: 1 });
    const path = `/jobs/${job.id}/events`;
    const held = [
      await open(`${h.url}${path}`, bearer(KEY_E)),
      await open(`${second.url}${path}`, bearer(KEY_E)),
      await open(`${second.url}${path}`, bearer(KEY_E)),
    ];
    expect(held.map((s) => s.status)).toEqual([200, 200, 200]);
    expectTooMany(await send(h.url, 'GET', path, { headers: bearer(KEY_E) }), 'too-many-streams');
    expectTooMany(await send(second.url, 'GET', path, { headers: bearer(KEY_E) }), 'too-many-streams');
    for (const s of held) s.stream.close();
  });
});

describe('HTTP_HEADERS_TIMEOUT_MS=1000', () => {
  it('closes a socket that sends half a request line and stalls, within a few seconds', async () => {
    // A server of its own, so the test always starts just after the server does.
    const slow = await startHarness({ env: { HTTP_HEADERS_TIMEOUT_MS: '1000' }, worker: false });
    const { port } = new URL(slow.url);
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    const started = Date.now();
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk;
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.write('GET /jobs HTT');
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 5_000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      expect(closed, `still open after ${Date.now() - started} ms`).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      if (received) expect(received).toMatch(/^HTTP\/1\.1 408/);
      // The server itself is fine.
      expect((await send(slow.url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      socket.destroy();
      await slow.close();
    }
  });
});
