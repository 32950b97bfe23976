/**
 * @module bench/scenarios/soak
 * Opens and closes many streams on one API process in bounded batches, then checks that
 * nothing stayed behind: RSS back near where it was, no open streams, no subscribed channels,
 * no file descriptors left.
 *
 * "Before" is read after a warm-up (the same batches, fewer of them), so that the JIT and the
 * heap's working size are already there. RSS is read as the process left itself and after a
 * full garbage collection (SIGUSR2, see lib/gc-on-signal.mjs): a leak is what a collection
 * cannot free, so the target is judged on the collected figures.
 */
import { fdCount, MiB, rssBytes, settledRss } from '../lib/proc.js';
import { type BenchRedis, Clients, GC_ON_SIGNAL, startApi, submitJobs } from '../lib/services.js';

export interface SoakResult {
  streams: number;
  failed: number;
  seconds: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  rssBeforeAfterGcMiB: number;
  rssAfterAfterGcMiB: number;
  heapUsedBeforeMiB: number;
  heapUsedAfterMiB: number;
  rssPeakMiB: number;
  openStreamsAfter: number;
  subscribedJobsAfter: number;
  fdsBefore: number;
  fdsAfter: number;
}

export async function soakScenario(
  redis: BenchRedis,
  options: { total: number; batch: number; warmup: number },
): Promise<SoakResult> {
  const api = await startApi(redis.url, { nodeArgs: GC_ON_SIGNAL });
  const clients = new Clients(2);
  const heapUsed = async () => (await api.metric('jobcast_api_nodejs_heap_size_used_bytes')) / MiB;
  try {
    const ids = await submitJobs(api.url, 100, { steps: 10, stepMs: 200 });
    const paths = ids.map((id) => `/jobs/${id}/events`);
    await clients.soak(api.port, paths, options.warmup, options.batch);
    const rssBeforeMiB = await settledRss(api.pid);
    const rssBeforeAfterGcMiB = await settledRss(api.pid, true);
    const heapUsedBeforeMiB = await heapUsed();
    const fdsBefore = fdCount(api.pid);
    let rssPeak = rssBeforeMiB * MiB;
    const peak = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssBytes(api.pid));
    }, 250);
    const started = performance.now();
    const results = await clients
      .soak(api.port, paths, options.total, options.batch)
      .finally(() => clearInterval(peak));
    const seconds = (performance.now() - started) / 1000;
    const rssAfterMiB = await settledRss(api.pid);
    const rssAfterAfterGcMiB = await settledRss(api.pid, true);
    return {
      streams: results.reduce((n, r) => n + r.opened, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      seconds,
      rssBeforeMiB,
      rssAfterMiB,
      rssBeforeAfterGcMiB,
      rssAfterAfterGcMiB,
      heapUsedBeforeMiB,
      heapUsedAfterMiB: await heapUsed(),
      rssPeakMiB: rssPeak / MiB,
      openStreamsAfter: await api.metric('jobcast_open_streams'),
      subscribedJobsAfter: await api.metric('jobcast_subscribed_jobs'),
      fdsBefore,
      fdsAfter: fdCount(api.pid),
    };
  } finally {
    await clients.stop();
    await api.stop();
  }
}
