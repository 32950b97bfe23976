/**
 * @module redis
 * The only place a Redis client is built. Each process holds a fixed number of connections,
 * by role, however many jobs and streams it serves.
 */
import { Redis, type RedisOptions } from 'ioredis';

/**
 * - `command`: request-path reads and writes; fails fast (2 retries) so an HTTP request
 *   gets a 503 instead of hanging while Redis is away.
 * - `subscriber`: the one pub/sub connection of an API process.
 * - `worker`: BullMQ workers and job reporting; retries forever as BullMQ requires.
 */
export type RedisRole = 'command' | 'subscriber' | 'worker';

export function createRedis(url: string, role: RedisRole): Redis {
  const options: RedisOptions = {
    connectionName: `jobcast:${role}`,
    maxRetriesPerRequest: role === 'command' ? 2 : null,
    enableReadyCheck: true,
    // Reconnect quickly but not in a tight loop while Redis restarts.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  };
  return new Redis(url, options);
}

/** Ends a connection politely, falling back to a hard disconnect if Redis is gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
