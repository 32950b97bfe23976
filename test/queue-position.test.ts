/**
 * Queue positions (README, "Queue position and expected start"): while a job waits, its
 * watchers see its place in BullMQ's line (1 = next) move as the jobs ahead start, without
 * polling; the resource says the same; the order is BullMQ's own (the wait list first in
 * arrival order, then due delayed jobs, then prioritized ones; a job still in its delay has no
 * place, only the time it is due); the expected start comes from recent run times and the
 * workers' slots. And what it costs: Redis work per second with 10,000 jobs queued, measured on
 * a private redis-server, independent of how many clients watch.
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { StartTimes, slotsFree } from '../src/jobs/queue-positions.js';
import { createLogger } from '../src/log.js';
import { startApi } from '../src/server.js';
import { type RunningWorker, startWorker } from '../workers/runner.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { call, getJob, submitJob } from './support/http/api.js';
import { type PrivateRedis, startPrivateRedis } from './support/redis/private-redis.js';
import { type LiveWatch, liveWatch } from './support/sse/live-watch.js';
import type { ReceivedEvent } from './support/sse/sse.js';

/** The queue positions a watcher saw, in order, without repeats. */
const positions = (events: ReceivedEvent[]) =>
  events
    .filter((e) => e.type === 'progress' && e.data.state === 'queued' && e.data.queuePosition !== undefined)
    .map((e) => e.data.queuePosition as number)
    .filter((p, i, all) => i === 0 || all[i - 1] !== p);

