/**
 * First runs that go wrong, with the real entry points as processes (compiled, as production
 * runs them: `npm start`, `start:api`, `start:worker`):
 * - The port is taken: one line naming the port and the variable to change, exit code 1, no
 *   stack trace, nothing started (no worker, no Redis left behind).
 * - Redis is unreachable: the API listens anyway — /healthz 200, /readyz 503 saying why, every
 *   Redis-backed request a 503 problem with Retry-After — and logs one line of advice (the URL,
 *   what to check) instead of a warning per connection per retry. When Redis appears, it
 *   recovers by itself, and so does a worker started without Redis.
 * - `npm start`'s own Redis: a second `npm start` on the same data directory is refused before
 *   it writes anything there (two servers on one append-only file mix their data); a managed
 *   redis-server that is killed is started again, and the service carries on.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalRedis } from '../src/local-redis.js';
import { waitFor } from './support/harness/harness.js';
import { getJob, submitJob } from './support/http/api.js';
import {
  descendants,
  ENTRIES,
  killIfAlive,
  portOpen,
  type Spawned,
  spawnProcess,
} from './support/processes/processes.js';
import { startPrivateRedisOn } from './support/redis/private-redis.js';
import { freePort } from './support/runner/global-setup.js';
import { allowLeaks } from './support/runner/leak-check.js';

// Each test's processes, port blockers and Redis are stopped together in afterAll (the port
// blockers are shared by the tests that need a taken port); the whole-file check still applies.
allowLeaks('processes and port blockers stopped in afterAll');

const spawned: Spawned[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const p of spawned) {
    for (const d of descendants(p.pid)) killIfAlive(d.pid);
    killIfAlive(p.pid);
  }
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function start(entry: string, env: Record<string, string>): Spawned {
  const p = spawnProcess(process.execPath, [entry], {
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    ...env,
  });
  spawned.push(p);
  return p;
}

const output = (p: Spawned) => `${p.stdout()}${p.stderr()}`;

/** The process's JSON log lines. */
function logLines(p: Spawned): { level: string; msg: string; [field: string]: unknown }[] {
  return output(p)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; msg: string });
}

/** Submits a short job to the service at `url` and waits for it to complete. */
async function runsAJob(url: string, what = 'a job to complete'): Promise<void> {
  const { id } = await submitJob(url, { data: { steps: 2, stepMs: 10 } });
  await waitFor(async () => (await getJob(url, id)).state === 'completed', what, 20_000);
}

async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

describe('a port already in use', () => {
  it.concurrent.for([
    ['npm start (dist/start-all.js), with its own Redis', ENTRIES.all, 'PORT'],
    ['the API (dist/main.js)', ENTRIES.api, 'PORT'],
    ['a worker (dist/worker.js), its metrics port', ENTRIES.worker, 'WORKER_METRICS_PORT'],
  ] as const)(
    'stops %s with one line naming the port and the variable, exit 1, no stack',
    { timeout: 90_000 },
    async ([, entry, variable]) => {
      const [port, redisPort] = [await freePort(), await freePort()];
      await occupy(port);
      const p = start(entry, {
        PORT: String(port),
        WORKER_METRICS_PORT: String(port),
        LOCAL_REDIS_PORT: String(redisPort),
        LOCAL_REDIS_DIR: `/tmp/jobcast-test-startup-${redisPort}`,
        // The API and worker alone need a Redis URL; nothing answers there, which is fine.
        ...(entry === ENTRIES.all ? {} : { REDIS_URL: `redis://127.0.0.1:${redisPort}` }),
      });
      const exit = await p.exited;
      expect(exit.code, output(p)).toBe(1);
      const errors = logLines(p).filter((l) => l.level === 'error');
      expect(errors, output(p)).toHaveLength(1);
      expect(errors[0]?.msg).toContain(`port ${port}`);
      // A port to use instead, found free (not a guess that may be taken too).
      expect(errors[0]?.msg).toMatch(new RegExp(`${variable}=\\d+ is free now`));
      expect(output(p), 'a stack trace').not.toMatch(/^\s+at /m);
      expect(output(p)).not.toContain('EADDRINUSE');
      expect(logLines(p).map((l) => l.msg)).not.toContain('worker started');
      expect(output(p)).not.toContain('is running at');
      // Found before a local Redis was started only to be stopped again.
      expect(output(p)).not.toContain('started a local redis-server');
      // Nothing left: the managed Redis (start-all) was stopped on the way out.
      expect(await portOpen(redisPort)).toBe(false);
    },
  );
});

