/**
 * @module jobs/pace
 * How fast a running job goes, from its own reports: a smoothed rate (percent per second), the
 * ETA it implies, and the job's usual interval between reports (what the stall signal measures
 * silence against, see `jobs/stall`). The worker that runs a job keeps one per attempt and
 * works it out once per report; the events and the record carry the result.
 *
 * Smoothing: the rate is progress gained ÷ time taken, each summed over the reports so far with
 * weights that shrink by {@link DECAY} per newer report (a ratio of exponentially weighted
 * sums: the last ten or so reports count most, older ones fade out instead of dropping off a
 * window's edge). An interval longer than {@link OUTLIER_CAP} × the usual one counts as that
 * much, unless the one before it was long too: one step 5× slower than the others moves the ETA
 * by about 15% instead of 40%, while a job that really slows down is followed from its second
 * slow step on. Progress that goes backwards starts the estimate afresh.
 *
 * @example
 * const pace = new ProgressPace(startedAt);
 * pace.observe(10, startedAt + 1_000); // { rate: 10, etaMs: startedAt + 10_000, reports: 1 }
 */

/** Weight of a report relative to the next one: about the last 10 reports carry 2/3 of the weight. */
export const DECAY = 0.9;

/** The longest an isolated interval counts, in usual intervals. */
export const OUTLIER_CAP = 2;

export interface Pace {
  /** Percent per second, smoothed; absent until progress has moved. */
  rate?: number;
  /** When the job will reach 100% at that rate (ms since the epoch). */
  etaMs?: number;
  /** The usual time between reports (ms); absent before the second report. */
  intervalMs?: number;
  /** Reports observed since the start. */
  reports: number;
}

export class ProgressPace {
  #lastAt: number;
  #lastProgress: number;
  /** Weighted sums of progress gained, time taken, and intervals counted. */
  #gained = 0;
  #taken = 0;
  #weights = 0;
  #reports = 0;
  /** The previous interval was cut to OUTLIER_CAP: a second long one in a row is a real slowdown. */
  #capped = false;

  /** `startAtMs`: when the attempt started (its progress then: `startProgress`). */
  constructor(startAtMs: number, startProgress = 0) {
    this.#lastAt = startAtMs;
    this.#lastProgress = startProgress;
  }

  /** The usual interval, once there is one (two reports or more). */
  get intervalMs(): number | undefined {
    return this.#reports >= 2 && this.#weights > 0 ? this.#taken / this.#weights : undefined;
  }

  /** Takes a report of `progress` (0–100) made at `atMs`, and returns the pace it implies. */
  observe(progress: number, atMs: number): Pace {
    const gained = progress - this.#lastProgress;
    if (gained < 0) {
      // Backwards (a handler that restarted a phase): what came before says nothing now.
      this.#gained = 0;
      this.#taken = 0;
      this.#weights = 0;
      this.#capped = false;
    } else {
      // Capped once two intervals or more make a usual one.
      const usual = this.#reports >= 2 && this.#weights > 0 ? this.#taken / this.#weights : undefined;
      const elapsed = Math.max(0, atMs - this.#lastAt);
      const cap = usual === undefined || this.#capped ? Number.POSITIVE_INFINITY : OUTLIER_CAP * usual;
      const taken = Math.min(elapsed, cap);
      this.#capped = elapsed > cap;
      this.#gained = this.#gained * DECAY + gained;
      this.#taken = this.#taken * DECAY + taken;
      this.#weights = this.#weights * DECAY + 1;
    }
    this.#lastAt = atMs;
    this.#lastProgress = progress;
    this.#reports++;
    const pace: Pace = { reports: this.#reports };
    const interval = this.intervalMs;
    if (interval !== undefined) pace.intervalMs = Math.round(interval);
    if (this.#gained > 0 && this.#taken > 0) {
      const rate = (this.#gained / this.#taken) * 1000;
      pace.rate = roundRate(rate);
      pace.etaMs = Math.round(atMs + (Math.max(0, 100 - progress) / rate) * 1000);
    }
    return pace;
  }
}

/** Four significant digits: a rate is an estimate, and shorter events are cheaper. */
export function roundRate(rate: number): number {
  if (rate === 0 || !Number.isFinite(rate)) return 0;
  const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(rate))));
  const factor = 10 ** Math.min(digits, 8);
  return Math.round(rate * factor) / factor;
}
