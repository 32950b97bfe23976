/**
 * Start-up and shutdown of the real entry points, as separate processes:
 * - `scripts/start-all.ts` (what `npm start` runs) with a managed local redis-server stops
 *   cleanly on SIGTERM: open streams end (clients reconnect elsewhere), the process exits 0
 *   within SHUTDOWN_TIMEOUT_MS plus a margin, and it leaves no redis-server, no listener and
 *   no child process behind.
 * - A worker whose handler ignores its AbortSignal still stops soon after
 *   SHUTDOWN_TIMEOUT_MS: the job is abandoned (BullMQ's stalled check hands it on), not awaited,
 *   and the worker's connections to Redis are closed when close() resolves, for good.
 * - A shutdown that stops a run between its start and its start report hands the job back like
 *   any other shutdown: no cancel, and the next run is the same attempt.
 * - A bad configuration stops every entry point before anything starts, naming every problem.
 * - `npm run start:api` without REDIS_URL refuses to start and says why.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { startWorker } from '../workers/runner.js';
import { startHarness, waitFor } from './support/harness/harness.js';
import { recordingLogger } from './support/harness/recording-logger.js';
import { bullQueue, getJob, submitJob } from './support/http/api.js';
import { startTcpProxy } from './support/http/tcp-proxy.js';
import {
  alive,
  descendants,
  ENTRIES,
  killIfAlive,
  portOpen,
  type Spawned,
  spawnProcess,
} from './support/processes/processes.js';
import { startPrivateRedis } from './support/redis/private-redis.js';
import { freePort } from './support/runner/global-setup.js';

import { openStream, type RawStream } from './support/sse/raw-sse.js';

const SHUTDOWN_TIMEOUT_MS = 2_000;
/** Beyond SHUTDOWN_TIMEOUT_MS: ending streams, closing Redis connections, stopping redis-server. */
const SHUTDOWN_MARGIN_MS = 4_000;

const spawned: Spawned[] = [];
/** Every process seen under a spawned one, so cleanup can reach orphans too. */
const seenPids = new Set<number>();
const streams: RawStream[] = [];
const tempDirs: string[] = [];

afterAll(() => {
  for (const stream of streams) stream.close();
  for (const p of spawned) {
    for (const d of descendants(p.pid)) seenPids.add(d.pid);
    seenPids.add(p.pid);
  }
  for (const pid of seenPids) killIfAlive(pid);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jobcast-test-shutdown-'));
  tempDirs.push(dir);
  return dir;
}

function start(command: string, args: string[], env: Record<string, string>): Spawned {
  const p = spawnProcess(command, args, env);
  spawned.push(p);
  return p;
}

const output = (p: Spawned) => `--- stdout\n${p.stdout()}\n--- stderr\n${p.stderr()}`;

/** Rejects after `ms` with `what`; for racing against a promise that must settle sooner. */
const deadline = (ms: number, what: string) =>
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms).unref());

