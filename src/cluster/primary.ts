/**
 * @module cluster/primary
 * API_PROCESSES=N: a primary process runs N API processes on one port with `node:cluster`
 * (Node 20 has no `reusePort`), restarts one that dies, and stops them all on one signal.
 *
 * The primary holds the listening socket and hands each new connection to the processes in
 * turn (node:cluster's round-robin, the default on Linux). Each API process is a whole API:
 * its own two Redis connections, its own event hub, its own streams; any of them serves any
 * stream, as any replica does, and a client cut off by a crash resumes on another with its
 * Last-Event-ID. The primary itself talks to no Redis; it answers GET /metrics of its
 * processes with the sum over all of them (`cluster/messages`).
 */
import cluster, { type Worker } from 'node:cluster';
import type { Registry } from 'prom-client';
import { ListenError } from '../listen.js';
import type { Logger } from '../log.js';
import {
  aggregateMetrics,
  isJobcastMessage,
  type MetricsJson,
  metricsJson,
  type ToApiProcess,
  type ToPrimary,
} from './messages.js';

/** The first restart of a process that crashed soon after it started waits this long… */
const RESTART_DELAY_MS = 250;
/** …each further one twice as long, up to this: a crash loop does not spin. */
const MAX_RESTART_DELAY_MS = 30_000;
/** A process that ran this long before it died was no crash loop: it is restarted at once. */
const STABLE_AFTER_MS = 30_000;
/** How long the primary waits for the processes' metrics before it answers with those it has. */
const METRICS_WAIT_MS = 2_000;

/**
 * An API process could not start; it logged why itself (most often a listen failure: a port in
 * use). A {@link ListenError}, so entry points print it in one line and exit 1.
 */
export class ApiProcessesError extends ListenError {
  override name = 'ApiProcessesError';
}

export interface ApiProcessesOptions {
  count: number;
  log: Logger;
  /** The API processes' module; default: `main` beside this one (`dist/main.js`, or `src/main.ts` under tsx). */
  entry?: string;
  /** More environment for the API processes (npm start: the URL of the Redis it started). */
  env?: Record<string, string>;
  /** Metrics of the primary itself to add to the sum (npm start: its worker's). */
  extraMetrics?: Registry[];
}

export interface ApiProcesses {
  /** Where they listen, as the first one said. */
  url: string;
  /** The API processes running now. */
  pids(): number[];
  /** Stops every API process gracefully (each ends its streams and closes Redis) and waits for them. */
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  startedAt: number;
  /** The delay of this slot's last restart (0: none since it last ran stably). */
  delayMs: number;
  restart?: NodeJS.Timeout;
}

