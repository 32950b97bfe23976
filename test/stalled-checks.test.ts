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
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startWorker } from '../workers/runner.js';
import { stalledCheckOptions } from '../workers/stalled-checks.js';
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