describe('npm start (dist/start-all.js) with a managed redis-server', () => {
  it('on SIGTERM ends open streams, exits 0 in time, and leaves nothing running', async () => {
    const [port, redisPort] = [await freePort(), await freePort()];
    const redisDir = join(tempDir(), 'redis');
    const p = start(process.execPath, [ENTRIES.all], {
      PORT: String(port),
      LOCAL_REDIS_PORT: String(redisPort),
      LOCAL_REDIS_DIR: redisDir,
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
    const url = `http://127.0.0.1:${port}`;

    await waitFor(
      async () => {
        if (!p.running()) throw new Error(`start-all exited early\n${output(p)}`);
        return fetch(`${url}/healthz`).then(
          (res) => res.ok,
          () => false,
        );
      },
      '/healthz',
      60_000,
    );

    const { id } = await submitJob(url, { data: { steps: 100, stepMs: 100 } });
    const stream = openStream(`${url}/jobs/${id}/events`);
    streams.push(stream);
    // Running: the worker has reported at least one step.
    await stream.next((e) => e.type === 'progress' && Number(e.data.progress) > 0, 10_000);

    const redisServers = descendants(p.pid).filter((d) => d.comm === 'redis-server');
    expect(redisServers, output(p)).toHaveLength(1);
    const redisPid = (redisServers[0] as { pid: number }).pid;
    const children = descendants(p.pid);
    for (const d of children) seenPids.add(d.pid);
    expect(await portOpen(redisPort)).toBe(true);

    const signalled = performance.now();
    p.child.kill('SIGTERM');

    const end = await Promise.race([stream.ended, deadline(3_000, 'the stream did not end')]);
    const streamEndedMs = performance.now() - signalled;
    // A clean end of the response (not a reset), and no `done`: the job did not finish, the
    // client is expected to reconnect and resume elsewhere.
    expect(end).toBe('end');
    expect(stream.events.some((e) => e.type === 'done')).toBe(false);

    // Wait as long as the process's own hard limit (SHUTDOWN_TIMEOUT_MS + 10 s in start-all)
    // allows, so a late exit is measured and the checks below still run; lateness itself is
    // reported by the soft assertion.
    const exit = await Promise.race([
      p.exited,
      deadline(SHUTDOWN_TIMEOUT_MS + 10_000 + SHUTDOWN_MARGIN_MS, 'start-all did not exit'),
    ]).catch((error: Error) => {
      throw new Error(`${error.message}\n${output(p)}`);
    });
    const exitMs = exit.at - signalled;
    console.log(
      `[shutdown] SIGTERM → stream ended ${streamEndedMs.toFixed(0)} ms, process exited ${exitMs.toFixed(0)} ms (SHUTDOWN_TIMEOUT_MS ${SHUTDOWN_TIMEOUT_MS}); children were ${children.map((d) => d.comm).join(', ')}`,
    );
    expect
      .soft(
        exitMs,
        `exit ${exitMs.toFixed(0)} ms after SIGTERM; SHUTDOWN_TIMEOUT_MS is ${SHUTDOWN_TIMEOUT_MS}\n${output(p)}`,
      )
      .toBeLessThan(SHUTDOWN_TIMEOUT_MS + SHUTDOWN_MARGIN_MS);
    expect({ code: exit.code, signal: exit.signal }, output(p)).toEqual({ code: 0, signal: null });

    // Nothing left behind: not the redis-server, not any other child, no listener.
    await waitFor(() => !alive(redisPid), `redis-server (pid ${redisPid}) to be gone`, 2_000);
    for (const d of children) expect(alive(d.pid), `${d.comm} (pid ${d.pid}) still running`).toBe(false);
    expect(alive(p.pid)).toBe(false);
    expect(await portOpen(redisPort)).toBe(false);
    expect(await portOpen(port)).toBe(false);
    // The shutdown was the orderly one, not the hard-limit exit.
    expect(p.stderr()).toContain('"msg":"api stopped"');
    expect(p.stderr()).toContain('"msg":"worker stopped"');
    expect(p.stderr()).not.toContain('shutdown took too long');
  }, 120_000);
});

describe('a worker whose Redis went away while a job runs', () => {
  it('stops within SHUTDOWN_TIMEOUT_MS plus the graces, and says Redis is why its job could not be handed back', async () => {
    const shutdownTimeoutMs = 300;
    const redis = await startPrivateRedis();
    const h = await startHarness({
      worker: false,
      redisUrl: redis.url,
      env: { SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs) },
    });
    let harnessClosed: Promise<void> | undefined;
    const closeHarness = () => {
      harnessClosed ??= h.close();
      return harnessClosed;
    };
    const log = recordingLogger();
    const worker = await startWorker(h.config, h.redisUrl, log);
    try {
      const { id } = await h.submit({ type: 'simulate', data: { steps: 100, stepMs: 200 } });
      await waitFor(async () => (await getJob(h, id)).state === 'active', 'the job to run', 10_000);
      await closeHarness();
      await redis.stop();
      const closeStarted = performance.now();
      await worker.close();
      const closeMs = performance.now() - closeStarted;
      console.log(`[shutdown] worker closed ${closeMs.toFixed(0)} ms after its close began, Redis gone, a job running`);
      // runner.ts: SHUTDOWN_TIMEOUT_MS, then cancel and 3 s for handlers to stop, then, Redis
      // being away, nothing more to wait for; 2 s of margin.
      expect(closeMs).toBeLessThan(shutdownTimeoutMs + 3_000 + 2_000);
      const warnings = log.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
      expect(warnings).toContain(
        'running jobs could not be handed back: Redis is unreachable; leaving them to the stalled-job check',
      );
      expect(warnings.join('\n')).not.toContain('ignored its abort signal');
      // BullMQ's own close waits for a connection that never says it ended: left, not awaited.
      // (The file's leak check holds that nothing of it stays open.)
      expect(warnings).toContain("BullMQ's worker did not finish closing (Redis is unreachable); leaving it");
      // Nor do its lock renewals go on: BullMQ stops them only once its close gets that far.
      const renewal = (worker.worker as unknown as { lockManager: { isRunning(): boolean } }).lockManager;
      expect(renewal.isRunning(), "BullMQ's lock renewal still runs").toBe(false);
    } finally {
      await worker.close();
      await closeHarness();
      await redis.stop();
    }
  }, 40_000);
});

describe('a worker whose handler ignores its AbortSignal', () => {
  it('still stops within SHUTDOWN_TIMEOUT_MS plus the abandon grace, closing its Redis connections and leaving the job to BullMQ', async () => {
    const shutdownTimeoutMs = 300;
    // Short locks: the abandoned job's lock expires, and the stalled check runs, within seconds.
    const h = await startHarness({
      worker: false,
      env: {
        SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
        WORKER_LOCK_MS: '1000',
        WORKER_STALLED_INTERVAL_MS: '1000',
      },
    });
    const redisPort = Number(new URL(h.redisUrl).port);
    /** Local ports of this process's sockets to the run's Redis. */
    const redisSockets = () =>
      (process as unknown as { _getActiveHandles(): { localPort?: number; remotePort?: number }[] })
        ._getActiveHandles()
        .filter((handle) => handle.remotePort === redisPort)
        .map((handle) => handle.localPort)
        .sort();
    // Submitted before the worker starts, and counted once the API and the harness have used
    // Redis: a socket still connecting has no remote port yet.
    const { id } = await h.submit({ type: 'simulate', data: { steps: 1, stepMs: 0 } });
    await h.redis.ping();
    const before = redisSockets();
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    let ended = false;
    const worker = await startWorker(h.config, h.redisUrl, createLogger('silent'), {
      handlers: {
        // Never looks at ctx.signal: only `release` ends it.
        simulate: async () => {
          started = true;
          await released;
          ended = true;
          return { steps: 1 };
        },
      },
    });
    let rescuer: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      await waitFor(() => started, 'the handler to start', 10_000);

      const closeStarted = performance.now();
      const closing = worker.close();
      // runner.ts: SHUTDOWN_TIMEOUT_MS, then cancel, then 3 s for handlers to give up, then
      // the job is abandoned. 2 s of margin on top.
      const limitMs = shutdownTimeoutMs + 3_000 + 2_000;
      const outcome = await Promise.race([
        closing.then(() => 'closed' as const),
        new Promise<'still waiting'>((resolve) => setTimeout(resolve, limitMs, 'still waiting')),
      ]);
      const closeMs = performance.now() - closeStarted;
      console.log(
        `[shutdown] worker with a handler that ignores its signal: ${outcome} after ${closeMs.toFixed(0)} ms`,
      );
      expect(outcome, `worker.close() was ${outcome} ${closeMs.toFixed(0)} ms after it was called`).toBe('closed');

      // Closed means closed: no socket of the worker to Redis is left, and nothing of BullMQ's
      // still waits on the abandoned run (its main loop used to, then reconnected its blocking
      // connection once the handler ended, and left it open).
      expect(ended, 'the handler is still running').toBe(false);
      expect(redisSockets()).toEqual(before);
      expect(worker.worker.isRunning()).toBe(false);

      // The handler ends after all: that opens nothing either.
      release();
      await waitFor(() => ended, 'the abandoned handler to end');

      // The job was left to BullMQ: its lock expires, and the stalled check gives it to another
      // worker, which runs it as a new attempt (a stall counts; the stale run could not report).
      rescuer = await startWorker(h.config, h.redisUrl, createLogger('silent'));
      await waitFor(async () => (await getJob(h, id)).state === 'completed', 'the job to be run again', 15_000);
      expect((await getJob(h, id)).attempts).toBe(2);
      await rescuer.close();
      expect(redisSockets()).toEqual(before);
    } finally {
      // Let the handler end so the worker (and this file) can finish either way.
      release();
      await worker.close();
      await rescuer?.close();
      await h.close();
    }
  }, 40_000);
});

