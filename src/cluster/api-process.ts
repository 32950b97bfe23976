/**
 * @module cluster/api-process
 * The API process's side of a cluster (see `cluster/primary`): it says when it listens, sends
 * its metrics when the primary collects them, asks the primary for everyone's when GET /metrics
 * arrives here, and stops when the primary says so — or when the primary is gone.
 *
 * Signals: a Ctrl-C in a terminal reaches every process of the group, this one included. The
 * primary stops everything on its own copy, so SIGINT (and SIGHUP) are ignored here: one
 * Ctrl-C is one stop, run once, by the primary. SIGTERM, which an operator sends to one
 * process, stops this one (the primary then starts another).
 */
import process from 'node:process';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { ProblemError } from '../problems.js';
import { isJobcastMessage, type MetricsText, metricsJson, type ToApiProcess, type ToPrimary } from './messages.js';

/** How long GET /metrics waits for the primary to add up every process's metrics. */
const COLLECT_WAIT_MS = 5_000;

export interface ApiProcessSide {
  /** GET /metrics of this process: the sum over every process of the cluster. */
  metricsText(): Promise<MetricsText>;
  /** Call once the API listens: tells the primary, and from then on a stop closes `api`. */
  serving(api: { url: string; registries: Registry[]; close(): Promise<void> }): void;
}

/**
 * Sets up this process as one of a cluster's API processes; call it first thing, before
 * anything that takes time, so that a stop during start-up is heard.
 */
export function joinCluster(log: Logger, hardLimitMs: number): ApiProcessSide {
  let api: { url: string; registries: Registry[]; close(): Promise<void> } | undefined;
  let stopping = false;
  const waiting = new Map<number, (result: MetricsText | { error: string }) => void>();
  let nextId = 0;
  const send = (message: ToPrimary) => {
    if (process.connected) process.send?.(message);
  };

  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info('api process stopping', { why });
    setTimeout(() => {
      log.error('shutdown took too long: exiting', { afterMs: hardLimitMs });
      process.exit(1);
    }, hardLimitMs).unref();
    (api ? api.close() : Promise.resolve()).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };

  process.on('message', (message: unknown) => {
    if (!isJobcastMessage<ToApiProcess>(message)) return;
    switch (message.jobcast) {
      case 'stop':
        stop('asked by the primary');
        break;
      case 'metrics?':
        metricsJson(api?.registries ?? []).then(
          (metrics) => send({ jobcast: 'metrics-json', id: message.id, metrics }),
          () => send({ jobcast: 'metrics-json', id: message.id, metrics: [] }),
        );
        break;
      case 'metrics':
        waiting.get(message.id)?.(message.result);
        waiting.delete(message.id);
        break;
    }
  });
  // The primary is gone (killed): nobody will restart or stop this process; stop cleanly.
  process.on('disconnect', () => stop('the primary process is gone'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  for (const signal of ['SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => log.debug('signal left to the primary, which stops every API process', { signal }));
  }

  return {
    serving(running) {
      api = running;
      if (stopping) void running.close().then(() => process.exit(0));
      else send({ jobcast: 'ready', url: running.url });
    },
    metricsText() {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(
            new ProblemError('unavailable', 'the metrics of the API processes did not arrive in time; retry', {
              headers: { 'retry-after': '1' },
            }),
          );
        }, COLLECT_WAIT_MS);
        waiting.set(id, (result) => {
          clearTimeout(timer);
          if ('error' in result) {
            reject(
              new ProblemError('unavailable', 'the metrics could not be collected; retry', { cause: result.error }),
            );
          } else resolve(result);
        });
        send({ jobcast: 'collect', id });
      });
    },
  };
}
