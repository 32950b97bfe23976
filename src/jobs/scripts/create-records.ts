/**
 * @module jobs/scripts/create-records
 * Writes the records of new jobs and adds them to the unfinished set, in one call: what would
 * otherwise go as one HSET per job and a ZADD. Only where every key lives on one server (not on
 * a Redis Cluster, where each job's keys have a slot of their own and the unfinished set one
 * more): there the store sends the HSETs and the ZADD as commands.
 *
 * One call, a single job's included: the API builds one ioredis command (its object, promise
 * and timeout timer) instead of two or more, and Redis parses, dispatches and answers one
 * request instead of several. Each record goes as one argument, not as a dozen fields and
 * values: ioredis builds a command's text by concatenating its arguments one by one, and that
 * text was the largest allocation of a `POST /jobs` (docs/performance.md). The argument is a
 * JSON array of fields and values, which Lua's cjson decodes into just what HSET takes: a
 * JSON object had to be turned into that list field by field in Lua, which cost Redis, the
 * one thread that limits the rate of batches, ~1.5 µs more per job.
 *
 * Input:
 * - KEYS[1] the unfinished set (sorted set scored by submission time); KEYS[1 + i] the i-th job's record (hash)
 * - ARGV[i] the i-th record as a JSON array of strings, `["id", <id>, "createdAt", <ms>, field,
 *   value, …]` (its `id` joins the unfinished set, scored by its `createdAt`)
 *
 * Output: the number of records written.
 */
import { type JobRecord, recordFields } from '../record.js';
import type { LuaScript } from '../script-runner.js';

export interface CreateRecordsInput {
  /** The unfinished set's key. */
  unfinished: string;
  /** The records' keys, in the order of `records`. */
  keys: string[];
  records: JobRecord[];
}

/**
 * The Lua that writes the records, for this script and for `add-with-records`, which writes
 * them before BullMQ's adds: KEYS[unfinishedAt] the unfinished set, the keys after it the
 * records, ARGV[1 ..] their JSON arrays.
 */
export const recordWritesLua = (unfinishedAt: number): string => `
local members = {}
for i = ${unfinishedAt + 1}, #KEYS do
  local fields = cjson.decode(ARGV[i - ${unfinishedAt}])
  redis.call('HSET', KEYS[i], unpack(fields))
  members[#members + 1] = fields[4]
  members[#members + 1] = fields[2]
end
redis.call('ZADD', KEYS[${unfinishedAt}], unpack(members))
`;

export const createRecordsLua = `${recordWritesLua(1)}return #KEYS - 1
`;

export const createRecordsScript: LuaScript<CreateRecordsInput, number> = {
  name: 'jobcastCreateRecords',
  lua: createRecordsLua,
  call: ({ unfinished, keys, records }) => ({
    keys: [unfinished, ...keys],
    args: records.map((record) => JSON.stringify(recordFields(record))),
  }),
};
