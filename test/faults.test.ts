/**
 * Faults, with real processes and `kill -9` (DESIGN: "Nothing lost"): no shutdown code runs,
 * sockets are reset by the kernel, whatever was not in Redis is gone.
 * - A worker killed mid-job (the API in this process): BullMQ's stalled-job check (WORKER_LOCK_MS / WORKER_STALLED_INTERVAL_MS)
 *   gives the job to the other worker, it completes there, and every watcher opened before the
 *   kill gets exactly one `done`.
 * - Redis killed and restarted (append-only, `appendfsync always`): every job accepted with 202
 *   reaches a terminal state, and every open stream (reconnecting with Last-Event-ID if it is
 *   dropped) gets exactly one `done`.
 *   While it is down the API answers at once: /readyz 503, a submission 503 (and nothing kept);
 *   the outage is logged as JSON lines like everything else. Down for longer than the job locks
 *   (API and worker in this process: what is killed is Redis): each job re-runs once, never
 *   twice at a time.
 * - An API process killed: its clients (real EventSource, behind a proxy that moves them to the
 *   other API, as a load balancer would) resume there with Last-Event-ID: ids strictly
 *   increasing across both connections, exactly one `done` (the worker in this process).
 * - The API's subscriber connection dropped at the instant a job's `done` is published: the
 *   hub re-reads the job once re-subscribed, and the watcher still gets its one `done` (the
 *   single-Redis counterpart of the same check in cluster.test.ts; API and worker in this
 *   process: the point is the connection).
 * Each test prints its figures: jobs lost, `done` events missed, recovery time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { doneData } from '../src/jobs/events.js';
import { jobKeys } from '../src/jobs/keys.js';
import { finishLua } from '../src/jobs/scripts/finish.js';
import { createLogger } from '../src/log.js';
import { startWorker } from '../workers/runner.js';
import { type Cleanups, withCleanups } from './support/harness/cleanups.js';
import { startHarness, waitFor } from './support/harness/harness.js';
import { findJob, submitJob, type Target } from './support/http/api.js';
import { startTcpProxy } from './support/http/tcp-proxy.js';
import { createFleet, type Fleet, type FleetMember } from './support/processes/fleet.js';
import { childrenLeftBehind } from './support/processes/processes.js';
import { startCrashableRedis } from './support/redis/crashable-redis.js';
import { startPrivateRedis } from './support/redis/private-redis.js';
import { startMonitor } from './support/redis/redis-monitor.js';
import { allowLeaks } from './support/runner/leak-check.js';
import { RecordingSource, type SourceEvent } from './support/sse/recording-source.js';
import { expectIncreasingIds } from './support/sse/sse.js';

// The tests wait on processes, timers and Redis restarts, each with a redis-server of its own:
// they run side by side (describe.concurrent), which takes the file from about the sum of its
// tests to about its longest. Each test's own leftovers then cannot be told apart from the
// others', so the per-test leak check is off; the whole-file check still applies, and so does
// the check below that no process outlives the file.
allowLeaks('the tests run side by side (describe.concurrent); each stops what it started');

// Nothing left behind: no API, worker or redis-server process outlives the file.
afterAll(async () => {
  await waitFor(() => childrenLeftBehind().length === 0, 'every child process to be gone', 5_000).catch(() => {
    throw new Error(`processes left behind: ${JSON.stringify(childrenLeftBehind())}`);
  });
});

function fleetOn(cleanups: Cleanups, env: Record<string, string> & { REDIS_URL: string }): Fleet {
  const fleet = createFleet({ SSE_RETRY_MS: '200', LOG_FORMAT: 'json', ...env });
  cleanups.push(() => fleet.stopAll());
  return fleet;
}

function source(cleanups: Cleanups, url: string): RecordingSource {
  const s = new RecordingSource(url);
  cleanups.push(() => s.close());
  return s;
}

const submit = async (api: Target, data: Record<string, unknown>) => (await submitJob(api, { data })).id;

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const dones = (s: RecordingSource) => s.events.filter((e) => e.type === 'done');
const trail = (events: readonly SourceEvent[]) =>
  events.map((e) =>
    e.type === 'done'
      ? `${e.id}:done:${e.data.status}${e.data.error ? `(${e.data.error})` : ''}`
      : `${e.id}:${e.type}:${e.data.state}@${e.data.attempt ?? ''}/${e.data.progress ?? ''}`,
  );

/** Polls GET /jobs/{id} until every job is terminal; returns the last state seen of each. */
async function terminalStates(api: Target, ids: string[], timeoutMs: number): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  await waitFor(
    async () => {
      await Promise.all(
        ids.map(async (id) => {
          const job = await findJob(api, id);
          if (job) states.set(id, String(job.state));
        }),
      );
      return ids.every((id) => TERMINAL.has(states.get(id) ?? ''));
    },
    'every job to finish',
    timeoutMs,
  ).catch((error: Error) => {
    error.message += `; states ${JSON.stringify(countStates(states))}`;
    throw error;
  });
  return states;
}

