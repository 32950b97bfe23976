/**
 * @module server
 * config → dependencies (`api/dependencies`) → the app → the reconcilers (`api/reconciling`)
 * → a listening server (`api/listen`), and the graceful shutdown that undoes it, in reverse.
 */
import type { Registry } from 'prom-client';
import { buildApiDependencies } from './api/dependencies.js';
import { type ListeningApi, listenApi } from './api/listen.js';
import { startReconciling } from './api/reconciling.js';
import { createApp } from './app.js';
import type { Config } from './config.js';
import type { ConnectionSet } from './events/connection.js';
import type { EventHub } from './events/hub.js';
import { loadJobTypes } from './jobs/load.js';
import type { JobTypeRegistry } from './jobs/registry.js';
import type { Logger } from './log.js';

export interface RunningApi {
  port: number;
  url: string;
  connections: ConnectionSet;
  hub: EventHub;
  /** This process's metrics (with `extraMetrics`): what an API process hands its cluster primary. */
  readonly registries: Registry[];
  /** Stops accepting, ends open streams (clients reconnect elsewhere), closes Redis. */
  close(): Promise<void>;
}

export interface ApiOptions {
  /** More metrics to serve on /metrics (the in-process worker's, under `npm start`). */
  extraMetrics?: Registry[];
  /** The job types to accept; default: the built-in ones plus the module JOB_TYPES names. */
  jobTypes?: JobTypeRegistry;
  /**
   * What GET /metrics serves, in place of this process's own registries: an API process of a
   * cluster (API_PROCESSES > 1) serves the sum over all of them (see `cluster`).
   */
  metricsText?: () => Promise<{ contentType: string; text: string }>;
}

/** The API, listening on PORT and HOST; rejects (with nothing left open) when it cannot listen. */
export async function startApi(
  config: Config,
  redisUrl: string,
  log: Logger,
  options: ApiOptions = {},
): Promise<RunningApi> {
  const jobTypes = options.jobTypes ?? (await loadJobTypes(config.JOB_TYPES));
  const deps = buildApiDependencies(config, redisUrl, log, {
    jobTypes,
    extraMetrics: options.extraMetrics,
    metricsText: options.metricsText,
  });
  const app = createApp(deps.app);
  const reconciling = startReconciling(config, deps);
  // Nothing here waits for Redis: the API listens whatever Redis does (/healthz 200, /readyz
  // and every Redis-backed request 503 until it answers), and the connections keep retrying.
  let listening: ListeningApi;
  try {
    listening = await listenApi(app.fetch, config);
  } catch (error) {
    await reconciling.stop();
    await deps.abandon();
    throw error;
  }
  const { port, url } = listening;
  log.info('api listening', { url });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await reconciling.stop();
      deps.slots.close();
      await listening.close(() => deps.connections.shutdown());
      await deps.close();
      log.info('api stopped');
    })();
    return closing;
  };

  return {
    port,
    url,
    connections: deps.connections,
    hub: deps.hub,
    get registries() {
      return deps.registries();
    },
    close,
  };
}
