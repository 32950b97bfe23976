/**
 * @module events/session
 * One client watching one or more jobs: subscribe first, then read each job's record, merge
 * the two by `seq`, and write events in order with ids the client can resume from.
 *
 * Resume cursors: every event of a job has a `seq`. A single-job stream's `id:` is the seq of
 * the event; a multi-job stream's `id:` is the cursors of all its jobs joined by `.`, in the
 * order of the `jobs` parameter, so one Last-Event-ID resumes all of them. On (re)connect a
 * job sends only what is newer than its cursor: missed log lines in order, the current state
 * if it changed, and `done` if it finished. Log lines dropped by the per-job cap are announced
 * by a `reset` event instead of being skipped silently. A job of a multi-job stream that does not
 * exist (any more) gets one `gone` event and counts as done: it never costs the others their
 * events or their `done`.
 *
 * A derived progress event (a new queue position, the stall signal; see `events/hub`) restates
 * the state the client has: it is sent only to a client whose latest progress of that job is the
 * state it restates, with the client's cursor as its id, and advances nothing. A stream that
 * asks for it also carries the group's `summary` (`events/summary`) after every change.
 */
import { recordDoneEvent, recordProgressEvent } from '../jobs/resource.js';
import type { DoneEvent, GoneEvent, TerminalStatus } from '../jobs/schemas.js';
import type { JobSnapshot, JobStore } from '../jobs/store.js';
import type { Logger } from '../log.js';
import type { StreamCounters } from '../metrics.js';
import { encodeEvent, SSE_HEADERS } from '../sse.js';
import type { ConnectionSet, NodeResponse } from './connection.js';
import { SseConnection } from './connection.js';
import { type EventHub, type HubWatcher, SharedEvent } from './hub.js';
import { GroupSummary } from './summary.js';

export interface SessionDeps {
  hub: EventHub;
  store: JobStore;
  connections: ConnectionSet;
  log: Logger;
  counters?: StreamCounters;
}

/** How many live events a job may collect while its record is being read. */
const MAX_BUFFERED_WHILE_READING = 10_000;

class WatchedJob implements HubWatcher {
  /** seq of the last event handed to the connection (or known to the client). */
  cursor: number;
  /** seq of the last progress event handed to the connection: the state the client shows. */
  progressSeq = 0;
  done = false;
  /** Live events held while the record is being read; undefined when delivering directly. */
  buffer: SharedEvent[] | undefined = [];
  unwatch: (() => void) | undefined;

  constructor(
    readonly jobId: string,
    cursor: number,
    private readonly session: WatchSession,
  ) {
    this.cursor = cursor;
  }

  event(event: SharedEvent): void {
    if (this.buffer) {
      if (this.buffer.length < MAX_BUFFERED_WHILE_READING) this.buffer.push(event);
      return;
    }
    this.session.deliver(this, event);
  }

  snapshot(snapshot: JobSnapshot): void {
    // While the stream is still opening, its own read is on the way.
    if (!this.buffer) this.session.merge(this, snapshot);
  }

  gone(): void {
    this.session.gone(this);
  }
}

export type OpenOutcome =
  /** Ready to stream: call `start`. */
  | { kind: 'ready' }
  /** None of the jobs exists (for this owner): a 404, and EventSource stops. */
  | { kind: 'not-found'; jobIds: string[] }
  /** Every job's `done` (or `gone`) was already delivered: 204 tells EventSource to stop reconnecting. */
  | { kind: 'finished' };

/** The conflation key of summary events (no job id looks like it). */
const SUMMARY_KEY = '\0summary';

/**
 * The cursor of a job whose `gone` event was delivered: beyond any real event, so the job is
 * done for that client and a resume does not say `gone` again (cursors have ≤ 15 digits).
 */
export const GONE_CURSOR = 999_999_999_999_999;

