/**
 * A real jobcast for a test file: an API server listening on 127.0.0.1 (random port) and a
 * worker, both in this process, against the run's real Redis, under a key prefix of their
 * own so test files never see each other's jobs.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { type Config, parseConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { type RunningApi, startApi } from '../../../src/server.js';
import { type RunningWorker, startWorker } from '../../../workers/runner.js';
import { contractOrigins } from '../contract/contract-everywhere.js';
import { submitJob } from '../http/api.js';

export interface Harness {
  url: string;
  redisUrl: string;
  config: Config;
  api: RunningApi;
  worker: RunningWorker | undefined;
  /** A plain client for inspecting Redis. */
  redis: Redis;
  /** POSTs a job and returns the parsed resource ({@link submitJob}). */
  submit(body: unknown): Promise<{ id: string; [key: string]: unknown }>;
  close(): Promise<void>;
}

/**
 * @param options.redisUrl a Redis of the test's own (`startPrivateRedis`) instead of the run's
 * shared one, when the test counts or kills Redis clients.
 */
export async function startHarness(
  options: { env?: Record<string, string>; worker?: boolean; redisUrl?: string } = {},
): Promise<Harness> {
  const redisUrl = options.redisUrl ?? inject('redisUrl');
  const config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    KEY_PREFIX: `t${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'error',
    // Limits are off unless a test is about them: tests open many streams from one address.
    RATE_LIMIT_PER_MINUTE: '0',
    READ_RATE_LIMIT_PER_MINUTE: '0',
    MAX_STREAMS_PER_CLIENT: '0',
    ...options.env,
  });
  const log = createLogger(config.LOG_LEVEL, {}, 'json');
  const worker = options.worker === false ? undefined : await startWorker(config, redisUrl, log);
  const api = await startApi(config, redisUrl, log);
  const redis = new Redis(redisUrl);
  // A test that kills its Redis sees this client reconnect (ioredis retries by itself); its
  // refused connections meanwhile are no finding.
  redis.on('error', () => {});
  const url = api.url;
  contractOrigins.add(new URL(url).origin);
  const harness: Harness = {
    url,
    redisUrl,
    config,
    api,
    worker,
    redis,
    submit: (body) => submitJob(url, body as Parameters<typeof submitJob>[1]),
    async close() {
      // The API it holds now: a test may have restarted it (`h.api = await startApi(…)`).
      await harness.api.close();
      await worker?.close();
      await redis.quit();
    },
  };
  return harness;
}

/** Redis clients connected right now (INFO clients). */
export async function connectedClients(redis: Redis): Promise<number> {
  const info = await redis.info('clients');
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
}

/**
 * How often `waitFor` checks: every 20 ms at first (most conditions hold within a few checks),
 * then less often, up to every 100 ms. A check is often a request, a Redis command or a
 * Chromium round trip: checked every 20 ms for the seconds a job runs, the checks cost more CPU
 * than what they wait for.
 */
const FIRST_POLL_MS = 20;
const LAST_POLL_MS = 100;

/** Waits until `check` is true, polling; fails with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pollMs = FIRST_POLL_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
    pollMs = Math.min(LAST_POLL_MS, pollMs * 1.25);
  }
}
