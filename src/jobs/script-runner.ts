/**
 * @module jobs/script-runner
 * Lua scripts as functions: registered once per connection, run with EVALSHA (ioredis falls
 * back to EVAL when Redis does not know the script yet).
 */
import type { RedisClient } from '../redis.js';

export type ScriptRunner<T = number> = (keys: string[], args: (string | number)[]) => Promise<T>;

let scriptCounter = 0;

/** Registers a Lua script on a connection and returns the function that runs it. */
export function defineScript<T = number>(redis: RedisClient, name: string, lua: string): ScriptRunner<T> {
  // Names are per connection; a counter keeps two users of one connection apart.
  const command = `${name}${++scriptCounter}`;
  redis.defineCommand(command, { lua });
  const run = (redis as unknown as Record<string, (...args: unknown[]) => Promise<T>>)[command];
  if (!run) throw new Error(`ioredis did not define ${command}`);
  return (keys, args) => run.call(redis, keys.length, ...keys, ...args);
}
