/**
 * @module bench/scenarios/streaming
 * Broadcast (many streams on one job) and many jobs (one stream each): progress events from a
 * real worker process running `simulate`, delivered by the jobcast API, against the bare server
 * pushing frames of the same size at the rate jobcast actually achieved, to the same number of
 * clients. Measured: delivery latency (worker report → client receipt) and API-process CPU per
 * delivered event.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Child } from '../lib/ipc.js';
import { cpuMs } from '../lib/proc.js';
import { type Api, type Bare, type Clients, submitJobs } from '../lib/services.js';
import { concat, percentile } from '../lib/stats.js';

export interface StreamRun {
  jobs: number;
  streams: number;
  /** Progress events per stream (excluding the initial state) and done. */
  progressPerStream: number;
  /** Progress events per second per job, as achieved. */
  ratePerJob: number;
  seconds: number;
  delivered: number;
  doneStreams: number;
  openFailed: number;
  cpuMs: number;
  cpuPerEventUs: number;
  p50Ms: number;
  p99Ms: number;
  /** Every latency sample (ms); left out of results.json. */
  latencies: Float64Array;
  rounds: number;
  /** p99 of each round on its own. */
  roundP99Ms: number[];
}

export interface StreamLoad {
  jobs: number;
  streamsPerJob: number;
  /** Progress reports per second per job. */
  rate: number;
  seconds: number;
  /**
   * Who reports progress: `worker` = the worker process running `simulate` (which awaits each
   * report, so it runs a little slower than asked); `store` = the publisher process calling
   * `JobStore.report()` on the jobs' records at an exact pace, the code `ctx.progress()` runs.
   */
  driver: 'worker' | 'store';
}

export interface JobcastSide {
  api: Api;
  queue: Queue;
  /** The publisher process, for `driver: 'store'`. */
  publisher: Child;
}

export interface BareSide {
  bare: Bare;
  publisher: Child;
}

function summarize(
  load: { jobs: number; streams: number },
  stats: Awaited<ReturnType<Clients['stats']>>,
  cpu: number,
  seconds: number,
  openFailed: number,
): Omit<StreamRun, 'ratePerJob'> {
  const progress = stats.reduce((n, s) => n + s.progress, 0);
  const done = stats.reduce((n, s) => n + s.done, 0);
  const latencies = concat(stats.map((s) => s.latencies));
  const delivered = progress + done;
  return {
    jobs: load.jobs,
    streams: load.streams,
    progressPerStream: progress / Math.max(1, load.streams),
    seconds,
    delivered,
    doneStreams: done,
    openFailed,
    cpuMs: cpu,
    cpuPerEventUs: (cpu * 1000) / Math.max(1, delivered),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    latencies,
    rounds: 1,
    roundP99Ms: [percentile(latencies, 0.99)],
  };
}

/** Several rounds of one side as one run: latencies pooled, CPU and events summed. */
export function pool(runs: StreamRun[]): StreamRun {
  const first = runs[0] as StreamRun;
  if (runs.length === 1) return first;
  const sum = (k: 'delivered' | 'doneStreams' | 'openFailed' | 'cpuMs' | 'seconds' | 'streams') =>
    runs.reduce((n, r) => n + r[k], 0);
  const latencies = concat(runs.map((r) => r.latencies));
  const delivered = sum('delivered');
  return {
    ...first,
    streams: sum('streams'),
    progressPerStream: runs.reduce((n, r) => n + r.progressPerStream, 0) / runs.length,
    ratePerJob: runs.reduce((n, r) => n + r.ratePerJob, 0) / runs.length,
    seconds: sum('seconds'),
    delivered,
    doneStreams: sum('doneStreams'),
    openFailed: sum('openFailed'),
    cpuMs: sum('cpuMs'),
    cpuPerEventUs: (sum('cpuMs') * 1000) / Math.max(1, delivered),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    latencies,
    rounds: runs.length,
    roundP99Ms: runs.flatMap((r) => r.roundP99Ms),
  };
}

/** jobcast: submit the jobs with the queue paused, open the streams, then report progress. */
export async function runJobcast(side: JobcastSide, clients: Clients, load: StreamLoad): Promise<StreamRun> {
  const { api, queue, publisher } = side;
  await queue.pause();
  const steps = Math.round(load.rate * load.seconds);
  const ids = await submitJobs(api.url, load.jobs, { steps, stepMs: Math.round(1000 / load.rate) });
  const paths = ids.flatMap((id) => Array.from({ length: load.streamsPerJob }, () => `/jobs/${id}/events`));
  const opened = await clients.open(api.port, paths);
  await clients.mark();
  const cpu0 = cpuMs(api.pid);
  const t0 = performance.now();
  if (load.driver === 'worker') {
    await queue.resume();
  } else {
    // The queue stays paused: no worker takes these jobs while the publisher reports on them.
    await publisher.call(
      'report',
      { jobIds: ids, count: steps, intervalMs: 1000 / load.rate, prefix: api.prefix },
      load.seconds * 1000 + 60_000,
    );
  }
  await clients.waitDone(load.seconds * 1000 + 60_000);
  const cpu = cpuMs(api.pid) - cpu0;
  const seconds = (performance.now() - t0) / 1000;
  const stats = await clients.stats();
  await clients.closeAll();
  // The rate achieved (simulate awaits each report, so it runs a little slower than stepMs
  // says): the baseline replays it.
  const records = await Promise.all(
    ids.map(async (id) => (await (await fetch(`${api.url}/jobs/${id}`)).json()) as Record<string, string>),
  );
  const durations = records.map((r) => (Date.parse(r.finishedAt ?? '') - Date.parse(r.startedAt ?? '')) / 1000);
  const meanDuration = durations.reduce((a, b) => a + b, 0) / durations.length;
  const run = summarize({ jobs: load.jobs, streams: paths.length }, stats, cpu, seconds, opened.failed);
  return { ...run, ratePerJob: load.driver === 'store' ? load.rate : run.progressPerStream / meanDuration };
}

/** The bare server with the same clients, the same number of events per stream, at jobcast's rate. */
export async function runBare(
  side: BareSide,
  clients: Clients,
  load: { jobs: number; streamsPerJob: number; count: number; ratePerJob: number },
): Promise<StreamRun> {
  const { bare, publisher } = side;
  const ids = Array.from({ length: load.jobs }, () => randomUUID());
  const paths = ids.flatMap((id) => Array.from({ length: load.streamsPerJob }, () => `/jobs/${id}/events`));
  const opened = await clients.open(bare.port, paths);
  await clients.mark();
  const cpu0 = cpuMs(bare.pid);
  const t0 = performance.now();
  const intervalMs = 1000 / load.ratePerJob;
  await publisher.call('publish', { jobIds: ids, count: load.count, intervalMs }, 180_000);
  await clients.waitDone(30_000);
  const cpu = cpuMs(bare.pid) - cpu0;
  const seconds = (performance.now() - t0) / 1000;
  const stats = await clients.stats();
  await clients.closeAll();
  const run = summarize({ jobs: load.jobs, streams: paths.length }, stats, cpu, seconds, opened.failed);
  return { ...run, ratePerJob: load.ratePerJob };
}
