/**
 * @module jobs/scripts/create-records
 * Writes the records of new jobs and adds them to the unfinished set, in one call: what would
 * otherwise go as one HSET per job and a ZADD. Only where every key lives on one server (not on
 * a Redis Cluster, where each job's keys have a slot of their own and the unfinished set one
 * more): there the store sends the HSETs and the ZADD as commands.
 *
 * One call, a single job's included: the API builds one ioredis command (its object, promise
 * and timeout timer) instead of two or more, and Redis parses, dispatches and answers one
 * request instead of several. Each record goes as its fields and values, counted, so the
 * script hands them to HSET as they came: decoding a JSON argument per record with cjson cost
 * Redis ~1.5–2 µs more per job (docs/performance.md), and Redis, one thread, is what limits
 * the rate of batches.
 *
 * Input:
 * - KEYS[1] the unfinished set (sorted set scored by submission time); KEYS[1 + i] the i-th job's record (hash)
 * - ARGV, per record in the order of KEYS: the number n of arguments that follow, then n
 *   arguments: `id <id> createdAt <ms>` and the record's other fields and values (its `id`
 *   joins the unfinished set, scored by its `createdAt`)
 *
 * Output: the number of records written.
 */
import type { JobRecord } from '../record.js';
import type { LuaScript } from '../script-runner.js';

export interface CreateRecordsInput {
  /** The unfinished set's key. */
  unfinished: string;
  /** The records' keys, in the order of `records`. */
  keys: string[];
  records: JobRecord[];
}

export const createRecordsLua = `
local members = {}
local a = 1
for i = 2, #KEYS do
  local n = tonumber(ARGV[a])
  redis.call('HSET', KEYS[i], unpack(ARGV, a + 1, a + n))
  members[#members + 1] = ARGV[a + 4]
  members[#members + 1] = ARGV[a + 2]
  a = a + n + 1
end
redis.call('ZADD', KEYS[1], unpack(members))
return #KEYS - 1
`;

export const createRecordsScript: LuaScript<CreateRecordsInput, number> = {
  name: 'jobcastCreateRecords',
  lua: createRecordsLua,
  call: ({ unfinished, keys, records }) => {
    const args: string[] = [];
    for (const record of records) {
      const at = args.length;
      args.push('', 'id', record.id, 'createdAt', record.createdAt);
      for (const field in record) {
        const value = record[field as keyof JobRecord];
        // Left out: the two sent first, and the fields a record does not have.
        if (value !== undefined && field !== 'id' && field !== 'createdAt') args.push(field, value);
      }
      args[at] = String(args.length - at - 1);
    }
    return { keys: [unfinished, ...keys], args };
  },
};
