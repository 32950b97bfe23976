/**
 * @module jobs/script-runner
 * Lua scripts as functions: registered once per connection, run with EVALSHA (ioredis falls
 * back to EVAL when Redis does not know the script yet).
 */
import type { RedisClient } from '../redis.js';

export type ScriptRunner<T = number> = (keys: string[], args: (string | number)[]) => Promise<T>;

/** KEYS and ARGV of one call, in the order the script's header lists them. */
export interface ScriptCall {
  keys: string[];
  args: (string | number)[];
}

/**
 * A Lua script beside the typed function that builds its KEYS and ARGV, so callers never
 * count ARGV positions. `Input` is what a caller knows; `Result` what the script returns.
 */
export interface LuaScript<Input, Result> {
  /** A name for the connection's command table (a counter keeps two users apart). */
  name: string;
  lua: string;
  call(input: Input): ScriptCall;
  /** Never set: carries the type of what the script returns to {@link bindScript}. */
  readonly returns?: Result;
}

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

/**
 * Registers `script` on a connection and returns the typed function that runs it.
 *
 * @example
 * const requestCancel = bindScript(redis, requestCancelScript);
 * await requestCancel({ keys: jobKeys(prefix, id), reason: 'cancelled by request' });
 */
export function bindScript<Input, Result>(
  redis: RedisClient,
  script: LuaScript<Input, Result>,
): (input: Input) => Promise<Result> {
  const run = defineScript<Result>(redis, script.name, script.lua);
  return (input) => {
    const { keys, args } = script.call(input);
    return run(keys, args);
  };
}
