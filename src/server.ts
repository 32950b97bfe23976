/**
 * @module server
 * config → dependencies → HTTP server, and the graceful shutdown that undoes it.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { serve } from '@hono/node-server';
import type { Registry } from 'prom-client';
import { createApp } from './app.js';
import { createApiKeys, loadApiKeys } from './auth/api-keys.js';
import { StreamTokens } from './auth/stream-tokens.js';
import { ClientAddresses } from './client-address.js';
import type { Config } from './config.js';
import { Channels } from './events/channels.js';
import { ConnectionSet } from './events/connection.js';
import { DerivedTicker } from './events/derived.js';
import { FeedHub } from './events/feed-hub.js';
import { EventHub } from './events/hub.js';
import { CapacityReader } from './jobs/capacity.js';
import { loadJobTypes } from './jobs/load.js';
import { createQueue } from './jobs/queue.js';
import { QueuePositions } from './jobs/queue-positions.js';
import { reconcile } from './jobs/reconcile.js';
import { Reconciler } from './jobs/reconciler.js';
import type { JobTypeRegistry } from './jobs/registry.js';
import { JobService } from './jobs/service.js';
import { JobStore } from './jobs/store.js';
import { RateLimiter, StreamSlots } from './limits.js';
import { listenError } from './listen.js';
import type { Logger } from './log.js';
import { ApiMetrics, metricsText } from './metrics.js';
import { closeRedis, createRedis, faultLog, redisSettings } from './redis.js';
import { DeliveryLog } from './webhooks/deliveries.js';
import { createWebhookIntake, createWebhooks, webhooksEnabled } from './webhooks/index.js';
import { registerWebhookBacklog } from './webhooks/metrics.js';

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

export async function startApi(
  config: Config,
  redisUrl: string,
  log: Logger,
  options: ApiOptions = {},
): Promise<RunningApi> {
  const jobTypes = options.jobTypes ?? (await loadJobTypes(config.JOB_TYPES));
  const redis = redisSettings(config, redisUrl);
  const faults = faultLog(redis, log);
  const command = createRedis(redis, 'command', log);
  const subscriber = createRedis(redis, 'subscriber', log);
  // webhooks (#17): jobs the API finishes (a queued job cancelled, a reconciled outcome) queue
  // their deliveries too; submissions are checked by the intake.
  const webhooks = webhooksEnabled(config) ? createWebhooks(config, command, log, faults) : undefined;
  const store = new JobStore(command, {
    prefix: config.KEY_PREFIX,
    logMaxLines: config.JOB_LOG_MAX_LINES,
    retentionSeconds: config.JOB_RETENTION_SECONDS,
    publishCommand: config.REDIS_CLUSTER ? 'SPUBLISH' : 'PUBLISH',
    observer: webhooks?.outbox,
    feedMaxEvents: config.FEED_MAX_EVENTS,
  });
  const queue = createQueue(command, {
    prefix: config.KEY_PREFIX,
    queueName: config.QUEUE_NAME,
    retentionSeconds: config.JOB_RETENTION_SECONDS,
  });
  queue.on('error', (error) => {
    if (!faults.report(error)) log.warn('queue error', { error });
  });
  const channels = new Channels(subscriber, { sharded: config.REDIS_CLUSTER, log });
  const positions = new QueuePositions(
    command,
    { prefix: config.KEY_PREFIX, queueName: config.QUEUE_NAME },
    new CapacityReader(command, config.KEY_PREFIX),
  );
  const hub = new EventHub(channels, {
    keys: (id) => store.keys(id),
    snapshot: (id) => store.snapshot(id),
    log,
    faults,
    derived: new DerivedTicker({
      stallAfterMs: config.STALL_AFTER_MS,
      tickMs: config.PROGRESS_TICK_MS,
      positions,
      log,
      faults,
    }),
  });
  const feedHub = new FeedHub(channels, { feed: store.feed, log });
  const connections = new ConnectionSet({
    heartbeatMs: config.SSE_HEARTBEAT_MS,
    retryMs: config.SSE_RETRY_MS,
    maxPending: config.SSE_MAX_PENDING_EVENTS,
    stuckTimeoutMs: config.SSE_STUCK_TIMEOUT_MS,
  });
  const metrics = new ApiMetrics({
    openStreams: () => connections.size,
    subscribedJobs: () => hub.topicCount + feedHub.topicCount,
    queue,
  });
  if (webhooks) registerWebhookBacklog(metrics.registry, webhooks.queue);
  // Read when asked: the in-process worker's registry joins extraMetrics after the API started.
  const registries = () => [metrics.registry, ...(options.extraMetrics ?? [])];
  metrics.watchReconnects(command, 'command');
  metrics.watchReconnects(subscriber, 'subscriber');
  const keyList = loadApiKeys(config.API_KEYS, config.API_KEYS_FILE);
  const apiKeys = createApiKeys(keyList);
  // Every replica with the same keys derives the same secret, so tokens work on any of them.
  const tokenSecret =
    config.STREAM_TOKEN_SECRET ??
    createHash('sha256')
      .update(`jobcast-stream-tokens\n${[...keyList].sort().join('\n')}`)
      .digest('hex');
  const streamTokens = new StreamTokens(tokenSecret, config.STREAM_TOKEN_TTL_SECONDS);
  if (apiKeys.enabled) {
    log.info('API keys required', { keys: keyList.length });
  } else {
    log.warn(
      'NO API KEYS CONFIGURED: anyone who can reach this port can submit jobs, and anyone who knows a job id can read and cancel it (jobs are never listed). Set API_KEYS to require keys.',
    );
  }
  const slots = new StreamSlots(command, config.KEY_PREFIX, config.MAX_STREAMS_PER_CLIENT);
  const jobs = new JobService(store, queue, command, {
    prefix: config.KEY_PREFIX,
    retentionSeconds: config.JOB_RETENTION_SECONDS,
    idempotencySeconds: config.IDEMPOTENCY_KEY_TTL_SECONDS,
    streamTokens: apiKeys.enabled ? streamTokens : undefined,
    jobTypes,
    webhooks: createWebhookIntake(config, webhooks),
    stallAfterMs: config.STALL_AFTER_MS,
    positions,
  });
  const app = createApp({
    jobs,
    jobTypes,
    store,
    hub,
    feedHub,
    feed: store.feed,
    feedMaxEvents: config.FEED_MAX_EVENTS,
    connections,
    log,
    apiKeys,
    streamTokens,
    limiter: new RateLimiter(command, config.KEY_PREFIX, config.RATE_LIMIT_PER_MINUTE),
    readLimiter: new RateLimiter(command, config.KEY_PREFIX, config.READ_RATE_LIMIT_PER_MINUTE, 'reads'),
    slots,
    clientAddresses: new ClientAddresses(config.TRUST_PROXY, config.TRUST_PROXY_HEADER),
    corsOrigins: config.CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    maxBodyBytes: config.MAX_BODY_BYTES,
    tls: Boolean(config.TLS_CERT),
    ping: () => command.ping(),
    faults,
    counters: metrics,
    admin: { queue, password: config.ADMIN_PASSWORD },
    webhookDeliveries: webhooks?.deliveries ?? new DeliveryLog(command, config.KEY_PREFIX),
    metrics: options.metricsText ?? (() => metricsText(registries())),
  });

  // Safety net for a worker that died between BullMQ recording a job's outcome and publishing
  // `done`: watched jobs that have been quiet for a lock period are checked against BullMQ.
  const reconciler = setInterval(() => {
    const quiet = hub.quietJobs(config.WORKER_LOCK_MS);
    for (const id of quiet) {
      reconcile(store, queue, id).catch((error: unknown) => log.debug('reconcile failed', { id, error }));
    }
    // And re-read them: an event lost on the way (a subscription rebuilt unnoticed) is found.
    hub.resync(quiet);
  }, config.WORKER_LOCK_MS);
  reconciler.unref();
  // And every unfinished job, watched or not, page by page, shared with the other replicas.
  const background = new Reconciler(command, store, queue, {
    prefix: config.KEY_PREFIX,
    intervalMs: config.RECONCILE_INTERVAL_MS,
    quietMs: config.WORKER_LOCK_MS,
    log,
    faults,
  });
  background.start();

  // Nothing here waits for Redis: the API listens whatever Redis does (/healthz 200, /readyz
  // and every Redis-backed request 503 until it answers), and the connections keep retrying.
  const tls =
    config.TLS_CERT && config.TLS_KEY
      ? { cert: readFileSync(config.TLS_CERT), key: readFileSync(config.TLS_KEY) }
      : undefined;
  const server = tls
    ? serve({
        fetch: app.fetch,
        port: config.PORT,
        hostname: config.HOST,
        createServer: createSecureServer,
        // A client that never finishes the TLS handshake cannot hold a socket either.
        serverOptions: { ...tls, allowHTTP1: true, handshakeTimeout: config.HTTP_HEADERS_TIMEOUT_MS },
      })
    : serve({
        fetch: app.fetch,
        port: config.PORT,
        hostname: config.HOST,
        // Slow-header clients cannot hold sockets (streams themselves are long-lived on
        // purpose). Node checks these timeouts every connectionsCheckingInterval, which can
        // only be set here; its 30 s default would let a stalled client stay that long.
        serverOptions: {
          headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
          requestTimeout: Math.max(config.HTTP_HEADERS_TIMEOUT_MS, 30_000),
          connectionsCheckingInterval: Math.min(1_000, Math.floor(config.HTTP_HEADERS_TIMEOUT_MS / 2)),
        },
      });
  // An HTTP/2 server does not close its sessions on close(): track them for shutdown.
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  if (tls) cutConnectionsWithoutRequest(server as Http2SecureServer, config.HTTP_HEADERS_TIMEOUT_MS);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (error) {
    clearInterval(reconciler);
    await background.stop();
    slots.close();
    await queue.close().catch(() => {});
    command.disconnect();
    subscriber.disconnect();
    throw listenError(error, { port: config.PORT, host: config.HOST, portSetting: 'PORT' });
  }
  const { port } = server.address() as AddressInfo;
  const url = `${tls ? 'https' : 'http'}://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  log.info('api listening', { url });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(reconciler);
      await background.stop();
      slots.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      connections.shutdown();
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      for (const session of sessions) session.close();
      // Streams that ended still need their sockets to go; anything left after a grace period
      // (a client that never reads) is cut.
      const grace = setTimeout(() => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        for (const session of sessions) session.destroy();
      }, 2_000);
      await closed;
      clearTimeout(grace);
      await queue.close();
      await webhooks?.queue.close();
      await Promise.all([closeRedis(command), closeRedis(subscriber)]);
      log.info('api stopped');
    })();
    return closing;
  };

  return {
    port,
    url,
    connections,
    hub,
    get registries() {
      return registries();
    },
    close,
  };
}

/**
 * HTTP/1's headersTimeout for the TLS server, which has none: a connection must complete its
 * first request's headers within `ms` (an HTTP/2 session its first stream), or it is cut. A
 * client that connects and sends nothing, or never finishes its headers, holds no socket.
 */
function cutConnectionsWithoutRequest(server: Http2SecureServer, ms: number): void {
  const waiting = new WeakMap<object, NodeJS.Timeout>();
  server.on('secureConnection', (socket: TLSSocket) => {
    // HTTP/2 sessions are watched through their own events below.
    if (socket.alpnProtocol === 'h2') return;
    const timer = setTimeout(() => socket.destroy(), ms);
    waiting.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  server.on('request', (req: { socket: object }) => clearTimeout(waiting.get(req.socket)));
  server.on('session', (session: Http2Session) => {
    const timer = setTimeout(() => session.destroy(), ms);
    session.once('stream', () => clearTimeout(timer));
    session.once('close', () => clearTimeout(timer));
  });
}
