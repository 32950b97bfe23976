/**
 * @module jobs/scripts/create-records
 * Writes the records of new jobs and adds them to the unfinished set, in one call: what would
 * otherwise go as one HSET per job and a ZADD. Only where every key lives on one server (not on
 * a Redis Cluster, where each job's keys have a slot of their own and the unfinished set one
 * more): there the store sends the HSETs and the ZADD as commands.
 *
 * One call, a single job's included: the API builds one ioredis command (its object, promise
 * and timeout timer) instead of two or more, and Redis parses, dispatches and answers one
 * request instead of several.
 *
 * Input:
 * - KEYS[1] the unfinished set (sorted set, every score 0); KEYS[1 + i] the i-th job's record (hash)
 * - ARGV: per job, in the order of KEYS: its id, how many arguments its fields take
 *   (2 × fields), then `field value field value …`
 *
 * Output: the number of records written.
 */
import type { LuaScript } from '../script-runner.js';

export interface CreateRecordsInput {
  /** The unfinished set's key. */
  unfinished: string;
  /** The jobs' ids. */
  ids: string[];
  /** The records' keys, in the order of `ids`. */
  keys: string[];
  /** Each record as HSET arguments (`field value …`), in the order of `ids`. */
  fields: string[][];
}

export const createRecordsLua = `
local members = {}
local at = 1
for i = 2, #KEYS do
  local n = tonumber(ARGV[at + 1])
  redis.call('HSET', KEYS[i], unpack(ARGV, at + 2, at + 1 + n))
  members[#members + 1] = 0
  members[#members + 1] = ARGV[at]
  at = at + n + 2
end
redis.call('ZADD', KEYS[1], unpack(members))
return #KEYS - 1
`;

export const createRecordsScript: LuaScript<CreateRecordsInput, number> = {
  name: 'jobcastCreateRecords',
  lua: createRecordsLua,
  call: ({ unfinished, ids, keys, fields }) => {
    const args: (string | number)[] = [];
    fields.forEach((record, i) => {
      args.push(ids[i] as string, record.length);
      for (const value of record) args.push(value);
    });
    return { keys: [unfinished, ...keys], args };
  },
};
