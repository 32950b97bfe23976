/**
 * Webhook deliveries survive what kills processes (#17, "at least once, durably"):
 * - a receiver down for a while still gets the `done`, on the default schedule scaled down five
 *   times (WEBHOOK_RETRY_BASE_MS=1000 doubling: attempts at about 0, 1, 3, 7, 15 s; down 6 s, the
 *   default's 30 s outage at the same scale) — the attempt that gets through is the one the
 *   schedule says (the schedule's own numbers, base 5 s, are checked in webhooks-parts.test.ts);
 * - `kill -9` of the worker process mid-retry (one delivery waiting for its next attempt,
 *   another in the middle of one) and of the API process: a new worker (started in the test's
 *   process) delivers both, with the same `webhook-id` as before;
 * - Redis killed with SIGKILL and restarted (append-only, fsync always) mid-retry (API and worker
 *   in the test's process);
 * - and on a Redis Cluster, where each job's delivery list lives in its record's slot (API and
 *   worker in the test's process there).
 * The process tests scale the retry delays down further (WEBHOOK_RETRY_BASE_MS=500) to stay
 * short. Every delivery verifies with `standardwebhooks`.
 */
import { afterAll, describe, inject, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import type { WebhookDeliveries } from '../src/webhooks/schemas.js';
import { type Cleanups, withCleanups } from './support/harness/cleanups.js';
import { startHarness, waitFor } from './support/harness/harness.js';
import { submitJob } from './support/http/api.js';
import {
  newSecret,
  type ReceivedDelivery,
  type Receiver,
  startReceiver,
  verifyWithStandardWebhooks,
} from './support/http/webhook-receiver.js';
import { createFleet, type Fleet, type FleetMember } from './support/processes/fleet.js';
import { childrenLeftBehind } from './support/processes/processes.js';
import { startRedisCluster } from './support/redis/cluster.js';
import { startCrashableRedis } from './support/redis/crashable-redis.js';
import { allowLeaks } from './support/runner/leak-check.js';

const SECRET = newSecret();
const WEBHOOK_ENV = { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: '1' };

// The tests wait on retry schedules, processes and Redis restarts, each on a Redis, key prefix
// and receiver of its own: they run side by side (describe.concurrent). Each test's own
// leftovers then cannot be told apart from the others', so the per-test leak check is off; the
// whole-file check still applies, and so does the check below that no process outlives the file.
allowLeaks('the tests run side by side (describe.concurrent); each stops what it started');
afterAll(async () => {
  await waitFor(() => childrenLeftBehind().length === 0, 'every child process to be gone', 5_000);
});

async function startedReceiver(cleanups: Cleanups): Promise<Receiver> {
  const started = await startReceiver();
  cleanups.push(() => started.stop());
  return started;
}

const submit = async (url: string, body: Parameters<typeof submitJob>[1]) => (await submitJob(url, body)).id;

async function deliveries(url: string, id: string): Promise<WebhookDeliveries> {
  return (await (await fetch(`${url}/jobs/${id}/webhooks`)).json()) as WebhookDeliveries;
}

const doneOf = (receiver: Receiver, id: string) => receiver.attempts(`${id}.done`);
const delivered = (receiver: Receiver, id: string) => doneOf(receiver, id).filter((d) => d.answered === 200);

describe.concurrent('a receiver that is down', () => {
  // The default schedule (base 5 s) at one fifth of its pace, and the outage with it: a receiver
  // down for 30 s on the defaults is this one down for 6 s. Same doublings, same jitter, same
  // attempt through: only the waiting is shorter.
  const SCALE = 5;
  const baseMs = parseConfig({}).WEBHOOK_RETRY_BASE_MS / SCALE;
  const downMs = 30_000 / SCALE;

  it(
    `for ${downMs / 1000} s still gets the done, on the default retry schedule at 1/${SCALE} (base ${baseMs} ms, doubling, jitter)`,
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const receiver = await startedReceiver(cleanups);
        const port = receiver.port;
        await receiver.stop();
        const h = await startHarness({
          env: { ...WEBHOOK_ENV, WEBHOOK_RETRY_BASE_MS: String(baseMs), LOG_LEVEL: 'error' },
        });
        cleanups.push(() => h.close());
        const started = Date.now();
        const id = await submit(h.url, {
          type: 'simulate',
          data: { steps: 1, stepMs: 0 },
          webhook: { url: receiver.url },
        });
        // Down for `downMs` from the job's submission: every attempt meanwhile is refused.
        await waitFor(
          async () => ((await deliveries(h.url, id)).items[0]?.attempts ?? 0) >= 2,
          'two refused attempts',
          20_000,
        );
        const whileDown = (await deliveries(h.url, id)).items[0];
        expect(whileDown).toMatchObject({ status: 'pending', lastError: expect.stringMatching(/ECONNREFUSED/) });
        await new Promise((r) => setTimeout(r, Math.max(0, downMs - (Date.now() - started))));
        await receiver.start();
        expect(receiver.port).toBe(port);
        const upAt = Date.now();
        await waitFor(() => delivered(receiver, id).length === 1, 'the done after the receiver came back', 30_000);
        const [got] = delivered(receiver, id) as [ReceivedDelivery];
        verifyWithStandardWebhooks(SECRET, got);
        expect(got.id).toBe(`${id}.done`);
        const history = (await deliveries(h.url, id)).items[0];
        expect(history).toMatchObject({ status: 'delivered', lastResponseCode: 200 });
        // 0, ~1, ~3, ~7 (, ~15) × base: the attempt that got through is the first after the outage.
        const attempts = history?.attempts ?? 0;
        expect(attempts).toBeGreaterThanOrEqual(4);
        expect(attempts).toBeLessThanOrEqual(5);
        console.log(
          `[webhooks] receiver down ${downMs / 1000} s, base ${baseMs} ms: delivered ${((got.receivedAt - started) / 1000).toFixed(1)} s after submission, ` +
            `${((got.receivedAt - upAt) / 1000).toFixed(1)} s after the receiver came back, on attempt ${attempts}`,
        );
      }),
    60_000,
  );
});

