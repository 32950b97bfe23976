/**
 * @module bench/scenarios/memory
 * Idle streams held by one server process: RSS per stream at each size (one job per stream,
 * the costly case for jobcast: a channel subscription per stream), and the Redis connections
 * of the process at 1 stream and at the largest size.
 *
 * RSS of a V8 process depends on when it last collected garbage as much as on what it holds,
 * so both servers get the same procedure: a small warm-up, a full collection (SIGUSR2, see lib/gc-on-signal.mjs), the base reading, then
 * at each size a reading as the process left itself and one after a full collection.
 */
import { randomUUID } from 'node:crypto';
import { connectionsTo, settledRss, sleep } from '../lib/proc.js';
import { type BenchRedis, Clients, GC_ON_SIGNAL, startApi, startBare, submitJobs } from '../lib/services.js';

export interface MemoryPoint {
  streams: number;
  held: number;
  /** RSS once the streams are open and the process has settled, as it left itself. */
  rssMiB: number;
  kibPerStream: number;
  /** RSS after a full garbage collection on top: only what holding the streams takes. */
  rssAfterGcMiB: number;
  kibPerStreamAfterGc: number;
  redisConnections: number;
}

export interface MemorySide {
  /** RSS with no stream open, after the warm-up and a full garbage collection. */
  baseRssMiB: number;
  redisConnectionsAt1: number;
  points: MemoryPoint[];
  /** jobcast only: connections named jobcast:command / jobcast:subscriber in CLIENT LIST. */
  namedAt1?: number;
  namedAtMax?: number;
}

async function namedConnections(redis: BenchRedis): Promise<number> {
  const list = (await redis.admin.client('LIST')) as string;
  return list.split('\n').filter((l) => / name=jobcast:(command|subscriber) /.test(l)).length;
}

async function measure(
  redis: BenchRedis,
  pid: number,
  port: number,
  ids: string[],
  sizes: number[],
  held: () => Promise<number>,
  named: boolean,
): Promise<MemorySide> {
  const clients = new Clients(4);
  try {
    const path = (i: number) => `/jobs/${ids[i % ids.length]}/events`;
    // Warm-up: code compiled, pools created. Kept small: a large one would leave the heap
    // grown, and streams opened later would fill pages already resident, looking free.
    await clients.open(
      port,
      Array.from({ length: 200 }, (_, i) => path(i)),
    );
    await clients.closeAll();
    // Both servers start measuring from a collected heap, so that garbage left by the warm-up
    // (or by submitting the jobs) is not counted, or reused, as stream memory.
    const baseRssMiB = await settledRss(pid, true);
    await clients.open(port, [path(0)]);
    await sleep(200);
    const redisConnectionsAt1 = connectionsTo(pid, redis.port);
    const namedAt1 = named ? await namedConnections(redis) : undefined;
    let open = 1;
    const points: MemoryPoint[] = [];
    let namedAtMax: number | undefined;
    for (const size of sizes) {
      const result = await clients.open(
        port,
        Array.from({ length: size - open }, (_, i) => path(open + i)),
      );
      if (result.failed > 0)
        console.warn(`  ${result.failed} streams failed to open: ${JSON.stringify(result.statuses)}`);
      open = size;
      const rssMiB = await settledRss(pid);
      const rssAfterGcMiB = await settledRss(pid, true);
      points.push({
        streams: size,
        held: await held(),
        rssMiB,
        kibPerStream: ((rssMiB - baseRssMiB) * 1024) / size,
        rssAfterGcMiB,
        kibPerStreamAfterGc: ((rssAfterGcMiB - baseRssMiB) * 1024) / size,
        redisConnections: connectionsTo(pid, redis.port),
      });
      if (named) namedAtMax = await namedConnections(redis);
    }
    await clients.closeAll();
    return { baseRssMiB, redisConnectionsAt1, points, namedAt1, namedAtMax };
  } finally {
    await clients.stop();
  }
}

export async function memoryJobcast(redis: BenchRedis, sizes: number[]): Promise<MemorySide> {
  // The jobs are submitted through one API process and streamed from a fresh one: jobs live
  // in Redis, and the fresh process starts, like the bare server, with a heap that never
  // served 10,000 POSTs (whose freed pages would stay resident and hide stream memory).
  const submitter = await startApi(redis.url);
  let ids: string[];
  try {
    // No worker runs: the jobs stay queued and their streams stay open, idle.
    ids = await submitJobs(submitter.url, Math.max(...sizes), { steps: 10, stepMs: 200 });
  } finally {
    await submitter.stop();
  }
  const api = await startApi(redis.url, { nodeArgs: GC_ON_SIGNAL, prefix: submitter.prefix });
  try {
    return await measure(redis, api.pid, api.port, ids, sizes, () => api.metric('jobcast_open_streams'), true);
  } finally {
    await api.stop();
  }
}

export async function memoryBare(redis: BenchRedis, sizes: number[]): Promise<MemorySide> {
  const bare = await startBare(redis.url);
  try {
    const ids = Array.from({ length: Math.max(...sizes) }, () => randomUUID());
    const held = async () => ((await (await fetch(`${bare.url}/stats`)).json()) as { streams: number }).streams;
    return await measure(redis, bare.pid, bare.port, ids, sizes, held, false);
  } finally {
    await bare.stop();
  }
}