function countStates(states: Map<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const state of states.values()) counts[state] = (counts[state] ?? 0) + 1;
  return counts;
}

function isJsonLine(line: string): boolean {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
}

/** Waits a little past `done`: a second one, or a reconnection that is not refused with 204, would show. */
async function settle(sources: RecordingSource[]): Promise<void> {
  await sleep(600);
  for (const s of sources) s.close();
}

describe.concurrent('a worker killed with SIGKILL mid-job', () => {
  it(
    'hands the job to the other worker, which completes it; watchers get exactly one done',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const redis = await startPrivateRedis();
        cleanups.push(() => redis.stop());
        const fleet = fleetOn(cleanups, {
          REDIS_URL: redis.url,
          WORKER_LOCK_MS: '2000',
          WORKER_STALLED_INTERVAL_MS: '1000',
        });
        const startedAt = Date.now();
        // The workers are processes (one is killed); the API they share runs in this process.
        const [api] = await Promise.all([
          startHarness({ redisUrl: redis.url, worker: false, env: { ...fleet.env, LOG_LEVEL: 'error' } }),
          fleet.worker(),
          fleet.worker(),
        ]);
        cleanups.push(() => api.close());
        const startupMs = Date.now() - startedAt;
        const workers = fleet.members.filter((m) => m.kind === 'worker');
        // Watching Redis from before the job exists: the worker that takes it is known from its
        // very first report, while the job has most of its 3 s still to run.
        const monitor = await startMonitor(redis.url);
        cleanups.push(() => monitor.stop());

        const id = await submit(api, { steps: 30, stepMs: 100 });
        const watchers = [0, 1, 2].map(() => source(cleanups, `${api.url}/jobs/${id}/events`));
        // Which worker runs it: the one whose Redis connection reports its state.
        const pid = await monitor.sender(
          `{${id}}`,
          workers.map((w) => w.pid),
          10_000,
        );
        // Known: every command from here on (the re-run's included) would only be parsed and dropped.
        monitor.stop();
        const victim = workers.find((w) => w.pid === pid) as FleetMember;
        const survivor = workers.find((w) => w !== victim) as FleetMember;
        const before = (await findJob(api, id)) as Record<string, unknown>;
        const progressAtKill = Number(before.progress);
        const attemptAtKill = Number(before.attempts);
        expect(before.state, 'the job must still be running when its worker is killed').toBe('active');

        const killedAt = Date.now();
        await victim.kill9();
        // Done within: lock expiry (2 s) + a stalled check (1 s) + a full re-run (3 s) + margin.
        await Promise.all(watchers.map((w) => w.until((s) => dones(s).length > 0, 'done after the kill', 20_000)));
        await settle(watchers);
        const doneAt = Math.max(...watchers.map((w) => (dones(w)[0] as SourceEvent).at));
        const rerun = watchers[0]?.events.find(
          (e) =>
            e.at >= killedAt &&
            e.type === 'progress' &&
            e.data.state === 'active' &&
            Number(e.data.attempt) > attemptAtKill,
        );

        const after = (await findJob(api, id)) as Record<string, unknown>;
        const missed = watchers.filter((w) => dones(w).length === 0).length;
        console.log(
          `[faults] worker kill -9 (2 workers started in ${startupMs} ms): killed ${victim.name} at ${progressAtKill}% (attempt ${attemptAtKill}); ` +
            `re-run (attempt ${rerun?.data.attempt ?? '-'}) started ${rerun ? rerun.at - killedAt : '-'} ms after the kill, ` +
            `done ${doneAt - killedAt} ms after; jobs lost ${after.state === 'completed' ? 0 : 1}, done events missed ${missed}/${watchers.length}`,
        );

        expect(after).toMatchObject({ id, state: 'completed', progress: 100, result: { steps: 30 } });
        expect(Number(after.attempts)).toBeGreaterThan(attemptAtKill);
        expect(
          rerun,
          `no progress of a new attempt after the kill: ${JSON.stringify(trail(watchers[0]?.events ?? []))}`,
        ).toBeDefined();
        for (const [i, w] of watchers.entries()) {
          expect(dones(w), `watcher ${i}: ${JSON.stringify(trail(w.events))}`).toHaveLength(1);
          expect(dones(w)[0]?.data).toMatchObject({ jobId: id, status: 'completed', result: { steps: 30 } });
          expectIncreasingIds(w.events, `watcher ${i}`);
        }
        // The survivor did the re-run and is still healthy; the victim is gone.
        expect(survivor.running()).toBe(true);
        expect(victim.running()).toBe(false);
      }),
    120_000,
  );
});

