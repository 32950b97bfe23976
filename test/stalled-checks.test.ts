/**
 * The stalled-job check (a killed worker's jobs back to the queue) runs on every turn of a worker
 * that is alone (workers/stalled-checks.ts): no turn is skipped on the key of its own previous
 * check. BullMQ's own loop waits exactly as long as that key lives, and skipped turns when the
 * worker shared its cores with busier processes (a probe with two CPU burners on this 2-core
 * machine: 4 skipped turns in 80 s, then 0 with this loop), which put a killed worker's job back
 * one interval late (15.7 s against the README's 12 s in test/worker-death). That contention is
 * too costly to stage here; what this test holds is every turn making its check.
 *
 * A check sets BullMQ's `stalled-check` key afresh; polling its remaining lifetime tells when.
 *
 * And a check sent while Redis is gone waits in the client's queue for good: a worker closed
 * after that must not wait for it (it held every Ctrl-C after a Redis outage to the 20 s limit).
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startWorker } from '../workers/runner.js';
import { STOP_WAIT_MS, stalledCheckOptions } from '../workers/stalled-checks.js';
import { waitFor } from './support/harness/harness.js';
import { startPrivateRedis } from './support/redis/private-redis.js';

const INTERVAL_MS = 1000;
const WATCH_MS = 6000;

it('runs every WORKER_STALLED_INTERVAL_MS, never skipping a turn', async () => {
  const redis = await startPrivateRedis();
  const config = parseConfig({ WORKER_STALLED_INTERVAL_MS: String(INTERVAL_MS), LOG_LEVEL: 'warn' });
  const worker = await startWorker(config, redis.url, createLogger('warn'));
  const inspector = new Redis(redis.url);
  try {
    const key = worker.worker.keys['stalled-check'] as string;
    const lifetime = stalledCheckOptions(INTERVAL_MS).stalledInterval;
    const checks: number[] = [];
    const started = Date.now();
    let lastTtl = -2;
    while (Date.now() - started < WATCH_MS) {
      const ttl = await inspector.pttl(key);
      if (ttl > lastTtl) checks.push(Date.now() - (lifetime - ttl));
      lastTtl = ttl;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const gaps = checks.slice(1).map((at, i) => at - (checks[i] as number));
    console.log(`[stalled-checks] ${checks.length} checks in ${WATCH_MS} ms; gaps (ms): ${gaps.join(' ')}`);
    expect(checks.length).toBeGreaterThanOrEqual(WATCH_MS / INTERVAL_MS - 1);
    // A skipped turn is a gap of two intervals.
    expect(Math.max(...gaps)).toBeLessThan(INTERVAL_MS * 1.5);
  } finally {
    inspector.disconnect();
    await worker.close();
    await redis.stop();
  }
}, 30_000);

it('a worker closed after Redis went away does not wait for the check stuck on it', async () => {
  const redis = await startPrivateRedis();
  const config = parseConfig({ WORKER_STALLED_INTERVAL_MS: String(INTERVAL_MS), LOG_LEVEL: 'error' });
  const worker = await startWorker(config, redis.url, createLogger('error'));
  try {
    // Counts the checks (the real one runs): one that starts after Redis is gone never settles.
    const check = worker.worker as unknown as { moveStalledJobsToWait(): Promise<void> };
    const real = check.moveStalledJobsToWait.bind(check);
    let redisGone = false;
    let checksSinceGone = 0;
    check.moveStalledJobsToWait = () => {
      if (redisGone) checksSinceGone++;
      return real();
    };
    await redis.stop();
    redisGone = true;
    await waitFor(() => checksSinceGone >= 1, 'a stalled check after Redis went away', 10 * INTERVAL_MS);
    const started = Date.now();
    await worker.close();
    const ms = Date.now() - started;
    console.log(`[stalled-checks] worker closed ${ms} ms after its close began, Redis gone`);
    expect(ms).toBeLessThan(STOP_WAIT_MS + 2500);
  } finally {
    await worker.close();
  }
}, 30_000);
