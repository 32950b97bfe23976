/**
 * @module bench/bare-worker
 * The baseline's worker, for the scenarios driven by real workers: a BullMQ worker that runs
 * `simulate`'s loop (`steps` × `stepMs`) and reports each step the least way there is — one
 * `PUBLISH` of a ready SSE frame to the bare server's channel `bare:<id>`, awaited as
 * `ctx.progress()` is. Like jobcast's worker it reports `active` before the first step, and
 * the last progress and `done` once BullMQ has recorded the job as completed. No record, no
 * sequence numbers, no Lua: what is left is BullMQ's own scheduling and one round trip per
 * report, so the latency from a report to the client compares like with like.
 *
 * Env: REDIS_URL, KEY_PREFIX (its BullMQ queue `jobs` under that prefix), WORKER_CONCURRENCY.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { bullPrefix } from '../src/jobs/keys.js';
import { ProgressPace } from '../src/jobs/pace.js';
import { doneFrame, progressFrame, stateFrame } from './lib/frames.js';

interface BareJob {
  steps: number;
  stepMs: number;
}

const url = process.env.REDIS_URL as string;
const publisher = new Redis(url, { connectionName: 'bare:worker-publisher' });
const connection = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'bare:worker' });

const worker = new Worker<BareJob>(
  'jobs',
  async (job: Job<BareJob>) => {
    const { steps, stepMs } = job.data;
    const channel = `bare:${job.id}`;
    const startedAt = Date.now();
    await publisher.publish(channel, stateFrame(job.id as string, 2, 'active', 0, startedAt));
    // The rate and ETA jobcast's worker works out and sends with each report (the same bytes).
    const pace = new ProgressPace(startedAt);
    for (let step = 1; step <= steps; step++) {
      if (stepMs > 0) await sleep(stepMs);
      const at = Date.now();
      const paced = pace.observe((step / steps) * 100, at);
      await publisher.publish(channel, progressFrame(job.id as string, step + 2, step, steps, at, paced));
    }
    return { steps };
  },
  {
    connection,
    prefix: bullPrefix(process.env.KEY_PREFIX ?? 'bare'),
    concurrency: Number(process.env.WORKER_CONCURRENCY ?? 1000),
  },
);

worker.on('completed', (job) => {
  const { steps } = job.data;
  const at = Date.now();
  const id = job.id as string;
  publisher
    .pipeline()
    .publish(`bare:${id}`, stateFrame(id, steps + 3, 'completed', 100, at, `step ${steps} of ${steps}`))
    .publish(`bare:${id}`, doneFrame(id, steps + 4, steps, at))
    .exec()
    .catch(() => {});
});

process.on('SIGTERM', () => {
  // Exits when closed, whatever the close ended with.
  void worker.close().finally(() => {
    publisher.disconnect();
    connection.disconnect();
    process.exit(0);
  });
});
