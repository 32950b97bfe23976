/**
 * @module jobs/scripts
 * The Lua scripts that change a job record. Each one takes the next `seq`, updates the record
 * and publishes the event in one atomic step, so a reader that subscribes first and then reads
 * the record can merge the two by `seq` without gaps or duplicates (see `events/hub`).
 *
 * Common arguments: KEYS[1] = record, KEYS[2] = log list; ARGV[1] = publish command
 * (`PUBLISH`, or `SPUBLISH` on Redis Cluster), ARGV[2] = the job's channel.
 * Messages are `<seq>\n<event>\n<payload>`. A progress payload is the JSON array
 * `[state, progress, attempt, atMs, message, rate, etaMs, details, intervalMs]` (all strings,
 * '' for none; see `jobs/events` ProgressTuple), built here from the record so that every
 * progress event, however produced, has one shape; `jobs/events` turns it into the public JSON.
 *
 * Returns: the seq of the (last) event, or, for a job of an API key (whose record has an
 * `owner`), `{seq, owner, feedMessage…}`: the messages the caller appends to the owner's feed
 * (`jobs/feed`), `<jobId>\n<type>\n<tags>\n<previous state>\n<seq>\n<event>\n<payload>`. The
 * feed is another key, on a Cluster in another slot, so it cannot be written from here.
 *
 * Every script is a no-op (returns 0) on a missing record or a finished job, so a late report
 * from a slow or retried worker can never follow `done`.
 */

const guardAndPublish = `
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

/**
 * A state or progress change.
 * ARGV[3] state, [4] progress, [5] message ('' keeps the current one), [6] attempt,
 * [7] at (ms), [8] startedAt (ms, '' for none; kept only the first time), [9] rate ('' for
 * none), [10] eta (ms, '' for none), [11] details JSON ('' keeps the current ones),
 * [12] usual interval between reports (ms, '' for none).
 * Returns -1, and records nothing, once cancellation was requested: the worker then stops the
 * handler, even if the cancel message itself never reached it. Returns -2 for a report from an
 * attempt older than the record's: a run whose lock was lost (its worker was cut off from
 * Redis for longer than the lock) while BullMQ started the job again; it must stop.
 */
export const reportScript = `${guardAndPublish}
if redis.call('HEXISTS', KEYS[1], 'cancel') == 1 then return -1 end
if tonumber(ARGV[6]) < tonumber(redis.call('HGET', KEYS[1], 'attempt') or '0') then return -2 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local set = {'pseq', seq, 'state', ARGV[3], 'progress', ARGV[4], 'attempt', ARGV[6], 'at', ARGV[7]}
local unset = {}
if ARGV[5] ~= '' then set[#set + 1] = 'message'; set[#set + 1] = ARGV[5] end
if ARGV[11] ~= '' then set[#set + 1] = 'details'; set[#set + 1] = ARGV[11] end
for i, field in ipairs({'rate', 'eta', 'ivl'}) do
  local value = ARGV[({9, 10, 12})[i]]
  if value == '' then unset[#unset + 1] = field else set[#set + 1] = field; set[#set + 1] = value end
end
redis.call('HSET', KEYS[1], unpack(set))
if #unset > 0 then redis.call('HDEL', KEYS[1], unpack(unset)) end
if ARGV[8] ~= '' then redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[8]) end
publishProgress(seq)
return result(seq)
`;

/**
 * A log line. ARGV[3] the public log event JSON, [4] lines kept. The seq of the newest line
 * dropped by the cap is remembered as `ltrim`, so a resume from before it can say so. Log
 * lines are not part of the feed: returns the seq only.
 */
export const logScript = `${guardAndPublish}
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('RPUSH', KEYS[2], seq .. '\\n' .. ARGV[3])
while redis.call('LLEN', KEYS[2]) > tonumber(ARGV[4]) do
  local dropped = redis.call('LPOP', KEYS[2])
  redis.call('HSET', KEYS[1], 'ltrim', string.match(dropped, '^%d+'))
end
redis.call(ARGV[1], ARGV[2], seq .. '\\nlog\\n' .. ARGV[3])
return seq
`;

/**
 * The end of a job: a final progress event, then `done`; the record and log then expire
 * after the retention time. ARGV[3] state, [4] progress ('' keeps the current one),
 * [5] message ('' keeps), [6] at (ms), [7] the public done event JSON, [8] retention (s).
 * Returns the seq of `done` (with the feed messages of both events, see above).
 */
export const finishScript = `${guardAndPublish}
local pseq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local dseq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'pseq', pseq, 'state', ARGV[3], 'at', ARGV[6], 'finishedAt', ARGV[6], 'dseq', dseq, 'done', ARGV[7])
redis.call('HDEL', KEYS[1], 'rate', 'eta', 'ivl')
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'message', ARGV[5]) end
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('EXPIRE', KEYS[2], ARGV[8])
publishProgress(pseq)
publish(dseq, 'done', ARGV[7])
return result(dseq)
`;

/**
 * Asks for a job to be cancelled. Returns -1 for no such job, 0 if it already finished,
 * 1 if the request was recorded. ARGV[1] the reason.
 */
export const requestCancelScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'dseq') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'cancel', ARGV[1])
return 1
`;

/**
 * Reads a record and its kept log lines in one atomic step (what a stream needs on connect).
 * Returns `{HGETALL as a flat field/value list, LRANGE of the log}`. A script rather than
 * MULTI: ioredis builds a pipeline object per MULTI that copies every defined command onto
 * itself (~17 KB per call, measured), and a stream is opened per client.
 */
export const snapshotScript = `
return {redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
`;
