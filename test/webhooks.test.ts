/**
 * Webhooks (#17) against a real receiver on 127.0.0.1 (WEBHOOK_ALLOW_PRIVATE=1), a real
 * Redis, the API and a worker: every delivery verifies with the `standardwebhooks` package;
 * its body's `data` is exactly the stream event's JSON; a receiver that fails gets the same
 * `webhook-id` on every attempt until it answers 2xx; 410 disables the job's webhook; progress
 * is throttled; a job cancelled in the API and a `done` whose delivery a crash never queued
 * are delivered too; `GET /jobs/{id}/webhooks` and the job resource tell where each delivery is
 * (another key's job is a 404); per-key defaults; private URLs refused with a 422 by default;
 * the metrics; `jobcast webhooks <id>`.
 * Retry delays are scaled down here (WEBHOOK_RETRY_BASE_MS=100); the real ones run in
 * webhooks-durable.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { JobStore } from '../src/jobs/store.js';
import { createLogger } from '../src/log.js';
import { metricsText } from '../src/metrics.js';
import { loadWebhookDefaults } from '../src/webhooks/defaults.js';
import type { WebhookDeliveries } from '../src/webhooks/schemas.js';
import { createUrlPolicy } from '../src/webhooks/url-policy.js';
import { type RunningWorker, startWorker } from '../workers/runner.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { call, getJob, recordCount, submitJob } from './support/http/api.js';
import {
  newSecret,
  type ReceivedDelivery,
  type Receiver,
  startReceiver,
  verifyWithStandardWebhooks,
} from './support/http/webhook-receiver.js';
import { watch } from './support/sse/sse.js';

const SECRET = newSecret();
const OLD_SECRET = newSecret();

let h: Harness;
let receiver: Receiver;
let worker: RunningWorker;

beforeAll(async () => {
  receiver = await startReceiver();
  // Two secrets: a rotation in progress, new one first.
  h = await startHarness({
    worker: false,
    env: {
      WEBHOOK_SECRET: `${SECRET},${OLD_SECRET}`,
      WEBHOOK_ALLOW_PRIVATE: '1',
      WEBHOOK_RETRY_BASE_MS: '100',
      WEBHOOK_MAX_ATTEMPTS: '5',
      WEBHOOK_TIMEOUT_MS: '500',
      WEBHOOK_PROGRESS_MIN_MS: '300',
      WEBHOOK_SWEEP_MS: '300',
      WORKER_LOCK_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    },
  });
  // The built-in `simulate`, logging a line per step (for log deliveries).
  worker = await startWorker(h.config, h.redisUrl, createLogger('error', {}, 'json'), {
    handlers: {
      simulate: async ({ steps, stepMs, failAtStep }, ctx) => {
        for (let step = 1; step <= steps; step++) {
          if (stepMs > 0) await new Promise((r) => setTimeout(r, stepMs));
          if (step === failAtStep) throw new Error(`simulated failure at step ${step} of ${steps}`);
          await ctx.log(`step ${step}`);
          await ctx.progress((step / steps) * 100, `step ${step} of ${steps}`);
        }
        return { steps };
      },
    },
  });
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
  await receiver?.stop();
});

const forJob = (id: string) => receiver.received.filter((d) => (d.payload.data as { jobId?: string }).jobId === id);
const doneOf = (id: string) => forJob(id).filter((d) => d.payload.type === 'job.done');

async function deliveries(id: string): Promise<WebhookDeliveries> {
  const res = await call(h, 'GET', `/jobs/${id}/webhooks`);
  expect(res.status).toBe(200);
  return res.body as unknown as WebhookDeliveries;
}

describe('a delivery', () => {
  it('verifies with standardwebhooks under either secret of a rotation, and carries the stream event as is', async () => {
    receiver.respond(() => 200);
    const job = await submitJob(h, { data: { steps: 2, stepMs: 10 }, webhook: { url: receiver.url } });
    expect(job.webhook).toMatchObject({ url: receiver.url, events: ['done'], status: 'active' });
    expect(job.links.webhooks).toBe(`/jobs/${job.id}/webhooks`);
    const stream = await watch(`${h.url}${job.links.events}`);
    await waitFor(() => doneOf(job.id).length === 1, 'the done delivery');
    const [delivery] = doneOf(job.id) as [ReceivedDelivery];

    // Both secrets verify the one delivery; a third does not.
    expect(verifyWithStandardWebhooks(SECRET, delivery)).toEqual(delivery.payload);
    expect(verifyWithStandardWebhooks(OLD_SECRET, delivery)).toEqual(delivery.payload);
    expect(() => verifyWithStandardWebhooks(newSecret(), delivery)).toThrow(/No matching signature/);
    expect(delivery.signature.split(' ')).toHaveLength(2);
    expect(delivery.id).toBe(`${job.id}.done`);
    expect(delivery.headers['content-type']).toBe('application/json');

    // `data` is exactly the SSE event's JSON, byte for byte.
    const done = stream.at(-1);
    expect(done?.type).toBe('done');
    expect(delivery.body).toBe(
      `{"type":"job.done","timestamp":"${done?.data.at}","data":${JSON.stringify(done?.data)}}`,
    );
    expect(delivery.payload).toMatchObject({ type: 'job.done', data: { jobId: job.id, status: 'completed' } });

    // The job says so, and the delivery list.
    await waitFor(async () => (await getJob(h, job.id)).webhook?.deliveries.delivered === 1, 'the count');
    expect((await getJob(h, job.id)).webhook).toMatchObject({
      status: 'active',
      deliveries: { pending: 0, delivered: 1, failed: 0 },
      lastResponseCode: 200,
    });
    const listed = await deliveries(job.id);
    expect(listed).toMatchObject({
      items: [{ id: delivery.id, type: 'job.done', status: 'delivered', attempts: 1, lastResponseCode: 200 }],
      truncated: false,
    });
  });

  it('a receiver that answers 500 three times then 200 gets the done, with one webhook-id on all four attempts', async () => {
    receiver.respond((d, attempt) => (d.payload.type === 'job.done' && attempt <= 3 ? 500 : 200));
    const job = await submitJob(h, { data: { steps: 1, stepMs: 0 }, webhook: { url: receiver.url } });
    await waitFor(() => doneOf(job.id).some((d) => d.answered === 200), 'a 2xx for the done', 15_000);
    const attempts = doneOf(job.id);
    expect(attempts.map((a) => a.answered)).toEqual([500, 500, 500, 200]);
    expect(new Set(attempts.map((a) => a.id))).toEqual(new Set([`${job.id}.done`]));
    // The same message every time, signed afresh; each attempt verifies.
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    for (const a of attempts) verifyWithStandardWebhooks(SECRET, a);
    // Backoff doubles (100, 200, 400 ms, each shortened by up to 20 %).
    const gaps = attempts.slice(1).map((a, i) => a.receivedAt - (attempts[i] as ReceivedDelivery).receivedAt);
    expect(gaps[0]).toBeGreaterThanOrEqual(75);
    expect(gaps[1]).toBeGreaterThanOrEqual(155);
    expect(gaps[2]).toBeGreaterThanOrEqual(315);

    await waitFor(async () => (await deliveries(job.id)).items[0]?.status === 'delivered', 'the list to say delivered');
    expect((await deliveries(job.id)).items[0]).toMatchObject({ attempts: 4, lastResponseCode: 200 });
  });

  it('while retrying, the list shows the last answer and when the next attempt is due', async () => {
    receiver.respond((d) => (d.payload.type === 'job.done' ? { status: 503, body: 'busy\n\u0007now' } : 200));
    const job = await submitJob(h, { data: { steps: 1, stepMs: 0 }, webhook: { url: receiver.url } });
    await waitFor(async () => ((await deliveries(job.id)).items[0]?.attempts ?? 0) >= 2, 'two attempts', 10_000);
    const [item] = (await deliveries(job.id)).items;
    expect(item).toMatchObject({
      status: 'pending',
      lastResponseCode: 503,
      lastError: 'the receiver answered 503: busy now',
    });
    expect(Date.parse(item?.nextAttemptAt ?? '')).toBeGreaterThan(Date.parse(item?.lastAttemptAt ?? ''));
    expect((await getJob(h, job.id)).webhook).toMatchObject({ deliveries: { pending: 1 }, lastResponseCode: 503 });
    receiver.respond(() => 200);
    await waitFor(async () => (await deliveries(job.id)).items[0]?.status === 'delivered', 'delivery', 10_000);
  });

  it('a timeout, a dropped connection and a redirect are retried, and no redirect is followed', async () => {
    const answers: ('hang' | 'destroy' | { status: number; headers: Record<string, string> })[] = [
      'hang',
      'destroy',
      { status: 302, headers: { location: `${receiver.url}/elsewhere` } },
    ];
    receiver.respond((d, attempt) => (d.payload.type === 'job.done' ? (answers[attempt - 1] ?? 200) : 200));
    const job = await submitJob(h, { data: { steps: 1, stepMs: 0 }, webhook: { url: receiver.url } });
    await waitFor(() => doneOf(job.id).some((d) => d.answered === 200), 'a 2xx after three failures', 15_000);
    expect(doneOf(job.id)).toHaveLength(4);
    expect(receiver.received.some((d) => d.path.endsWith('/elsewhere'))).toBe(false);
    const history = (await deliveries(job.id)).items[0];
    expect(history).toMatchObject({ status: 'delivered', attempts: 4 });
  });

  it('is given up after WEBHOOK_MAX_ATTEMPTS', async () => {
    receiver.respond((d) => (d.payload.type === 'job.done' ? 500 : 200));
    const job = await submitJob(h, { data: { steps: 1, stepMs: 0 }, webhook: { url: receiver.url } });
    await waitFor(
      async () => (await deliveries(job.id)).items[0]?.status === 'failed',
      'the delivery given up',
      10_000,
    );
    expect(doneOf(job.id)).toHaveLength(5);
    const [item] = (await deliveries(job.id)).items;
    expect(item).toMatchObject({ attempts: 5, lastResponseCode: 500 });
    expect(item?.nextAttemptAt).toBeUndefined();
    expect((await getJob(h, job.id)).webhook).toMatchObject({
      status: 'active',
      deliveries: { pending: 0, delivered: 0, failed: 1 },
    });
  });

  it('a large answer is read only in part: jobcast hangs up after a few KB', async () => {
    // 10 MB, 1 KB every 5 ms: a client reading it all would take almost a minute.
    receiver.respond((d, attempt) =>
      d.payload.type === 'job.done' && attempt === 1 ? { status: 500, stream: 10_000_000 } : 200,
    );
    const job = await submitJob(h, { data: { steps: 1, stepMs: 0 }, webhook: { url: receiver.url } });
    await waitFor(() => doneOf(job.id).some((d) => d.answered === 200), 'the retry', 10_000);
    const [first] = doneOf(job.id) as [ReceivedDelivery];
    expect(first.cut).toBe(true);
    expect(first.bytesSent).toBeLessThan(1_000_000);
    const history = (await deliveries(job.id)).items[0];
    expect(history).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('410 Gone disables the job’s webhook: nothing more is sent for it', async () => {
    receiver.respond((d) => (d.payload.type === 'job.progress' ? 410 : 200));
    const job = await submitJob(h, {
      data: { steps: 6, stepMs: 200 },
      webhook: { url: receiver.url, events: ['progress', 'log', 'done'] },
    });
    await waitFor(() => forJob(job.id).some((d) => d.answered === 410), 'the 410');
    await watch(`${h.url}${job.links.events}`);
    await waitFor(async () => (await getJob(h, job.id)).webhook?.status === 'disabled', 'the webhook disabled');
    // Every delivery of the job settled: the rest (log lines, done, later ticks) was tried.
    await waitFor(async () => (await deliveries(job.id)).items.every((i) => i.status !== 'pending'), 'none pending');
    const listed = (await deliveries(job.id)).items;
    const resource = await getJob(h, job.id);
    expect(resource.webhook).toMatchObject({ status: 'disabled', disabledReason: 'the receiver answered 410 Gone' });
    // The end was not sent (not even queued, unless the job ended before the 410 was known).
    expect(doneOf(job.id)).toEqual([]);
    expect(listed.find((i) => i.type === 'job.done')?.status ?? 'disabled').toBe('disabled');
    // What was still to send when the 410 came was not sent: only deliveries already on their
    // way then got through.
    const disabled = listed.filter((i) => i.status === 'disabled');
    expect(disabled.length).toBeGreaterThanOrEqual(1);
    for (const item of disabled) expect(receiver.attempts(item.id).filter((d) => d.answered !== 410)).toEqual([]);
    const sent = new Set(forJob(job.id).map((d) => d.id));
    for (const item of listed.filter((i) => sent.has(i.id))) expect(['delivered', 'disabled']).toContain(item.status);
    // The list counts the attempts the receiver got: none for a delivery never sent.
    for (const item of listed) expect(item.attempts, item.id).toBe(receiver.attempts(item.id).length);
  });
});

describe('events', () => {
  it('progress is throttled to one delivery per WEBHOOK_PROGRESS_MIN_MS, the latest state winning; every log line and done are delivered', async () => {
    receiver.respond(() => 200);
    // 30 progress reports in ~1.5 s, WEBHOOK_PROGRESS_MIN_MS=300.
    const job = await submitJob(h, {
      data: { steps: 30, stepMs: 50 },
      webhook: { url: receiver.url, events: ['progress', 'log', 'done'] },
    });
    const stream = await watch(`${h.url}${job.links.events}`, { timeoutMs: 15_000 });
    await waitFor(() => doneOf(job.id).length === 1, 'done');
    await waitFor(
      () => forJob(job.id).some((d) => d.payload.type === 'job.progress' && d.payload.data.state === 'completed'),
      'the final progress',
    );
    const progress = forJob(job.id).filter((d) => d.payload.type === 'job.progress');
    for (const d of forJob(job.id)) verifyWithStandardWebhooks(SECRET, d);
    // The throttle is a schedule: tick n is due at the job's start + n × 300 ms, one delivery
    // per tick, none sent before its tick (how late each arrives is up to the machine).
    const startedAt = Date.parse((await getJob(h, job.id)).startedAt ?? '');
    const ticks = progress.map((d) => Number(d.id.split('.').at(-1)));
    expect(ticks).toEqual([...new Set(ticks)].sort((a, b) => a - b));
    for (const [i, d] of progress.entries()) {
      expect(d.receivedAt, `tick ${ticks[i]}`).toBeGreaterThanOrEqual(startedAt + (ticks[i] as number) * 300);
    }
    const first = stream.find((e) => e.type === 'progress' && e.data.state === 'active');
    const last = stream.filter((e) => e.type === 'progress').at(-1);
    const spanMs = Date.parse(String(last?.data.at)) - Date.parse(String(first?.data.at));
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(spanMs / 300) + 2);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    // Each one reports the latest state when it was sent; the last is the final state.
    const values = progress.map((d) => Number(d.payload.data.progress));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(progress.at(-1)?.payload.data).toMatchObject({ state: 'completed', progress: 100 });
    // Progress data is a stream progress event too.
    expect(stream.filter((e) => e.type === 'progress').map((e) => JSON.stringify(e.data))).toContain(
      JSON.stringify(progress.at(-1)?.payload.data),
    );
    // Every log line, once, with the stream's own data.
    const logs = forJob(job.id).filter((d) => d.payload.type === 'job.log');
    expect(logs.map((d) => d.payload.data.line)).toEqual(Array.from({ length: 30 }, (_, i) => `step ${i + 1}`));
    const streamLogs = stream.filter((e) => e.type === 'log').map((e) => JSON.stringify(e.data));
    expect(logs.map((d) => JSON.stringify(d.payload.data))).toEqual(streamLogs);
    expect(new Set(logs.map((d) => d.id)).size).toBe(30);
  });

  it('a failed progress delivery is not retried once a newer one is queued: a receiver back up gets the latest state only', async () => {
    let down = true;
    receiver.respond((d) => (d.payload.type === 'job.progress' && down ? 503 : 200));
    const job = await submitJob(h, {
      data: { steps: 10, stepMs: 100 },
      webhook: { url: receiver.url, events: ['progress', 'done'] },
    });
    await waitFor(() => doneOf(job.id).length === 1, 'done');
    await waitFor(
      () => forJob(job.id).some((d) => d.payload.type === 'job.progress' && d.payload.data.state === 'completed'),
      'an attempt of the final progress',
    );
    // A first attempt sends the state as it is then: an older delivery's may already carry the
    // final state, so also wait until every progress delivery had its first attempt (all 503).
    await waitFor(async () => {
      const items = (await deliveries(job.id)).items.filter((i) => i.type === 'job.progress');
      return items.every((i) => i.attempts >= 1);
    }, 'a first attempt of every progress delivery');
    const failedBefore = forJob(job.id).filter((d) => d.answered === 503).length;
    down = false;
    await waitFor(
      async () => (await deliveries(job.id)).items.every((i) => i.status !== 'pending'),
      'every delivery settled',
      10_000,
    );
    const got = forJob(job.id).filter((d) => d.payload.type === 'job.progress' && d.answered === 200);
    expect(got.map((d) => d.payload.data.state)).toEqual(['completed']);
    const listed = (await deliveries(job.id)).items.filter((i) => i.type === 'job.progress');
    expect(listed.at(-1)).toMatchObject({ status: 'delivered' });
    expect(listed.slice(0, -1).every((i) => i.status === 'superseded')).toBe(true);
    // A superseded delivery still tells its attempts and the answer that failed them.
    for (const item of listed) expect(item.attempts, item.id).toBe(receiver.attempts(item.id).length);
    for (const item of listed.slice(0, -1)) {
      expect(item).toMatchObject({ lastResponseCode: 503, lastError: expect.stringContaining('503') });
      expect(item.lastAttemptAt).toBeDefined();
    }
    const resource = await getJob(h, job.id);
    expect(resource.webhook?.deliveries).toMatchObject({ pending: 0, delivered: 2, failed: 0 });
    expect(resource.webhook?.deliveries.superseded).toBe(listed.length - 1);
    expect(failedBefore).toBeGreaterThanOrEqual(listed.length);
  });

  it('a failed job and a queued job cancelled in the API both deliver their done', async () => {
    receiver.respond(() => 200);
    const failing = await submitJob(h, {
      data: { steps: 2, stepMs: 0, failAtStep: 1 },
      webhook: { url: receiver.url },
    });
    const delayed = await submitJob(h, {
      data: { steps: 1, stepMs: 0 },
      options: { delayMs: 60_000 },
      webhook: { url: receiver.url },
    });
    expect((await call(h, 'POST', `/jobs/${delayed.id}/cancel`)).status).toBe(202);
    await waitFor(() => doneOf(failing.id).length === 1 && doneOf(delayed.id).length === 1, 'both dones');
    expect(doneOf(failing.id)[0]?.payload.data).toMatchObject({ status: 'failed' });
    expect(doneOf(delayed.id)[0]?.payload.data).toMatchObject({ status: 'cancelled', error: 'cancelled by request' });
  });

  it('a done recorded by a process that died before queuing its delivery is delivered by the sweep', async () => {
    receiver.respond(() => 200);
    // Accepted, then finished by a store that queues nothing: what a process that died right
    // after recording `done` leaves behind.
    const job = await submitJob(h, {
      data: { steps: 1, stepMs: 0 },
      options: { delayMs: 60_000 },
      webhook: { url: receiver.url, events: ['log', 'done'] },
    });
    const bare = new JobStore(h.redis, {
      prefix: h.config.KEY_PREFIX,
      logMaxLines: 100,
      retentionSeconds: 600,
    });
    await bare.log(job.id, 'a line nobody queued');
    await bare.finish(job.id, 'completed', { result: { by: 'a process that then died' } });
    await waitFor(() => doneOf(job.id).length === 1, 'the sweep to deliver done', 10_000);
    expect(doneOf(job.id)[0]?.payload.data).toMatchObject({ result: { by: 'a process that then died' } });
    await waitFor(() => forJob(job.id).some((d) => d.payload.type === 'job.log'), 'the log line too');
    expect(await h.redis.zscore(`${h.config.KEY_PREFIX}:webhooks:open`, job.id)).toBeNull();
  });
});

describe('submission', () => {
  it('a batch takes a webhook per job; events default to done; null means none', async () => {
    receiver.respond(() => 200);
    const res = await call(h, 'POST', '/jobs/batch', {
      body: {
        jobs: [
          { type: 'simulate', data: { steps: 1, stepMs: 0 }, webhook: { url: receiver.url } },
          { type: 'simulate', data: { steps: 1, stepMs: 0 }, webhook: null },
          { type: 'simulate', data: { steps: 1, stepMs: 0 } },
        ],
      },
    });
    expect(res.status).toBe(202);
    const [a, b, c] = (res.body.items as { id: string; webhook?: unknown }[]) ?? [];
    expect(a?.webhook).toMatchObject({ events: ['done'] });
    expect(b?.webhook).toBeUndefined();
    expect(c?.webhook).toBeUndefined();
    await waitFor(() => doneOf(a?.id as string).length === 1, 'the done of the first');
    expect((await deliveries(b?.id as string)).items).toEqual([]);
  });

  it('refuses bad webhooks with a 422 that names the field, and writes nothing', async () => {
    const bad = [
      [{ url: 'ftp://example.com/x' }, 'webhook.url', /https/],
      [{ url: 'not a url' }, 'webhook.url', /not a URL/],
      [{ url: receiver.url, events: [] }, 'webhook.events', /./],
      [{ url: receiver.url, events: ['done', 'done'] }, 'webhook.events', /once/],
      [{ url: receiver.url, events: ['reset'] }, 'webhook.events.0', /./],
      [{ url: receiver.url, secret: 'x' }, 'webhook.secret', /unknown field/],
      [{ url: 'https://nowhere.invalid/hook' }, 'webhook.url', /does not resolve/],
    ] as const;
    for (const [webhook, path, message] of bad) {
      const res = await call(h, 'POST', '/jobs', { body: { type: 'simulate', webhook } });
      expect(res.status, JSON.stringify(webhook)).toBe(422);
      const errors = res.body.errors as { path: string; message: string }[];
      expect(errors[0]?.path, JSON.stringify(res.body)).toBe(path);
      expect(errors[0]?.message).toMatch(message);
    }
  });
});

describe('safe by default', () => {
  let strict: Harness;
  beforeAll(async () => {
    strict = await startHarness({
      env: { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOWED_HOSTS: 'hooks.internal,192.0.2.0/24' },
    });
  });
  afterAll(() => strict?.close());

  it('refuses private, loopback, link-local and http URLs with a 422, in a batch too, and accepts none of the batch', async () => {
    for (const url of [
      receiver.url,
      'https://127.0.0.1/hook',
      'https://localhost/hook',
      'https://10.1.2.3/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://[fd00::1]/hook',
      'https://0.0.0.0/hook',
      'http://93.184.215.14/hook',
    ]) {
      const res = await call(strict, 'POST', '/jobs', { body: { type: 'simulate', webhook: { url } } });
      expect(res.status, url).toBe(422);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect((res.body.errors as { path: string }[])[0]?.path).toBe('webhook.url');
    }
    const batch = await call(strict, 'POST', '/jobs/batch', {
      body: {
        jobs: [
          { type: 'simulate', webhook: { url: 'https://93.184.215.14/hook' } },
          { type: 'simulate', webhook: { url: 'https://192.168.1.1/hook' } },
        ],
      },
    });
    expect(batch.status).toBe(422);
    expect((batch.body.errors as { path: string; message: string }[]).map((e) => e.path)).toEqual([
      'jobs.1.webhook.url',
    ]);
    expect((batch.body.errors as { message: string }[])[0]?.message).toMatch(/private/);
    expect(await recordCount(strict)).toBe(0);
  });

  it('accepts public https URLs, and private ones on the allowlist', async () => {
    for (const url of ['https://93.184.215.14/hook', 'https://192.0.2.10/hook', 'http://192.0.2.10/hook']) {
      const res = await call(strict, 'POST', '/jobs', {
        body: { type: 'simulate', data: { steps: 1, stepMs: 0 }, options: { delayMs: 60_000 }, webhook: { url } },
      });
      expect(res.status, `${url}: ${JSON.stringify(res.body)}`).toBe(202);
    }
  });

  it('without WEBHOOK_SECRET, a webhook is refused (nothing could sign it)', async () => {
    const off = await startHarness({ worker: false });
    try {
      const res = await call(off, 'POST', '/jobs', {
        body: { type: 'simulate', webhook: { url: 'https://93.184.215.14/' } },
      });
      expect(res.status).toBe(422);
      expect((res.body.errors as { path: string; message: string }[])[0]).toMatchObject({
        path: 'webhook',
        message: expect.stringMatching(/WEBHOOK_SECRET/),
      });
    } finally {
      await off.close();
    }
  });
});

it('parseConfig checks the webhook settings', () => {
  expect(() => parseConfig({ WEBHOOK_SECRET: 'hunter2' })).toThrow(/WEBHOOK_SECRET/);
  expect(() => parseConfig({ WEBHOOK_SECRET: `${SECRET},${SECRET},${SECRET}` })).toThrow(/WEBHOOK_SECRET/);
  expect(() => parseConfig({ WEBHOOK_ALLOWED_HOSTS: 'ok.example, bad host' })).toThrow(/WEBHOOK_ALLOWED_HOSTS/);
  expect(() => parseConfig({ WEBHOOK_DEFAULTS_FILE: '/tmp/x.json' })).toThrow(/WEBHOOK_DEFAULTS_FILE/);
  expect(parseConfig({ WEBHOOK_SECRET: `${SECRET},${OLD_SECRET}` }).WEBHOOK_SECRET).toBe(`${SECRET},${OLD_SECRET}`);
});

describe('keys, defaults, metrics and the CLI', () => {
  let dir: string;
  let keyed: Harness;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jobcast-webhook-defaults-'));
    const defaults = join(dir, 'webhooks.json');
    // Key A's jobs default to progress and done at the receiver; every other key to done only.
    writeFileSync(
      defaults,
      JSON.stringify({
        'key-a': { url: `${receiver.url}/a`, events: ['progress', 'done'] },
        '*': { url: `${receiver.url}/others` },
      }),
    );
    keyed = await startHarness({
      env: {
        API_KEYS: 'key-a,key-b,key-c',
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_ALLOW_PRIVATE: '1',
        WEBHOOK_DEFAULTS_FILE: defaults,
      },
    });
  });
  afterAll(async () => {
    await keyed?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  it('a key sees only its own jobs’ deliveries: another key gets 404', async () => {
    receiver.respond(() => 200);
    const job = await submitJob(keyed, { data: { steps: 1, stepMs: 0 }, webhook: { url: receiver.url } }, as('key-a'));
    await waitFor(() => doneOf(job.id).length === 1, 'the done');
    const own = await call(keyed, 'GET', `/jobs/${job.id}/webhooks`, { headers: as('key-a') });
    expect(own.status).toBe(200);
    expect((own.body.items as unknown[]).length).toBe(1);
    const other = await call(keyed, 'GET', `/jobs/${job.id}/webhooks`, { headers: as('key-b') });
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({ type: '/problems/job-not-found' });
    expect((await call(keyed, 'GET', `/jobs/${job.id}/webhooks`)).status).toBe(401);
  });

  it('per-key defaults apply to jobs submitted without a webhook; null opts out; a job’s own webhook wins', async () => {
    receiver.respond(() => 200);
    const a = await submitJob(keyed, { data: { steps: 2, stepMs: 0 } }, as('key-a'));
    const b = await submitJob(keyed, { data: { steps: 1, stepMs: 0 } }, as('key-b'));
    const none = await submitJob(keyed, { data: { steps: 1, stepMs: 0 }, webhook: null }, as('key-a'));
    const own = await submitJob(
      keyed,
      { data: { steps: 1, stepMs: 0 }, webhook: { url: `${receiver.url}/own` } },
      as('key-c'),
    );
    expect(a.webhook).toMatchObject({ url: `${receiver.url}/a`, events: ['progress', 'done'] });
    expect(b.webhook).toMatchObject({ url: `${receiver.url}/others`, events: ['done'] });
    expect(none.webhook).toBeUndefined();
    expect(own.webhook).toMatchObject({ url: `${receiver.url}/own` });
    await waitFor(() => [a, b, own].every((j) => doneOf(j.id).length === 1), 'three dones');
    expect(doneOf(a.id)[0]?.path).toBe('/hooks/a');
    expect(doneOf(b.id)[0]?.path).toBe('/hooks/others');
    expect(doneOf(own.id)[0]?.path).toBe('/hooks/own');
    await waitFor(() => forJob(a.id).some((d) => d.payload.type === 'job.progress'), 'a progress for key A');
    expect(forJob(none.id)).toEqual([]);
  });

  it('a defaults file that is not right stops the start with a message that says why', async () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ 'secret-key': { url: 'https://x.example', events: ['nope'] } }));
    const policy = createUrlPolicy({ WEBHOOK_ALLOW_PRIVATE: false, WEBHOOK_ALLOWED_HOSTS: '' });
    expect(() => loadWebhookDefaults(broken, policy)).toThrow(/entry 1: events\.0/);
    expect(() => loadWebhookDefaults(broken, policy)).not.toThrow(/secret-key/);
    expect(() => loadWebhookDefaults(join(dir, 'missing.json'), policy)).toThrow(/WEBHOOK_DEFAULTS_FILE/);
    // A URL the policy refuses is said at start, not as a 422 on every job of its key.
    const refused = join(dir, 'refused.json');
    for (const url of ['ftp://x.example/hook', 'http://hooks.example/plain', 'https://127.0.0.1/local']) {
      writeFileSync(refused, JSON.stringify({ '*': { url } }));
      expect(() => loadWebhookDefaults(refused, policy), url).toThrow(/"\*": its URL is refused: /);
    }
    writeFileSync(refused, JSON.stringify({ '*': { url: 'http://127.0.0.1/local' } }));
    const allowing = createUrlPolicy({ WEBHOOK_ALLOW_PRIVATE: true, WEBHOOK_ALLOWED_HOSTS: '' });
    expect(() => loadWebhookDefaults(refused, allowing)).not.toThrow();
    // A file saved with a byte order mark is read, as bodies and the keys file are.
    const marked = join(dir, 'marked.json');
    writeFileSync(marked, `\ufeff${JSON.stringify({ '*': { url: 'https://hooks.example/jobcast' } })}`);
    expect(loadWebhookDefaults(marked, policy).forOwner(undefined)).toMatchObject({
      url: 'https://hooks.example/jobcast',
    });
  });

  it('/metrics counts deliveries by outcome and attempts by result, their latency, and the queue backlog', async () => {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(/^jobcast_webhook_queue\{state="delayed"\} \d+$/m);
    expect(text).toMatch(/^jobcast_redis_up 1$/m);
    // The in-process worker's registry (as under npm start, where both are served together),
    // after the deliveries of the tests above: delivered, disabled (410), failed, timed out.
    const worker = (await metricsText([workerMetrics()])).text;
    expect(worker).toMatch(/^jobcast_webhook_deliveries_total\{outcome="delivered"\} [1-9]\d*$/m);
    expect(worker).toMatch(/^jobcast_webhook_deliveries_total\{outcome="disabled"\} [1-9]\d*$/m);
    expect(worker).toMatch(/^jobcast_webhook_deliveries_total\{outcome="failed"\} [1-9]\d*$/m);
    expect(worker).toMatch(/^jobcast_webhook_attempts_total\{result="5xx"\} [1-9]\d*$/m);
    expect(worker).toMatch(/^jobcast_webhook_attempts_total\{result="timeout"\} [1-9]\d*$/m);
    expect(worker).toMatch(/^jobcast_webhook_delivery_latency_seconds_count\{event="done"\} [1-9]\d*$/m);
  });

  it('jobcast webhooks <id> lists the deliveries; jobcast get shows the webhook', async () => {
    receiver.respond((_d, attempt) => (attempt === 1 ? 502 : 200));
    const job = await submitJob(h, { data: { steps: 1, stepMs: 0 }, webhook: { url: receiver.url } });
    await waitFor(async () => (await deliveries(job.id)).items[0]?.status === 'delivered', 'delivery', 10_000);
    const bin = new URL('../bin/jobcast.mjs', import.meta.url).pathname;
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, [bin, ...args], {
        env: { ...process.env, JOBCAST_URL: h.url, JOBCAST_API_KEY: '' },
      });
    const table = await run('webhooks', job.id);
    const [header, row] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^WEBHOOK-ID\s+EVENT\s+STATUS\s+ATTEMPTS\s+LAST\s+WHEN\s+ERROR$/);
    expect(row).toMatch(new RegExp(`^${job.id}\\.done\\s+job\\.done\\s+delivered\\s+2\\s+200\\s+delivered \\d{4}-`));
    const json = JSON.parse((await run('webhooks', job.id, '--json')).stdout) as WebhookDeliveries;
    expect(json.items[0]).toMatchObject({ id: `${job.id}.done`, status: 'delivered', attempts: 2 });
    const described = (await run('get', job.id)).stdout;
    expect(described).toMatch(
      /webhook\s+http:\/\/127\.0\.0\.1:\d+\/hooks \[done\] active: 1 delivered, 0 pending, 0 failed/,
    );
  });
});

it('every delivery this file received verifies with standardwebhooks, and carries a stream event', () => {
  expect(receiver.received.length).toBeGreaterThan(50);
  for (const d of receiver.received) {
    expect(verifyWithStandardWebhooks(SECRET, d)).toEqual(d.payload);
    expect(d.payload.type).toMatch(/^job\.(progress|log|done)$/);
    expect(d.payload.timestamp).toBe(d.payload.data.at);
  }
});

const workerMetrics = () => worker.metrics.registry;
