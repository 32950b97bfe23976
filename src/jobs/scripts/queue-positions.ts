/**
 * @module jobs/scripts/queue-positions
 * Where queued jobs stand in BullMQ's line, in one round trip (`jobs/queue-positions`). The
 * sorted sets are looked at first (O(log n)); the wait list is scanned from the end the next
 * jobs leave from, within the budget: one LRANGE indexes it all when it fits and many jobs are
 * asked for, else one LPOS per job. A job further back than the budget reaches gets no position
 * this time.
 *
 * Input:
 * - KEYS[1] wait (list), KEYS[2] prioritized, KEYS[3] delayed (sorted sets), KEYS[4] active (list)
 * - ARGV[1] now (ms)
 * - ARGV[2] how many wait-list entries the call may scan in all
 * - ARGV[3] the queue's job key prefix (`<prefix>:<queue>:`; a job's hash is that + its id)
 * - ARGV[4] how many running jobs to read (the newest first)
 * - ARGV[5…] job ids
 *
 * Output:
 * - `{wait length, active count, k running jobs read, then k × (type, started at (ms) or ''),
 *   then per job: position or -1, due time (ms) or -1}`
 */
import type { LuaScript } from '../script-runner.js';

export interface QueuePositionsInput {
  /** BullMQ's wait, prioritized, delayed and active keys, in that order. */
  queueKeys: string[];
  now: number;
  scanBudget: number;
  /** BullMQ's key of a job is this + its id. */
  jobKeyPrefix: string;
  /** Running jobs whose type and start to read. */
  runningRead: number;
  ids: string[];
}

export const queuePositionsLua = `
local waitLen = redis.call('LLEN', KEYS[1])
local active = redis.call('LLEN', KEYS[4])
local now = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
local dueMax = (now + 1) * 4096 - 1
local dueCount = redis.call('ZCOUNT', KEYS[3], 0, dueMax)
local index
if #ARGV - 4 > 16 and waitLen <= budget then
  index = {}
  local all = redis.call('LRANGE', KEYS[1], 0, -1)
  for i, id in ipairs(all) do index[id] = waitLen - i + 1 end
end
local running = redis.call('LRANGE', KEYS[4], 0, tonumber(ARGV[4]) - 1)
local out = {waitLen, active, #running}
for _, id in ipairs(running) do
  local job = redis.call('HMGET', ARGV[3] .. id, 'name', 'processedOn')
  out[#out + 1] = job[1] or ''
  out[#out + 1] = job[2] or ''
end
for i = 5, #ARGV do
  local id = ARGV[i]
  local position = -1
  local due = -1
  local rank = redis.call('ZRANK', KEYS[2], id)
  local raw = not rank and redis.call('ZSCORE', KEYS[3], id)
  if rank then
    position = waitLen + dueCount + rank + 1
  elseif raw then
    -- Scores are <due ms> × 4096 + a counter; the raw text keeps every digit of one.
    local score = tonumber(raw)
    if score <= dueMax then
      position = waitLen + redis.call('ZCOUNT', KEYS[3], 0, '(' .. raw) + 1
    else
      due = math.floor(score / 4096)
    end
  elseif index then
    position = index[id] or -1
  elseif budget > 0 and waitLen > 0 then
    local at = redis.call('LPOS', KEYS[1], id, 'RANK', -1, 'MAXLEN', budget)
    if at then
      position = waitLen - at
      budget = budget - position
    else
      budget = budget - math.min(budget, waitLen)
    end
  end
  out[#out + 1] = position
  out[#out + 1] = due
end
return out
`;

export const queuePositionsScript: LuaScript<QueuePositionsInput, (number | string)[]> = {
  name: 'jobcastQueuePositions',
  lua: queuePositionsLua,
  call: ({ queueKeys, now, scanBudget, jobKeyPrefix, runningRead, ids }) => ({
    keys: queueKeys,
    args: [now, scanBudget, jobKeyPrefix, runningRead, ...ids],
  }),
};
