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
import { cpuMs, cpuMsByThread, syscalls } from '../lib/proc.js';
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
  /** CPU per delivered event of each round on its own (µs). */
  roundCpuPerEventUs: number[];
  /** Many jobs: CPU by kind of thread (see `cpuMsByThread`), in all (ms). */
  threadsMs?: { main: number; background: number };
  /** Many jobs: system calls and user/kernel CPU of the whole window (see `syscalls`), in all. */
  syscalls?: ReturnType<typeof syscalls>;
  /** Many jobs: CPU while the streams opened (per stream), and after (in all, µs). */
  phases?: {
    openUsPerStream: number;
    eventsUs: number;
    /** When the window began, the streams were open, and it ended (CLOCK_MONOTONIC µs: CPU profiles' clock). */
    monotonicUs: [number, number, number];
    /** The same for every round, when rounds were pooled. */
    rounds?: [number, number, number][];
  };
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
    roundCpuPerEventUs: [(cpu * 1000) / Math.max(1, delivered)],
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
    roundCpuPerEventUs: runs.flatMap((r) => r.roundCpuPerEventUs),
    threadsMs: first.threadsMs && {
      main: runs.reduce((n, r) => n + (r.threadsMs?.main ?? 0), 0),
      background: runs.reduce((n, r) => n + (r.threadsMs?.background ?? 0), 0),
    },
    syscalls: first.syscalls && {
      reads: runs.reduce((n, r) => n + (r.syscalls?.reads ?? 0), 0),
      writes: runs.reduce((n, r) => n + (r.syscalls?.writes ?? 0), 0),
      userMs: runs.reduce((n, r) => n + (r.syscalls?.userMs ?? 0), 0),
      systemMs: runs.reduce((n, r) => n + (r.syscalls?.systemMs ?? 0), 0),
    },
    phases: first.phases && {
      openUsPerStream: runs.reduce((n, r) => n + (r.phases?.openUsPerStream ?? 0), 0) / runs.length,
      eventsUs: runs.reduce((n, r) => n + (r.phases?.eventsUs ?? 0), 0),
      monotonicUs: first.phases.monotonicUs,
      rounds: runs.map((r) => r.phases?.monotonicUs ?? [0, 0, 0]),
    },
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

/** Many jobs, one stream each, driven by real workers: the whole life of every stream is measured. */
export interface ManyLoad {
  jobs: number;
  /** simulate's steps and step time. */
  steps: number;
  stepMs: number;
}

/**
 * Measures one side of "many jobs": CPU of `pid` from before the streams open until they are
 * closed (each stream's request, subscription and read, its events, `done`, the unsubscription),
 * with the jobs held in their paused queue until every stream is open, then run by the worker.
 */
async function manyJobs(
  pid: number,
  port: number,
  queue: Queue,
  clients: Clients,
  ids: string[],
  skipFirst: boolean,
): Promise<Omit<StreamRun, 'ratePerJob'>> {
  const paths = ids.map((id) => `/jobs/${id}/events`);
  await clients.mark();
  const threads0 = cpuMsByThread(pid);
  const calls0 = syscalls(pid);
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  // CLOCK_MONOTONIC, in µs, as V8's CPU profiles time their samples: where this window lies in one.
  const at = () => Number(process.hrtime.bigint() / 1000n);
  const from = at();
  const opened = await clients.open(port, paths, { skipFirst });
  const openedAt = at();
  const cpuOpen = cpuMs(pid) - cpu0;
  await queue.resume();
  await clients.waitDone(120_000);
  const stats = await clients.stats();
  await clients.closeAll();
  const cpu = cpuMs(pid) - cpu0;
  const threads1 = cpuMsByThread(pid);
  const calls1 = syscalls(pid);
  const seconds = (performance.now() - t0) / 1000;
  const run = summarize({ jobs: ids.length, streams: paths.length }, stats, cpu, seconds, opened.failed);
  return {
    ...run,
    threadsMs: { main: threads1.main - threads0.main, background: threads1.background - threads0.background },
    syscalls: {
      reads: calls1.reads - calls0.reads,
      writes: calls1.writes - calls0.writes,
      userMs: calls1.userMs - calls0.userMs,
      systemMs: calls1.systemMs - calls0.systemMs,
    },
    phases: {
      openUsPerStream: (cpuOpen * 1000) / paths.length,
      eventsUs: (cpu - cpuOpen) * 1000,
      monotonicUs: [from, openedAt, at()],
    },
  };
}

/** jobcast: simulate jobs submitted through the API, run by jobcast's worker process. */
export async function runManyJobcast(side: JobcastSide, clients: Clients, load: ManyLoad): Promise<StreamRun> {
  await side.queue.pause();
  const ids = await submitJobs(side.api.url, load.jobs, { steps: load.steps, stepMs: load.stepMs });
  const run = await manyJobs(side.api.pid, side.api.port, side.queue, clients, ids, true);
  return { ...run, ratePerJob: run.progressPerStream / ((load.steps * load.stepMs) / 1000) };
}

/** The bare server with the bare worker (`bench/bare-worker.ts`) running the same steps. */
export async function runManyBare(
  side: { bare: Bare; queue: Queue },
  clients: Clients,
  load: ManyLoad,
): Promise<StreamRun> {
  await side.queue.pause();
  const ids = Array.from({ length: load.jobs }, () => randomUUID());
  await side.queue.addBulk(
    ids.map((jobId) => ({ name: 'simulate', data: { steps: load.steps, stepMs: load.stepMs }, opts: { jobId } })),
  );
  const run = await manyJobs(side.bare.pid, side.bare.port, side.queue, clients, ids, false);
  return { ...run, ratePerJob: run.progressPerStream / ((load.steps * load.stepMs) / 1000) };
}
