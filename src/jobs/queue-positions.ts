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
 * Expected start: the line is played forward. With S slots (see `jobs/capacity`), each running
 * job frees its slot when it is expected to end — its start plus the recent mean run time of
 * its type, or now if it is past that — and an idle slot is free now; each freed slot takes the
 * next job in line, which holds it for the mean run time T of the asked job's type. The p-th job
 * starts when the p-th slot frees. So an estimate stays put while nothing changes and counts
 * down as time passes, rather than being a fixed wait from whenever it is read. No estimate
 * without workers or run times.
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

/** Running jobs whose start and type one call reads (the newest; older ones are taken as half done). */
export const RUNNING_READ = 500;

/** Slot turns played forward per estimate; past them the line moves at S jobs per T. */
const TURNS_PLAYED = 20_000;

export interface QueuedJob {
  id: string;
  type: string;
}

export class QueuePositions {
  readonly #run;
  readonly #queueKeys: string[];
  /** BullMQ's key of a job is this + its id. */
  readonly #jobKeyPrefix: string;

  constructor(
    redis: RedisClient,
    settings: { prefix: string; queueName: string },
    private readonly capacity: CapacityReader,
  ) {
    this.#run = bindScript(redis, queuePositionsScript);
    const queue = `${bullPrefix(settings.prefix)}:${settings.queueName}`;
    this.#queueKeys = ['wait', 'prioritized', 'delayed', 'active'].map((list) => `${queue}:${list}`);
    this.#jobKeyPrefix = `${queue}:`;
  }

  /**
   * The place and expected start of each job, by id (a job BullMQ no longer holds as waiting,
   * e.g. one that just started, gets an empty entry).
   */
  async read(jobs: QueuedJob[], now = Date.now()): Promise<Map<string, DerivedProgress>> {
    const found = new Map<string, DerivedProgress>();
    if (jobs.length === 0) return found;
    const [reply, capacity] = await Promise.all([
      this.#run({
        queueKeys: this.#queueKeys,
        now,
        scanBudget: SCAN_BUDGET,
        jobKeyPrefix: this.#jobKeyPrefix,
        runningRead: RUNNING_READ,
        ids: jobs.map((job) => job.id),
      }),
      this.capacity.read(
        jobs.map((job) => job.type),
        now,
      ),
    ]);
    const active = Number(reply[1]);
    const readCount = Number(reply[2]);
    const running: RunningJob[] = [];
    for (let i = 0; i < readCount; i++) {
      const startedAt = Number(reply[4 + 2 * i] || Number.NaN);
      running.push({ type: String(reply[3 + 2 * i]), startedAt: Number.isFinite(startedAt) ? startedAt : undefined });
    }
    const places = 3 + 2 * readCount;
    // The line played forward once per type asked for, up to the furthest place of that type.
    const lines = new Map<string, StartTimes>();
    jobs.forEach((job, i) => {
      const position = Number(reply[places + 2 * i]);
      const due = Number(reply[places + 1 + 2 * i]);
      const derived: DerivedProgress = {};
      if (position > 0) {
        derived.queuePosition = position;
        const runTime = capacity.runTimeMs.get(job.type);
        if (capacity.slots > 0 && runTime !== undefined) {
          let line = lines.get(job.type);
          if (!line) {
            const ends = slotsFree(
              { slots: capacity.slots, active, running, runTimeMs: capacity.runTimeMs, now },
              runTime,
            );
            line = new StartTimes(ends, runTime);
            lines.set(job.type, line);
          }
          derived.expectedStartAt = Math.round(line.at(position));
        }
      } else if (due > 0) {
        derived.expectedStartAt = due;
      }
      found.set(job.id, derived);
    });
    return found;
  }
}

/** A running job as the position script reads it: its type, and when its attempt started. */
export interface RunningJob {
  type: string;
  startedAt: number | undefined;
}

export interface SlotFacts {
  /** Slots the live workers announce. */
  slots: number;
  /** Jobs running now (BullMQ's active list; may be more than `running`, which is capped). */
  active: number;
  running: RunningJob[];
  runTimeMs: ReadonlyMap<string, number>;
  now: number;
}

/**
 * When each slot is expected to be free, soonest first: an idle one now, a running job's at its
 * start plus its type's mean run time (or `runTimeMs` for a type without one), or now when it
 * is past that; a running job not read (or without a start) is taken as half done.
 */
export function slotsFree({ slots, active, running, runTimeMs, now }: SlotFacts, fallbackMs: number): number[] {
  const ends: number[] = [];
  for (const job of running) {
    const took = runTimeMs.get(job.type) ?? fallbackMs;
    ends.push(job.startedAt === undefined ? now + took / 2 : Math.max(now, job.startedAt + took));
  }
  for (let i = running.length; i < active; i++) ends.push(now + fallbackMs / 2);
  // The announced slots no job runs in are idle. (More running than announced, an announcement
  // lapsed: each running job still holds a slot, and none is idle.)
  for (let i = active; i < slots; i++) ends.push(now);
  return ends.sort((a, b) => a - b);
}

/**
 * The line played forward: the p-th job in line starts when the p-th slot frees, each freed slot
 * then busy for `runTimeMs`. Slots free in time order, so a slot's next turn is always later than
 * every earlier one: two queues in time order (the first turns, then the turns that follow them)
 * give each turn by merging, without a heap. Turns already played are kept, so places asked for
 * in any order cost one pass in all; past {@link TURNS_PLAYED}, S jobs start per T.
 */
export class StartTimes {
  readonly #first: number[];
  readonly #turns: number[] = [];
  #next = 0;
  #firstTaken = 0;

  constructor(
    ends: number[],
    readonly runTimeMs: number,
  ) {
    this.#first = ends;
  }

  /** When the job at `position` (1 = next) is expected to start. */
  at(position: number): number {
    const slots = this.#first.length;
    if (slots === 0) return Number.POSITIVE_INFINITY;
    const wanted = Math.min(position, TURNS_PLAYED);
    while (this.#turns.length < wanted) {
      const first = this.#first[this.#firstTaken];
      const following =
        this.#next < this.#turns.length ? (this.#turns[this.#next] as number) + this.runTimeMs : undefined;
      let turn: number;
      if (first !== undefined && (following === undefined || first <= following)) {
        turn = first;
        this.#firstTaken++;
      } else {
        turn = following as number;
        this.#next++;
      }
      this.#turns.push(turn);
    }
    const played = this.#turns[wanted - 1] as number;
    return played + ((position - wanted) * this.runTimeMs) / slots;
  }
}
