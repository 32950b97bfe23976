/**
 * @module jobs/scripts/create-records
 * Writes the records of new jobs and adds them to the unfinished set, in one call: what would
 * otherwise go as one HSET per job and a ZADD. Only where every key lives on one server (not on
 * a Redis Cluster, where each job's keys have a slot of their own and the unfinished set one
 * more): there the store sends the HSETs and the ZADD as commands.
 *
 * One call, a single job's included: the API builds one ioredis command (its object, promise
 * and timeout timer) instead of two or more, and Redis parses, dispatches and answers one
 * request instead of several. A record goes as two arguments, not as a dozen fields and
 * values: ioredis builds a command's text by concatenating its arguments one by one, and that
 * text was the largest allocation of a `POST /jobs` (docs/performance.md). The first is its id;
 * the second a JSON array of its other fields and values, which Lua's cjson decodes into just
 * what HSET takes (a JSON object had to be turned into that list field by field in Lua, which
 * cost Redis, the one thread that limits the rate of batches, ~1.5 µs more per job) — or '',
 * meaning the same as the record before it: a batch's records usually differ in their ids
 * alone, and one decode per batch instead of one per job saves Redis ~1 µs per job.
 *
 * Input:
 * - KEYS[1] the unfinished set (sorted set scored by submission time); KEYS[1 + i] the i-th job's record (hash)
 * - ARGV[2i - 1] the i-th record's id; ARGV[2i] its other fields as a JSON array of strings,
 *   `["createdAt", <ms>, field, value, …]`, or '' for the previous record's (the first is
 *   never ''). Its id joins the unfinished set, scored by its `createdAt`.
 *
 * Output: the number of records written.
 */
import { type JobRecord, recordFields } from '../record.js';
import type { LuaScript } from '../script-runner.js';

/** The records as the scripts take them (see the module): id, then fields or '' for the same as before. */
export function recordArgs(records: JobRecord[]): string[] {
  const args: string[] = [];
  let previous: string[] | undefined;
  for (const record of records) {
    // ['id', <id>, 'createdAt', <ms>, …]: what follows the id.
    const rest = recordFields(record).slice(2);
    const same = previous !== undefined && rest.length === previous.length && rest.every((v, i) => v === previous?.[i]);
    args.push(record.id, same ? '' : JSON.stringify(rest));
    previous = rest;
  }
  return args;
}

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
 * records, ARGV[1 .. 2n] their ids and fields ({@link recordArgs}).
 */
export const recordWritesLua = (unfinishedAt: number): string => `
local members = {}
local fields
for i = ${unfinishedAt + 1}, #KEYS do
  local at = 2 * (i - ${unfinishedAt}) - 1
  local id = ARGV[at]
  if ARGV[at + 1] ~= '' then fields = cjson.decode(ARGV[at + 1]) end
  redis.call('HSET', KEYS[i], 'id', id, unpack(fields))
  members[#members + 1] = fields[2]
  members[#members + 1] = id
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
    args: recordArgs(records),
  }),
};
