/**
 * @module jobs/scripts/record-prelude
 * The common start of the scripts that change a job record (`report`, `log`, `finish`). Each
 * of them takes the next `seq`, updates the record and publishes the event in one atomic step,
 * so a reader that subscribes first and then reads the record can merge the two by `seq`
 * without gaps or duplicates (see `events/hub`).
 *
 * Common KEYS and ARGV:
 * - KEYS[1] the record (hash), KEYS[2] the log (list)
 * - ARGV[1] the publish command (`PUBLISH`, or `SPUBLISH` on Redis Cluster)
 * - ARGV[2] the job's channel
 *
 * Messages are `<seq>\n<event>\n<payload>`. A progress payload is the JSON array
 * `[state, progress, attempt, atMs, message, rate, etaMs, details, intervalMs]` (all strings,
 * '' for none; see `jobs/events` ProgressTuple), built here from the record so that every
 * progress event, however produced, has one shape; `jobs/events` turns it into the public JSON.
 *
 * Returns (through `result(seq)`): the seq of the (last) event, or, for a job of an API key
 * (whose record has an `owner`), `{seq, owner, feedMessage…}`: the messages the caller appends
 * to the owner's feed (`jobs/feed`),
 * `<jobId>\n<type>\n<tags>\n<previous state>\n<seq>\n<event>\n<payload>`. The feed is another
 * key, on a Cluster in another slot, so it cannot be written from here.
 *
 * Every such script is a no-op returning 0 (`ReportRefused.GONE`, `jobs/outcomes`) on a
 * missing record or a finished job, so a late report from a slow or retried worker can never
 * follow `done`.
 */
import type { JobKeys } from '../keys.js';

/** What a record script answers: a seq, or a seq with the owner's feed entries. */
export type RecordScriptResult = number | [number, string, ...string[]];

/** How a job's events are published: `PUBLISH`, or `SPUBLISH` for sharded pub/sub on a Cluster. */
export type PublishCommand = 'PUBLISH' | 'SPUBLISH';

/** KEYS[1..2] and ARGV[1..2], shared by every record script. */
export function recordCall(keys: JobKeys, publishCommand: PublishCommand) {
  return { keys: [keys.record, keys.log], args: [publishCommand, keys.channel] };
}

export const recordPrelude = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'dseq') == 1 then return 0 end
local before = redis.call('HMGET', KEYS[1], 'owner', 'state')
local feed = {}
local function publish(seq, event, payload)
  local message = seq .. '\\n' .. event .. '\\n' .. payload
  redis.call(ARGV[1], ARGV[2], message)
  if before[1] then feed[#feed + 1] = message end
end
local function publishProgress(seq)
  local f = redis.call('HMGET', KEYS[1], 'state', 'progress', 'attempt', 'at', 'message', 'rate', 'eta', 'details', 'ivl')
  publish(seq, 'progress', cjson.encode({f[1] or '', f[2] or '0', f[3] or '0', f[4] or '0', f[5] or '', f[6] or '', f[7] or '', f[8] or '', f[9] or ''}))
end
local function result(seq)
  if not before[1] or #feed == 0 then return seq end
  local job = redis.call('HMGET', KEYS[1], 'id', 'type', 'tags')
  local head = (job[1] or '') .. '\\n' .. (job[2] or '') .. '\\n' .. (job[3] or '') .. '\\n' .. (before[2] or '') .. '\\n'
  local out = {seq, before[1]}
  for _, message in ipairs(feed) do out[#out + 1] = head .. message end
  return out
end
`;
