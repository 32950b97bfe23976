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
import type { SummaryEvent, TerminalStatus } from '../jobs/schemas.js';

interface Member {
  progress: number;
  finished?: TerminalStatus;
}

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
