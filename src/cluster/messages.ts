/**
 * @module cluster/messages
 * What the cluster primary and its API processes say to each other over Node's IPC channel,
 * and how the primary adds up their metrics.
 *
 * Every message carries a `jobcast` field naming its kind, so messages of other libraries on
 * the same channel (node:cluster's own, prom-client's) are told apart and ignored.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';

/** The text of GET /metrics. */
export interface MetricsText {
  contentType: string;
  text: string;
}

/** One process's metrics as prom-client's JSON (`getMetricsAsJSON`) of each of its registries. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[];

export type ToApiProcess =
  /** Stop gracefully (end streams, close Redis) and exit 0. */
  | { jobcast: 'stop' }
  /** Send your metrics (as {@link MetricsJson}) for collection `id`. */
  | { jobcast: 'metrics?'; id: number }
  /** The cluster-wide metrics asked for with `id`, or why there are none. */
  | { jobcast: 'metrics'; id: number; result: MetricsText | { error: string } };

export type ToPrimary =
  /** Listening (and serving) at `url`. */
  | { jobcast: 'ready'; url: string }
  /** One API process's answer to `metrics?` `id`. */
  | { jobcast: 'metrics-json'; id: number; metrics: MetricsJson }
  /** GET /metrics arrived at this process: the cluster-wide text, please, under `id`. */
  | { jobcast: 'collect'; id: number };

/** True for a message of ours (and not node:cluster's or prom-client's). */
export function isJobcastMessage<T extends { jobcast: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && typeof (message as T).jobcast === 'string';
}

/** The JSON of `registries`, as sent to the primary. */
export function metricsJson(registries: Registry[]): Promise<MetricsJson> {
  return Promise.all(registries.map((registry) => registry.getMetricsAsJSON()));
}

/**
 * A limit each process has for itself: its sum names no limit at all (two processes of 20,000
 * open files each are not one of 40,000), so the cluster reports the largest.
 */
const PER_PROCESS_LIMITS = /_process_max_fds$/;

/**
 * Adds up the metrics of several processes (each a {@link MetricsJson}): counters, histograms
 * and most gauges are summed; a metric whose `aggregator` says otherwise (the queue's depth,
 * the same in every process: `first`) is combined its own way, and a per-process limit is
 * reported as the largest.
 */
export async function aggregateMetrics(processes: MetricsJson[]): Promise<MetricsText> {
  const registry = AggregatorRegistry.aggregate(
    processes.map((registries) =>
      registries
        .flat()
        .map((metric) => (PER_PROCESS_LIMITS.test(metric.name) ? { ...metric, aggregator: 'max' } : metric)),
    ),
  );
  return { contentType: registry.contentType, text: await registry.metrics() };
}
