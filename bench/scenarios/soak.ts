/**
 * @module bench/scenarios/soak
 * Opens and closes many streams on one API process in bounded batches, then checks that
 * nothing stayed behind: RSS back near where it was, no open streams, no subscribed channels,
 * no file descriptors left.
 *
 * "Before" is read after a warm-up of the same batches, long enough to reach the steady state
 * the soak then runs in (compiled code, malloc's arenas, V8's pages: measured flat from about
 * 10,000 streams on, `bench/soak-probe.ts`). Before and after are read the same way: RSS
 * as the process left itself, then after a memory-reducing collection (SIGUSR2 with
 * `BENCH_GC=low-memory`, see lib/gc-on-signal.mjs). The target is judged on the collected
 * figures: what a collection that gives back everything it can cannot free is what the streams
 * left behind. A plain `gc()` was not enough: it leaves V8's young generation at 1 or 32 MiB by
 * a heuristic, which swung the ratio between 1.02× and 1.40× on the same code.
 */
import { MemoryReports, v8ResidentBytes } from '../lib/memory-report.js';
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
  /** Pages V8's heap has resident after the collection (every space), before and after. */
  v8ResidentBeforeMiB: number;
  v8ResidentAfterMiB: number;
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
  const reports = new MemoryReports('soak');
  const api = await startApi(redis.url, { nodeArgs: GC_ON_SIGNAL, env: reports.env('low-memory') });
  const clients = new Clients(2);
  // Read after settledRss(pid, true): the hook writes the report right after its collection.
  const collected = () => {
    const report = reports.read();
    return { heapUsedMiB: report.usage.heapUsed / MiB, v8ResidentMiB: v8ResidentBytes(report) / MiB };
  };
  try {
    const ids = await submitJobs(api.url, 100, { steps: 10, stepMs: 200 });
    const paths = ids.map((id) => `/jobs/${id}/events`);
    await clients.soak(api.port, paths, options.warmup, options.batch);
    const rssBeforeMiB = await settledRss(api.pid);
    const rssBeforeAfterGcMiB = await settledRss(api.pid, true);
    const before = collected();
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
    const after = collected();
    return {
      streams: results.reduce((n, r) => n + r.opened, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      seconds,
      rssBeforeMiB,
      rssAfterMiB,
      rssBeforeAfterGcMiB,
      rssAfterAfterGcMiB,
      heapUsedBeforeMiB: before.heapUsedMiB,
      heapUsedAfterMiB: after.heapUsedMiB,
      v8ResidentBeforeMiB: before.v8ResidentMiB,
      v8ResidentAfterMiB: after.v8ResidentMiB,
      rssPeakMiB: rssPeak / MiB,
      openStreamsAfter: await api.metric('jobcast_open_streams'),
      subscribedJobsAfter: await api.metric('jobcast_subscribed_jobs'),
      fdsBefore,
      fdsAfter: fdCount(api.pid),
    };
  } finally {
    await clients.stop();
    await api.stop();
    reports.remove();
  }
}
