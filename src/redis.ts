/**
 * @module redis
 * The only place a Redis client is built. Each process holds a fixed number of connections,
 * by role, however many jobs and streams it serves.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A connection to a single Redis or to a Redis Cluster; the code uses what both offer. */
export type RedisClient = Redis | Cluster;

/**
 * - `command`: request-path reads and writes; fails fast (2 retries) so an HTTP request
 *   gets a 503 instead of hanging while Redis is away.
 * - `subscriber`: the one pub/sub connection of an API process (on a Cluster: one per shard,
 *   with sharded pub/sub).
 * - `worker`: BullMQ workers and job reporting; retries forever as BullMQ requires.
 * - `control`: a worker's listener for cancel requests (classic pub/sub, any node).
 */
export type RedisRole = 'command' | 'subscriber' | 'worker' | 'control';

export interface RedisSettings {
  url: string;
  /** REDIS_CLUSTER: `url` names one node of a Redis Cluster. */
  cluster: boolean;
}

export function createRedis(settings: RedisSettings, role: RedisRole): RedisClient {
  const options: RedisOptions = {
    connectionName: `jobcast:${role}`,
    maxRetriesPerRequest: role === 'command' ? 2 : null,
    enableReadyCheck: true,
    // Reconnect quickly but not in a tight loop while Redis restarts.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  };
  if (!settings.cluster) return new Redis(settings.url, options);
  const url = new URL(settings.url);
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

/** Ends a connection politely, falling back to a hard disconnect if Redis is gone. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/**
 * True for errors that mean "Redis is unreachable or not ready", which deserve a 503 and a
 * retry rather than a 500. ioredis exports no classes for most of these, so the names and
 * messages it uses are matched here, in one place.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'AbortError') return true;
  return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|^LOADING|^MASTERDOWN|^TRYAGAIN|^CLUSTERDOWN/.test(
    error.message,
  );
}