export class WatchSession {
  readonly #deps: SessionDeps;
  readonly #jobs: WatchedJob[];
  readonly #single: boolean;
  #connection: SseConnection | undefined;
  #snapshots: (JobSnapshot | undefined)[] = [];
  /** The group's summary, when the stream asked for it; held back until every job has started. */
  readonly #summary: GroupSummary | undefined;
  #summaryLive = false;

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
    this.#summary = options.summary && !this.#single ? new GroupSummary() : undefined;
  }

  /**
   * Subscribes and reads every job, and says whether there is anything to stream. Nothing is
   * written yet, and nothing is held but the subscriptions: a stream slot is only worth taking
   * for a stream that will run. After `ready`, call {@link start} or {@link release}.
   *
   * In a multi-job stream a job that does not exist (never did, expired, or is another
   * owner's) costs the others nothing: it gets a `gone` event and the stream goes on; only a
   * stream none of whose jobs exists is a 404.
   */
  async prepare(): Promise<OpenOutcome> {
    try {
      await Promise.all(
        this.#jobs.map(async (job) => {
          job.unwatch = await this.#deps.hub.watch(job.jobId, job);
        }),
      );
      const snapshots = await Promise.all(this.#jobs.map((job) => this.#deps.store.snapshot(job.jobId)));
      this.#snapshots = snapshots.map((snapshot) => (snapshot?.record.owner === this.owner ? snapshot : undefined));
    } catch (error) {
      this.release();
      throw error;
    }
    const missing = this.#jobs.filter((_, i) => !this.#snapshots[i]);
    // Nothing to say about any job: a 404. (A multi-job client that has seen events of a job
    // knows it existed: it is told `gone` instead.)
    const known = (job: WatchedJob) => !this.#single && job.cursor > 0;
    if (missing.length === this.#jobs.length && !this.#jobs.some(known)) {
      this.release();
      return { kind: 'not-found', jobIds: missing.map((job) => job.jobId) };
    }
    if (this.#jobs.every((job, i) => this.#alreadyDone(job, i))) {
      this.release();
      return { kind: 'finished' };
    }
    return { kind: 'ready' };
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
      if (this.#alreadyDone(job, i, snapshot)) {
        if (snapshot) this.#summarize(job, recordDoneEvent(snapshot.record));
        this.#markDone(job);
      } else if (snapshot) this.merge(job, snapshot);
      else this.#sendGone(job);
    });
    this.#summaryLive = true;
    this.#sendSummary();
  }

  /** True when the client already has everything of `job`: its `done`, or its `gone`. */
  #alreadyDone(job: WatchedJob, i: number, snapshot = this.#snapshots[i]): boolean {
    if (!snapshot) return job.cursor === GONE_CURSOR;
    const dseq = Number(snapshot.record.dseq ?? Number.POSITIVE_INFINITY);
    return job.cursor >= dseq;
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
    const frame = this.#single
      ? event.frame
      : Buffer.from(encodeEvent({ id: this.#compositeId(), event: event.event, data: event.data }));
    connection.send(frame, event.event === 'progress' ? job.jobId : undefined);
    this.#deps.counters?.sent(event.event);
    this.#summarize(job, event);
    if (event.event === 'done') this.#markDone(job);
  }

  /** A restated progress (see the module): only over the state the client shows, cursor unchanged. */
  #deliverDerived(connection: SseConnection, job: WatchedJob, event: SharedEvent): void {
    if (event.seq !== job.progressSeq) return;
    const frame =
      this.#single && job.cursor === event.seq
        ? event.frame
        : Buffer.from(
            encodeEvent({
              id: this.#single ? String(job.cursor) : this.#compositeId(),
              event: 'progress',
              data: event.data,
            }),
          );
    connection.send(frame, job.jobId);
    this.#deps.counters?.sent('progress');
  }

  /** Feeds a delivered event of `job` to the group's summary, and sends the summary if it changed. */
  #summarize(job: WatchedJob, event: { event: string; data: string } | undefined): void {
    const summary = this.#summary;
    if (!summary || !event) return;
    if (event.event === 'progress')
      summary.progress(job.jobId, (JSON.parse(event.data) as { progress: number }).progress);
    else if (event.event === 'done')
      summary.done(job.jobId, (JSON.parse(event.data) as DoneEvent).status as TerminalStatus);
    else if (event.event === 'gone') summary.gone(job.jobId);
    else return;
    this.#sendSummary();
  }

  #sendSummary(): void {
    if (!this.#summaryLive) return;
    const data = this.#summary?.take();
    if (data === undefined) return;
    // Conflated like progress: a client that cannot keep up gets the group's latest.
    this.#connection?.send(Buffer.from(encodeEvent({ id: this.#compositeId(), event: 'summary', data })), SUMMARY_KEY);
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
    this.#connection?.send(Buffer.from(encodeEvent({ id: this.#compositeId(), event: 'gone', data })));
    this.#deps.counters?.sent('gone');
    this.#summarize(job, { event: 'gone', data });
    this.#markDone(job);
  }

  merge(job: WatchedJob, { record, logs }: JobSnapshot): void {
    const held = job.buffer ?? [];
    job.buffer = undefined;
    if (job.cursor > Number(record.seq)) {
      // The client has ids this job never reached: Redis lost recent writes (a failover to a
      // lagging replica, a restart from an fsync-per-second file). Start it over, in-band.
      const claimed = job.cursor;
      job.cursor = 0;
      this.#sendReset(
        job,
        `event ${claimed} is newer than the job's newest (${record.seq}); the current state follows`,
      );
    } else if (job.cursor > 0 && record.ltrim && job.cursor < Number(record.ltrim)) {
      this.#sendReset(job, `log lines up to event ${record.ltrim} are no longer kept; the current state follows`);
    }
    const events = logs.filter((e) => e.seq > job.cursor).map(SharedEvent.of);
    // The group counts the job as it is, whether or not this client needs its state again.
    this.#summary?.progress(job.jobId, Number(record.progress));
    // The hub learns the state (and works out the rest once, for every stream of this process).
    const derived = this.#deps.hub.note(record);
    if (Number(record.pseq) > job.cursor) events.push(SharedEvent.of(recordProgressEvent(record, derived)));
    // A client resuming with this state still gets what was worked out about it.
    else if (!record.dseq) {
      job.progressSeq = Number(record.pseq);
      if (derived.queuePosition !== undefined || derived.stalled) {
        const restated = recordProgressEvent(record, derived);
        events.push(new SharedEvent(job.jobId, restated.seq, 'progress', restated.data, true));
      }
    }
    const done = recordDoneEvent(record);
    if (done) events.push(SharedEvent.of(done));
    events.sort((a, b) => a.seq - b.seq);
    for (const event of events) this.deliver(job, event);
    for (const event of held) this.deliver(job, event);
  }

  #sendReset(job: WatchedJob, reason: string): void {
    const data = JSON.stringify({ jobId: job.jobId, reason });
    const id = this.#single ? String(job.cursor) : this.#compositeId();
    this.#connection?.send(Buffer.from(encodeEvent({ id, event: 'reset', data })));
    this.#deps.counters?.sent('reset');
  }

  #markDone(job: WatchedJob): void {
    job.done = true;
    job.unwatch?.();
    job.unwatch = undefined;
    if (this.#jobs.every((j) => j.done)) {
      // The group's last summary before the end.
      this.#summaryLive = true;
      this.#sendSummary();
      this.#connection?.end();
    }
  }

  #compositeId(): string {
    return this.#jobs.map((job) => job.cursor).join('.');
  }

  /** Stops watching every job (a stream that will not start, or has ended). */
  release(): void {
    for (const job of this.#jobs) {
      job.unwatch?.();
      job.unwatch = undefined;
    }
  }
}

/**
 * Reads a Last-Event-ID for `count` jobs: a non-negative integer per job, `.`-separated.
 * Anything else means "from the start", as if no id had been sent.
 */
export function parseCursors(lastEventId: string | undefined, count: number): number[] {
  const zeros = new Array<number>(count).fill(0);
  if (!lastEventId) return zeros;
  const parts = lastEventId.trim().split('.');
  if (parts.length !== count || !parts.every((p) => /^\d{1,15}$/.test(p))) return zeros;
  return parts.map(Number);
}
