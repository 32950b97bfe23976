/**
 * @module jobs/queue-positions
 * Where queued jobs stand in BullMQ's line, and when they are expected to start.
 *
 * The order is BullMQ 6's own (its `moveToActive` script): a worker first promotes the delayed
 * jobs that are due (to the back of the wait list), then takes the job at the right end of the
 * wait list (RPOPLPUSH: jobs are LPUSHed, so first in, first out), and only when the wait list
 * is empty the prioritized job with the lowest score (ZPOPMIN: priority, then arrival). So:
 *
 * - a job in the wait list is at (its distance from the right end) + 1;
 * - a due delayed job (delay or retry backoff over, not promoted yet) comes after the whole
 *   wait list, in order of due time (its priority, if any, is not looked at);
 * - a prioritized job comes after all of those, at its rank + 1;
 * - a job still waiting out a delay or backoff has no position yet: its expected start is
 *   when that ends.
 *
 * One script reads all of it for a list of jobs, in the queue's slot, so the cost is one call
 * whatever the number of jobs asked for: O(log n) per job in the sorted sets, and a scan of
 * the wait list from the end the next jobs leave from, bounded by {@link SCAN_BUDGET} entries
 * per call however many jobs are asked for and however long the line.
 *
 * Expected start: with S slots (see `jobs/capacity`), of which `free` are idle, and T the
 * recent mean run time of the job's type, the p-th job starts when the (p − free)-th running
 * job ends, about (p − free − ½) × T / S from now. No estimate without workers or run times.
 */
import type { RedisClient } from '../redis.js';
import type { CapacityReader } from './capacity.js';
import type { DerivedProgress } from './events.js';
import { bullPrefix } from './keys.js';
import { defineScript, type ScriptRunner } from './script-runner.js';

/**
 * KEYS[1] wait, [2] prioritized, [3] delayed, [4] active; ARGV[1] now (ms), ARGV[2] how many
 * wait-list entries the call may scan in all, ARGV[3…] job ids.
 * Returns {wait length, active count, then per job: position or -1, due time (ms) or -1}.
 * The sorted sets are looked at first (O(log n)); the wait list is scanned from the end the
 * next jobs leave from, within the budget: one LRANGE indexes it all when it fits and many
 * jobs are asked for, else one LPOS per job. A job further back than the budget reaches gets no
 * position this time.
 */
const positionsScript = `
local waitLen = redis.call('LLEN', KEYS[1])
local active = redis.call('LLEN', KEYS[4])
local now = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
local dueMax = (now + 1) * 4096 - 1
local dueCount = redis.call('ZCOUNT', KEYS[3], 0, dueMax)
local index
if #ARGV - 2 > 16 and waitLen <= budget then
  index = {}
  local all = redis.call('LRANGE', KEYS[1], 0, -1)
  for i, id in ipairs(all) do index[id] = waitLen - i + 1 end
end
local out = {waitLen, active}
for i = 3, #ARGV do
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

/**
 * Wait-list entries one call may scan: about a millisecond of Redis time. A job further back in
 * a longer line than this has no position until it comes within it (its expected start still
 * shows once it does).
 */
export const SCAN_BUDGET = 100_000;

export interface QueuedJob {
  id: string;
  type: string;
}

export class QueuePositions {
  readonly #run: ScriptRunner<number[]>;
  readonly #keys: string[];

  constructor(
    redis: RedisClient,
    settings: { prefix: string; queueName: string },
    private readonly capacity: CapacityReader,
  ) {
    this.#run = defineScript<number[]>(redis, 'jobcastQueuePositions', positionsScript);
    const queue = `${bullPrefix(settings.prefix)}:${settings.queueName}`;
    this.#keys = ['wait', 'prioritized', 'delayed', 'active'].map((list) => `${queue}:${list}`);
  }

  /**
   * The place and expected start of each job, by id (a job BullMQ no longer holds as waiting,
   * e.g. one that just started, gets an empty entry).
   */
  async read(jobs: QueuedJob[], now = Date.now()): Promise<Map<string, DerivedProgress>> {
    const found = new Map<string, DerivedProgress>();
    if (jobs.length === 0) return found;
    const [reply, capacity] = await Promise.all([
      this.#run(this.#keys, [now, SCAN_BUDGET, ...jobs.map((job) => job.id)]),
      this.capacity.read(
        jobs.map((job) => job.type),
        now,
      ),
    ]);
    const active = Number(reply[1]);
    const free = Math.max(0, capacity.slots - active);
    jobs.forEach((job, i) => {
      const position = Number(reply[2 + 2 * i]);
      const due = Number(reply[3 + 2 * i]);
      const derived: DerivedProgress = {};
      const runTime = capacity.runTimeMs.get(job.type);
      if (position > 0) {
        derived.queuePosition = position;
        if (capacity.slots > 0 && runTime !== undefined) {
          derived.expectedStartAt = Math.round(now + (Math.max(0, position - free - 0.5) * runTime) / capacity.slots);
        }
      } else if (due > 0) {
        derived.expectedStartAt = due;
      }
      found.set(job.id, derived);
    });
    return found;
  }
}
