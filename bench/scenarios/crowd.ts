/**
 * @module bench/scenarios/crowd
 * A crowd of idle streams on one machine: jobcast as `API_PROCESSES=N` on ONE port, against N
 * bare servers (one port each) holding the same number of streams per process. Every stream
 * watches a job of its own (as in the memory scenario: the costly case for jobcast, a channel
 * subscription per stream); once all are held, one progress event is broadcast to all of them
 * at once (every job reports, in one pipeline; its delivery latency measured by the clients),
 * then every job ends and every stream must get `done`.
 *
 * The clients connect from several loopback source addresses (127.0.0.x): one source has about
 * 28,000 ephemeral ports towards one destination. RSS is read the way the memory scenario reads
 * it (a collected base, then the processes as they left themselves and after a full GC), summed
 * over jobcast's API processes AND its primary, which accepts every connection and hands it on.
 */
import { randomUUID } from 'node:crypto';
import { JobStore } from '../../src/jobs/store.js';
import { doneFrame, progressFrame } from '../lib/frames.js';
import { childPids, settledRss, sleep, waitFor } from '../lib/proc.js';
import { type Bare, type BenchRedis, Clients, GC_ON_SIGNAL, startApi, startBare } from '../lib/services.js';
import { concat, percentile } from '../lib/stats.js';

export interface CrowdSettings {
  streams: number;
  /** API processes (jobcast) and bare servers: streams ÷ processes each. */
  processes: number;
  /** Load-client processes; each holds streams ÷ clients sockets from a source address of its own. */
  clients: number;
}

export interface CrowdSide {
  streams: number;
  processes: number;
  /** Streams the servers said they held once all were opened. */
  held: number;
  /** Streams the clients still had open just before the broadcast. */
  openAtBroadcast: number;
  openSeconds: number;
  baseRssMiB: number;
  rssMiB: number;
  kibPerStream: number;
  rssAfterGcMiB: number;
  kibPerStreamAfterGc: number;
  /** Streams that got the broadcast, and its delivery latency (ms). */
  delivered: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Streams that got `done`. */
  done: number;
  /**
   * RSS of each process (MiB; jobcast: the primary first): at the base, with every stream held
   * as the process left itself, and after a full GC.
   */
  processRssMiB: { base: number[]; left: number[]; held: number[] };
}