describe("a worker shut down between a run's start and its start report", () => {
  it('hands the job back, not cancelled, and the next run is the same attempt', async () => {
    // One job at a time: BullMQ then calls the processor right after taking the job, with no
    // Redis round trip in between (with more, it fetches the next job first).
    const h = await startHarness({ worker: false, env: { SHUTDOWN_TIMEOUT_MS: '300', WORKER_CONCURRENCY: '1' } });
    // The worker reaches Redis through a proxy that can hold what it sends.
    const proxy = await startTcpProxy(Number(new URL(h.redisUrl).port));
    const log = recordingLogger();
    let handlerRan = false;
    const worker = await startWorker(h.config, `redis://127.0.0.1:${new URL(proxy.url).port}`, log, {
      handlers: {
        simulate: async () => {
          handlerRan = true;
          return { steps: 1 };
        },
      },
    });
    let rescuer: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      // BullMQ says `active` just before it calls the processor, which sends the start report
      // with no I/O in between: held from here, the report waits in the proxy.
      let taken = false;
      worker.worker.once('active', () => {
        proxy.hold();
        taken = true;
      });
      const { id } = await h.submit({ type: 'simulate', data: { steps: 1, stepMs: 0 } });
      await waitFor(() => taken, 'the worker to take the job');

      // Shutdown: the job outlasts SHUTDOWN_TIMEOUT_MS, its run is told to stop (the warning is
      // logged right before), and only then does the start report reach Redis.
      const closing = worker.close();
      const stopAsked = 'jobs still running at shutdown; handing them back to the queue';
      await waitFor(() => log.lines.some((line) => line.msg === stopAsked), 'the shutdown to stop the run');
      proxy.release();
      await closing;

      // Handed back: queued again with its reason, the handler never ran, nothing cancelled.
      expect(handlerRan).toBe(false);
      const handedBack = await getJob(h, id);
      expect(handedBack).toMatchObject({ state: 'queued', attempts: 1 });
      expect(handedBack.message).toBe('returned to the queue: worker shut down');
      expect(await bullQueue(h).getJobState(id)).toMatch(/^(delayed|waiting)$/);

      // The next worker runs it at once, as the same attempt (a hand-back is no attempt).
      rescuer = await startWorker(h.config, h.redisUrl, createLogger('silent'));
      await waitFor(async () => (await getJob(h, id)).state === 'completed', 'the job to run again');
      expect(await getJob(h, id)).toMatchObject({ state: 'completed', attempts: 1, result: { steps: 1 } });
    } finally {
      proxy.release();
      await worker.close();
      await rescuer?.close();
      await proxy.close();
      await h.close();
    }
  });
});

