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
 * progress event, however produced, has one shape. On the job's channel it is followed by a
 * line with the public event's JSON, written here too (the text `jobs/events` progressData
 * writes without derived progress): every API process that streams the event then sends it as
 * it is instead of each parsing the tuple and writing the JSON again (docs/performance.md,
 * "many jobs, 1:1"). Times come in as ISO text from the caller (JavaScript's own `toISOString`;
 * Lua has no calendar); a field this script cannot write as JavaScript would (a number it does
 * not recognise, a missing time) leaves that line out, and the hub writes the JSON itself.
 * The owner's feed keeps the tuple alone.
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
local function publish(seq, event, payload, public)
  local message = seq .. '\\n' .. event .. '\\n' .. payload
  redis.call(ARGV[1], ARGV[2], public and (message .. '\\n' .. public) or message)
  if before[1] then feed[#feed + 1] = message end
end
local function jsonString(s)
  return '"' .. (s:gsub('[%z\\1-\\31"\\\\]', function(c)
    if c == '"' or c == '\\\\' then return '\\\\' .. c end
    local short = ({[8] = 'b', [9] = 't', [10] = 'n', [12] = 'f', [13] = 'r'})[c:byte()]
    return '\\\\' .. (short or string.format('u%04x', c:byte()))
  end)) .. '"'
end
local function jsonNumber(s)
  if s == nil or s == '' then return '0' end
  -- Numbers as ioredis sends them, which is as JavaScript writes them, but for integers past
  -- 2^53, which it writes out in full (BigInt): those, and anything else, are left to the hub.
  if s:find('^%-?%d+$') then return #s <= (s:byte() == 45 and 16 or 15) and s or nil end
  if s:find('^%-?%d+%.%d+$') or s:find('^%-?%d%.?%d*e[%+%-]%d+$') then return s end
  return nil
end
local function publicProgress(f, atIso, etaIso)
  local state, progress, attempt = f[1] or '', jsonNumber(f[2]), jsonNumber(f[3])
  if not (f[10] and progress and attempt and atIso and atIso ~= '') then return nil end
  local out = {'{"jobId":', jsonString(f[10]), ',"state":', jsonString(state), ',"progress":', progress}
  if f[5] and f[5] ~= '' then out[#out + 1] = ',"message":' .. jsonString(f[5]) end
  out[#out + 1] = ',"attempt":' .. attempt .. ',"at":"' .. atIso .. '"'
  if state == 'active' and f[6] and f[6] ~= '' then
    local rate = jsonNumber(f[6])
    if not rate then return nil end
    out[#out + 1] = ',"rate":' .. rate
    if f[7] and f[7] ~= '' then
      if not etaIso or etaIso == '' then return nil end
      out[#out + 1] = ',"eta":"' .. etaIso .. '"'
    end
  end
  if f[8] and f[8] ~= '' then out[#out + 1] = ',"details":' .. f[8] end
  out[#out + 1] = '}'
  return table.concat(out)
end
local function publishProgress(seq, atIso, etaIso)
  local f = redis.call('HMGET', KEYS[1], 'state', 'progress', 'attempt', 'at', 'message', 'rate', 'eta', 'details', 'ivl', 'id')
  local tuple = cjson.encode({f[1] or '', f[2] or '0', f[3] or '0', f[4] or '0', f[5] or '', f[6] or '', f[7] or '', f[8] or '', f[9] or ''})
  publish(seq, 'progress', tuple, publicProgress(f, atIso, etaIso))
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
