/**
 * @module events/summary
 * The `summary` event of a multi-job stream that asks for it (`/events?jobs=…&summary=true`,
 * what a batch's `links.events` opens): how the group stands — jobs in all, how many finished
 * how, their mean progress (a finished job counting 100), and when the group is expected to be
 * done: the mean progress gained over the last {@link WINDOW_MS}, carried forward.
 *
 * Not a job's smoothing (`jobs/pace`): a group's events come in bursts — every job of a wave
 * reports in the same millisecond, then none for a step's length — and a pace per event saw the
 * bursts as a rate many times the real one (an ETA of 0.1 s with 40 s left). A rate over time
 * is blind to how the events are spread.
 *
 * Kept per stream (the group is the stream's own choice of jobs) from the events it delivers:
 * O(jobs) memory, at most 100.
 */
import type { DoneEvent, SummaryEvent, TerminalStatus } from '../jobs/schemas.js';

/** The span the group's rate is measured over: several steps and waves of most batches. */
export const WINDOW_MS = 30_000;
/** No ETA before the first summary is this old: a rate over less is a burst's. */
const MIN_SPAN_MS = 500;
/** At most one kept reading per this interval: the window holds ~30. */
const SAMPLE_MS = 1_000;

interface Member {
  progress: number;
  finished?: TerminalStatus;
}

/** How a group of jobs stands, from the events delivered of each. */
export class GroupSummary {
  readonly #members = new Map<string, Member>();
  /** The group's pace, from the first summary on (what came before it is not known). */
  readonly #pace = new GroupPace();
  /** The last summary sent, without its ETA (a new ETA alone is no change). */
  #sent = '';

  /** A progress event of `jobId` was delivered. */
  progress(jobId: string, progress: number): void {
    const member = this.#members.get(jobId);
    if (member?.finished) return;
    this.#members.set(jobId, { progress });
  }

  /** `done` of `jobId` was delivered. */
  done(jobId: string, status: TerminalStatus): void {
    const member = this.#members.get(jobId) ?? { progress: 0 };
    this.#members.set(jobId, { progress: status === 'completed' ? 100 : member.progress, finished: status });
  }

  /** `jobId` does not exist: it is not part of the group. */
  gone(jobId: string): void {
    this.#members.delete(jobId);
  }

  /** The summary's JSON if it changed since the last one taken, else undefined. */
  take(now = Date.now()): string | undefined {
    const summary: SummaryEvent = { total: this.#members.size, completed: 0, failed: 0, cancelled: 0, progress: 0 };
    let sum = 0;
    for (const member of this.#members.values()) {
      if (member.finished) summary[member.finished]++;
      sum += member.finished ? 100 : member.progress;
    }
    summary.progress = summary.total === 0 ? 0 : Math.round((sum / summary.total) * 100) / 100;
    const key = JSON.stringify(summary);
    if (key === this.#sent) return undefined;
    this.#sent = key;
    const unfinished = summary.completed + summary.failed + summary.cancelled < summary.total;
    const eta = this.#pace.observe(summary.progress, now);
    if (unfinished && eta !== undefined) summary.eta = new Date(eta).toISOString();
    return JSON.stringify(summary);
  }
}

interface Reading {
  at: number;
  progress: number;
}

/**
 * The group's rate: the mean progress gained over the last {@link WINDOW_MS} (or since the first
 * reading, while the group is younger). Bounded: one reading per {@link SAMPLE_MS}.
 */
class GroupPace {
  readonly #readings: Reading[] = [];
  /** Whether the mean progress has changed since the first reading. */
  #moved = false;

  /** Takes the mean progress at `now`; the ETA it implies (ms), once there is a rate. */
  observe(progress: number, now: number): number | undefined {
    const readings = this.#readings;
    if (!this.#moved && readings[0] && progress !== readings[0].progress) {
      this.#moved = true;
      // A group that sat still for more than a window (queued) is timed from when it moved:
      // the minutes before say nothing of its pace.
      if (now - readings[0].at > WINDOW_MS) readings.splice(0, readings.length);
    }
    const oldest = readings[0];
    let eta: number | undefined;
    // The oldest reading's level held until the next one: when that was longer ago than the
    // window (the group went quiet a while), the gain counts from the window's start.
    const from = oldest && Math.max(oldest.at, now - WINDOW_MS);
    if (oldest && from !== undefined && now - from >= MIN_SPAN_MS && progress > oldest.progress) {
      const perMs = (progress - oldest.progress) / (now - from);
      eta = Math.round(now + (100 - progress) / perMs);
    }
    const last = readings.at(-1);
    if (!last || now - last.at >= SAMPLE_MS) readings.push({ at: now, progress });
    // The oldest kept is the last one at least a window old: the rate spans the whole window.
    while (readings.length > 1 && now - (readings[1] as Reading).at >= WINDOW_MS) readings.shift();
    return eta;
  }
}

/**
 * The `summary` events of one stream: its group fed with every event the stream delivers, and
 * each change written — held back while the stream opens, until every job's current state is
 * out, so the first summary counts them all.
 */
export class StreamSummary {
  readonly #group = new GroupSummary();
  #live = false;

  /** @param write writes a summary's JSON on the stream. */
  constructor(private readonly write: (data: string) => void) {}

  /** A job's state read from its record: counted, whether or not the client needs it again. */
  progress(jobId: string, progress: number): void {
    this.#group.progress(jobId, progress);
  }

  /** A delivered event of `jobId` (`progress`, `done` or `gone`): the summary follows if it changed. */
  event(jobId: string, event: { event: string; data: string } | undefined): void {
    if (!event) return;
    if (event.event === 'progress')
      this.#group.progress(jobId, (JSON.parse(event.data) as { progress: number }).progress);
    else if (event.event === 'done')
      this.#group.done(jobId, (JSON.parse(event.data) as DoneEvent).status as TerminalStatus);
    else if (event.event === 'gone') this.#group.gone(jobId);
    else return;
    this.#flush();
  }

  /** Every job's state is out (or every job is done): from now on each change is written. */
  live(): void {
    this.#live = true;
    this.#flush();
  }

  #flush(): void {
    if (!this.#live) return;
    const data = this.#group.take();
    if (data !== undefined) this.write(data);
  }
}