async function rssEach(pids: number[], gc = false): Promise<number[]> {
  return Promise.all(pids.map((pid) => settledRss(pid, gc)));
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/**
 * Submits `n` jobs through `POST /jobs/batch`, 100 a request, 8 requests in flight; returns their
 * ids. Delayed by an hour: no worker runs here, and 100,000 jobs in BullMQ's wait list would make
 * the reconciler's per-job state check (a scan of that list) load Redis for the whole run.
 */
async function submitBatches(apiUrl: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  let left = n;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (left > 0) {
        const size = Math.min(100, left);
        left -= size;
        const jobs = Array(size).fill({
          type: 'simulate',
          data: { steps: 1, stepMs: 1 },
          options: { delayMs: 3_600_000 },
        });
        const res = await fetch(`${apiUrl}/jobs/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jobs }),
        });
        // 503 asks for a retry (a Redis command that timed out on a busy machine): the jobs are retried.
        if (res.status === 503) {
          left += size;
          await sleep(200);
          continue;
        }
        if (res.status !== 202) throw new Error(`POST /jobs/batch answered ${res.status}: ${await res.text()}`);
        for (const item of ((await res.json()) as { items: { id: string }[] }).items) ids.push(item.id);
      }
    }),
  );
  return ids;
}

/** Source addresses 127.0.0.<first>… for `n` client processes. */
const sources = (first: number, n: number) => Array.from({ length: n }, (_, i) => `127.0.0.${first + i}`);

interface Target {
  pids: number[];
  /** Opens `n` streams of job `id` spread over the servers; resolves with the streams held. */
  open(clients: Clients, n: number): Promise<number>;
  broadcast(): Promise<void>;
  finish(): Promise<void>;
}

async function measure(target: Target, clients: Clients, s: CrowdSettings): Promise<CrowdSide> {
  // Warm-up (code compiled, pools made), then the base from collected heaps.
  await target.open(clients, 200 * s.processes);
  await clients.closeAll();
  const base = await rssEach(target.pids, true);
  const t0 = performance.now();
  const held = await target.open(clients, s.streams);
  const openSeconds = (performance.now() - t0) / 1000;
  const left = await rssEach(target.pids);
  const rssMiB = sum(left);
  const collected = await rssEach(target.pids, true);
  const rssAfterGcMiB = sum(collected);
  const baseRssMiB = sum(base);
  await clients.mark();
  const openAtBroadcast = (await clients.stats()).reduce((n, c) => n + c.open, 0);
  await target.broadcast();
  // Every open stream gets the one event, or the wait ends (bounded).
  const deadline = Date.now() + 60_000;
  let stats = await clients.stats();
  while (stats.reduce((n, c) => n + c.progress, 0) < openAtBroadcast && Date.now() < deadline) {
    await sleep(250);
    stats = await clients.stats();
  }
  const latencies = concat(stats.map((c) => c.latencies));
  const delivered = stats.reduce((n, c) => n + c.progress, 0);
  await target.finish();
  const done = (await clients.waitDone(60_000)).reduce((n, c) => n + c.done, 0);
  await clients.closeAll();
  return {
    streams: s.streams,
    processes: s.processes,
    held,
    openAtBroadcast,
    openSeconds,
    baseRssMiB,
    rssMiB,
    kibPerStream: ((rssMiB - baseRssMiB) * 1024) / held,
    rssAfterGcMiB,
    kibPerStreamAfterGc: ((rssAfterGcMiB - baseRssMiB) * 1024) / held,
    delivered,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: percentile(latencies, 1),
    done,
    processRssMiB: { base, left, held: collected },
  };
}

/** Opening: a bounded number of connections in flight, and all of it bounded in time. */
const OPEN = { concurrency: 1000, timeoutMs: 900_000 };

export async function crowdJobcast(redis: BenchRedis, s: CrowdSettings, nodeArgs: string[] = []): Promise<CrowdSide> {
  // The API processes run with the primary's Node flags (node:cluster's default).
  const api = await startApi(redis.url, {
    nodeArgs: [...GC_ON_SIGNAL, ...nodeArgs],
    // Opening 100,000 streams keeps a 2-core machine saturated for minutes: Redis commands get
    // the time they need rather than the default 1 s that fails fast.
    env: { API_PROCESSES: String(s.processes), REDIS_COMMAND_TIMEOUT_MS: '15000' },
  });
  const clients = new Clients(s.clients, sources(2, s.clients));
  try {
    await waitFor(() => childPids(api.pid).length === s.processes, `${s.processes} API processes`);
    await waitFor(async () => (await api.metric('jobcast_open_streams')) === 0, 'the cluster metrics');
    // The jobs stay delayed and their streams idle until the bench reports on them.
    const ids = await submitBatches(api.url, s.streams);
    const store = new JobStore(redis.admin, { prefix: api.prefix, logMaxLines: 1000, retentionSeconds: 3600 });
    const paths = ids.map((id) => `/jobs/${id}/events`);
    const target: Target = {
      pids: [api.pid, ...childPids(api.pid)],
      async open(c, n) {
        const result = await c.open(api.port, paths.slice(0, n), { ...OPEN, skipFirst: true });
        if (result.failed > 0)
          console.warn(`  ${result.failed} streams failed to open: ${JSON.stringify(result.statuses)}`);
        return api.metric('jobcast_open_streams');
      },
      async broadcast() {
        await Promise.all(
          ids.map((id) => store.report(id, { state: 'active', progress: 50, message: 'half way', attempt: 1 })),
        );
      },
      async finish() {
        await Promise.all(ids.map((id) => store.finish(id, 'completed', { result: { crowd: s.streams } })));
      },
    };
    return await measure(target, clients, s);
  } finally {
    await clients.stop();
    await api.stop();
  }
}

export async function crowdBare(redis: BenchRedis, s: CrowdSettings): Promise<CrowdSide> {
  const servers: Bare[] = [];
  const clients = new Clients(s.clients, sources(2 + s.clients, s.clients));
  try {
    for (let i = 0; i < s.processes; i++) servers.push(await startBare(redis.url));
    const ids = Array.from({ length: s.streams }, () => randomUUID());
    const target: Target = {
      pids: servers.map((b) => b.pid),
      async open(c, n) {
        // Stream i on server i mod N: the same per-process count as jobcast's round-robin.
        let held = 0;
        for (const [k, bare] of servers.entries()) {
          const paths = ids.slice(0, n).flatMap((id, i) => (i % s.processes === k ? [`/jobs/${id}/events`] : []));
          const result = await c.open(bare.port, paths, OPEN);
          if (result.failed > 0)
            console.warn(`  ${result.failed} streams failed to open: ${JSON.stringify(result.statuses)}`);
          held += ((await (await fetch(`${bare.url}/stats`)).json()) as { streams: number }).streams;
        }
        return held;
      },
      async broadcast() {
        const pipeline = redis.admin.pipeline();
        for (const id of ids) pipeline.publish(`bare:${id}`, progressFrame(id, 2, 1, 2, Date.now()));
        await pipeline.exec();
      },
      async finish() {
        const pipeline = redis.admin.pipeline();
        for (const id of ids) pipeline.publish(`bare:${id}`, doneFrame(id, 3, 2, Date.now()));
        await pipeline.exec();
      },
    };
    return await measure(target, clients, s);
  } finally {
    await clients.stop();
    await Promise.all(servers.map((b) => b.stop()));
  }
}
