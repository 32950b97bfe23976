/**
 * @module limits/scripts/admit
 * Counts a request into its client's one-minute window unless that would pass the limit. One
 * step, so a refused batch never makes a concurrent request see a count it did not reach.
 *
 * Input:
 * - KEYS[1] the window's count (string; expires 61 s after its last change, past the window)
 * - ARGV[1] how many to count (a batch's jobs, or 1)
 * - ARGV[2] the limit per minute
 *
 * Output ({@link Admission}):
 * - 1: admitted, counted
 * - 0: refused, nothing counted
 */
import type { LuaScript } from '../../jobs/script-runner.js';

/** What the `admit` script answers. */
export const Admission = {
  /** Counting these would pass the limit: nothing counted. */
  REFUSED: 0,
  /** Counted. */
  ADMITTED: 1,
} as const;

export interface AdmitInput {
  /** The window's key. */
  window: string;
  count: number;
  limit: number;
}

export const admitLua = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], 61)
return 1
`;

export const admitScript: LuaScript<AdmitInput, number> = {
  name: 'jobcastAdmit',
  lua: admitLua,
  call: ({ window, count, limit }) => ({ keys: [window], args: [count, limit] }),
};