/** Forks `count` API processes and resolves once every one listens; rejects if one cannot start. */
export async function startApiProcesses(options: ApiProcessesOptions): Promise<ApiProcesses> {
  const { log } = options;
  const entry = options.entry ?? defaultEntry();
  cluster.setupPrimary({ exec: entry });
  const slots: Slot[] = [];
  let stopping = false;
  let url = '';

  const fork = (index: number, delayMs: number): Slot => {
    const worker = cluster.fork(options.env);
    const slot: Slot = { worker, startedAt: Date.now(), delayMs };
    slots[index] = slot;
    worker.on('message', (message: unknown) => {
      if (isJobcastMessage<ToPrimary>(message) && message.jobcast === 'collect') {
        collectMetrics(options.extraMetrics ?? []).then(
          (result) => send(worker, { jobcast: 'metrics', id: message.id, result }),
          (error: unknown) => send(worker, { jobcast: 'metrics', id: message.id, result: { error: String(error) } }),
        );
      }
    });
    worker.once('exit', (code, signal) => {
      if (stopping || slots[index] !== slot) return;
      // Ran stably: a crash, restarted at once. Died soon after starting: a crash loop, so
      // each restart waits twice as long as the last.
      const stable = Date.now() - slot.startedAt >= STABLE_AFTER_MS;
      const delay = stable ? 0 : Math.min(MAX_RESTART_DELAY_MS, slot.delayMs ? slot.delayMs * 2 : RESTART_DELAY_MS);
      log.error('an API process died; starting another', { pid: worker.process.pid, code, signal, inMs: delay });
      slot.restart = setTimeout(() => {
        if (!stopping) fork(index, stable ? 0 : delay);
      }, delay);
    });
    return slot;
  };

  /** Every running process's metrics (and the primary's own), added up. */
  const collectMetrics = async (own: Registry[]) => {
    const workers = slots.map((s) => s.worker).filter((w) => w.isConnected());
    const answers = await Promise.all(workers.map((w) => askMetrics(w)));
    const found = answers.filter((a): a is MetricsJson => a !== undefined);
    if (found.length < workers.length) {
      log.warn('some API processes did not send their metrics in time', { missing: workers.length - found.length });
    }
    return aggregateMetrics([...found, await metricsJson(own)]);
  };

  // Start-up: every process must come up; the first that cannot ends it all.
  const started = Array.from({ length: options.count }, (_, i) => fork(i, 0));
  try {
    const urls = await Promise.all(started.map((slot) => readyOrExit(slot.worker)));
    url = urls[0] as string;
  } catch (error) {
    stopping = true;
    await stopAll(slots);
    throw error;
  }
  log.info('api processes listening', { url, processes: options.count });

  let closing: Promise<void> | undefined;
  return {
    url,
    pids: () => slots.filter((s) => !s.worker.isDead()).map((s) => s.worker.process.pid as number),
    close() {
      closing ??= (async () => {
        stopping = true;
        await stopAll(slots);
        log.info('api processes stopped');
      })();
      return closing;
    },
  };
}

/** The module the API processes run: `main` beside this module (in `dist/`, or in `src/` under tsx). */
function defaultEntry(): string {
  return new URL(import.meta.url.endsWith('.ts') ? '../main.ts' : './main.js', import.meta.url).pathname;
}

function send(worker: Worker, message: ToApiProcess): void {
  if (worker.isConnected()) worker.send(message);
}

/** Resolves with the URL a new process listens at; rejects if it exits first. */
function readyOrExit(worker: Worker): Promise<string> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!isJobcastMessage<ToPrimary>(message) || message.jobcast !== 'ready') return;
      worker.off('exit', onExit);
      worker.off('message', onMessage);
      resolve(message.url);
    };
    const onExit = (code: number | null, signal: string | null) => {
      worker.off('message', onMessage);
      reject(new ApiProcessesError(`an API process exited while starting (${signal ?? `code ${code}`})`));
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
  });
}

let nextMetricsId = 0;

/** One process's metrics, or undefined when it does not answer within METRICS_WAIT_MS. */
function askMetrics(worker: Worker): Promise<MetricsJson | undefined> {
  const id = ++nextMetricsId;
  return new Promise((resolve) => {
    const done = (metrics: MetricsJson | undefined) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(metrics);
    };
    const onMessage = (message: unknown) => {
      if (isJobcastMessage<ToPrimary>(message) && message.jobcast === 'metrics-json' && message.id === id) {
        done(message.metrics);
      }
    };
    const onExit = () => done(undefined);
    const timer = setTimeout(() => done(undefined), METRICS_WAIT_MS);
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    send(worker, { jobcast: 'metrics?', id });
  });
}

/** Asks every live process to stop, cancels pending restarts, and waits until all have exited. */
async function stopAll(slots: Slot[]): Promise<void> {
  await Promise.all(
    slots.map((slot) => {
      clearTimeout(slot.restart);
      const { worker } = slot;
      if (worker.isDead()) return undefined;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      send(worker, { jobcast: 'stop' });
      // Not connected (yet, or any more): it cannot hear the message.
      if (!worker.isConnected()) worker.process.kill('SIGTERM');
      return exited;
    }),
  );
}
