/**
 * @module bench/enqueue
 * Enqueue load from one process at a fixed concurrency, for a bounded time: `POST /jobs` to
 * the API over keep-alive HTTP, or the same job straight into BullMQ with `queue.add` (the
 * baseline: what a hand-rolled service does at minimum). Reports throughput and latency.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullPrefix } from '../src/jobs/keys.js';
import { bullJobOptions } from '../src/jobs/queue.js';
import { JobOptions } from '../src/jobs/schemas.js';
import { serve } from './lib/ipc.js';

export interface EnqueueArgs {
  mode: 'http' | 'queue';
  concurrency: number;
  durationMs: number;
  /** http: the API's port. */
  port?: number;
  /** queue: Redis and key prefix. */
  redisUrl?: string;
  prefix?: string;
}

export interface EnqueueResult {
  count: number;
  errors: number;
  ms: number;
  perSecond: number;
  p50: number;
  p99: number;
}

const DATA = { steps: 1, stepMs: 0 };
const BODY = JSON.stringify({ type: 'simulate', data: DATA });

function post(agent: Agent, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/jobs',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

async function run(args: EnqueueArgs): Promise<EnqueueResult> {
  let send: () => Promise<boolean>;
  let close = async () => {};
  if (args.mode === 'http') {
    const agent = new Agent({ keepAlive: true, maxSockets: args.concurrency });
    send = async () => (await post(agent, args.port as number)) === 202;
    close = async () => agent.destroy();
  } else {
    const connection = new Redis(args.redisUrl as string, { maxRetriesPerRequest: null });
    const queue = new Queue('jobs', { connection, prefix: bullPrefix(args.prefix as string) });
    const options = JobOptions.parse({});
    send = async () => {
      const id = randomUUID();
      await queue.add('simulate', DATA, bullJobOptions(id, options, 86_400));
      return true;
    };
    close = async () => {
      await queue.close();
      connection.disconnect();
    };
  }
  // Warm-up for a second: connections, scripts, and the JIT of both sides.
  const warm = performance.now() + 1000;
  await Promise.all(
    Array.from({ length: args.concurrency }, async () => {
      while (performance.now() < warm) await send().catch(() => false);
    }),
  );

  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + args.durationMs;
  await Promise.all(
    Array.from({ length: args.concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const ok = await send().catch(() => false);
        if (ok) latencies.push(performance.now() - t);
        else errors++;
      }
    }),
  );
  const ms = performance.now() - started;
  await close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN;
  return {
    count: latencies.length,
    errors,
    ms,
    perSecond: (latencies.length / ms) * 1000,
    p50: pct(0.5),
    p99: pct(0.99),
  };
}

serve({ run });
