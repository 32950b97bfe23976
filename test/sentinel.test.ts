/**
 * Redis Sentinel: with REDIS_SENTINELS the API and workers find the master through the
 * sentinels, and follow it when a replica is promoted after the master dies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalRedis, startLocalRedis } from '../src/local-redis.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { freePort } from './support/runner/global-setup.js';
import { allowLeaks } from './support/runner/leak-check.js';
import { watch } from './support/sse/sse.js';

let dir: string;
let master: LocalRedis;
let replica: LocalRedis;
let sentinel: ChildProcess;
let h: Harness;

// A failover replaces the harness's Redis connections while the test runs (the old master's
// clients reconnect through the sentinel for a while): the per-test count cannot settle on the
// baseline; the whole-file check proves everything is closed with the harness in afterAll.
allowLeaks('a failover replaces the connections the test started with');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jobcast-sentinel-'));
  master = await startLocalRedis({ port: await freePort(), dir: join(dir, 'master'), persistence: 'none' });
  replica = await startLocalRedis({
    port: await freePort(),
    dir: join(dir, 'replica'),
    persistence: 'none',
    extraArgs: ['--replicaof', '127.0.0.1', String(master.port)],
  });
  const sentinelPort = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor mymaster 127.0.0.1 ${master.port} 1`,
      'sentinel down-after-milliseconds mymaster 1000',
      'sentinel failover-timeout mymaster 4000',
      '',
    ].join('\n'),
  );
  sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  // One connection per try, which never reconnects by itself: one probe connected again by
  // hand while ioredis was reconnecting it had two sockets, and the orphaned one's close set
  // off reconnects to the killed sentinel for the rest of the run (a burner run's leak check
  // caught them in this file and in later files of its process).
  await waitFor(async () => {
    const probe = new Redis({
      port: sentinelPort,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    // Refused while the sentinel starts: each try's failure is the waitFor's business, not a log line.
    probe.on('error', () => {});
    try {
      await probe.connect();
      const replicas = (await probe.call('SENTINEL', 'REPLICAS', 'mymaster')) as unknown[];
      return replicas.length > 0;
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }, 'sentinel to see the replica');
  h = await startHarness({ env: { REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, WORKER_LOCK_MS: '2000' } });
}, 30_000);

afterAll(async () => {
  await h?.close();
  sentinel?.kill('SIGKILL');
  await Promise.all([master?.stop(), replica?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

it('runs jobs on the master the sentinels name, and keeps going after a failover', async () => {
  const first = await h.submit({ type: 'simulate', data: { steps: 3, stepMs: 20 } });
  expect((await watch(`${h.url}/jobs/${first.id}/events`)).at(-1)?.data.status).toBe('completed');
  // The job lives on the sentinel's master, not on the URL the harness passed.
  const direct = new Redis(master.url);
  expect(await direct.exists(`${h.config.KEY_PREFIX}:{${first.id}}`)).toBe(1);
  direct.disconnect();

  // The master dies; the sentinel promotes the replica; clients follow it.
  const replicaClient = new Redis(replica.url);
  await waitFor(async () => {
    const info = await replicaClient.info('replication').catch(() => '');
    return info.includes('master_link_status:up');
  }, 'replica in sync');
  replicaClient.disconnect();
  const started = Date.now();
  await master.stop();
  const second = await waitForSubmit();
  const events = await watch(`${h.url}/jobs/${second.id}/events`, { timeoutMs: 20_000 });
  expect(events.at(-1)?.data.status).toBe('completed');
  console.log(`sentinel failover: first job accepted again after ${Date.now() - started} ms`);
}, 60_000);

/** Submits until the API can reach the new master. */
async function waitForSubmit(): Promise<{ id: string }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await h.submit({ type: 'simulate', data: { steps: 2, stepMs: 20 } });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
