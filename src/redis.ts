/**
 * @module redis
 * The only place a Redis client is built. Each process holds a fixed number of connections,
 * by role, however many jobs and streams it serves.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './log.js';
import { type RedisFaultLog, redisFaultLog } from './redis-faults.js';

/** A connection to a single Redis or to a Redis Cluster; the code uses what both offer. */
export type RedisClient = Redis | Cluster;

/**
 * - `command`: request-path reads and writes; fails fast (2 retries, and no command waits
 *   longer than REDIS_COMMAND_TIMEOUT_MS) so an HTTP request gets a 503 instead of hanging
 *   while Redis is away or frozen.
 * - `subscriber`: the one pub/sub connection of an API process (on a Cluster: one per shard,
 *   with sharded pub/sub); its (un)subscribe commands time out like `command`'s, so a stream
 *   cannot hang on opening. Established subscriptions are not commands: they never time out.
 * - `worker`: BullMQ workers and job reporting; retries forever as BullMQ requires.
 * - `control`: a worker's listener for cancel requests (classic pub/sub, any node).
 */
export type RedisRole = 'command' | 'subscriber' | 'worker' | 'control';

export interface RedisSettings {
  url: string;
  /** REDIS_CLUSTER: `url` names one node of a Redis Cluster. */
  cluster: boolean;
  /** REDIS_SENTINELS: find the master through these; `url` gives credentials and TLS. */
  sentinels?: { host: string; port: number }[] | undefined;
  sentinelMaster?: string;
  /** REDIS_COMMAND_TIMEOUT_MS: the longest a `command` or `subscriber` command may wait. */
  commandTimeoutMs: number;
}

/** How this process reaches Redis, from its config and the URL in use. */
export function redisSettings(
  config: {
    REDIS_CLUSTER: boolean;
    REDIS_SENTINELS?: string | undefined;
    REDIS_SENTINEL_MASTER: string;
    REDIS_COMMAND_TIMEOUT_MS: number;
  },
  url: string,
): RedisSettings {
  const sentinels = config.REDIS_SENTINELS?.split(',').map((entry) => {
    const cut = entry.lastIndexOf(':');
    return { host: entry.slice(0, cut), port: Number(entry.slice(cut + 1)) };
  });
  return {
    url,
    cluster: config.REDIS_CLUSTER,
    sentinels,
    sentinelMaster: config.REDIS_SENTINEL_MASTER,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  };
}

/**
 * Builds a client for `role`. Connection errors are retried by ioredis and surface as failed
 * commands where it matters; here they go to the process's {@link RedisFaultLog}, which turns
 * an outage into one line of advice (and one when Redis is back).
 */
export function createRedis(settings: RedisSettings, role: RedisRole, log?: Logger): RedisClient {
  const client = buildClient(settings, role);
  const faults = log ? faultLog(settings, log) : undefined;
  client.on('error', (error: Error) => {
    if (!faults?.report(error)) log?.warn('redis connection error', { role, error });
  });
  client.on('ready', () => faults?.recovered());
  // The subscriber too: a stream's SUBSCRIBE when it opens and its job's UNSUBSCRIBE at `done`
  // were one system call each — with one watcher per job, a sixth of the API's CPU while
  // streams open (docs/performance.md, "many jobs").
  if ((role === 'command' || role === 'subscriber') && client instanceof Redis) {
    client.on('connect', () => coalesceWrites(client.stream));
  }
  return client;
}

/** The fault log of this process for the Redis of `settings`. */
export function faultLog(settings: RedisSettings, log: Logger): RedisFaultLog {
  return redisFaultLog(log, settings.url, settings.commandTimeoutMs);
}

/**
 * ioredis writes every command to its socket at once: one system call per command. Under
 * load the request path issues several commands per request (and the subscriber one per
 * stream opening, one per job ending) and many arrive in one turn of the event loop, so the
 * socket is corked at the first write of a turn and uncorked after the turn's I/O callbacks
 * (setImmediate): one writev carries them all. Commands wait at most until the end of the
 * current turn; a writer that itself runs at the end of a turn (a setImmediate of its own, as
 * `jobs/recorded-adds`) sends with {@link flushWrites}, or its commands would wait a turn more.
 */
function coalesceWrites(socket: NodeJS.WritableStream & { cork(): void; uncork(): void }): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const flush = () => {
    if (!corked) return;
    corked = false;
    socket.uncork();
  };
  flushes.set(socket, flush);
  socket.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(flush);
    }
    return write(...args);
  }) as typeof socket.write;
}

/** Each coalescing socket's flush, for {@link flushWrites}. */
const flushes = new WeakMap<object, () => void>();

/** Sends now what `client`'s socket holds for the end of this turn (nothing if it holds nothing). */
export function flushWrites(client: RedisClient): void {
  const socket = (client as unknown as { stream?: object }).stream;
  if (socket) flushes.get(socket)?.();
}

function buildClient(settings: RedisSettings, role: RedisRole): RedisClient {
  const failFast = role === 'command' || role === 'subscriber';
  const options: RedisOptions = {
    connectionName: `jobcast:${role}`,
    maxRetriesPerRequest: role === 'command' ? 2 : null,
    // Workers keep none: BullMQ's blocking commands wait on purpose, and a job's reports may
    // wait out a short outage rather than fail the job.
    ...(failFast ? { commandTimeout: settings.commandTimeoutMs } : {}),
    enableReadyCheck: true,
    // Reconnect quickly but not in a tight loop while Redis restarts.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  };
  const url = new URL(settings.url);
  if (settings.sentinels?.length) {
    return new Redis({
      ...options,
      sentinels: settings.sentinels,
      name: settings.sentinelMaster ?? 'mymaster',
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    });
  }
  if (!settings.cluster) return new Redis(settings.url, options);
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    redisOptions: {
      ...options,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    },
    // Job events use sharded pub/sub: a job's channel lives on its record's shard, so
    // delivery scales with the shards instead of every message reaching every node.
    shardedSubscribers: role === 'subscriber',
    clusterRetryStrategy: (times) => Math.min(times * 100, 2_000),
    enableReadyCheck: true,
  });
}

/**
 * Ends a connection politely, falling back to a hard disconnect if Redis is gone. Resolves once
 * the socket is closed, not merely once Redis answered QUIT: a close() that awaits this leaves
 * no socket behind.
 */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  // Not connected (Redis never answered, or is away): QUIT would wait in the offline queue.
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  const ended = new Promise((resolve) => redis.once('end', resolve));
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
  await ended;
}
