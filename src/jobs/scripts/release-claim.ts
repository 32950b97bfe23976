/**
 * @module jobs/scripts/release-claim
 * Frees an Idempotency-Key this request claimed (`jobs/idempotency`), only while it still holds
 * this request's claim: a claim that lapsed and was taken by another request stays theirs.
 *
 * Input:
 * - KEYS[1] the key
 * - ARGV[1] the claim's value (its job ids are new UUIDs: no other request's claim is equal)
 *
 * Output: 1 freed, 0 not this request's (any more)
 */
import type { LuaScript } from '../script-runner.js';

export interface ReleaseClaimInput {
  key: string;
  value: string;
}

export const releaseClaimLua = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export const releaseClaimScript: LuaScript<ReleaseClaimInput, number> = {
  name: 'jobcastReleaseClaim',
  lua: releaseClaimLua,
  call: ({ key, value }) => ({ keys: [key], args: [value] }),
};
