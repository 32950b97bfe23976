/**
 * @module events/catch-up
 * What a client is owed from a job's record when it (re)connects, or when the hub re-read the
 * job after events may have been missed: only what is newer than its cursor — the missed log
 * lines in order, the current state if it changed, and `done` if the job finished. Log lines
 * dropped by the per-job cap, and cursors newer than anything the job reached, are announced by
 * a `reset` instead of being skipped silently.
 *
 * A client that resumes with the current state still gets what was worked out about it (its
 * queue position, the stall signal): a derived event that restates that state.
 */
import type { DerivedProgress } from '../jobs/events.js';
import { recordDoneEvent, recordProgressEvent } from '../jobs/resource.js';
import type { JobRecord, JobSnapshot } from '../jobs/store.js';
import { SharedEvent } from './shared-event.js';

/** Why the client must be told `reset` before catching up, if it must. */
export interface CursorReset {
  reason: string;
  /** The cursor names events the job never reached: start the job over from 0. */
  restart: boolean;
}

/** Whether a client at `cursor` gets a `reset` before the job's events. */
export function cursorReset(cursor: number, record: JobRecord): CursorReset | undefined {
  if (cursor > Number(record.seq)) {
    // The client has ids this job never reached: Redis lost recent writes (a failover to a
    // lagging replica, a restart from an fsync-per-second file). Start it over, in-band.
    return {
      reason: `event ${cursor} is newer than the job's newest (${record.seq}); the current state follows`,
      restart: true,
    };
  }
  if (cursor > 0 && record.ltrim && cursor < Number(record.ltrim)) {
    return {
      reason: `log lines up to event ${record.ltrim} are no longer kept; the current state follows`,
      restart: false,
    };
  }
  return undefined;
}

/** The events a client at `cursor` is owed, in seq order; `progressSeq`: the state it already shows. */
export function owedEvents(
  jobId: string,
  cursor: number,
  { record, logs }: JobSnapshot,
  derived: DerivedProgress,
  /** Restate the derived fields of a state the client already has: on (re)connect, not on a re-read. */
  restate = true,
): { events: SharedEvent[]; progressSeq?: number } {
  const events = logs.filter((e) => e.seq > cursor).map(SharedEvent.of);
  let progressSeq: number | undefined;
  if (Number(record.pseq) > cursor) events.push(SharedEvent.of(recordProgressEvent(record, derived)));
  // A client resuming with this state still gets what was worked out about it.
  else if (!record.dseq) {
    progressSeq = Number(record.pseq);
    if (restate && (derived.queuePosition !== undefined || derived.stalled)) {
      const restated = recordProgressEvent(record, derived);
      events.push(new SharedEvent(jobId, restated.seq, 'progress', restated.data, true));
    }
  }
  const done = recordDoneEvent(record);
  if (done) events.push(SharedEvent.of(done));
  events.sort((a, b) => a.seq - b.seq);
  return progressSeq === undefined ? { events } : { events, progressSeq };
}
