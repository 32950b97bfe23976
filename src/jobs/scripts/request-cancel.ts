/**
 * @module jobs/scripts/request-cancel
 * Asks for a job to be cancelled: the reason goes on the record, where the worker's next
 * report finds it (`report` then answers -1).
 *
 * Input:
 * - KEYS[1] the record (hash)
 * - ARGV[1] the reason
 *
 * Output (`CancelRequest`, `jobs/outcomes`):
 * - -1: no such job
 * - 0: the job already finished
 * - 1: the request was recorded
 */
import type { JobKeys } from '../keys.js';
import type { LuaScript } from '../script-runner.js';

export interface RequestCancelInput {
  keys: JobKeys;
  reason: string;
}

export const requestCancelLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'dseq') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'cancel', ARGV[1])
return 1
`;

export const requestCancelScript: LuaScript<RequestCancelInput, number> = {
  name: 'jobcastRequestCancel',
  lua: requestCancelLua,
  call: ({ keys, reason }) => ({ keys: [keys.record], args: [reason] }),
};
