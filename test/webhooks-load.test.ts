/**
 * 1,000 jobs with webhooks (#17), through an API process and a worker process as deployed,
 * to one receiver that fails one first attempt in twenty with a 500: every job's `done` is
 * delivered, nothing is missing, and nothing is duplicated beyond the retries the receiver
 * asked for (counted by `webhook-id`: exactly one 2xx each). Prints delivery latency (from the
 * job's `done` to the receiver) p50/p99 and throughput on this machine — for the burst, where
 * deliveries queue behind each other, and for a steady 50 jobs/s, where they do not.
 */

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, expect, inject, it } from 'vitest';
import { webhookQueueName } from '../src/webhooks/keys.js';
import { waitFor } from './support/harness/harness.js';
import {
  newSecret,
  type Receiver,
  startReceiver,
  verifyWithStandardWebhooks,
} from './support/http/webhook-receiver.js';
import { createFleet } from './support/processes/fleet.js';
import { allowLeaks } from './support/runner/leak-check.js';

// The fleet and the receiver serve both tests and stop in afterAll; the whole-file check applies.
allowLeaks('a fleet and a receiver shared by the tests, stopped in afterAll');

const SECRET = newSecret();
const JOBS = 1_000;
const BATCH = 100;
/** One first attempt in this many is answered 500 (and retried). */
const FAIL_EVERY = 20;

let receiver: Receiver | undefined;
const fleet = createFleet({
  REDIS_URL: inject('redisUrl'),
  WEBHOOK_SECRET: SECRET,
  WEBHOOK_ALLOW_PRIVATE: '1',
  WEBHOOK_RETRY_BASE_MS: '200',
  WORKER_CONCURRENCY: '50',
});
afterAll(async () => {
  await fleet.stopAll();
  await receiver?.stop();
});

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

