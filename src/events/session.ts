/**
 * @module events/session
 * One client watching one or more jobs: subscribe first, then read each job's record, merge
 * the two by `seq`, and write events in order with ids the client can resume from.
 *
 * The stream's ids are resume cursors (`events/cursors`). On (re)connect a job sends only what
 * is newer than its cursor (`events/catch-up`). A job of a multi-job stream that does not
 * exist (any more) gets one `gone` event and counts as done: it never costs the others their
 * events or their `done`.
 *
 * A derived progress event (a new queue position, the stall signal; see `events/hub`) restates
 * the state the client has: it is sent only to a client whose latest progress of that job is the
 * state it restates, with the client's cursor as its id, and advances nothing. A stream that
 * asks for it also carries the group's `summary` (`events/summary`) after every change.
 */
import { recordDoneEvent } from '../jobs/resource.js';
import type { GoneEvent } from '../jobs/schemas.js';
import type { JobSnapshot } from '../jobs/store.js';
import type { Logger } from '../log.js';
import type { StreamCounters } from '../metrics.js';
import { encodeEvent, SSE_HEADERS } from '../sse.js';
import { cursorReset, owedEvents } from './catch-up.js';
import type { ConnectionSet, NodeResponse } from './connection.js';
import { SseConnection } from './connection.js';
import { GONE_CURSOR } from './cursors.js';
import type { EventHub } from './hub.js';
import { alreadyDone, type OpenOutcome, openOutcome, watchAll } from './opening.js';
import type { SharedEvent } from './shared-event.js';
import { StreamSummary } from './summary.js';
import { WatchedJob, type WatchedJobStream } from './watched-job.js';

export interface SessionDeps {
  hub: EventHub;
  connections: ConnectionSet;
  log: Logger;
  counters?: StreamCounters;
}

/** The conflation key of summary events (no job id looks like it). */
const SUMMARY_KEY = '\0summary';

export class WatchSession implements WatchedJobStream {
  readonly #deps: SessionDeps;
  readonly #jobs: WatchedJob[];
  readonly #single: boolean;
  #connection: SseConnection | undefined;
  #snapshots: (JobSnapshot | undefined)[] = [];
  /** The group's summary, when the stream asked for it. */
  readonly #summary: StreamSummary | undefined;

  /**
   * @param cursors the client's last seen seq per job (0 = nothing yet), same order as jobIds.
   */
  constructor(
    deps: SessionDeps,
    jobIds: string[],
    cursors: number[],
    /** Only this owner's jobs are shown; others look like jobs that do not exist. */
    private readonly owner: string | undefined,
    options: { summary?: boolean } = {},
  ) {
    this.#deps = deps;
    this.#single = jobIds.length === 1;
    this.#jobs = jobIds.map((id, i) => new WatchedJob(id, cursors[i] ?? 0, this));
    // Bound, not an arrow: a closure here would keep `cursors` for the life of the stream.
    this.#summary = options.summary && !this.#single ? new StreamSummary(this.#writeSummary.bind(this)) : undefined;
  }

  /**
   * Subscribes and reads every job, and says whether there is anything to stream
   * (`events/opening`). Nothing is written yet, and nothing is held but the subscriptions: a
   * stream slot is only worth taking for a stream that will run. After `ready`, call
   * {@link start} or {@link release}; otherwise everything is released already.
   */
  async prepare(): Promise<OpenOutcome> {
    try {
      this.#snapshots = await watchAll(this.#deps.hub, this.#jobs, this.owner);
    } catch (error) {
      this.release();
      throw error;
    }
    const outcome = openOutcome(this.#jobs, this.#snapshots, this.#single);
    if (outcome.kind !== 'ready') this.release();
    return outcome;
  }

  /** Starts streaming on `res` (after `prepare` said `ready`). `onClose` runs when the stream ends. */
  start(res: NodeResponse, headers: Record<string, string>, onClose: () => void = () => {}): void {
    const connection = new SseConnection(res, this.#deps.connections, { ...headers, ...SSE_HEADERS });
    this.#connection = connection;
    // Built outside this scope: a closure created here would share its context with the
    // snapshots, and so keep every job's record and log lines for the life of the stream.
    // Measured: ~0.6 KB per idle stream, more for jobs with logs.
    connection.onClose(this.#closer(onClose));
    const snapshots = this.#snapshots;
    this.#snapshots = [];
    this.#jobs.forEach((job, i) => {
      const snapshot = snapshots[i];
      if (alreadyDone(job, snapshot)) {
        if (snapshot) this.#summary?.event(job.jobId, recordDoneEvent(snapshot.record));
        this.#markDone(job);
      } else if (snapshot) this.merge(job, snapshot);
      else this.#sendGone(job);
    });
    this.#summary?.live();
  }

  #closer(onClose: () => void): () => void {
    return () => {
      this.release();
      onClose();
    };
  }

