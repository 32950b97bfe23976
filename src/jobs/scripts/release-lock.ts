/**
 * @module jobs/scripts/release-lock
 * Releases a lock only if this holder still holds it (its token is the value): a holder whose
 * lease ran out never deletes the next holder's lock.
 *
 * Input:
 * - KEYS[1] the lock
 * - ARGV[1] the holder's token
 *
 * Output:
 * - 1: released
 * - 0: not held by this token (expired, or taken by another holder)
 */
import type { LuaScript } from '../script-runner.js';

export interface ReleaseLockInput {
  lock: string;
  token: string;
}

export const releaseLockLua = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export const releaseLockScript: LuaScript<ReleaseLockInput, number> = {
  name: 'jobcastReleaseLock',
  lua: releaseLockLua,
  call: ({ lock, token }) => ({ keys: [lock], args: [token] }),
};
