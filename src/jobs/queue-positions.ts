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
import { bindScript } from './script-runner.js';
import { queuePositionsScript } from './scripts/queue-positions.js';

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
  readonly #run;
  readonly #queueKeys: string[];

  constructor(
    redis: RedisClient,
    settings: { prefix: string; queueName: string },
    private readonly capacity: CapacityReader,
  ) {
    this.#run = bindScript(redis, queuePositionsScript);
    const queue = `${bullPrefix(settings.prefix)}:${settings.queueName}`;
    this.#queueKeys = ['wait', 'prioritized', 'delayed', 'active'].map((list) => `${queue}:${list}`);
  }

  /**
   * The place and expected start of each job, by id (a job BullMQ no longer holds as waiting,
   * e.g. one that just started, gets an empty entry).
   */
  async read(jobs: QueuedJob[], now = Date.now()): Promise<Map<string, DerivedProgress>> {
    const found = new Map<string, DerivedProgress>();
    if (jobs.length === 0) return found;
    const [reply, capacity] = await Promise.all([
      this.#run({ queueKeys: this.#queueKeys, now, scanBudget: SCAN_BUDGET, ids: jobs.map((job) => job.id) }),
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
