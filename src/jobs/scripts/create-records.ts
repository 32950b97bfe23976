/**
 * @module jobs/scripts/create-records
 * Writes the records of several new jobs in one call: what a batch would otherwise send as
 * one HSET per job. Only where every key lives on one server (not on a Redis Cluster, where
 * each job's keys have a slot of their own): there the store sends the HSETs one by one.
 *
 * One call instead of a hundred commands: the API builds one ioredis command (its object,
 * promise and timeout timer) instead of one per job, and Redis parses, dispatches and answers
 * one request instead of a hundred.
 *
 * Input:
 * - KEYS[i] the i-th job's record (hash)
 * - ARGV: per job, in the order of KEYS: how many arguments its fields take (2 × fields),
 *   then `field value field value …`
 *
 * Output: the number of records written.
 */
import type { LuaScript } from '../script-runner.js';

export interface CreateRecordsInput {
  /** The records' keys. */
  keys: string[];
  /** Each record as HSET arguments (`field value …`), in the order of `keys`. */
  fields: string[][];
}

export const createRecordsLua = `
local at = 1
for i = 1, #KEYS do
  local n = tonumber(ARGV[at])
  redis.call('HSET', KEYS[i], unpack(ARGV, at + 1, at + n))
  at = at + n + 1
end
return #KEYS
`;

export const createRecordsScript: LuaScript<CreateRecordsInput, number> = {
  name: 'jobcastCreateRecords',
  lua: createRecordsLua,
  call: ({ keys, fields }) => {
    const args: (string | number)[] = [];
    for (const record of fields) args.push(record.length, ...record);
    return { keys, args };
  },
};