function fleetOn(cleanups: Cleanups, env: Record<string, string> & { REDIS_URL: string }): Fleet {
  const fleet = createFleet({
    ...WEBHOOK_ENV,
    WEBHOOK_RETRY_BASE_MS: '500',
    WORKER_LOCK_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    ...env,
  });
  cleanups.push(() => fleet.stopAll());
  return fleet;
}

describe.concurrent('processes killed mid-retry', () => {
  it(
    'kill -9 of the worker (one delivery between attempts, one mid-attempt) and of the API loses nothing',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const receiver = await startedReceiver(cleanups);
        const fleet = fleetOn(cleanups, { REDIS_URL: inject('redisUrl') });
        const [api, worker] = (await Promise.all([fleet.api(), fleet.worker()])) as [FleetMember, FleetMember];
        // `waiting` fails until told otherwise; `hanging` hangs on its first attempt.
        let healthy = false;
        const ids: { waiting?: string; hanging?: string } = {};
        receiver.respond((d, attempt) => {
          if (healthy) return 200;
          if (d.id === `${ids.hanging}.done` && attempt === 1) return 'hang';
          return 500;
        });
        ids.waiting = await submit(api.url as string, {
          type: 'simulate',
          data: { steps: 1, stepMs: 0 },
          webhook: { url: receiver.url },
        });
        await waitFor(() => doneOf(receiver, ids.waiting as string).length >= 2, 'two failed attempts');
        ids.hanging = await submit(api.url as string, {
          type: 'simulate',
          data: { steps: 1, stepMs: 0 },
          webhook: { url: receiver.url },
        });
        await waitFor(() => doneOf(receiver, ids.hanging as string).length === 1, 'an attempt in flight');

        const before = {
          waiting: doneOf(receiver, ids.waiting).length,
          hanging: doneOf(receiver, ids.hanging).length,
        };
        await worker.kill9();
        await api.kill9();
        healthy = true;
        // A new worker and API, in this process (what is killed above are processes; these two are
        // only what comes after them): no state but Redis, on the fleet's prefix and queue.
        const api2 = await startHarness({ redisUrl: fleet.env.REDIS_URL as string, env: { ...fleet.env } });
        cleanups.push(() => api2.close());
        await waitFor(
          () =>
            delivered(receiver, ids.waiting as string).length === 1 &&
            delivered(receiver, ids.hanging as string).length === 1,
          'both dones delivered by the new worker',
          20_000,
        );
        for (const id of [ids.waiting, ids.hanging] as string[]) {
          const all = doneOf(receiver, id);
          // One webhook-id across every attempt, before and after the kill; one 2xx.
          expect(new Set(all.map((d) => d.id))).toEqual(new Set([`${id}.done`]));
          expect(new Set(all.map((d) => d.body)).size).toBe(1);
          for (const d of all) verifyWithStandardWebhooks(SECRET, d);
          const listed = await deliveries(api2.url as string, id);
          expect(listed.items[0]).toMatchObject({ status: 'delivered', lastResponseCode: 200 });
        }
        console.log(
          `[webhooks] kill -9 worker + API mid-retry: attempts before the kill ${JSON.stringify(before)}, ` +
            `after ${JSON.stringify({ waiting: doneOf(receiver, ids.waiting).length, hanging: doneOf(receiver, ids.hanging).length })}; both delivered`,
        );
      }),
    60_000,
  );

  it(
    'Redis killed with SIGKILL and restarted (append-only) mid-retry: the done is still delivered',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const receiver = await startedReceiver(cleanups);
        const redis = await startCrashableRedis();
        cleanups.push(() => redis.stop());
        // API and worker in this process: what is killed is Redis.
        const api = await startHarness({
          redisUrl: redis.url,
          env: {
            ...WEBHOOK_ENV,
            WEBHOOK_RETRY_BASE_MS: '500',
            WORKER_LOCK_MS: '10000',
            WORKER_STALLED_INTERVAL_MS: '1000',
          },
        });
        cleanups.push(() => api.close());
        let healthy = false;
        receiver.respond(() => (healthy ? 200 : 500));
        const id = await submit(api.url as string, {
          type: 'simulate',
          data: { steps: 1, stepMs: 0 },
          webhook: { url: receiver.url, events: ['progress', 'done'] },
        });
        await waitFor(() => doneOf(receiver, id).length >= 2, 'two failed attempts');
        await redis.kill9();
        await new Promise((r) => setTimeout(r, 1_000));
        await redis.restart();
        healthy = true;
        await waitFor(() => delivered(receiver, id).length === 1, 'the done after Redis came back', 30_000);
        expect(new Set(doneOf(receiver, id).map((d) => d.id)).size).toBe(1);
        await waitFor(
          () => receiver.received.some((d) => d.payload.type === 'job.progress' && d.answered === 200),
          'the progress too',
          10_000,
        );
        for (const d of receiver.received) verifyWithStandardWebhooks(SECRET, d);
      }),
    60_000,
  );
});