// Start-up checks need no timing, so their processes run side by side.
describe('an invalid configuration', () => {
  it.concurrent.for([
    ['npm start (dist/start-all.js)', ENTRIES.all],
    ['the API (dist/main.js)', ENTRIES.api],
    ['a worker (dist/worker.js)', ENTRIES.worker],
  ] as const)(
    'stops %s before anything starts, naming every bad variable',
    { timeout: 90_000 },
    async ([, entry], { expect }) => {
      const redisPort = await freePort();
      const redisDir = join(tempDir(), 'never-created');
      const p = start(process.execPath, [entry], {
        PORT: 'abc',
        SSE_HEARTBEAT_MS: '-5',
        LOCAL_REDIS_PORT: String(redisPort),
        LOCAL_REDIS_DIR: redisDir,
        LOG_LEVEL: 'info',
      });
      const exit = await Promise.race([p.exited, deadline(60_000, `${entry} did not exit`)]);
      expect(exit.code, output(p)).not.toBe(0);
      expect(exit.code, output(p)).not.toBeNull();
      // Both problems, each with the variable's name and the value given.
      expect(p.stderr()).toMatch(/(^|[^_])PORT="abc"/m);
      expect(p.stderr()).toContain('SSE_HEARTBEAT_MS="-5"');
      // Nothing started: no banner, no managed Redis (its directory is never even created).
      expect(p.stdout()).not.toContain('is running');
      expect(p.stderr()).not.toMatch(/listening|started/);
      expect(existsSync(redisDir)).toBe(false);
      expect(await portOpen(redisPort)).toBe(false);
    },
  );
});

