/**
 * The safety net under "done is never missed": when BullMQ has recorded a job's outcome but
 * no `done` was published (a worker died between the two), watchers still get `done`.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bullPrefix } from '../src/jobs/keys.js';
import { type Harness, startHarness } from './support/harness.js';
import { watch } from './support/sse.js';

let h: Harness;
let bare: Worker | undefined;
let connection: Redis | undefined;

beforeAll(async () => {
  // No jobcast worker: a bare BullMQ worker plays one that completes jobs and then dies
  // before publishing `done`.
  h = await startHarness({ worker: false, env: { WORKER_LOCK_MS: '1000' } });
});
afterAll(async () => {
  await bare?.close();
  await connection?.quit();
  await h.close();
});

it('a watcher gets done when BullMQ finished the job but nobody published it', async () => {
  const job = await h.submit({ type: 'simulate', data: { steps: 1, stepMs: 0 } });
  const events = watch(`${h.url}/jobs/${job.id}/events`, { timeoutMs: 10_000 });
  connection = new Redis(h.redisUrl, { maxRetriesPerRequest: null });
  bare = new Worker(h.config.QUEUE_NAME, async () => ({ by: 'bare worker' }), {
    connection,
    prefix: bullPrefix(h.config.KEY_PREFIX),
  });
  const received = await events;
  expect(received.at(-1)).toMatchObject({ type: 'done', data: { status: 'completed', result: { by: 'bare worker' } } });
  const resource = (await (await fetch(`${h.url}/jobs/${job.id}`)).json()) as Record<string, unknown>;
  expect(resource).toMatchObject({ state: 'completed', result: { by: 'bare worker' } });
});
