/**
 * @module bench/scenarios/enqueue
 * `POST /jobs` through the API against `queue.add` straight into BullMQ (the target's
 * baseline), each from one load process at the same fixed concurrency, in turns so that both
 * see the same machine. A third side, the bare server's minimal `POST /jobs` (node:http, JSON
 * parse, queue.add), shows what any HTTP endpoint costs on top of queue.add. Server CPU per
 * job is read from /proc, as for the streams: it does not depend on how busy the machine is.
 *
 * Then batches: `POST /jobs/batch` with `batch` jobs per request against `queue.addBulk` of
 * as many, both at `batchConcurrency` requests in flight.
 *
 * Rounds of the sides alternate, each on an emptied Redis (see `measure`), and the verdicts take
 * the median of the per-round ratios (bench/run).
 */
import { randomBytes } from 'node:crypto';
import type { EnqueueArgs, EnqueueResult } from '../enqueue.js';
import { Child } from '../lib/ipc.js';
import { cpuMs } from '../lib/proc.js';
import { type BenchRedis, startApi, startBare } from '../lib/services.js';

export interface EnqueueSide {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  count: number;
  errors: number;
  /** The errors by what happened (an HTTP status, or the connection's error). */
  failures: Record<string, number>;
  /** CPU of the server process (API or bare), or of the load process for raw queue.add, per job. */
  cpuPerJobUs: number;
  /** CPU of redis-server per job. */
  redisCpuPerJobUs: number;
  /** Jobs per second of each round, in the order run (each side's rounds alternate with the others'). */
  roundPerSecond: number[];
}

interface Measured extends EnqueueResult {
  cpuMs: number;
  redisCpuMs: number;
}

function combine(runs: Measured[]): EnqueueSide {
  const count = runs.reduce((n, r) => n + r.count, 0);
  const ms = runs.reduce((n, r) => n + r.ms, 0);
  const mid = <K extends 'p50' | 'p99'>(k: K) => {
    const sorted = runs.map((r) => r[k]).sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] as number;
  };
  return {
    perSecond: (count / ms) * 1000,
    p50Ms: mid('p50'),
    p99Ms: mid('p99'),
    count,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    failures: runs.reduce<Record<string, number>>((all, r) => {
      for (const [what, n] of Object.entries(r.failures)) all[what] = (all[what] ?? 0) + n;
      return all;
    }, {}),
    cpuPerJobUs: (runs.reduce((n, r) => n + r.cpuMs, 0) * 1000) / Math.max(1, count),
    redisCpuPerJobUs: (runs.reduce((n, r) => n + r.redisCpuMs, 0) * 1000) / Math.max(1, count),
    roundPerSecond: runs.map((r) => (r.count / r.ms) * 1000),
  };
}

export interface EnqueueResults {
  /** One job per request / call, at `concurrency`. */
  jobcast: EnqueueSide;
  raw: EnqueueSide;
  bareHttp: EnqueueSide;
  /** `batch` jobs per request / call, at `batchConcurrency`. */
  jobcastBatch: EnqueueSide;
  rawBulk: EnqueueSide;
  /** The minimal endpoint's `POST /jobs/batch` (node:http, JSON.parse, `queue.addBulk`). */
  bareHttpBatch: EnqueueSide;
}

export async function enqueueScenario(
  redis: BenchRedis,
  options: {
    concurrency: number;
    durationMs: number;
    rounds: number;
    /** An unmeasured round of each side before the measured ones (ms). */
    warmUpMs: number;
    batch: number;
    batchConcurrency: number;
    nodeArgs?: string[];
  },
): Promise<EnqueueResults> {
  const api = await startApi(redis.url, { nodeArgs: options.nodeArgs });
  const bare = await startBare(redis.url, { KEY_PREFIX: `bare${randomBytes(3).toString('hex')}` });
  const load = new Child('enqueue.ts', {}, 'enqueue');
  const ours: Measured[] = [];
  const theirs: Measured[] = [];
  const minimal: Measured[] = [];
  const batched: Measured[] = [];
  const bulk: Measured[] = [];
  const minimalBatch: Measured[] = [];
  const redisPid = redis.process.pid as number;
  const measure = async (pid: number, args: EnqueueArgs): Promise<Measured> => {
    // Every round starts from an empty Redis. Shared, the keyspace grew by every side's jobs,
    // and each time it passed a power of two (1,048,576 keys, 2,097,152…) Redis spent the next
    // 2–4 s rehashing it, every command slower (Redis CPU per job 22 → 40 µs; see
    // docs/performance.md): whichever side ran then paid for all of them. Now each side pays
    // for the keys it writes itself, in its own round.
    await redis.admin.flushall();
    const cpu0 = cpuMs(pid);
    const redis0 = cpuMs(redisPid);
    const result = await load.call<EnqueueResult>('run', args);
    return { ...result, cpuMs: cpuMs(pid) - cpu0, redisCpuMs: cpuMs(redisPid) - redis0 };
  };
  try {
    const base = { concurrency: options.concurrency, durationMs: options.durationMs };
    const rawPrefix = `raw${randomBytes(3).toString('hex')}`;
    // One unmeasured round of each side first, as long as a measured one: the API's first
    // seconds under load cost 1.2–2× the CPU per job of later ones (V8 optimizes its longer
    // request path later than the minimal endpoint's), and a 1 s warm-up leaves that in the
    // first measured round. Every side gets the same.
    const warmUp = { ...base, durationMs: options.warmUpMs };
    await load.call<EnqueueResult>('run', { ...warmUp, mode: 'http', port: api.port });
    await load.call<EnqueueResult>('run', { ...warmUp, mode: 'queue', redisUrl: redis.url, prefix: rawPrefix });
    await load.call<EnqueueResult>('run', { ...warmUp, mode: 'http', port: bare.port });
    for (let round = 0; round < options.rounds; round++) {
      ours.push(await measure(api.pid, { ...base, mode: 'http', port: api.port }));
      theirs.push(await measure(load.pid, { ...base, mode: 'queue', redisUrl: redis.url, prefix: rawPrefix }));
      minimal.push(await measure(bare.pid, { ...base, mode: 'http', port: bare.port }));
    }
    const batches = { concurrency: options.batchConcurrency, durationMs: options.durationMs, batch: options.batch };
    const batchWarmUp = { ...batches, durationMs: options.warmUpMs };
    await load.call<EnqueueResult>('run', { ...batchWarmUp, mode: 'http', port: api.port });
    await load.call<EnqueueResult>('run', { ...batchWarmUp, mode: 'queue', redisUrl: redis.url, prefix: rawPrefix });
    await load.call<EnqueueResult>('run', { ...batchWarmUp, mode: 'http', port: bare.port });
    for (let round = 0; round < options.rounds; round++) {
      batched.push(await measure(api.pid, { ...batches, mode: 'http', port: api.port }));
      bulk.push(await measure(load.pid, { ...batches, mode: 'queue', redisUrl: redis.url, prefix: rawPrefix }));
      minimalBatch.push(await measure(bare.pid, { ...batches, mode: 'http', port: bare.port }));
    }
  } finally {
    await load.stop();
    await api.stop();
    await bare.stop();
  }
  return {
    jobcast: combine(ours),
    raw: combine(theirs),
    bareHttp: combine(minimal),
    jobcastBatch: combine(batched),
    rawBulk: combine(bulk),
    bareHttpBatch: combine(minimalBatch),
  };
}
