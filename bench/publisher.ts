/**
 * @module bench/publisher
 * Paced progress for the streaming scenarios, from a process of its own:
 * - `publish` feeds the bare baseline server: ready SSE frames, byte for byte the shape of
 *   jobcast's progress and done frames, on `bare:<id>` channels, with the publish time as the
 *   event's `at`;
 * - `report` drives jobcast jobs through `JobStore.report()` and `finish()`, the exact code a
 *   worker's `ctx.progress()` runs (one EVALSHA that updates the record and PUBLISHes).
 * Both use one schedule: channels phased evenly over one interval, as jobs started at
 * different times would be; every run bounded in count and time.
 */
import { Redis } from 'ioredis';
import { ProgressPace } from '../src/jobs/pace.js';
import { JobStore } from '../src/jobs/store.js';
import { doneFrame, progressFrame } from './lib/frames.js';
import { serve } from './lib/ipc.js';

const redis = new Redis(process.env.REDIS_URL as string, { connectionName: 'bench:publisher' });

export interface PaceArgs {
  jobIds: string[];
  /** Progress events per job. */
  count: number;
  intervalMs: number;
  /** Stop anyway after this long. */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `emit(job, step)` for steps 1..count of every job: event g (0 ≤ g < n·count) is step
 * ⌊g/n⌋+1 of job g mod n, due at start + g·interval/n. Due events go out together; `flush`
 * ends each batch.
 */
async function pace(
  { jobIds, count, intervalMs, timeoutMs = 120_000 }: PaceArgs,
  emit: (jobIndex: number, step: number) => void,
  flush: () => Promise<unknown>,
): Promise<{ published: number; ms: number }> {
  const n = jobIds.length;
  const total = n * count;
  const started = performance.now();
  const deadline = started + timeoutMs;
  const spacing = intervalMs / n;
  let g = 0;
  while (g < total && performance.now() < deadline) {
    const due = Math.min(total, Math.floor((performance.now() - started) / spacing) + 1);
    if (due > g) {
      for (; g < due; g++) emit(g % n, Math.floor(g / n) + 1);
      await flush();
    }
    const next = started + g * spacing;
    await sleep(Math.max(0, Math.min(20, next - performance.now())));
  }
  await sleep(intervalMs);
  return { published: g, ms: performance.now() - started };
}

async function publish(args: PaceArgs) {
  let pipeline = redis.pipeline();
  const started = Date.now();
  const paces = args.jobIds.map(() => new ProgressPace(started));
  const result = await pace(
    args,
    (i, step) => {
      const jobId = args.jobIds[i] as string;
      const at = Date.now();
      const paced = (paces[i] as ProgressPace).observe((step / args.count) * 100, at);
      pipeline.publish(`bare:${jobId}`, progressFrame(jobId, step + 1, step, args.count, at, paced));
    },
    () => {
      const batch = pipeline;
      pipeline = redis.pipeline();
      return batch.exec();
    },
  );
  const done = redis.pipeline();
  for (const jobId of args.jobIds)
    done.publish(`bare:${jobId}`, doneFrame(jobId, args.count + 2, args.count, Date.now()));
  await done.exec();
  return result;
}

async function report(args: PaceArgs & { prefix: string }) {
  const store = new JobStore(redis, { prefix: args.prefix, logMaxLines: 1000, retentionSeconds: 3600 });
  const startedAt = Date.now();
  await Promise.all(args.jobIds.map((id) => store.report(id, { state: 'active', progress: 0, attempt: 1, startedAt })));
  // What a worker's ctx.progress() does: the pace of each job, worked out at each report.
  const paces = args.jobIds.map(() => new ProgressPace(startedAt));
  let pending: Promise<number>[] = [];
  const result = await pace(
    args,
    (i, step) => {
      const progress = Math.round((step / args.count) * 10_000) / 100;
      const message = `step ${step} of ${args.count}`;
      const at = Date.now();
      const paced = (paces[i] as ProgressPace).observe(progress, at);
      pending.push(
        store.report(args.jobIds[i] as string, { state: 'active', progress, message, attempt: 1, pace: paced }, at),
      );
    },
    () => {
      const batch = pending;
      pending = [];
      return Promise.all(batch);
    },
  );
  await Promise.all(args.jobIds.map((id) => store.finish(id, 'completed', { result: { steps: args.count } })));
  return result;
}

serve({ publish, report });
