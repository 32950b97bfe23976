/**
 * @module jobs/reconciler
 * The background half of "every accepted job reaches a terminal state", watched or not: every
 * RECONCILE_INTERVAL_MS each API process tries to take a short Redis lock and, if it gets it,
 * checks one page of the unfinished set (`jobs/unfinished`) against BullMQ, resuming
 * where the last page (of any replica) stopped. A page costs a bounded number of commands —
 * about three per job on it — however many jobs exist; a pass over all unfinished jobs takes
 * (unfinished ÷ page size) ticks, shared by the replicas.
 *
 * Cluster-safe: the lock, the cursor and the set are plain keys read and written with single
 * commands or a script of one of them alone, never in a script with a job's keys (which live
 * in the job's own slot).
 */
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';
import type { RedisFaultLog } from '../redis-faults.js';
import { reconcileRecord } from './reconcile.js';
import { bindScript } from './script-runner.js';
import { releaseLockScript } from './scripts/release-lock.js';
import type { JobStore } from './store.js';

/** Jobs checked per tick: bounds the tick's cost (about three commands per job). */
export const RECONCILE_PAGE_SIZE = 200;

/**
 * A record whose job BullMQ does not know is only called lost once it is this old: a submit
 * writes the record just before queue.add, and a failed add removes the record again.
 */
const LOST_AFTER_MS = 30_000;

/** How long a page may hold the lock; a replica that dies holding it delays others this long at most. */
const LOCK_LEASE_MS = 15_000;

export interface ReconcilerOptions {
  prefix: string;
  intervalMs: number;
  /** A running job's record that changed this recently is not checked (its worker is alive). */
  quietMs: number;
  log: Logger;
  faults?: RedisFaultLog | undefined;
}

/** What one page found. */
export interface ReconcilePage {
  checked: number;
  /** Jobs BullMQ had finished (or lost) whose record now has its `done`. */
  repaired: number;
  /** Ids dropped from the set: finished, or their records expired. */
  forgotten: number;
  /** The page reached the end of the set; the next starts from the beginning. */
  wrapped: boolean;
}

export class Reconciler {
  readonly #redis: RedisClient;
  readonly #store: JobStore;
  readonly #queue: Queue;
  readonly #options: ReconcilerOptions;
  readonly #lockKey: string;
  readonly #cursorKey: string;
  readonly #releaseLock;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(redis: RedisClient, store: JobStore, queue: Queue, options: ReconcilerOptions) {
    this.#redis = redis;
    this.#releaseLock = bindScript(redis, releaseLockScript);
    this.#store = store;
    this.#queue = queue;
    this.#options = options;
    this.#lockKey = `${options.prefix}:reconciler:lock`;
    this.#cursorKey = `${options.prefix}:reconciler:cursor`;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      // A slow page (Redis struggling) is not stacked on.
      if (this.#running) return;
      this.#running = this.tick()
        .catch((error: unknown) => {
          if (!this.#options.faults?.report(error)) this.#options.log.warn('reconciler page failed', { error });
        })
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops ticking; resolves once a page in progress is done. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Checks one page if this process gets the lock; undefined when another replica holds it. */
  async tick(): Promise<ReconcilePage | undefined> {
    const token = randomBytes(8).toString('hex');
    if ((await this.#redis.set(this.#lockKey, token, 'PX', LOCK_LEASE_MS, 'NX')) !== 'OK') return undefined;
    try {
      return await this.#page();
    } finally {
      await this.#releaseLock({ lock: this.#lockKey, token }).catch(() => {});
    }
  }

  async #page(): Promise<ReconcilePage> {
    const cursor = (await this.#redis.get(this.#cursorKey)) ?? '';
    const { ids, cursor: next } = await this.#store.unfinished.page(cursor, RECONCILE_PAGE_SIZE);
    const now = Date.now();
    const forget: string[] = [];
    let repaired = 0;
    await Promise.all(
      ids.map(async (id) => {
        const record = await this.#store.get(id);
        if (!record) {
          forget.push(id);
          return;
        }
        // Running and reporting: its worker is alive, nothing to compare yet.
        if (record.state === 'active' && !record.dseq && now - Number(record.at) < this.#options.quietMs) return;
        const outcome = await reconcileRecord(this.#redis, this.#store, this.#queue, record, {
          lostAfterMs: LOST_AFTER_MS,
        });
        if (outcome === 'repaired') repaired++;
        if (outcome === 'finished' || outcome === 'gone') forget.push(id);
      }),
    );
    await this.#store.unfinished.forget(forget);
    // The page's cursor is empty once it reached the end of the set.
    const wrapped = next === '';
    await this.#redis.set(this.#cursorKey, next);
    this.#options.faults?.recovered();
    if (repaired > 0) this.#options.log.info('reconciled jobs with the queue', { repaired, checked: ids.length });
    return { checked: ids.length, repaired, forgotten: forget.length, wrapped };
  }
}