describe.concurrent('Redis killed with SIGKILL and restarted', () => {
  it(
    'loses no accepted job (appendfsync always), and every open stream gets exactly one done',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const N = 20;
        const redis = await startCrashableRedis();
        cleanups.push(() => redis.stop());
        // Locks (renewed every half period) outlast the outage: no job is taken for stalled here.
        const fleet = fleetOn(cleanups, {
          REDIS_URL: redis.url,
          WORKER_LOCK_MS: '10000',
          WORKER_STALLED_INTERVAL_MS: '1000',
        });
        const [api] = await Promise.all([fleet.api(), fleet.worker()]);

        // 20 jobs of 3 s each, 10 at a time (WORKER_CONCURRENCY): the crash hits the first ten mid-run
        // and the other ten in the queue.
        const ids: string[] = [];
        for (let i = 0; i < N; i++) ids.push(await submit(api, { steps: 15, stepMs: 200 }));
        const sources = ids.map((id) => source(cleanups, `${api.url}/jobs/${id}/events`));
        // Every stream open (its first event in), and some jobs running.
        await waitFor(
          () =>
            sources.every((s) => s.events.length > 0) &&
            sources.filter((s) => s.events.some((e) => Number(e.data.progress) > 0)).length >= 5,
          'every stream open and some jobs running',
          20_000,
        );

        const killedAt = await redis.kill9();
        // A client whose connection dropped just now reconnects while Redis is down (EventSource
        // sends Last-Event-ID): it must still end with the job's one done once Redis is back.
        const first = sources[0] as RecordingSource;
        // The first connection's cursor goes in the query, as a page would do it; on reconnects
        // EventSource sends its own Last-Event-ID header (a fixed header here would pin it).
        const late = new RecordingSource(
          `${api.url}/jobs/${ids[0]}/events?lastEventId=${encodeURIComponent(first.events.at(-1)?.id ?? '')}`,
        );
        cleanups.push(() => late.close());
        // While Redis is down the API says so at once: not ready, and a submission is refused
        // with a 503 problem (nothing is accepted that could be lost).
        const downChecks = Date.now();
        const [readyDown, submitDown] = await Promise.all([
          fetch(`${api.url}/readyz`),
          fetch(`${api.url}/jobs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ type: 'simulate', data: { steps: 1, stepMs: 0 } }),
          }),
        ]);
        const downAnsweredMs = Date.now() - downChecks;
        await sleep(Math.max(0, 1_000 - (Date.now() - killedAt)));
        const upAt = await redis.restart();
        await waitFor(
          async () => (await fetch(`${api.url}/readyz`).catch(() => undefined))?.status === 200,
          '/readyz to be 200 again',
          15_000,
        );
        const readyAt = Date.now();

        const states = await terminalStates(api, ids, 30_000);
        const finishedAt = Date.now();
        // Every stream's done, over however many connections it took.
        await waitFor(
          () => [...sources, late].every((s) => dones(s).length > 0 || s.readyState === 2),
          'done on every stream',
          10_000,
        ).catch(() => undefined);
        await settle([...sources, late]);

        const lost = ids.filter((id) => !TERMINAL.has(states.get(id) ?? '')).length;
        const missed = sources.filter((s) => dones(s).length === 0).length;
        // Reconnections before `done` (after it, EventSource reconnects once more and is told 204).
        const reconnected = sources.filter((s) => (dones(s)[0]?.request ?? s.requests.length) > 0).length;
        const failedSources = sources.filter((s) => s.errors.some((e) => e.readyState === 2 && e.code !== 204));
        console.log(
          `[faults] redis kill -9 + restart: ${N} jobs, ${JSON.stringify(countStates(states))}; jobs lost ${lost}, done events missed ${missed}/${N}; ` +
            `down ${upAt - killedAt} ms, /readyz 200 ${readyAt - upAt} ms after restart, ` +
            `all jobs terminal ${finishedAt - upAt} ms after restart; streams reconnected before done ${reconnected}, failed for good ${failedSources.length}; ` +
            `while down: /readyz ${readyDown.status}, POST /jobs ${submitDown.status} (answered in ${downAnsweredMs} ms), ` +
            `a stream reconnecting then: ${late.errors[0]?.message ?? 'ok'}, done ${dones(late).length}`,
        );

        expect(lost).toBe(0);
        expect(countStates(states)).toEqual({ completed: N });
        for (const [i, s] of sources.entries()) {
          const what = `stream ${i} (${s.requests.length} requests, errors ${JSON.stringify(s.errors)}): ${JSON.stringify(trail(s.events))}`;
          expect(dones(s), what).toHaveLength(1);
          expect(dones(s)[0]?.data, what).toMatchObject({ jobId: ids[i], status: 'completed' });
          expectIncreasingIds(s.events, what);
          // A reconnection carries the last id received before it.
          for (const [r, request] of s.requests.entries()) {
            if (r === 0) continue;
            const lastBefore = s.events.filter((e) => e.request < r).at(-1);
            expect(request.lastEventId, what).toBe(lastBefore?.id);
          }
        }
        expect(readyDown.status).toBe(503);
        expect(submitDown.status).toBe(503);
        expect(submitDown.headers.get('content-type')).toContain('application/problem+json');
        // The refused submission left nothing behind: Redis holds the records of exactly the
        // accepted jobs (an open service lists none over HTTP).
        const inspector = new Redis(redis.url);
        const recorded = (await inspector.keys('*:{*}')).flatMap((key) => /:\{([0-9a-f-]{36})\}$/.exec(key)?.[1] ?? []);
        inspector.disconnect();
        expect(recorded.sort()).toEqual([...ids].sort());
        // The client that reconnected during the outage: EventSource gives up for good on any
        // status but 200 (WHATWG HTML §9.2), so a 503 here leaves it without its done forever.
        expect
          .soft(
            {
              dones: dones(late).length,
              // Errors while reconnecting are how EventSource says "trying again"; only a closed
              // source (readyState 2) other than by 204 has given up for good.
              errors: late.errors.filter((e) => e.readyState === 2 && e.code !== 204).map((e) => e.message),
            },
            `a stream reconnecting while Redis was down (requests ${JSON.stringify(late.requests.map((r) => r.lastEventId))}): ${JSON.stringify(trail(late.events))}`,
          )
          .toEqual({ dones: 1, errors: [] });
        // The outage is logged as structured JSON lines, like everything else an operator collects.
        for (const member of fleet.members) {
          const stray = member
            .output()
            .split('\n')
            .filter((line) => line.trim() !== '' && !isJsonLine(line));
          expect
            .soft(stray.slice(0, 5), `${member.name} wrote ${stray.length} lines that are not JSON log lines`)
            .toEqual([]);
        }
      }),
    120_000,
  );

  it(
    'down for longer than WORKER_LOCK_MS: each job re-runs once, never twice at a time, and completes',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const N = 6;
        const redis = await startCrashableRedis();
        cleanups.push(() => redis.stop());
        // The API and the worker in this process: what is killed is Redis, and what is checked is
        // what BullMQ's stalled check does with the jobs whose locks expired meanwhile.
        const api = await startHarness({
          redisUrl: redis.url,
          env: { SSE_RETRY_MS: '200', WORKER_LOCK_MS: '1000', WORKER_STALLED_INTERVAL_MS: '1000', LOG_LEVEL: 'silent' },
        });
        cleanups.push(() => api.close());
        const ids: string[] = [];
        for (let i = 0; i < N; i++) ids.push(await submit(api, { steps: 20, stepMs: 150 }));
        const sources = ids.map((id) => source(cleanups, `${api.url}/jobs/${id}/events`));
        await waitFor(
          () => sources.every((s) => s.events.some((e) => e.data.state === 'active' && Number(e.data.progress) > 0)),
          'every job running',
          20_000,
        );

        // Down 2.5 s: every lock (1 s) expires, so BullMQ's stalled check hands every running job
        // out again once Redis is back.
        const killedAt = await redis.kill9();
        await sleep(2_500);
        const upAt = await redis.restart();
        const states = await terminalStates(api, ids, 30_000);
        const finishedAt = Date.now();
        await waitFor(() => sources.every((s) => dones(s).length > 0), 'done on every stream', 10_000).catch(
          () => undefined,
        );
        await settle(sources);

        // Two handlers of one job at once: an attempt reporting after a later attempt has started.
        const overlapping = sources.filter((s) => {
          let latest = 0;
          for (const e of s.events.filter((x) => x.type === 'progress')) {
            const attempt = Number(e.data.attempt);
            if (attempt < latest) return true;
            latest = Math.max(latest, attempt);
          }
          return false;
        });
        const rerun = sources.filter((s) => s.events.some((e) => Number(e.data.attempt) > 1)).length;
        const missed = sources.filter((s) => dones(s).length === 0).length;
        console.log(
          `[faults] redis down ${upAt - killedAt} ms > WORKER_LOCK_MS 1000: ${N} jobs, ${JSON.stringify(countStates(states))}, ` +
            `re-run ${rerun}, run twice at once ${overlapping.length}; jobs lost ${ids.filter((id) => !TERMINAL.has(states.get(id) ?? '')).length}, ` +
            `done events missed ${missed}/${N}; all terminal ${finishedAt - upAt} ms after restart`,
        );

        for (const [i, s] of sources.entries()) {
          const what = `job ${i}: ${JSON.stringify(trail(s.events))}`;
          expect(dones(s), what).toHaveLength(1);
          expectIncreasingIds(s.events, what);
        }
        expect(
          overlapping.map((s) => trail(s.events).join(' ')),
          'jobs whose old attempt kept running after the re-run started',
        ).toEqual([]);
        expect(countStates(states)).toEqual({ completed: N });
      }),
    120_000,
  );
});

describe.concurrent('an API process killed with SIGKILL', () => {
  it(
    'its clients resume on the other API with Last-Event-ID: increasing ids, exactly one done',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const redis = await startPrivateRedis();
        cleanups.push(() => redis.stop());
        const fleet = fleetOn(cleanups, { REDIS_URL: redis.url });
        // The APIs are processes (one is killed); the worker runs in this process.
        const [api1, api2, worker] = await Promise.all([
          fleet.api(),
          fleet.api(),
          startWorker(parseConfig(fleet.env), redis.url, createLogger('error')),
        ]);
        cleanups.push(() => worker.close());
        const port = (api: FleetMember) => Number(new URL(api.url as string).port);
        // What the clients connect to: API 1 until it dies, then API 2.
        const proxy = await startTcpProxy(port(api1));
        cleanups.push(() => proxy.close());

        const K = 6;
        const ids: string[] = [];
        for (let i = 0; i < K; i++) ids.push(await submit(api2, { steps: 30, stepMs: 100 }));
        const sources = ids.map((id) => source(cleanups, `${proxy.url}/jobs/${id}/events`));
        await waitFor(
          () => sources.every((s) => s.events.some((e) => e.type === 'progress' && Number(e.data.progress) > 0)),
          'every job to be running, watched through API 1',
          20_000,
        );

        const killedAt = Date.now();
        await api1.kill9();
        // The load balancer notices and sends new connections to API 2.
        proxy.switchTo(port(api2));
        // Back means an event through a later connection: events API 1 sent just before it died can
        // still arrive after the reconnect began.
        await waitFor(
          () => sources.every((s) => s.events.some((e) => e.request > 0)),
          'every client back on API 2',
          10_000,
        );
        const resumedAt = Math.max(...sources.map((s) => (s.events.find((e) => e.request > 0) as SourceEvent).at));
        await waitFor(() => sources.every((s) => dones(s).length > 0), 'done on every stream', 20_000).catch(
          () => undefined,
        );
        await settle(sources);

        const missed = sources.filter((s) => dones(s).length === 0).length;
        const lost = (await Promise.all(ids.map((id) => findJob(api2, id)))).filter(
          (j) => j?.state !== 'completed',
        ).length;
        console.log(
          `[faults] API kill -9: ${K} clients; all resumed on API 2 within ${resumedAt - killedAt} ms of the kill ` +
            `(retry 200 ms); connections via proxy ${JSON.stringify(Object.fromEntries(proxy.acceptedBy))}; ` +
            `jobs lost ${lost}, done events missed ${missed}/${K}`,
        );

        expect(lost).toBe(0);
        for (const [i, s] of sources.entries()) {
          const what = `client ${i} (${JSON.stringify(s.requests.map((r) => r.lastEventId ?? null))}): ${JSON.stringify(trail(s.events))}`;
          expect(dones(s), what).toHaveLength(1);
          expect(dones(s)[0]?.data, what).toMatchObject({ jobId: ids[i], status: 'completed', result: { steps: 30 } });
          expectIncreasingIds(s.events, what);
          // The second request resumed from the last event the first one delivered.
          const lastOnApi1 = s.events.filter((e) => e.request === 0).at(-1);
          expect(s.requests[1]?.lastEventId, what).toBe(lastOnApi1?.id);
          expect(
            s.events.some((e) => e.request === 0 && e.type === 'done'),
            what,
          ).toBe(false);
        }
        expect(proxy.acceptedBy.get(port(api2))).toBeGreaterThanOrEqual(K);
      }),
    120_000,
  );
});

describe.concurrent("the API's Redis subscription dropped at the moment a job finishes", () => {
  it(
    'resyncs after the subscriber reconnects: the watcher still gets its one done',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        // The single-Redis counterpart of the cluster test: one MULTI drops the API's subscriber
        // connection and runs the worker's finish script, so `done` is published to nobody.
        // The API and the worker run in this process (what is dropped is a connection, not a
        // process), on a Redis of their own so that the API's subscriber is the only one there.
        const redis = await startPrivateRedis();
        cleanups.push(() => redis.stop());
        const h = await startHarness({ redisUrl: redis.url, env: { SSE_RETRY_MS: '200' } });
        cleanups.push(() => h.close());
        const id = (await h.submit({ type: 'simulate', data: { steps: 30, stepMs: 100 } })).id;
        const w = source(cleanups, `${h.url}/jobs/${id}/events`);
        await w.until(
          (s) => s.events.some((e) => e.data.state === 'active' && Number(e.data.progress) > 0),
          'the job running',
        );

        const inspector = new Redis(redis.url);
        cleanups.push(() => inspector.disconnect());
        const keys = jobKeys(h.config.KEY_PREFIX, id);
        const subscribers = String(await inspector.client('LIST'))
          .split('\n')
          .filter((line) => line.includes('name=jobcast:subscriber') && /\bsub=[1-9]/.test(line))
          .map((line) => /\bid=(\d+)/.exec(line)?.[1] as string);
        expect(subscribers).toHaveLength(1);
        const now = Date.now();
        const tx = inspector.multi().client('KILL', 'ID', subscribers[0] as string);
        tx.eval(
          finishLua,
          2,
          keys.record,
          keys.log,
          'PUBLISH',
          keys.channel,
          'completed',
          100,
          '',
          now,
          doneData(id, 'completed', { result: { steps: 30 } }, now),
          3600,
        );
        const killedAt = Date.now();
        expect(((await tx.exec()) ?? []).every(([error]) => error === null)).toBe(true);

        await w.until((s) => dones(s).length > 0, 'done after the subscriber reconnected', 8_000);
        const recoveredMs = (dones(w)[0] as SourceEvent).at - killedAt;
        await settle([w]);
        console.log(
          `[faults] API subscriber dropped as the job finished (single Redis): done ${recoveredMs} ms later, done events missed 0/1`,
        );
        expect(dones(w)).toHaveLength(1);
        expect(dones(w)[0]?.data).toMatchObject({ jobId: id, status: 'completed' });
        expectIncreasingIds(w.events, 'watcher');
      }),
    120_000,
  );
});