describe('queue positions with one worker and 5 queued jobs', () => {
  let h: Harness;
  let worker: RunningWorker | undefined;
  beforeAll(async () => {
    // The worker starts once the jobs are queued: the test knows where each one stands.
    h = await startHarness({ worker: false, env: { WORKER_CONCURRENCY: '1', PROGRESS_TICK_MS: '100' } });
  });
  afterEach(async () => {
    await worker?.close();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('counts down 5, 4, 3, 2, 1 as the jobs ahead start, each watcher seeing its own', async () => {
    // Six jobs of half a second each: the first will run, five wait behind it.
    const jobs = [];
    for (let i = 0; i < 6; i++) jobs.push(await submitJob(h, { data: { steps: 2, stepMs: 250 } }));
    const queued = jobs.slice(1);
    const watches: LiveWatch[] = queued.map((job) => liveWatch(`${h.url}/jobs/${job.id}/events`));
    try {
      // The resource says where each stands too (the first job is #1 until the worker comes).
      const places = await Promise.all(jobs.map(async (job) => (await getJob(h, job.id)).queuePosition));
      expect(places).toEqual([1, 2, 3, 4, 5, 6]);
      await Promise.all(watches.map((w, i) => w.next((e) => e.data.queuePosition === i + 2, 5_000)));
      worker = await startWorker(h.config, h.redisUrl, createLogger('error', {}, 'json'));
      await Promise.all(watches.map((w) => w.done(30_000)));
      watches.forEach((w, i) => {
        const expected = Array.from({ length: i + 2 }, (_, k) => i + 2 - k);
        expect(positions(w.events), `job ${i + 2}`).toEqual(expected);
        // A place is a progress event of the queued state: the same id as that state.
        const queuedIds = new Set(w.events.filter((e) => e.data.state === 'queued').map((e) => e.id));
        expect(queuedIds.size, `job ${i + 2}`).toBe(1);
        // No place once it runs.
        for (const e of w.events.filter((e) => e.data.state !== 'queued')) expect(e.data.queuePosition).toBeUndefined();
      });
      // Once a run time was known (the first job's), the last job's expected start came within
      // half its wait of the real one.
      const last = watches[4] as LiveWatch;
      const estimate = last.events.find((e) => e.data.expectedStartAt !== undefined && e.data.state === 'queued');
      const started = last.events.find((e) => e.data.state === 'active');
      expect(estimate, 'an expected start for the last job').toBeDefined();
      const predicted = Date.parse(estimate?.data.expectedStartAt as string);
      const real = Date.parse(started?.data.at as string);
      const firstDone = Date.parse((await getJob(h, (jobs[0] as { id: string }).id)).finishedAt as string);
      console.log(
        `expected start of the 6th job, estimated when the 1st finished: in ${predicted - firstDone} ms; it started after ${real - firstDone} ms`,
      );
      expect(Math.abs(predicted - real)).toBeLessThanOrEqual(Math.max(500, 0.5 * (real - firstDone)));
    } finally {
      for (const w of watches) w.close();
    }
  });
});

describe('the expected start', () => {
  let h: Harness;
  let worker: RunningWorker | undefined;
  beforeAll(async () => {
    h = await startHarness({ worker: false, env: { WORKER_CONCURRENCY: '1', PROGRESS_TICK_MS: '100' } });
    worker = await startWorker(h.config, h.redisUrl, createLogger('error', {}, 'json'));
  });
  afterAll(async () => {
    await worker?.close();
    await h?.close();
  });

  it('is when the job ahead is expected to end: it stays put as time passes, not a fixed wait from each read', async () => {
    // Recent runs of this type took 10 s, as a running fleet leaves them; this one takes 4 s, so
    // it ends before its mean even on a busy machine (past it, the estimate would become "now").
    const inspect = new Redis(h.redisUrl);
    await inspect.lpush(`${h.config.KEY_PREFIX}:runtimes:simulate`, 10_000, 10_000);
    inspect.disconnect();
    const running = await submitJob(h, { data: { steps: 8, stepMs: 500 } });
    await waitFor(async () => (await getJob(h, running.id)).state === 'active', 'the first job to run');
    const startedAt = Date.parse((await getJob(h, running.id)).startedAt as string);
    const queued = await submitJob(h, { data: { steps: 1, stepMs: 0 } });
    const watcher = liveWatch(`${h.url}/jobs/${queued.id}/events`);
    try {
      const firstRead = Date.now();
      const first = (await getJob(h, queued.id)).expectedStartAt;
      expect(first, 'an expected start').toBeDefined();
      // Next in line behind the one slot's job: it starts when that job is expected to end.
      expect(Math.abs(Date.parse(first as string) - (startedAt + 10_000))).toBeLessThanOrEqual(250);
      await waitFor(() => Date.now() - firstRead >= 1_500, 'a second and a half to pass');
      const later = (await getJob(h, queued.id)).expectedStartAt;
      expect(Math.abs(Date.parse(later as string) - Date.parse(first as string))).toBeLessThanOrEqual(100);
      // A watcher was told it once, not again at every tick with the time pushed back.
      await watcher.done(20_000);
      const told = new Set(
        watcher.events
          .filter((e) => e.data.state === 'queued' && e.data.expectedStartAt !== undefined)
          .map((e) => e.data.expectedStartAt),
      );
      expect([...told]).toHaveLength(1);
    } finally {
      watcher.close();
    }
  });
});

describe('the line played forward', () => {
  const now = 1_000_000;
  const runTimeMs = new Map([
    ['short', 1_000],
    ['long', 10_000],
  ]);

  it('frees a slot when its job is expected to end: idle now, past its mean now, not read half done', () => {
    const running = [
      { type: 'long', startedAt: now - 4_000 }, // 6 s left
      { type: 'short', startedAt: now - 3_000 }, // past its mean: any moment
      { type: 'unknown', startedAt: now - 1_000 }, // no run time of its own: the asked type's
      { type: 'short', startedAt: undefined }, // no start read: half done
    ];
    const ends = slotsFree({ slots: 6, active: 5, running, runTimeMs, now }, 2_000);
    // 5 running (one beyond those read: half done), 1 idle.
    expect(ends).toEqual([now, now, now + 500, now + 1_000, now + 1_000, now + 6_000]);
  });

  it('gives the p-th job the p-th slot to free, each slot then busy for the run time', () => {
    const line = new StartTimes([0, 1_000], 3_000);
    expect([1, 2, 3, 4, 5, 6].map((p) => line.at(p))).toEqual([0, 1_000, 3_000, 4_000, 6_000, 7_000]);
    // Asked in any order, the same answers.
    expect([4, 1, 6].map((p) => line.at(p))).toEqual([4_000, 0, 7_000]);
    // A slot whose job ends late is overtaken by the others' turns.
    const skewed = new StartTimes([0, 10_000], 3_000);
    expect([1, 2, 3, 4, 5].map((p) => skewed.at(p))).toEqual([0, 3_000, 6_000, 9_000, 10_000]);
    // Far back, S jobs start per run time.
    expect(line.at(100_000)).toBeCloseTo(line.at(20_000) + 80_000 * 1_500, 6);
  });
});

describe("the order is BullMQ's", () => {
  let h: Harness;
  beforeAll(async () => {
    // No worker: nothing moves until the test says so.
    h = await startHarness({ worker: false, env: { PROGRESS_TICK_MS: '100' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const place = async (id: string) => {
    const job = await getJob(h, id);
    return { queuePosition: job.queuePosition, expectedStartAt: job.expectedStartAt };
  };

  it('the wait list in arrival order, then due delayed jobs, then prioritized ones; delayed ones only say when', async () => {
    const a = await submitJob(h, {});
    const b = await submitJob(h, {});
    const p = await submitJob(h, { options: { priority: 1 } });
    const c = await submitJob(h, {});
    const delayed = await submitJob(h, { options: { delayMs: 60_000 } });
    const soon = await submitJob(h, { options: { delayMs: 200 } });
    expect((await place(a.id)).queuePosition).toBe(1);
    expect((await place(b.id)).queuePosition).toBe(2);
    expect((await place(c.id)).queuePosition).toBe(3);
    expect(await place(delayed.id)).toEqual({ queuePosition: undefined, expectedStartAt: delayed.runAt });
    // Due in a moment: then it counts after the wait list, before the prioritized job.
    await waitFor(async () => (await place(soon.id)).queuePosition === 4, 'the delayed job to be due');
    expect((await place(p.id)).queuePosition).toBe(5);
    // A watcher sees the same, and the move when a job ahead leaves the line.
    const w = liveWatch(`${h.url}/jobs/${p.id}/events`);
    try {
      await w.next((e) => e.data.queuePosition === 5, 5_000);
      expect((await call(h, 'POST', `/jobs/${b.id}/cancel`)).status).toBe(202);
      await w.next((e) => e.data.queuePosition === 4, 5_000);
      expect((await place(c.id)).queuePosition).toBe(2);
    } finally {
      w.close();
    }
    // And BullMQ agrees: a plain BullMQ worker takes them in that order.
    const connection = new Redis(h.redisUrl, { maxRetriesPerRequest: null });
    const taken: string[] = [];
    const worker = new Worker(
      h.config.QUEUE_NAME,
      async (job) => {
        taken.push(job.id as string);
      },
      { connection, prefix: `{${h.config.KEY_PREFIX}}`, concurrency: 1 },
    );
    try {
      await waitFor(() => taken.length === 4, 'the four due jobs to be taken');
      expect(taken).toEqual([a.id, c.id, soon.id, p.id]);
    } finally {
      await worker.close();
      connection.disconnect();
    }
  });
});

describe('a queued job re-read while it waits', () => {
  let h: Harness;
  beforeAll(async () => {
    // No worker: the job stays queued. No quiet-job timer during the test (an hour's lock period):
    // the test makes the hub's re-reads itself.
    h = await startHarness({ worker: false, env: { PROGRESS_TICK_MS: '100', WORKER_LOCK_MS: '3600000' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('restates its place once, not again at every re-read of a live stream', async () => {
    const job = await submitJob(h, { data: { steps: 1, stepMs: 0 } });
    const watcher = liveWatch(`${h.url}/jobs/${job.id}/events`);
    try {
      await watcher.next((e) => e.data.queuePosition === 1, 10_000);
      for (let i = 0; i < 3; i++) {
        h.api.hub.resync([job.id]);
        // The re-read goes on the command connection: a read after it is answered after it.
        await getJob(h, job.id);
      }
      expect((await call(h, 'POST', `/jobs/${job.id}/cancel`)).status).toBe(202);
      await watcher.done(10_000);
      const placed = watcher.events.filter((e) => e.type === 'progress' && e.data.queuePosition !== undefined);
      expect(placed.map((e) => e.data.queuePosition)).toEqual([1]);
    } finally {
      watcher.close();
    }
  });
});

/** Redis's own counters: commands by name, bytes in and out, CPU seconds. */
async function redisCounters(redis: Redis) {
  const info = await redis.info('all');
  const commands = new Map<string, number>();
  for (const [, name, calls] of info.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm))
    commands.set(name as string, Number(calls));
  const stat = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return {
    at: performance.now(),
    commands,
    bytesIn: stat('total_net_input_bytes'),
    bytesOut: stat('total_net_output_bytes'),
    cpuSeconds: stat('used_cpu_user') + stat('used_cpu_sys'),
  };
}

interface Cost {
  seconds: number;
  /** Commands Redis ran, by name (those inside scripts included), INFO set aside. */
  commands: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  cpuSeconds: number;
}

/** What Redis did over `ms`. */
async function costOver(redis: Redis, ms: number): Promise<Cost> {
  const before = await redisCounters(redis);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await redisCounters(redis);
  const commands: Record<string, number> = {};
  for (const [name, calls] of after.commands) {
    const delta = calls - (before.commands.get(name) ?? 0);
    if (name !== 'info' && delta > 0) commands[name] = delta;
  }
  return {
    seconds: (after.at - before.at) / 1000,
    commands,
    bytesIn: after.bytesIn - before.bytesIn,
    bytesOut: after.bytesOut - before.bytesOut,
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
  };
}

/**
 * Per second, with what an idle window measured (the INFO calls themselves, Redis's own
 * housekeeping) taken out: round trips (script calls and plain commands; the commands a
 * script runs inside Redis are listed apart), bytes and CPU.
 */
function perSecond(cost: Cost, idle: Cost, insideScripts: (commands: Record<string, number>) => number) {
  const all = Object.values(cost.commands).reduce((a, b) => a + b, 0);
  const inside = insideScripts(cost.commands);
  return {
    roundTrips: (all - inside) / cost.seconds,
    insideScripts: inside / cost.seconds,
    bytesIn: (cost.bytesIn - idle.bytesIn) / cost.seconds,
    bytesOut: (cost.bytesOut - idle.bytesOut) / cost.seconds,
    cpuMs: ((cost.cpuSeconds - (idle.cpuSeconds / idle.seconds) * cost.seconds) * 1000) / cost.seconds,
  };
}

describe('what queue positions cost with 10,000 jobs queued', () => {
  let redis: PrivateRedis;
  let api: Awaited<ReturnType<typeof startApi>>;
  let inspect: Redis;
  const prefix = `q${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    const config = parseConfig({
      PORT: '0',
      KEY_PREFIX: prefix,
      LOG_LEVEL: 'error',
      RATE_LIMIT_PER_MINUTE: '0',
      READ_RATE_LIMIT_PER_MINUTE: '0',
      MAX_STREAMS_PER_CLIENT: '0',
      // The reconcilers (every unfinished job, and watched quiet ones every lock period) read
      // jobs too: not what is measured here.
      RECONCILE_INTERVAL_MS: '3600000',
      WORKER_LOCK_MS: '3600000',
    });
    api = await startApi(config, redis.url, createLogger('error', {}, 'json'));
    inspect = new Redis(redis.url);
  });
  afterAll(async () => {
    inspect?.disconnect();
    await api?.close();
    await redis?.stop();
  });

  // Each measuring window holds three ticks (PROGRESS_TICK_MS 1000) or four: a script call per
  // watcher instead of per tick would show as 5 or 100 calls a second, far above the bound.
  const WINDOW_MS = 3_000;

  it('one script call per tick per API process, whatever the number of watchers', async () => {
    // 10,000 jobs ahead, straight into BullMQ (their records play no part in the order).
    const queue = new Queue('jobs', { connection: inspect, prefix: `{${prefix}}` });
    for (let i = 0; i < 10; i++) {
      await queue.addBulk(Array.from({ length: 1_000 }, () => ({ name: 'simulate', data: {} })));
    }
    // A worker of 10 slots announced, and recent run times of 2 s, as a running fleet leaves them.
    await inspect.zadd(`${prefix}:workers`, Date.now() + 3_600_000, 'w1:10');
    await inspect.lpush(`${prefix}:runtimes:simulate`, 2_000, 2_000);
    const submit = async () => {
      const res = await fetch(`${api.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'simulate' }),
      });
      return ((await res.json()) as { id: string }).id;
    };
    const watched = [];
    for (let i = 0; i < 5; i++) watched.push(await submit());
    expect(await queue.count()).toBe(10_005);
    await queue.close();

    const idle = await costOver(inspect, 3_000);
    const open = (ids: string[], each: number) =>
      ids.flatMap((id) => Array.from({ length: each }, () => liveWatch(`${api.url}/jobs/${id}/events`)));
    const streams = open(watched, 1);
    try {
      await Promise.all(streams.map((w) => w.next((e) => e.data.queuePosition !== undefined, 10_000)));
      expect((streams.at(-1) as LiveWatch).events.at(-1)?.data.queuePosition).toBe(10_005);
      expect((streams.at(-1) as LiveWatch).events.at(-1)?.data.expectedStartAt).toBeDefined();
      const five = await costOver(inspect, WINDOW_MS);
      streams.push(...open(watched, 19));
      await Promise.all(streams.map((w) => w.live(10_000)));
      const hundredStreams = await costOver(inspect, WINDOW_MS);
      for (let i = 0; i < 95; i++) watched.push(await submit());
      streams.push(...open(watched.slice(5), 1));
      await Promise.all(streams.map((w) => w.next((e) => e.data.queuePosition !== undefined, 10_000)));
      const hundredJobs = await costOver(inspect, WINDOW_MS);
      // Inside the position script: 2 LLEN, 1 ZCOUNT, an LRANGE of the running jobs and an
      // HMGET per running job (none here), then per job an LPOS (or one LRANGE for all, past 16
      // jobs), and ZSCORE/ZRANK for jobs not in the wait list.
      const inside = (c: Record<string, number>) =>
        (c.llen ?? 0) +
        (c.zcount ?? 0) +
        (c.lpos ?? 0) +
        (c.zscore ?? 0) +
        (c.zrank ?? 0) +
        (c.hmget ?? 0) +
        Math.min(c.lrange ?? 0, 2 * (c.evalsha ?? 0));
      const line = (what: string, c: Cost) => {
        const p = perSecond(c, idle, (commands) => (commands.evalsha ? inside(commands) : 0));
        return `${what}: ${p.roundTrips.toFixed(2)} round trips/s (+ ${p.insideScripts.toFixed(1)} commands/s inside the script), ${Math.round(p.bytesIn)} B/s in, ${Math.round(p.bytesOut)} B/s out, Redis CPU ${p.cpuMs.toFixed(1)} ms/s — ${JSON.stringify(c.commands)}`;
      };
      console.log(
        [
          'queue positions with 10,000 jobs queued, PROGRESS_TICK_MS 1000, one API process:',
          line('  5 queued jobs watched, 1 stream each', five),
          line('  5 queued jobs watched, 20 streams each', hundredStreams),
          line('  100 queued jobs watched, 1 stream each', hundredJobs),
        ].join('\n'),
      );
      const trips = (c: Cost) => perSecond(c, idle, inside).roundTrips;
      // One position script per tick (plus the capacity, read every 5 s): 1 to 1.7 round trips/s.
      expect(trips(five)).toBeLessThanOrEqual(2.5);
      // Twenty times the watchers cost no more.
      expect(trips(hundredStreams)).toBeLessThanOrEqual(2.5);
      // Twenty times the watched jobs: still one call per tick (larger, not more).
      expect(trips(hundredJobs)).toBeLessThanOrEqual(2.5);
    } finally {
      for (const w of streams) w.close();
    }
    // 12 s of measuring windows: 60 s leaves room for a busy machine.
  }, 60_000);
});
