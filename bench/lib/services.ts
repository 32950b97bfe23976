/**
 * @module bench/lib/services
 * Starts what the bench measures, each in its own process: a private redis-server, the jobcast
 * API (`dist/main.js`) and worker (`dist/worker.js`) exactly as deployed (compiled; `npm run
 * bench` builds them when stale), the bare baseline server, and load-client processes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { bullPrefix } from '../../src/jobs/keys.js';
import { type LocalRedis, startLocalRedis } from '../../src/local-redis.js';
import type { ClientStats, OpenArgs, OpenResult } from '../clients.js';
import { Child } from './ipc.js';
import { freePort, repoRoot, type ServerProcess, spawnNode, waitFor, waitForHttp } from './proc.js';

export interface BenchRedis extends LocalRedis {
  /** A command connection for the orchestrator's own checks. */
  admin: Redis;
}

export async function startRedis(): Promise<BenchRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'jobcast-bench-'));
  const redis = await startLocalRedis({
    port: await freePort(),
    dir,
    persistence: 'none',
  });
  const admin = new Redis(redis.url, { connectionName: 'bench:admin' });
  return {
    ...redis,
    admin,
    async stop() {
      admin.disconnect();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Settings every jobcast process of the bench shares: no per-client limits, quiet logs. */
export function jobcastEnv(redisUrl: string, prefix: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    HOST: '127.0.0.1',
    KEY_PREFIX: prefix,
    MAX_STREAMS_PER_CLIENT: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    WORKER_METRICS_PORT: '0',
  };
}

export interface Api extends ServerProcess {
  port: number;
  url: string;
  prefix: string;
  /** A value from /metrics (first sample of `name`). */
  metric(name: string): Promise<number>;
}

/**
 * Node flags of a server process whose memory is read: SIGUSR2 then runs a full garbage
 * collection (bench/lib/gc-on-signal.mjs). Given to jobcast and the bare server alike.
 */
export const GC_ON_SIGNAL = ['--expose-gc', '--import', './bench/lib/gc-on-signal.mjs'];

/**
 * The build the jobcast processes run: `dist/`, or the directory in BENCH_DIST (relative to the
 * repository), for side-by-side runs of two builds that leave `dist/` to the build.
 */
const jobcastDist = () => process.env.BENCH_DIST ?? 'dist';

export async function startApi(
  redisUrl: string,
  options: {
    nodeArgs?: string[];
    /** Default: a fresh one. */
    prefix?: string;
    /** More settings (API_PROCESSES…). */
    env?: Record<string, string>;
    /** Another build of the API (its `dist/` directory), for side-by-side runs of two. */
    dist?: string;
  } = {},
): Promise<Api> {
  const port = await freePort();
  const prefix = options.prefix ?? `bench${randomBytes(3).toString('hex')}`;
  const dist = options.dist ?? jobcastDist();
  const proc = spawnNode(
    dist === 'dist' ? 'jobcast-api' : `jobcast-api ${dist}`,
    `${dist}/main.js`,
    { ...jobcastEnv(redisUrl, prefix), PORT: String(port), ...options.env },
    options.nodeArgs,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(proc, `${url}/healthz`);
  return {
    ...proc,
    port,
    url,
    prefix,
    async metric(name) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
    },
  };
}

/** A worker process; resolves once BullMQ lists it on the queue. */
export async function startWorker(redisUrl: string, prefix: string, concurrency: number): Promise<ServerProcess> {
  const proc = spawnNode('jobcast-worker', `${jobcastDist()}/worker.js`, {
    ...jobcastEnv(redisUrl, prefix),
    WORKER_CONCURRENCY: String(concurrency),
  });
  const queue = benchQueue(redisUrl, prefix);
  try {
    await waitFor(async () => {
      if (proc.child.exitCode !== null) throw new Error(`worker exited early:\n${proc.output()}`);
      return (await queue.getWorkersCount()) > 0;
    }, 'the worker to register');
  } finally {
    await queue.close();
  }
  return proc;
}

/**
 * The baseline's worker (`bench/bare-worker.ts`): BullMQ under `prefix`, reporting by PUBLISH to
 * the bare server's channels. Resolves once BullMQ lists it on the queue.
 */
export async function startBareWorker(redisUrl: string, prefix: string, concurrency: number): Promise<ServerProcess> {
  const proc = spawnNode('bare-worker', 'bench/bare-worker.ts', {
    REDIS_URL: redisUrl,
    KEY_PREFIX: prefix,
    WORKER_CONCURRENCY: String(concurrency),
  });
  const queue = benchQueue(redisUrl, prefix);
  try {
    await waitFor(async () => {
      if (proc.child.exitCode !== null) throw new Error(`bare worker exited early:\n${proc.output()}`);
      return (await queue.getWorkersCount()) > 0;
    }, 'the bare worker to register');
  } finally {
    await queue.close();
  }
  return proc;
}

/**
 * The BullMQ queue jobcast uses under `prefix` (to pause and resume it around a measurement).
 * `close()` also ends its connection, which BullMQ leaves open when it is handed one.
 */
export function benchQueue(redisUrl: string, prefix: string): Queue {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null, connectionName: 'bench:queue' });
  const queue = new Queue('jobs', { connection, prefix: bullPrefix(prefix) });
  const close = queue.close.bind(queue);
  queue.close = async () => {
    await close();
    connection.disconnect();
  };
  return queue;
}

