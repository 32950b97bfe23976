/**
 * @module jobs/outcomes
 * What the job scripts answer besides a seq, and why a run is stopped: named return codes and
 * one error class per abort reason, shared by the API (`jobs/service`) and the workers
 * (`workers/processor`), so neither side compares bare numbers or strings.
 *
 * Glossary:
 * - cancel requested: the record carries a `cancel` reason (`DELETE /jobs/:id`).
 * - superseded: a run whose lock was lost (its worker cut off from Redis for longer than
 *   WORKER_LOCK_MS) while BullMQ started the job again; only the newest attempt reports.
 * - shutdown: the worker stops and hands its running jobs back to the queue.
 */
import { UnrecoverableError } from 'bullmq';

/**
 * What the `report` script (`jobs/scripts/report`) answers instead of a seq (> 0). The same
 * `GONE` (0) is what `log` and `finish` answer for a missing record or a finished job.
 */
export const ReportRefused = {
  /** No record, or the job already has its `done`: nothing recorded, nothing to stop. */
  GONE: 0,
  /** Cancellation was requested: nothing recorded, the run must stop. */
  CANCEL_REQUESTED: -1,
  /** A newer attempt runs: nothing recorded, this (stale) run must stop. */
  SUPERSEDED: -2,
} as const;

/** What the `requestCancel` script (`jobs/scripts/request-cancel`) answers. */
export const CancelRequest = {
  /** No record: no such job (or it expired). */
  NO_SUCH_JOB: -1,
  /** The job already has its `done`: too late to cancel. */
  ALREADY_FINISHED: 0,
  /** The reason is on the record: workers stop it on their next report or cancel message. */
  RECORDED: 1,
} as const;

/** The error of a cancelled job, as its `done` event and BullMQ's failedReason say it. */
export const CANCEL_REASON = 'cancelled by request';

/** Why a superseded run stopped (never shown: its outcome is ignored). */
export const SUPERSEDED_REASON = 'superseded by a newer attempt';

/** Why running jobs are asked to stop when shutdown outlasts SHUTDOWN_TIMEOUT_MS. */
export const SHUTDOWN_REASON = 'worker shutting down';

/**
 * The job was cancelled: the reason its handler's signal is aborted with, and what the run then
 * throws. An UnrecoverableError, so BullMQ never retries it.
 */
export class JobCancelledError extends UnrecoverableError {
  override name = 'JobCancelledError';
  constructor(message = CANCEL_REASON) {
    super(message);
  }
}

/**
 * A run that lost its lock while BullMQ started the job again elsewhere (see the glossary).
 * BullMQ refuses its outcome (the lock is gone), and the job's record ignores it.
 */
export class JobSupersededError extends Error {
  override name = 'JobSupersededError';
  constructor(message = SUPERSEDED_REASON) {
    super(message);
  }
}

/** The worker shuts down: the run hands its job back to the queue (no attempt is counted). */
export class WorkerShutdownError extends Error {
  override name = 'WorkerShutdownError';
  constructor(message = SHUTDOWN_REASON) {
    super(message);
  }
}