it(`delivers the done of ${JOBS} jobs: none missing, no duplicate beyond the retries asked for`, async () => {
  let firsts = 0;
  receiver = await startReceiver((_d, attempt) => (attempt === 1 && ++firsts % FAIL_EVERY === 0 ? 500 : 200), 0, {
    keepAlive: true,
  });
  const [api, worker] = await Promise.all([fleet.api(), fleet.worker()]);
  const url = receiver.url;
  const cpu = { api: cpuSeconds(api.pid), worker: cpuSeconds(worker.pid) };

  const started = Date.now();
  const ids: string[] = [];
  for (let b = 0; b < JOBS / BATCH; b++) {
    const res = await fetch(`${api.url}/jobs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jobs: Array.from({ length: BATCH }, () => ({
          type: 'simulate',
          data: { steps: 1, stepMs: 0 },
          webhook: { url },
        })),
      }),
    });
    expect(res.status).toBe(202);
    ids.push(...((await res.json()) as { items: { id: string }[] }).items.map((j) => j.id));
  }
  const submittedMs = Date.now() - started;
  const expected = new Set(ids.map((id) => `${id}.done`));
  const ok = () => receiver?.received.filter((d) => d.answered === 200) ?? [];
  await waitFor(() => new Set(ok().map((d) => d.id)).size >= JOBS, `${JOBS} deliveries`, 90_000);
  // Every delivery settled (none waiting, retrying or in flight): no duplicate can come later.
  const connection = new Redis(inject('redisUrl'));
  const queue = new Queue(webhookQueueName('jobs'), { connection, prefix: `{${fleet.prefix}}` });
  await waitFor(
    async () => Object.values(await queue.getJobCounts('wait', 'delayed', 'active')).every((n) => n === 0),
    'the delivery queue to settle',
  );

  const received = receiver.received;
  const byId = new Map<string, typeof received>();
  for (const d of received) byId.set(d.id, [...(byId.get(d.id) ?? []), d]);
  const unknown = [...byId.keys()].filter((id) => !expected.has(id));
  const missing = [...expected].filter((id) => !byId.get(id)?.some((d) => d.answered === 200));
  const twice = [...byId.values()].filter((all) => all.filter((d) => d.answered === 200).length > 1);
  const failedFirst = received.filter((d) => d.answered === 500).length;
  const latencies = [...byId.values()]
    .map((all) => {
      const success = all.find((d) => d.answered === 200);
      return success ? success.receivedAt - Date.parse(String(success.payload.data.at)) : Number.NaN;
    })
    .sort((a, b) => a - b);
  const direct = [...byId.values()]
    .filter((all) => all.length === 1)
    .map((all) => (all[0]?.receivedAt ?? 0) - Date.parse(String(all[0]?.payload.data.at)))
    .sort((a, b) => a - b);
  const lastAt = Math.max(...ok().map((d) => d.receivedAt));
  const used = { api: cpuSeconds(api.pid) - cpu.api, worker: cpuSeconds(worker.pid) - cpu.worker };
  const bad = received.filter((d) => {
    try {
      verifyWithStandardWebhooks(SECRET, d);
      return false;
    } catch {
      return true;
    }
  });

  // Where the time goes, from BullMQ's own timestamps: done → queued → taken by a worker → received.
  const stages = { queued: [] as number[], waited: [] as number[], sent: [] as number[] };
  for (const [id, all] of [...byId.entries()].filter(([, all]) => all.length === 1)) {
    const job = await queue.getJob(id);
    const first = all[0];
    if (!job?.processedOn || !first) continue;
    stages.queued.push(job.timestamp - Date.parse(String(first.payload.data.at)));
    stages.waited.push(job.processedOn - job.timestamp);
    stages.sent.push(first.receivedAt - job.processedOn);
  }
  await queue.close();
  await connection.quit();
  const median = (values: number[]) =>
    quantile(
      [...values].sort((a, b) => a - b),
      0.5,
    );

  console.log(
    `[webhooks] ${JOBS} jobs with webhooks (1 API + 1 worker process, WEBHOOK_CONCURRENCY 50): submitted in ${submittedMs} ms, ` +
      `all ${JOBS} done delivered ${lastAt - started} ms after the first submission (${Math.round((JOBS * 1000) / (lastAt - started))} deliveries/s); ` +
      `requests ${received.length} = ${JOBS} + ${failedFirst} retried after a 500; missing ${missing.length}, unknown ${unknown.length}, ` +
      `2xx twice ${twice.length}, unverifiable ${bad.length}; latency done→receiver: first-attempt p50 ${quantile(direct, 0.5)} ms, ` +
      `p99 ${quantile(direct, 0.99)} ms; all p50 ${quantile(latencies, 0.5)} ms, p99 ${quantile(latencies, 0.99)} ms, max ${latencies.at(-1)} ms; ` +
      `medians: done → queued ${median(stages.queued)} ms, queued → taken ${median(stages.waited)} ms, taken → received ${median(stages.sent)} ms; ` +
      `CPU: API ${used.api.toFixed(2)} s, worker ${used.worker.toFixed(2)} s (${((used.worker * 1000) / JOBS).toFixed(2)} ms per job, its run and its delivery), ` +
      `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]} on ${availableParallelism()} cores`,
  );
  expect(missing).toEqual([]);
  expect(unknown).toEqual([]);
  expect(twice).toEqual([]);
  expect(bad).toEqual([]);
  expect(failedFirst).toBeGreaterThan(0);
  expect(received.length).toBe(JOBS + failedFirst);
}, 150_000);

it('at a steady 50 jobs/s every done is delivered once (its latency printed)', async () => {
  const api = fleet.members.find((m) => m.kind === 'api');
  const target = receiver;
  if (!api?.url || !target) throw new Error('run after the burst test (it starts the fleet and the receiver)');
  target.respond(() => 200);
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    const next = Date.now() + 20;
    const res = await fetch(`${api.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'simulate', data: { steps: 1, stepMs: 0 }, webhook: { url: target.url } }),
    });
    ids.push(((await res.json()) as { id: string }).id);
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  const done = (id: string) => target.attempts(`${id}.done`).find((d) => d.answered === 200);
  await waitFor(() => ids.every((id) => done(id)), 'every done', 30_000);
  const latencies = ids
    .map((id) => {
      const d = done(id) as (typeof target.received)[number];
      return d.receivedAt - Date.parse(String(d.payload.data.at));
    })
    .sort((a, b) => a - b);
  console.log(
    `[webhooks] steady 50 jobs/s, 100 jobs: latency done→receiver p50 ${quantile(latencies, 0.5)} ms, p99 ${quantile(latencies, 0.99)} ms, max ${latencies.at(-1)} ms`,
  );
  expect(ids.every((id) => target.attempts(`${id}.done`).length === 1)).toBe(true);
}, 60_000);
