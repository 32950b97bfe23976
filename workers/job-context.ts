/**
 * @module workers/job-context
 * What a handler gets besides its input (`ctx`): `progress` (clamped, rounded, with details and
 * the attempt's pace), `log`, and a `signal` aborted on cancel, on a newer attempt, or at
 * shutdown. Every report also tells the run whether it must stop: the record answers
 * {@link ReportRefused.CANCEL_REQUESTED} or {@link ReportRefused.SUPERSEDED} instead of a seq,
 * in case the cancel message itself was missed.
 */
import { serializeDetails } from '../src/jobs/details.js';
import type { JobContext } from '../src/jobs/job-type.js';
import { JobCancelledError, JobSupersededError, ReportRefused } from '../src/jobs/outcomes.js';
import { ProgressPace } from '../src/jobs/pace.js';
import type { JobStore } from '../src/jobs/store.js';
import type { RecordWrite } from './record-writes.js';

/** One run's context and the controls the processor keeps. */
export interface RunContext {
  ctx: JobContext;
  /** Aborts the run when a report's answer says it must stop (a seq leaves it running). */
  noteReport(seq: number): void;
}

/**
 * The context of one run of job `jobId`, attempt `attempt`, started at `startedAt`. `signal`
 * is BullMQ's (cancel message, shutdown); the context's own signal also aborts when a report
 * finds the run must stop.
 */
export function runContext(
  store: JobStore,
  write: RecordWrite,
  {
    jobId,
    attempt,
    startedAt,
    signal: bullSignal,
  }: { jobId: string; attempt: number; startedAt: number; signal?: AbortSignal | undefined },
): RunContext {
  const stopped = new AbortController();
  const signal = bullSignal ? AbortSignal.any([bullSignal, stopped.signal]) : stopped.signal;
  const noteReport = (seq: number) => {
    if (seq === ReportRefused.CANCEL_REQUESTED) stopped.abort(new JobCancelledError());
    if (seq === ReportRefused.SUPERSEDED) stopped.abort(new JobSupersededError());
  };
  // Issue #16: the attempt's pace (rate, ETA, usual interval), worked out here, once per report.
  const pace = new ProgressPace(startedAt);
  const ctx: JobContext = {
    jobId,
    attempt,
    signal,
    progress(percent, message, details) {
      const progress = Math.round(Math.min(100, Math.max(0, Number(percent) || 0)) * 100) / 100;
      // Thrown to the handler, before anything is sent (jobs/details).
      const detailsJson = details === undefined ? undefined : serializeDetails(details);
      const at = Date.now();
      const change = { state: 'active' as const, progress, message, attempt, details: detailsJson };
      return write(
        store.report(jobId, { ...change, pace: pace.observe(progress, at) }, at).then(noteReport),
        'progress',
        jobId,
      );
    },
    log(line) {
      return write(store.log(jobId, String(line)), 'log line', jobId);
    },
  };
  return { ctx, noteReport };
}
