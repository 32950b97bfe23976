/**
 * @module events/summary
 * The `summary` event of a multi-job stream that asks for it (`/events?jobs=…&summary=true`,
 * what a batch's `links.events` opens): how the group stands — jobs in all, how many finished
 * how, their mean progress (a finished job counting 100), and when the group is expected to be
 * done, by the same smoothing as a job's ETA (`jobs/pace`) applied to the mean progress.
 *
 * Kept per stream (the group is the stream's own choice of jobs) from the events it delivers:
 * O(jobs) memory, at most 100.
 */
import { ProgressPace } from '../jobs/pace.js';
import type { DoneEvent, SummaryEvent, TerminalStatus } from '../jobs/schemas.js';

interface Member {
  progress: number;
  finished?: TerminalStatus;
}

/** How a group of jobs stands, from the events delivered of each. */
export class GroupSummary {
  readonly #members = new Map<string, Member>();
  /** The group's pace, from the first summary on (what came before it is not known). */
  #pace: ProgressPace | undefined;
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
    let eta: number | undefined;
    if (!this.#pace) this.#pace = new ProgressPace(now, summary.progress);
    else if (unfinished) eta = this.#pace.observe(summary.progress, now).etaMs;
    if (eta !== undefined) summary.eta = new Date(eta).toISOString();
    return JSON.stringify(summary);
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