describe('Redis unreachable at start', () => {
  it('the API listens, says 503 with the reason, logs one line of advice, and recovers when Redis appears; so does a worker', async () => {
    const [port, redisPort] = [await freePort(), await freePort()];
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const url = `http://127.0.0.1:${port}`;
    const shared = { REDIS_URL: redisUrl, KEY_PREFIX: `s${redisPort}`, RATE_LIMIT_PER_MINUTE: '0' };
    const startedAt = performance.now();
    const api = start(ENTRIES.api, { ...shared, PORT: String(port) });
    const worker = start(ENTRIES.worker, { ...shared, WORKER_METRICS_PORT: '0' });
    await waitFor(
      async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200,
      'the API to listen',
      60_000,
    );
    const listeningMs = performance.now() - startedAt;

    const timed = async (path: string, init?: RequestInit) => {
      const t0 = performance.now();
      const res = await fetch(`${url}${path}`, init);
      return { res, ms: performance.now() - t0, body: (await res.json()) as Record<string, unknown> };
    };
    const ready = await timed('/readyz');
    expect(ready.res.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 503, reason: 'unreachable', type: '/problems/unavailable' });
    expect(ready.res.headers.get('retry-after')).toBe('1');
    const submit = await timed('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'simulate', data: { steps: 1 } }),
    });
    const read = await timed(`/jobs/${crypto.randomUUID()}`);
    const logs = await timed(`/jobs/${crypto.randomUUID()}/logs`);
    const events = await timed(`/jobs/${crypto.randomUUID()}/events`);
    for (const [what, r] of Object.entries({ submit, read, logs, events })) {
      expect(r.res.status, what).toBe(503);
      expect(r.res.headers.get('retry-after'), what).toBe('1');
      expect(r.res.headers.get('content-type'), what).toBe('application/problem+json');
      expect(r.ms, `${what} answered in`).toBeLessThan(3_000);
      expect(JSON.stringify(r.body), what).not.toMatch(/ECONNREFUSED|Connection is closed|MaxRetries/);
    }
    // A scrape answers without what it would read from Redis, and says so.
    const scrapeStarted = performance.now();
    const scrape = await fetch(`${url}/metrics`);
    const scrapeText = await scrape.text();
    expect(scrape.status).toBe(200);
    expect(performance.now() - scrapeStarted, '/metrics answered in').toBeLessThan(3_000);
    expect(scrapeText).toMatch(/^jobcast_redis_up 0$/m);
    expect(scrapeText).toMatch(/^jobcast_redis_reconnects_total\{role="command"\} [1-9]\d*$/m);
    // A few seconds of retrying later (ioredis retries every ≤ 2 s): still one line of advice.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const warnings = logLines(api).filter((l) => l.level === 'warn' && !l.msg.startsWith('NO API KEYS'));
    expect(
      warnings.map((l) => l.msg),
      output(api),
    ).toEqual([expect.stringContaining(`cannot reach Redis at ${redisUrl}`)]);
    expect(warnings[0]?.msg).toContain('REDIS_URL');
    const workerWarnings = logLines(worker).filter((l) => l.level === 'warn' || l.level === 'error');
    expect(workerWarnings.map((l) => l.msg)).toEqual([expect.stringContaining(`cannot reach Redis at ${redisUrl}`)]);
    // Probes while the outage lasts answer at once too, not after REDIS_COMMAND_TIMEOUT_MS (1 s).
    const probes = [await timed('/readyz'), await timed('/readyz'), await timed('/readyz')];
    for (const probe of probes) {
      expect(probe.res.status).toBe(503);
      expect(probe.body).toMatchObject({ reason: 'unreachable' });
      expect(probe.ms, '/readyz answered in').toBeLessThan(500);
    }

    // Redis appears: both recover without a restart.
    const redis = await startPrivateRedisOn(redisPort);
    cleanups.push(() => redis.stop());
    const upAt = performance.now();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, '/readyz 200', 15_000);
    const readyMs = performance.now() - upAt;
    await runsAJob(url, 'the job to complete on the worker that started without Redis');
    await waitFor(() => logLines(api).some((l) => l.msg.includes('is reachable again')), 'the all-clear', 5_000);
    console.log(
      `[startup] Redis unreachable: API listening ${listeningMs.toFixed(0)} ms after start; /readyz 503 in ${ready.ms.toFixed(0)} ms ` +
        `(later: ${probes.map((p) => p.ms.toFixed(0)).join(', ')} ms), ` +
        `POST /jobs 503 in ${submit.ms.toFixed(0)} ms; ${warnings.length} line of advice in 4+ s; ` +
        `/readyz 200 ${readyMs.toFixed(0)} ms after Redis appeared; the worker ran a job`,
    );
  }, 120_000);
});

describe('npm start against a Redis that does not answer', () => {
  it('says so in its banner where it would suggest a curl, without the password', async () => {
    const [port, redisPort] = [await freePort(), await freePort()];
    const p = start(ENTRIES.all, {
      PORT: String(port),
      REDIS_URL: `redis://:secret@127.0.0.1:${redisPort}`,
      RATE_LIMIT_PER_MINUTE: '0',
    });
    await waitFor(() => p.stdout().includes('jobcast is running at'), 'the banner', 60_000);
    expect(p.stdout()).toContain(`Redis:          not answering at redis://:***@127.0.0.1:${redisPort} yet`);
    expect(p.stdout()).not.toContain('try:');
    expect(output(p)).not.toContain('secret');
    killIfAlive(p.pid);
  }, 90_000);
});