  /** A live event (or a snapshot event) of `job`: written if newer than its cursor. */
  deliver(job: WatchedJob, event: SharedEvent): void {
    const connection = this.#connection;
    if (!connection || job.done) return;
    if (event.derived) {
      this.#deliverDerived(connection, job, event);
      return;
    }
    if (event.seq <= job.cursor) return;
    job.cursor = event.seq;
    if (event.event === 'progress') job.progressSeq = event.seq;
    const frame = this.#single ? event.frame : this.#frame(event.event, event.data);
    connection.send(frame, event.event === 'progress' ? job.jobId : undefined);
    this.#deps.counters?.sent(event.event);
    this.#summary?.event(job.jobId, event);
    if (event.event === 'done') this.#markDone(job);
  }

  /** A restated progress (see the module): only over the state the client shows, cursor unchanged. */
  #deliverDerived(connection: SseConnection, job: WatchedJob, event: SharedEvent): void {
    if (event.seq !== job.progressSeq) return;
    const frame = this.#single && job.cursor === event.seq ? event.frame : this.#frame('progress', event.data);
    connection.send(frame, job.jobId);
    this.#deps.counters?.sent('progress');
  }

  #writeSummary(data: string): void {
    // Conflated like progress: a client that cannot keep up gets the group's latest.
    this.#connection?.send(this.#frame('summary', data), SUMMARY_KEY);
    this.#deps.counters?.sent('summary');
  }

  /**
   * A watched job's record vanished (it expired, or was removed). A single-job stream ends (a
   * reconnect gets 404); a multi-job stream says `gone` for that job and goes on.
   */
  gone(job: WatchedJob): void {
    // Before the stream starts, the record read of `prepare` finds it missing anyway.
    if (!this.#connection) return;
    if (this.#single) this.#connection.destroy('job no longer exists');
    else if (!job.done) this.#sendGone(job);
  }

  /** `gone` for a job of a multi-job stream that does not exist (any more); it is then done. */
  #sendGone(job: WatchedJob): void {
    const reason = job.cursor > 0 ? 'expired' : 'not-found';
    job.cursor = GONE_CURSOR;
    const data = JSON.stringify({ jobId: job.jobId, reason } satisfies GoneEvent);
    this.#connection?.send(this.#frame('gone', data));
    this.#deps.counters?.sent('gone');
    this.#summary?.event(job.jobId, { event: 'gone', data });
    this.#markDone(job);
  }

  /**
   * A fresh read of `job` (on start, or a re-read by the hub): what it is owed, then what was
   * held. A re-read restates nothing: derived fields reach a live stream from this process's
   * hub, never through Redis, so no re-read can find one it missed.
   */
  merge(job: WatchedJob, snapshot: JobSnapshot, reread = false): void {
    const { record } = snapshot;
    const held = job.buffer ?? [];
    job.buffer = undefined;
    const reset = cursorReset(job.cursor, record);
    if (reset?.restart) job.cursor = 0;
    if (reset) this.#sendReset(job, reset.reason);
    // The group counts the job as it is, whether or not this client needs its state again.
    this.#summary?.progress(job.jobId, Number(record.progress));
    // The hub learns the state (and works out the rest once, for every stream of this process).
    const derived = this.#deps.hub.note(record);
    const owed = owedEvents(job.jobId, job.cursor, snapshot, derived, !reread);
    if (owed.progressSeq !== undefined) job.progressSeq = owed.progressSeq;
    for (const event of owed.events) this.deliver(job, event);
    for (const event of held) this.deliver(job, event);
  }

  #sendReset(job: WatchedJob, reason: string): void {
    const data = JSON.stringify({ jobId: job.jobId, reason });
    this.#connection?.send(this.#frame('reset', data));
    this.#deps.counters?.sent('reset');
  }

  #markDone(job: WatchedJob): void {
    job.done = true;
    job.unwatch?.();
    job.unwatch = undefined;
    if (this.#jobs.every((j) => j.done)) {
      // The group's last summary before the end.
      this.#summary?.live();
      this.#connection?.end();
    }
  }

  /**
   * An event written with the stream's id: the cursors of every job joined by `.`, which on a
   * single-job stream is that job's cursor.
   */
  #frame(event: string, data: string): Buffer {
    return Buffer.from(encodeEvent({ id: this.#jobs.map((job) => job.cursor).join('.'), event, data }));
  }

  /** Stops watching every job (a stream that will not start, or has ended). */
  release(): void {
    for (const job of this.#jobs) {
      job.unwatch?.();
      job.unwatch = undefined;
    }
  }
}