export interface Bare extends ServerProcess {
  port: number;
  url: string;
}

let bareScript: Promise<string> | undefined;

/**
 * The bare server compiled once per bench process (to `bench/out/`), and run as plain JavaScript
 * like jobcast's `dist/`. Run through tsx, its process also held tsx's loader thread, a second
 * V8 heap that a full collection of the main one leaves as it is: the base of its memory readings
 * moved with it (RSS per idle stream at 5,000 streams read 6.6–9.6 KiB for the same code).
 */
function compiledBare(): Promise<string> {
  bareScript ??= build({
    entryPoints: [join(repoRoot, 'bench', 'bare-sse-server.ts')],
    outfile: join(repoRoot, 'bench', 'out', 'bare-sse-server.mjs'),
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  }).then(() => 'bench/out/bare-sse-server.mjs');
  return bareScript;
}

export async function startBare(
  redisUrl: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<Bare> {
  const port = await freePort();
  const proc = spawnNode('bare-sse-server', await compiledBare(), { REDIS_URL: redisUrl, PORT: String(port), ...env }, [
    ...GC_ON_SIGNAL,
    ...nodeArgs,
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(proc, `${url}/stats`);
  return { ...proc, port, url };
}

/** How {@link Clients.open} opens streams. */
export interface OpenOptions {
  timeoutMs?: number;
  /** Connections being set up at a time, in all. */
  concurrency?: number;
  /** Pass over each stream's first event (jobcast's state on connect). */
  skipFirst?: boolean;
  /** New connections per second, in all (a ramp); default: as fast as `concurrency` allows. */
  ratePerSecond?: number;
}

/** Load clients split over several processes (each holds at most ~5,000 sockets in the usual scenarios). */
export class Clients {
  readonly #children: Child[];
  readonly #sources: (string | undefined)[];

  /**
   * @param sources source addresses, one per process in turn (127.0.0.x): loopback has about
   * 28,000 ephemeral ports per source and destination. Default: the system's choice.
   */
  constructor(processes: number, sources: string[] = []) {
    this.#children = Array.from({ length: processes }, (_, i) => new Child('clients.ts', {}, `clients#${i}`));
    this.#sources = this.#children.map((_, i) => (sources.length > 0 ? sources[i % sources.length] : undefined));
  }

  get pids(): number[] {
    return this.#children.map((c) => c.pid);
  }

  /** Opens `paths` spread round-robin over the processes. */
  async open(port: number, paths: string[], options: OpenOptions = {}): Promise<OpenResult> {
    const { timeoutMs = 120_000, concurrency = 400, skipFirst, ratePerSecond } = options;
    const k = this.#children.length;
    const results = await Promise.all(
      this.#children.map((child, i) =>
        child.call<OpenResult>(
          'open',
          {
            port,
            paths: paths.filter((_, j) => j % k === i),
            concurrency: Math.max(1, Math.floor(concurrency / k)),
            timeoutMs,
            skipFirst,
            ratePerSecond: ratePerSecond === undefined ? undefined : ratePerSecond / k,
            localAddress: this.#sources[i],
          } satisfies OpenArgs,
          timeoutMs + 10_000,
        ),
      ),
    );
    const statuses: Record<string, number> = {};
    for (const r of results) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
    return {
      ready: results.reduce((n, r) => n + r.ready, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      statuses,
      ms: Math.max(...results.map((r) => r.ms)),
    };
  }

  mark(): Promise<unknown> {
    return Promise.all(this.#children.map((c) => c.call('mark')));
  }

  stats(): Promise<ClientStats[]> {
    return Promise.all(this.#children.map((c) => c.call<ClientStats>('stats')));
  }

  waitDone(timeoutMs: number): Promise<ClientStats[]> {
    return Promise.all(this.#children.map((c) => c.call<ClientStats>('waitDone', { timeoutMs }, timeoutMs + 10_000)));
  }

  closeAll(): Promise<unknown> {
    return Promise.all(this.#children.map((c) => c.call('closeAll')));
  }

  soak(port: number, paths: string[], total: number, batch: number) {
    const k = this.#children.length;
    return Promise.all(
      this.#children.map((c) =>
        c.call<{ opened: number; failed: number; ms: number }>(
          'soak',
          { port, paths, total: Math.ceil(total / k), batch: Math.ceil(batch / k) },
          600_000,
        ),
      ),
    );
  }

  stop(): Promise<unknown> {
    return Promise.all(this.#children.map((c) => c.stop()));
  }
}

/** Submits `n` simulate jobs through the API, `concurrency` at a time; returns their ids. */
export async function submitJobs(
  apiUrl: string,
  n: number,
  data: { steps: number; stepMs: number },
  concurrency = 32,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        next++;
        const res = await fetch(`${apiUrl}/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'simulate', data }),
        });
        // 503 asks for a retry (a Redis command timed out on a busy machine): this job is sent again.
        if (res.status === 503) {
          next--;
          await res.body?.cancel();
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        if (res.status !== 202) throw new Error(`POST /jobs answered ${res.status}: ${await res.text()}`);
        ids.push(((await res.json()) as { id: string }).id);
      }
    }),
  );
  return ids;
}