describe("npm start's own Redis", () => {
  /** `npm start` (dist/start-all.js) on its own Redis in `dir`; resolves once it serves. */
  async function startAll(dir: string, env: Record<string, string> = {}) {
    const [port, redisPort] = [await freePort(), await freePort()];
    const p = start(ENTRIES.all, {
      PORT: String(port),
      LOCAL_REDIS_PORT: String(redisPort),
      LOCAL_REDIS_DIR: dir,
      RATE_LIMIT_PER_MINUTE: '0',
      ...env,
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200,
      'npm start to be ready',
      60_000,
    );
    return { p, url, redisPort };
  }

  it.concurrent('a second npm start on the same data directory is refused, naming LOCAL_REDIS_DIR; the first carries on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobcast-test-datadir-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const first = await startAll(dir);
    // Its Redis answers: the banner suggests a request to try.
    await waitFor(() => first.p.stdout().includes('try:            curl'), 'the banner with a curl to try', 10_000);
    const [port, redisPort] = [await freePort(), await freePort()];
    const second = start(ENTRIES.all, {
      PORT: String(port),
      LOCAL_REDIS_PORT: String(redisPort),
      LOCAL_REDIS_DIR: dir,
    });
    const exit = await second.exited;
    expect(exit.code, output(second)).toBe(1);
    const errors = logLines(second).filter((l) => l.level === 'error');
    expect(errors, output(second)).toHaveLength(1);
    expect(errors[0]?.msg).toContain(`the data directory ${dir} is in use`);
    expect(errors[0]?.msg).toContain('LOCAL_REDIS_DIR');
    expect(errors[0]?.msg).toContain(`REDIS_URL=redis://127.0.0.1:${first.redisPort}`);
    expect(await portOpen(redisPort), 'no second redis-server').toBe(false);
    await runsAJob(first.url);
  }, 90_000);

  it.concurrent('with API keys on, its banner’s curl takes a key from JOBCAST_API_KEY, never prints one, and works as printed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobcast-test-datadir-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const key = `key-${randomUUID()}`;
    const { p } = await startAll(dir, { API_KEYS: key });
    await waitFor(() => p.stdout().includes('try:'), 'the banner with a curl to try', 10_000);
    const lines = p.stdout().split('\n');
    const curl = lines.find((line) => line.includes('try:')) as string;
    expect(curl).toContain('-H "authorization: Bearer $JOBCAST_API_KEY"');
    expect(lines[lines.indexOf(curl) + 1]).toContain('export JOBCAST_API_KEY=<one of them>');
    expect(output(p)).not.toContain(key);
    // The request as printed (URL, headers, body), with the variable set as the banner says.
    const url = /-X POST (\S+)/.exec(curl)?.[1] as string;
    const headers = Object.fromEntries(
      [...curl.matchAll(/-H (['"])(.*?)\1/g)].map((m) => {
        const [name, value] = (m[2] as string).split(': ');
        return [name as string, (value as string).replace('$JOBCAST_API_KEY', key)];
      }),
    );
    const body = /-d '(.*)'$/.exec(curl)?.[1];
    const submitted = await fetch(url, { method: 'POST', headers, body });
    expect(submitted.status).toBe(202);
    await submitted.body?.cancel();
    const { authorization: _, ...withoutKey } = headers;
    const refused = await fetch(url, { method: 'POST', headers: withoutKey, body });
    expect(refused.status).toBe(401);
    await refused.body?.cancel();
  }, 90_000);

  it.concurrent('a lock left by a process that is gone (kill -9) does not keep the data directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobcast-test-datadir-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const gone = spawnSync('true').pid;
    await writeFile(join(dir, 'jobcast-redis.lock'), JSON.stringify({ pid: gone, redisPid: gone, port: 1 }));
    const redis = await startLocalRedis({ port: await freePort(), dir, persistence: 'none' });
    await redis.stop();
    expect(existsSync(join(dir, 'jobcast-redis.lock')), 'released at stop').toBe(false);
  });

  it.concurrent('a killed redis-server is started again, and the service carries on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobcast-test-datadir-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const { p, url, redisPort } = await startAll(dir);
    const redis = descendants(p.pid).find((d) => d.comm === 'redis-server');
    expect(redis, 'its redis-server').toBeDefined();
    const killedAt = performance.now();
    process.kill(redis?.pid as number, 'SIGKILL');
    await waitFor(() => logLines(p).some((l) => l.msg.includes('runs again')), 'the restart', 20_000);
    expect(
      logLines(p)
        .filter((l) => l.level === 'error')
        .map((l) => l.msg),
    ).toEqual([`the local redis-server was killed (SIGKILL); starting it again on port ${redisPort}`]);
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, '/readyz 200 again', 20_000);
    const readyMs = performance.now() - killedAt;
    await runsAJob(url);
    console.log(
      `[startup] the managed Redis killed: started again, /readyz 200 ${readyMs.toFixed(0)} ms after the kill, a job ran`,
    );
  }, 90_000);
});
