/**
 * @module events/derived
 * The shared ticker of an API process that works out what watched jobs' events carry beyond
 * what their workers report: the stall signal of running jobs (`jobs/stall`) and the queue
 * position and expected start of queued ones (`jobs/queue-positions`).
 *
 * It runs only while the process watches jobs, once per PROGRESS_TICK_MS, for all of them at
 * once: a stall check is arithmetic on what the hub already knows (no Redis), and the queue
 * positions of watched queued jobs are one script call per tick, whatever the number of their
 * watchers — and none at all while no watched job is queued. Past {@link PLACES_PER_TICK} queued
 * jobs, a tick reads those read longest ago (`events/rotation`), so its cost stays flat. A job that starts being
 * watched while queued gets its place within {@link SOON_MS}, not a whole tick later.
 */
import type { DerivedProgress } from '../jobs/events.js';
import type { QueuePositions } from '../jobs/queue-positions.js';
import { isStalled, type StallFacts } from '../jobs/stall.js';
import type { Logger } from '../log.js';
import type { RedisFaultLog } from '../redis-faults.js';
import { oldestServed } from './rotation.js';
import type { Topic } from './topic.js';

/**
 * Queued jobs whose place one tick reads: the script's work grows with the jobs it is given, so a
 * process watching more reads them in turn, those read longest ago (or never) first.
 */
export const PLACES_PER_TICK = 250;

/** How soon a newly watched queued job's place is read (coalescing many that arrive together). */
const SOON_MS = 50;

/** The smallest move of an expected start worth an event: 1 s, or a tenth of the wait. */
const START_MOVE_MS = 1_000;
const START_MOVE_SHARE = 0.1;

export interface DerivedOptions {
  /** STALL_AFTER_MS. */
  stallAfterMs: number;
  /** PROGRESS_TICK_MS. */
  tickMs: number;
  /** Without it, queued jobs get no position (e.g. a test hub). */
  positions?: QueuePositions | undefined;
  log: Logger;
  faults?: RedisFaultLog | undefined;
}

/** What the ticker needs of the hub: its topics, and a way to send one's change. */
export interface DerivedTarget {
  topics(): Iterable<Topic>;
  changed(topic: Topic): void;
}

export class DerivedTicker {
  readonly #options: DerivedOptions;
  #target: DerivedTarget | undefined;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #reading = false;

  constructor(options: DerivedOptions) {
    this.#options = options;
  }

  attach(target: DerivedTarget): void {
    this.#target = target;
  }

  /** Is a job with these facts stalled now? (The one rule, `jobs/stall`, at this process's clock.) */
  stalled(facts: StallFacts): boolean {
    return isStalled(facts, Date.now(), this.#options.stallAfterMs);
  }

  /** Ticks while there are watched jobs. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.#options.tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    this.#timer = undefined;
    this.#soon = undefined;
  }

  /** A watched job is queued and has no place yet: read the places shortly. */
  soon(): void {
    if (this.#soon || !this.#options.positions) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      void this.#readPositions(true);
    }, SOON_MS);
    this.#soon.unref();
  }

  #tick(): void {
    const target = this.#target;
    if (!target) return;
    const now = Date.now();
    for (const topic of target.topics()) {
      const latest = topic.latest;
      if (latest?.state !== 'active') continue;
      const [state, , , atMs, , , , , intervalMs] = latest.tuple;
      const stalled = isStalled(
        { state, atMs: Number(atMs), intervalMs: intervalMs ? Number(intervalMs) : undefined },
        now,
        this.#options.stallAfterMs,
      );
      if (stalled !== topic.derived.stalled) {
        topic.derived = { ...topic.derived, stalled };
        target.changed(topic);
      }
    }
    void this.#readPositions();
  }

  /**
   * One read of every watched queued job's place; the changed ones are sent. `newOnly`: only
   * the jobs whose place was not read since they were queued (what {@link soon} is for) — a
   * burst of opens would otherwise re-read up to {@link PLACES_PER_TICK} known places every
   * {@link SOON_MS}, which the tick refreshes anyway.
   */
  async #readPositions(newOnly = false): Promise<void> {
    const target = this.#target;
    const positions = this.#options.positions;
    if (!target || !positions || this.#reading) return;
    const waiting: Topic[] = [];
    for (const t of target.topics()) {
      if (t.latest?.state === 'queued' && t.type !== undefined && (!newOnly || t.placeReadAt === 0)) waiting.push(t);
    }
    if (waiting.length === 0) return;
    const queued = oldestServed(waiting, (t) => t.placeReadAt, PLACES_PER_TICK);
    this.#reading = true;
    try {
      const now = Date.now();
      for (const topic of queued) topic.placeReadAt = now;
      const found = await positions.read(
        queued.map((t) => ({ id: t.jobId, type: t.type as string })),
        now,
      );
      for (const topic of queued) {
        const place = found.get(topic.jobId);
        // It left the line (started, cancelled) or changed meanwhile: its own event says so.
        if (!place || topic.latest?.state !== 'queued') continue;
        if (place.queuePosition === undefined && place.expectedStartAt === undefined) continue;
        if (!moved(topic.derived, place, now)) continue;
        topic.derived = {
          ...topic.derived,
          queuePosition: place.queuePosition,
          expectedStartAt: place.expectedStartAt,
        };
        target.changed(topic);
      }
    } catch (error) {
      if (!this.#options.faults?.report(error)) this.#options.log.warn('could not read queue positions', { error });
    } finally {
      this.#reading = false;
    }
  }
}

/** Whether a new place is worth an event: another position, or a start that moved noticeably. */
function moved(before: DerivedProgress, after: DerivedProgress, now: number): boolean {
  if (before.queuePosition !== after.queuePosition) return true;
  if ((before.expectedStartAt === undefined) !== (after.expectedStartAt === undefined)) return true;
  if (before.expectedStartAt === undefined || after.expectedStartAt === undefined) return false;
  const wait = Math.max(0, before.expectedStartAt - now);
  return Math.abs(after.expectedStartAt - before.expectedStartAt) > Math.max(START_MOVE_MS, START_MOVE_SHARE * wait);
}
