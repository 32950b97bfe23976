/**
 * @module api/dependencies
 * Everything the API's routes need, built from the config: the Redis connections (one for
 * commands, one for subscriptions), the job store and queue, the event hubs, stream limits,
 * metrics, keys and webhooks — and how to close them again. Nothing here waits for Redis.
 */
import type { Queue } from 'bullmq';
import type { Registry } from 'prom-client';
import type { AppDeps } from '../app.js';
import { ClientAddresses } from '../client-address.js';
import type { Config } from '../config.js';
import { Channels } from '../events/channels.js';
import { ConnectionSet } from '../events/connection.js';
import { DerivedTicker } from '../events/derived.js';
import { FeedHub } from '../events/feed-hub.js';
import { HEAP_COMPACTION, HeapCompaction } from '../events/heap-compaction.js';
import { EventHub } from '../events/hub.js';
import { CapacityReader } from '../jobs/capacity.js';
import { createQueue } from '../jobs/queue.js';
import { QueuePositions } from '../jobs/queue-positions.js';
import type { JobTypeRegistry } from '../jobs/registry.js';
import { JobService } from '../jobs/service.js';
import { snapshotReader } from '../jobs/snapshot.js';
import { createJobStore, type JobStore } from '../jobs/store.js';
import { RateLimiter, StreamSlots } from '../limits.js';
import type { Logger } from '../log.js';
import { ApiMetrics, metricsText } from '../metrics.js';
import { closeRedis, createRedis, faultLog, type RedisClient, redisSettings } from '../redis.js';
import type { RedisFaultLog } from '../redis-faults.js';
import { DeliveryLog } from '../webhooks/deliveries.js';
import { createWebhookIntake, createWebhooks, webhooksEnabled } from '../webhooks/index.js';
import { registerWebhookBacklog } from '../webhooks/metrics.js';
import { loadAccess } from './access.js';

/** The API's parts: what `createApp` takes, and what the server starts beside it and stops. */
export interface ApiDependencies {
  app: AppDeps;
  command: RedisClient;
  store: JobStore;
  queue: Queue;
  hub: EventHub;
  connections: ConnectionSet;
  slots: StreamSlots;
  log: Logger;
  faults: RedisFaultLog;
  /** This process's metrics (with `extraMetrics`), read when asked. */
  registries(): Registry[];
  /** Closes the queues, then the Redis connections (once nothing else uses them). */
  close(): Promise<void>;
  /** Drops everything at once (the server never listened). */
  abandon(): Promise<void>;
}

export interface DependencyOptions {
  /** The job types to accept. */
  jobTypes: JobTypeRegistry;
  /** More metrics to serve on /metrics (the in-process worker's, under `npm start`). */
  extraMetrics?: Registry[] | undefined;
  /**
   * What GET /metrics serves, in place of this process's own registries: an API process of a
   * cluster (API_PROCESSES > 1) serves the sum over all of them (see `cluster`).
   */
  metricsText?: (() => Promise<{ contentType: string; text: string }>) | undefined;
}

/** Builds the API's parts for `config`, against the Redis at `redisUrl`. */
export function buildApiDependencies(
  config: Config,
  redisUrl: string,
  log: Logger,
  { jobTypes, extraMetrics = [], metricsText: served }: DependencyOptions,
): ApiDependencies {
  const redis = redisSettings(config, redisUrl);
  const faults = faultLog(redis, log);
  const command = createRedis(redis, 'command', log);
  const subscriber = createRedis(redis, 'subscriber', log);
  // webhooks (#17): jobs the API finishes (a queued job cancelled, a reconciled outcome) queue
  // their deliveries too; submissions are checked by the intake.
  const webhooks = webhooksEnabled(config) ? createWebhooks(config, command, log, faults) : undefined;
  const store = createJobStore(command, config, webhooks?.outbox);
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
    // A Cluster subscribes per shard (sharded pub/sub): streams read on the command connection.
    snapshotOnSubscriber: config.REDIS_CLUSTER ? undefined : snapshotReader(subscriber, (id) => store.keys(id)),
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
  const connections = new ConnectionSet(
    {
      heartbeatMs: config.SSE_HEARTBEAT_MS,
      retryMs: config.SSE_RETRY_MS,
      maxPending: config.SSE_MAX_PENDING_EVENTS,
      stuckTimeoutMs: config.SSE_STUCK_TIMEOUT_MS,
    },
    new HeapCompaction({ ...HEAP_COMPACTION, log }),
  );
  const metrics = new ApiMetrics({
    openStreams: () => connections.size,
    subscribedJobs: () => hub.topicCount + feedHub.topicCount,
    queue,
  });
  if (webhooks) registerWebhookBacklog(metrics.redisGauges, webhooks.queue);
  // Read when asked: the in-process worker's registry joins extraMetrics after the API started.
  const registries = () => [metrics.registry, ...extraMetrics];
  metrics.watchReconnects(command, 'command');
  metrics.watchReconnects(subscriber, 'subscriber');
  const { apiKeys, streamTokens } = loadAccess(config, log);
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
  const app: AppDeps = {
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
    // While an outage is known and the connection is down, a PING would only wait in the
    // client's queue for REDIS_COMMAND_TIMEOUT_MS: readiness says 503 at once instead.
    ping: () =>
      faults.down && command.status !== 'ready' ? Promise.reject(new Error('Connection is closed')) : command.ping(),
    faults,
    counters: metrics,
    admin: { queue, password: config.ADMIN_PASSWORD },
    webhookDeliveries: webhooks?.deliveries ?? new DeliveryLog(command, config.KEY_PREFIX),
    metrics: served ?? (() => metricsText(registries())),
  };
  return {
    app,
    command,
    store,
    queue,
    hub,
    connections,
    slots,
    log,
    faults,
    registries,
    async close() {
      await queue.close();
      await webhooks?.queue.close();
      await Promise.all([closeRedis(command), closeRedis(subscriber)]);
    },
    async abandon() {
      slots.close();
      await queue.close().catch(() => {});
      command.disconnect();
      subscriber.disconnect();
    },
  };
}
