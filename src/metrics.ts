/**
 * @module metrics
 * Prometheus metrics (prom-client). Each API or worker instance has its own registry (tests run
 * several in one process); `npm start`, which runs both in one process, serves both on the
 * API's /metrics. With API_PROCESSES > 1 any process's /metrics serves the sum over all of them
 * (see `cluster`): each metric's `aggregator` says how its values combine (sum by default).
 */
import type { Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { StreamEventName } from './jobs/schemas.js';
import type { RedisClient } from './redis.js';
import { RedisGauges } from './redis-gauges.js';

/** How a stream request ended up (`jobcast_stream_requests_total`'s outcome label). */
export type StreamOpenOutcome = 'fresh' | 'resumed' | 'finished' | 'not_found';

/** What the event streams report, counted per process. */
export interface StreamCounters {
  sent(event: StreamEventName): void;
  /** How a stream request ended up: a fresh stream, a resumed one, 204, 404. */
  opened(outcome: StreamOpenOutcome): void;
}

export class ApiMetrics implements StreamCounters {
  readonly registry = new Registry();
  readonly #sent: Record<StreamEventName, number> = { progress: 0, log: 0, done: 0, reset: 0, gone: 0, summary: 0 };
  readonly #opened: Record<StreamOpenOutcome, number> = { fresh: 0, resumed: 0, finished: 0, not_found: 0 };
  readonly #reconnects: Counter<'role'>;
  /** The gauges read from Redis on each scrape (the webhook queue's join them). */
  readonly redisGauges: RedisGauges;

  constructor(sources: { openStreams: () => number; subscribedJobs: () => number; queue: Queue }) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'jobcast_api_' });
    new Gauge({
      name: 'jobcast_open_streams',
      help: 'Event streams open on this API process (with API_PROCESSES, summed over them).',
      registers: [registry],
      collect() {
        this.set(sources.openStreams());
      },
    });
    new Gauge({
      name: 'jobcast_subscribed_jobs',
      help: 'Jobs this API process is subscribed to (one channel each, on one connection; with API_PROCESSES, summed).',
      registers: [registry],
      collect() {
        this.set(sources.subscribedJobs());
      },
    });
    // Counted in plain numbers and handed to prom-client when scraped (countedOnScrape): events
    // once per delivered event, stream requests once per stream opened, where labels().inc()
    // was a measurable share of what opening a stream costs (docs/performance.md, "many jobs").
    countedOnScrape(registry, {
      name: 'jobcast_events_sent_total',
      help: 'Events written to streams, by event type.',
      label: 'type',
      counts: this.#sent,
    });
    countedOnScrape(registry, {
      name: 'jobcast_stream_requests_total',
      help: 'Event-stream requests by outcome: fresh, resumed (Last-Event-ID), finished (204), not_found.',
      label: 'outcome',
      counts: this.#opened,
    });
    this.#reconnects = new Counter({
      name: 'jobcast_redis_reconnects_total',
      help: 'Redis reconnection attempts, by connection role.',
      labelNames: ['role'],
      registers: [registry],
    });
    this.redisGauges = new RedisGauges(registry);
    this.redisGauges.add(
      {
        name: 'jobcast_queue_jobs',
        help: 'Jobs in the BullMQ queue by BullMQ state (wait + delayed + prioritized = queue depth).',
        label: 'state',
      },
      () => sources.queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'completed', 'failed'),
    );
  }

  sent(event: StreamEventName): void {
    this.#sent[event]++;
  }

  opened(outcome: StreamOpenOutcome): void {
    this.#opened[outcome]++;
  }

  watchReconnects(redis: RedisClient, role: string): void {
    redis.on('reconnecting', () => this.#reconnects.labels(role).inc());
  }
}

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly duration: Histogram<'type' | 'status'>;
  readonly reconnects: Counter<'role'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'jobcast_worker_' });
    this.duration = new Histogram({
      name: 'jobcast_job_duration_seconds',
      help: 'Time from a job attempt starting to its outcome, by type and outcome.',
      labelNames: ['type', 'status'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [this.registry],
    });
    this.reconnects = new Counter({
      name: 'jobcast_worker_redis_reconnects_total',
      help: 'Redis reconnection attempts of the worker, by connection role.',
      labelNames: ['role'],
      registers: [this.registry],
    });
  }

  watchReconnects(redis: RedisClient, role: string): void {
    redis.on('reconnecting', () => this.reconnects.labels(role).inc());
  }
}

/** The text of several registries together (the all-in-one process). */
export async function metricsText(registries: Registry[]): Promise<{ contentType: string; text: string }> {
  const merged = registries.length === 1 ? (registries[0] as Registry) : Registry.merge(registries);
  return { contentType: merged.contentType, text: await merged.metrics() };
}

/**
 * A counter kept in plain numbers, one per label value, and handed to prom-client only when
 * scraped: an inc() hashes and validates its labels and returns an object, too much for what
 * is counted once per event or per stream opened.
 */
function countedOnScrape(
  registry: Registry,
  counter: { name: string; help: string; label: string; counts: Readonly<Record<string, number>> },
): void {
  const { label, counts } = counter;
  new Counter({
    name: counter.name,
    help: counter.help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of Object.entries(counts)) if (n > 0) this.inc({ [label]: value }, n);
    },
  });
}
