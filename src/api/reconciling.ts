/**
 * @module api/reconciling
 * The API's two safety nets for "every accepted job reaches a terminal state": a timer over the
 * jobs this process streams (quiet ones are checked against BullMQ and re-read), and the
 * background `Reconciler` over every unfinished job, shared with the other replicas.
 */
import type { Queue } from 'bullmq';
import type { Config } from '../config.js';
import type { EventHub } from '../events/hub.js';
import { reconcile } from '../jobs/reconcile.js';
import { Reconciler } from '../jobs/reconciler.js';
import type { JobStore } from '../jobs/store.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';
import type { RedisFaultLog } from '../redis-faults.js';

export interface Reconciling {
  /** Stops both; resolves once a page in progress has finished. */
  stop(): Promise<void>;
}

export interface ReconcilingDeps {
  command: RedisClient;
  store: JobStore;
  queue: Queue;
  hub: EventHub;
  log: Logger;
  faults: RedisFaultLog;
}

/** Starts both safety nets (WORKER_LOCK_MS and RECONCILE_INTERVAL_MS set their pace). */
export function startReconciling(
  config: Pick<Config, 'WORKER_LOCK_MS' | 'RECONCILE_INTERVAL_MS' | 'KEY_PREFIX'>,
  { command, store, queue, hub, log, faults }: ReconcilingDeps,
): Reconciling {
  // Safety net for a worker that died between BullMQ recording a job's outcome and publishing
  // `done`: watched jobs that have been quiet for a lock period are checked against BullMQ.
  const watched = setInterval(() => {
    const quiet = hub.quietJobs(config.WORKER_LOCK_MS);
    for (const id of quiet) {
      reconcile(command, store, queue, id).catch((error: unknown) => log.debug('reconcile failed', { id, error }));
    }
    // And re-read them: an event lost on the way (a subscription rebuilt unnoticed) is found.
    hub.resync(quiet);
  }, config.WORKER_LOCK_MS);
  watched.unref();
  // And every unfinished job, watched or not, page by page, shared with the other replicas.
  const background = new Reconciler(command, store, queue, {
    prefix: config.KEY_PREFIX,
    intervalMs: config.RECONCILE_INTERVAL_MS,
    quietMs: config.WORKER_LOCK_MS,
    log,
    faults,
  });
  background.start();
  return {
    async stop() {
      clearInterval(watched);
      await background.stop();
    },
  };
}
