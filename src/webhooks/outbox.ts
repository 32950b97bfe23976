/**
 * @module webhooks/outbox
 * Turns a job's recorded events into queued deliveries, wherever the event was recorded: in a
 * worker (progress, logs, the outcome), in the API (a queued job cancelled), or by a reconciler
 * (an outcome nobody announced). The job store tells the outbox of every event it recorded
 * (`JobEventObserver`); the outbox queues what the job's webhook asks for (`webhooks/plan`).
 *
 * Nothing is lost when a process dies between recording an event and queuing its delivery:
 * - Delivery ids are deterministic (`webhooks/keys`), so queuing a delivery again is a no-op.
 * - A job with a webhook is listed in an "open" set from its submission until its end is
 *   queued: `done`, its last progress, and every log line it kept (queued again, idempotently).
 *   A crash leaves the job listed, and the workers' sweep (`webhooks/sweep`) queues its end.
 */
import type { Queue } from 'bullmq';
import { jobKeys } from '../jobs/keys.js';
import type { JobEventObserver } from '../jobs/store.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';
import type { DeliveryLog } from './deliveries.js';
import { openWebhooksKey } from './keys.js';
import {
  endDeliveries,
  logDelivery,
  logEntry,
  type Planned,
  progressDelivery,
  tickAt,
  type WebhookTarget,
} from './plan.js';
import { type DeliveryData, deliveryJobOptions, deliveryName } from './queue.js';
import type { WebhookEventName } from './schemas.js';
import { parseStoredWebhook } from './view.js';

export interface OutboxOptions {
  prefix: string;
  progressMinMs: number;
  maxAttempts: number;
  retentionSeconds: number;
  log: Logger;
}

/** What the outbox remembers of a job it has seen an event of. */
interface Watched extends WebhookTarget {
  /** The last progress tick this process queued, so a busy job costs one queue call per tick. */
  lastTick: number;
}

/** Jobs whose webhook this process remembers; beyond this the oldest is forgotten (and read again if needed). */
const WATCHED_MAX = 10_000;

export type FinalizeOutcome = 'queued' | 'running' | 'gone' | 'none';

export class WebhookOutbox implements JobEventObserver {
  readonly #redis: RedisClient;
  readonly #queue: Queue<DeliveryData>;
  readonly #deliveries: DeliveryLog;
  readonly #options: OutboxOptions;
  /** Promises, so that concurrent events of one job read its webhook once. */
  readonly #watched = new Map<string, Promise<Watched | null>>();

  constructor(redis: RedisClient, queue: Queue<DeliveryData>, deliveries: DeliveryLog, options: OutboxOptions) {
    this.#redis = redis;
    this.#queue = queue;
    this.#deliveries = deliveries;
    this.#options = options;
  }

  /** Lists jobs just submitted with a webhook as open (written with their records). */
  track(ids: string[], createdAt: number): Promise<unknown> {
    if (ids.length === 0) return Promise.resolve();
    return this.#redis.zadd(openWebhooksKey(this.#options.prefix), ...ids.flatMap((id) => [createdAt, id]));
  }

  recorded(jobId: string, event: WebhookEventName, seq: number, data?: string): void {
    const queued = event === 'done' ? this.#finished(jobId, data) : this.#live(jobId, event, seq, data);
    // A failure here is repaired by the sweep (done, last progress, logs) or by the next tick.
    queued.catch((error: unknown) =>
      this.#options.log.warn('could not queue a webhook delivery (the sweep retries it)', { jobId, event, error }),
    );
  }

