/**
 * @module jobs/scripts/create-records
 * Writes the records of new jobs and adds them to the unfinished set, in one call: what would
 * otherwise go as one HSET per job and a ZADD. Only where every key lives on one server (not on
 * a Redis Cluster, where each job's keys have a slot of their own and the unfinished set one
 * more): there the store sends the HSETs and the ZADD as commands.
 *
 * One call, a single job's included: the API builds one ioredis command (its object, promise
 * and timeout timer) instead of two or more, and Redis parses, dispatches and answers one
 * request instead of several. Each record goes as one JSON argument, not as a dozen fields
 * and values: ioredis builds a command's text by concatenating its arguments one by one, and
 * that text was the largest allocation of a `POST /jobs` (docs/performance.md). The record's
 * values are strings, so the hash holds the same strings either way.
 *
 * Input:
 * - KEYS[1] the unfinished set (sorted set scored by submission time); KEYS[1 + i] the i-th job's record (hash)
 * - ARGV[i] the i-th record as a JSON object of strings (its `id` joins the unfinished set, scored by its `createdAt`)
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
for i = 2, #KEYS do
  local record = cjson.decode(ARGV[i - 1])
  local fields = {}
  for field, value in pairs(record) do
    fields[#fields + 1] = field
    fields[#fields + 1] = value
  end
  redis.call('HSET', KEYS[i], unpack(fields))
  members[#members + 1] = record.createdAt
  members[#members + 1] = record.id
end
redis.call('ZADD', KEYS[1], unpack(members))
return #KEYS - 1
`;

export const createRecordsScript: LuaScript<CreateRecordsInput, number> = {
  name: 'jobcastCreateRecords',
  lua: createRecordsLua,
  // JSON.stringify leaves out the fields a record does not have (undefined).
  call: ({ unfinished, keys, records }) => ({
    keys: [unfinished, ...keys],
    args: records.map((record) => JSON.stringify(record)),
  }),
};