describe.concurrent('on a Redis Cluster', () => {
  it(
    'delivers the events of jobs whose records live on every shard, and lists them',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const receiver = await startedReceiver(cleanups);
        const cluster = await startRedisCluster();
        cleanups.push(() => cluster.stop());
        // API and worker in this process: where the deliveries live is the point, not a process.
        const api = await startHarness({
          redisUrl: cluster.url,
          env: { ...WEBHOOK_ENV, WEBHOOK_RETRY_BASE_MS: '500', REDIS_CLUSTER: '1' },
        });
        cleanups.push(() => api.close());
        receiver.respond((_d, attempt) => (attempt === 1 ? 500 : 200));
        const submitOne = () =>
          submit(api.url as string, {
            type: 'simulate',
            data: { steps: 3, stepMs: 100 },
            webhook: { url: receiver.url, events: ['progress', 'done'] },
          });
        const shardOf = async (id: string) =>
          (await cluster.nodeOfSlot(await cluster.keySlot(`${api.config.KEY_PREFIX}:{${id}}`))).port;
        const ids = await Promise.all(Array.from({ length: 6 }, submitOne));
        const shards = new Set(await Promise.all(ids.map(shardOf)));
        // Ids are random: six all land on one of three shards once in 243 runs. Submit more until
        // the records span two shards, which is what this test is about.
        while (shards.size < 2 && ids.length < 30) {
          const id = await submitOne();
          ids.push(id);
          shards.add(await shardOf(id));
        }
        expect(shards.size).toBeGreaterThan(1);
        await waitFor(
          () => ids.every((id) => delivered(receiver, id).length === 1),
          'every done, after a retry each',
          30_000,
        );
        for (const id of ids) {
          const listed = await deliveries(api.url as string, id);
          expect(listed.items.find((i) => i.type === 'job.done')).toMatchObject({ status: 'delivered', attempts: 2 });
        }
        for (const d of receiver.received) verifyWithStandardWebhooks(SECRET, d);
      }),
    60_000,
  );
});