  async #live(jobId: string, event: WebhookEventName, seq: number, data: string | undefined): Promise<void> {
    const watched = await this.#watch(jobId);
    if (!watched?.events.has(event)) return;
    const now = Date.now();
    if (event === 'log' && data !== undefined) {
      await this.#queueAll(jobId, [logDelivery(jobId, watched.url, seq, data, now)]);
      return;
    }
    if (event === 'progress') {
      const { progressMinMs } = this.#options;
      const tick = tickAt(now, watched.anchor, progressMinMs);
      if (tick <= watched.lastTick) return;
      watched.lastTick = tick;
      await this.#queueAll(jobId, [progressDelivery(jobId, watched, tick, progressMinMs)]);
    }
  }

  /**
   * The fast path, right after `done` was recorded: a job seen before (its first event read
   * its webhook) is finished off from memory and `done`'s own data; any other is read.
   */
  async #finished(jobId: string, done: string | undefined): Promise<void> {
    const watched = await this.#watched.get(jobId)?.catch(() => undefined);
    this.#watched.delete(jobId);
    // A job seen before without a webhook (the usual case) costs nothing more.
    if (watched === null) return;
    if (!watched || done === undefined) {
      await this.finalize(jobId);
      return;
    }
    const end = Date.parse((JSON.parse(done) as { at: string }).at);
    await this.#queueEnd(jobId, watched, done, end);
  }

  /**
   * Queues the end of a finished job (its `done`, its last progress, its log lines, as its
   * webhook asks) and takes it off the open set. Idempotent: the fast path after `done` and
   * the sweep may both do it. 'running' for a job not finished yet, 'gone' for one whose
   * record expired, 'none' for a job without a webhook.
   */
  async finalize(jobId: string): Promise<FinalizeOutcome> {
    const record = jobKeys(this.#options.prefix, jobId).record;
    const [stored, createdAt, startedAt, finishedAt, done, disabled] = await this.#redis.hmget(
      record,
      'webhook',
      'createdAt',
      'startedAt',
      'finishedAt',
      'done',
      'whOff',
    );
    if (!createdAt) {
      await this.#close(jobId);
      return 'gone';
    }
    const webhook = stored ? parseStoredWebhook(stored) : undefined;
    if (!webhook) return 'none';
    if (!done || !finishedAt) return 'running';
    if (disabled) {
      // A 410 Gone stopped the webhook: nothing more to queue.
      await this.#deliveries.followRecord(jobId);
      await this.#close(jobId);
      return 'queued';
    }
    const target = { url: webhook.url, events: new Set(webhook.events), anchor: Number(startedAt ?? createdAt) };
    await this.#queueEnd(jobId, target, done, Number(finishedAt));
    return 'queued';
  }

  /** Queues `done`, the last progress tick and every kept log line, as asked, then closes the job. */
  async #queueEnd(jobId: string, target: WebhookTarget, done: string, end: number): Promise<void> {
    const planned = endDeliveries(jobId, target, done, end, this.#options.progressMinMs);
    // Noting them also gives the delivery list the finished record's lifetime.
    await this.#queueAll(jobId, planned);
    if (target.events.has('log')) {
      // Every kept line again: those queued already are no-ops, one lost to a crash is not.
      // Not noted: a line whose listing was trimmed must not come back as pending; a line
      // that was really lost is listed by its first attempt.
      const lines = await this.#redis.lrange(jobKeys(this.#options.prefix, jobId).log, 0, -1);
      const backfill = lines.map(logEntry).map(({ seq, data }) => logDelivery(jobId, target.url, seq, data, end));
      for (let i = 0; i < backfill.length; i += 100) await this.#add(backfill.slice(i, i + 100));
    }
    if (planned.length === 0) await this.#deliveries.followRecord(jobId);
    // Only once everything is queued: until then the sweep would find the job.
    await this.#close(jobId);
  }

  /** Queues deliveries and lists them for `GET /jobs/{id}/webhooks`. */
  async #queueAll(jobId: string, planned: Planned[]): Promise<void> {
    if (planned.length === 0) return;
    const now = Date.now();
    await Promise.all([
      this.#add(planned),
      ...planned.map((p) =>
        this.#deliveries.queued(
          jobId,
          p.id,
          {
            type: deliveryName(p.data.event),
            status: 'pending',
            attempts: 0,
            createdAt: now,
            nextAttemptAt: Math.max(now, p.dueAt),
          },
          p.data.tick,
        ),
      ),
    ]);
  }

  #add(planned: Planned[]): Promise<unknown> {
    const now = Date.now();
    const jobs = planned.map((p) => ({
      name: deliveryName(p.data.event),
      data: p.data,
      opts: deliveryJobOptions(p.id, {
        maxAttempts: this.#options.maxAttempts,
        retentionSeconds: this.#options.retentionSeconds,
        delayMs: p.dueAt - now,
      }),
    }));
    const [one] = jobs;
    return jobs.length === 1 && one ? this.#queue.add(one.name, one.data, one.opts) : this.#queue.addBulk(jobs);
  }

  #watch(jobId: string): Promise<Watched | null> {
    let watched = this.#watched.get(jobId);
    if (!watched) {
      watched = this.#read(jobId);
      this.#watched.set(jobId, watched);
      if (this.#watched.size > WATCHED_MAX) this.#watched.delete(this.#watched.keys().next().value as string);
      // A failed read is not remembered.
      watched.catch(() => this.#watched.delete(jobId));
    }
    return watched;
  }

  async #read(jobId: string): Promise<Watched | null> {
    const [stored, createdAt, startedAt] = await this.#redis.hmget(
      jobKeys(this.#options.prefix, jobId).record,
      'webhook',
      'createdAt',
      'startedAt',
    );
    const webhook = stored ? parseStoredWebhook(stored) : undefined;
    if (!webhook) return null;
    return {
      url: webhook.url,
      events: new Set(webhook.events),
      anchor: Number(startedAt ?? createdAt ?? Date.now()),
      lastTick: -1,
    };
  }

  async #close(jobId: string): Promise<void> {
    this.#watched.delete(jobId);
    await this.#redis.zrem(openWebhooksKey(this.#options.prefix), jobId);
  }
}
