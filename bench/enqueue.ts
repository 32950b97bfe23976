/**
 * @module bench/enqueue
 * Enqueue load from one process at a fixed concurrency, for a bounded time: `POST /jobs` to
 * the API over keep-alive HTTP, or the same job straight into BullMQ with `queue.add` (the
 * baseline: what a hand-rolled service does at minimum). Reports throughput and latency.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
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
  /** Jobs per request: 1 = `POST /jobs` or `queue.add`; more = `POST /jobs/batch` or `queue.addBulk`. */
  batch?: number;
  /** http: the API's port. */
  port?: number;
  /** queue: Redis and key prefix. */
  redisUrl?: string;
  prefix?: string;
}

export interface EnqueueResult {
  /** Jobs enqueued (requests × batch). */
  count: number;
  errors: number;
  /** The errors by what happened: an HTTP status other than 202, or the error's message. */
  failures: Record<string, number>;
  ms: number;
  perSecond: number;
  p50: number;
  p99: number;
}

const DATA = { steps: 1, stepMs: 0 };
const JOB = { type: 'simulate', data: DATA };

/**
 * A lean keep-alive HTTP/1.1 client: one socket per concurrent caller, the request's bytes
 * built once, and only the status line, the framing and the end of the body looked at.
 * `node:http`'s client costs about as much CPU per request as a small server does, and on a
 * 2-core machine every microsecond the load process spends is taken from the server under
 * test; load generators (wrk, autocannon) are lean for the same reason. Both HTTP sides use it.
 */
class LeanHttp {
  readonly #socket: Socket;
  #buffer = '';
  #waiting: ((status: number) => void) | undefined;
  #failed: ((error: Error) => void) | undefined;

  constructor(
    port: number,
    readonly request: string,
  ) {
    this.#socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.#socket.setEncoding('latin1');
    this.#socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#parse();
    });
    const fail = (error: Error) => this.#failed?.(error);
    this.#socket.on('error', fail);
    this.#socket.on('close', () => fail(new Error('connection closed')));
  }

  /** Sends the request and resolves with the response's status once all of it has arrived. */
  send(): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#socket.destroyed) return reject(new Error('connection closed'));
      this.#waiting = resolve;
      this.#failed = reject;
      this.#socket.write(this.request, 'latin1');
    });
  }

  #parse(): void {
    const headEnd = this.#buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.#buffer.slice(0, headEnd).toLowerCase();
    const length = /\r\ncontent-length: *(\d+)/.exec(head);
    let end = headEnd + 4;
    if (length) {
      end += Number(length[1]);
      if (this.#buffer.length < end) return;
    } else if (/\r\ntransfer-encoding: *chunked/.test(head)) {
      // The body ends with the last, empty chunk.
      const last = this.#buffer.indexOf('\r\n0\r\n\r\n', headEnd);
      if (last < 0) return;
      end = last + 7;
    } // else no body (204, 304).
    this.#buffer = this.#buffer.slice(end);
    const resolve = this.#waiting;
    this.#waiting = undefined;
    resolve?.(Number(head.slice(9, 12)));
  }

  close(): void {
    this.#failed = undefined;
    this.#socket.destroy();
  }
}

function postRequest(port: number, path: string, body: string): string {
  return (
    `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

async function run(args: EnqueueArgs): Promise<EnqueueResult> {
  /** One request or call; resolves with its HTTP status (202 for a queue call that returned). */
  let send: () => Promise<number>;
  let close = async () => {};
  const batch = args.batch ?? 1;
  if (args.mode === 'http') {
    const request =
      batch === 1
        ? postRequest(args.port as number, '/jobs', JSON.stringify(JOB))
        : postRequest(args.port as number, '/jobs/batch', JSON.stringify({ jobs: Array(batch).fill(JOB) }));
    const open = () => new LeanHttp(args.port as number, request);
    const free = Array.from({ length: args.concurrency }, open);
    // Each caller takes a connection, uses it for one request and gives it back; one the
    // server closed is replaced (and the failure counted) rather than failing every later call.
    send = async () => {
      let connection = free.pop() as LeanHttp;
      try {
        return await connection.send();
      } catch (error) {
        connection.close();
        connection = open();
        throw error;
      } finally {
        free.push(connection);
      }
    };
    close = async () => {
      for (const connection of free) connection.close();
    };
  } else {
    const connection = new Redis(args.redisUrl as string, { maxRetriesPerRequest: null });
    const queue = new Queue('jobs', { connection, prefix: bullPrefix(args.prefix as string) });
    const options = JobOptions.parse({});
    send = async () => {
      if (batch === 1) await queue.add('simulate', DATA, bullJobOptions(randomUUID(), options, 86_400));
      else {
        const jobs = Array.from({ length: batch }, () => ({
          name: 'simulate',
          data: DATA,
          opts: bullJobOptions(randomUUID(), options, 86_400),
        }));
        await queue.addBulk(jobs);
      }
      return 202;
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
      while (performance.now() < warm) await send().catch(() => 0);
    }),
  );

  const latencies: number[] = [];
  let errors = 0;
  const failures: Record<string, number> = {};
  const failed = (error: unknown) => {
    const what = error instanceof Error ? error.message.slice(0, 80) : String(error);
    failures[what] = (failures[what] ?? 0) + 1;
    return 0;
  };
  const started = performance.now();
  const end = started + args.durationMs;
  await Promise.all(
    Array.from({ length: args.concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const status = await send().catch(failed);
        if (status === 202) latencies.push(performance.now() - t);
        else {
          errors++;
          if (status !== 0) failures[`HTTP ${status}`] = (failures[`HTTP ${status}`] ?? 0) + 1;
        }
      }
    }),
  );
  const ms = performance.now() - started;
  await close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN;
  return {
    count: latencies.length * batch,
    errors,
    failures,
    ms,
    perSecond: ((latencies.length * batch) / ms) * 1000,
    p50: pct(0.5),
    p99: pct(0.99),
  };
}

serve({ run });