describe('a setting that names a file it cannot use', () => {
  it.concurrent.for([
    ['npm start, a keys file that is not there', ENTRIES.all, 'missing-keys'],
    ['npm start, a keys file with no key in it (never open instead)', ENTRIES.all, 'empty-keys'],
    ['the API, a keys file with no key in it', ENTRIES.api, 'empty-keys'],
    ['the API with API_PROCESSES=2, a webhook defaults file that is not JSON', ENTRIES.api, 'bad-defaults'],
  ] as const)(
    'stops %s with one message naming it, exit 2, no stack',
    { timeout: 90_000 },
    async ([, entry, what], { expect }) => {
      const dir = tempDir();
      const file = join(dir, what);
      if (what === 'empty-keys') writeFileSync(file, '# keys go here, one per line\n\n');
      if (what === 'bad-defaults') writeFileSync(file, '{"*": {"url": ');
      const [port, redisPort] = [await freePort(), await freePort()];
      const redisDir = join(dir, 'never-created');
      const setting = what === 'bad-defaults' ? 'WEBHOOK_DEFAULTS_FILE' : 'API_KEYS_FILE';
      const p = start(process.execPath, [entry], {
        PORT: String(port),
        LOCAL_REDIS_PORT: String(redisPort),
        LOCAL_REDIS_DIR: redisDir,
        LOG_LEVEL: 'info',
        [setting]: file,
        ...(what === 'bad-defaults'
          ? {
              WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
              API_PROCESSES: '2',
              REDIS_URL: `redis://127.0.0.1:${redisPort}`,
            }
          : {}),
        ...(entry === ENTRIES.api && what !== 'bad-defaults' ? { REDIS_URL: `redis://127.0.0.1:${redisPort}` } : {}),
      });
      const exit = await Promise.race([p.exited, deadline(60_000, `${entry} did not exit`)]);
      expect(exit.code, output(p)).toBe(2);
      expect(p.stderr()).toContain(`${setting}=${JSON.stringify(file)}`);
      expect(output(p), 'a stack trace').not.toMatch(/^\s+at /m);
      expect(output(p)).not.toContain('NO API KEYS CONFIGURED');
      expect(p.stderr()).not.toMatch(/listening|started/);
      expect(existsSync(redisDir)).toBe(false);
    },
  );
});

describe('the scale-out entry points without REDIS_URL', () => {
  it.concurrent.for([
    ['npm run start:api', 'start:api'],
    ['npm run start:worker', 'start:worker'],
  ] as const)('%s exits non-zero and says REDIS_URL is needed', { timeout: 90_000 }, async ([, script], { expect }) => {
    const port = await freePort();
    const p = start('npm', ['run', '--silent', script], {
      PORT: String(port),
      LOG_LEVEL: 'info',
      npm_config_update_notifier: 'false',
    });
    const exit = await Promise.race([p.exited, deadline(60_000, `npm run ${script} did not exit`)]);
    expect(exit.code, output(p)).not.toBe(0);
    expect(exit.code, output(p)).not.toBeNull();
    expect(p.stderr(), output(p)).toContain('REDIS_URL');
    expect(await portOpen(port)).toBe(false);
  });
});
