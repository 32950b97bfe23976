/**
 * @module events/watched-job
 * One job of a stream (`events/session`), as the hub's watcher: where the client is in the job's
 * events, and the live events that arrive while the job's record is still being read. Opening
 * subscribes first and reads second, so no event can fall in between; the events that arrive
 * in between are held here and delivered after the record, in order.
 */
import type { JobSnapshot } from '../jobs/store.js';
import type { SharedEvent } from './shared-event.js';
import type { HubWatcher } from './topic.js';

/** How many live events a job may collect while its record is being read. */
const MAX_BUFFERED_WHILE_READING = 10_000;

/** What a watched job hands its events to: the stream it belongs to. */
export interface WatchedJobStream {
  /** A live event (or a snapshot event) of `job`: written if newer than its cursor. */
  deliver(job: WatchedJob, event: SharedEvent): void;
  /**
   * A fresh read of the job: what is newer than its cursor, then the events held. `reread`: the
   * hub's re-read of a live stream, which already has what was worked out about the job.
   */
  merge(job: WatchedJob, snapshot: JobSnapshot, reread?: boolean): void;
  /** The job's record vanished while watched. */
  gone(job: WatchedJob): void;
}

/** A job of one stream: the hub's watcher for it, and the client's place in its events. */
export class WatchedJob implements HubWatcher {
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
    private readonly stream: WatchedJobStream,
  ) {
    this.cursor = cursor;
  }

  event(event: SharedEvent): void {
    if (this.buffer) {
      if (this.buffer.length < MAX_BUFFERED_WHILE_READING) this.buffer.push(event);
      return;
    }
    this.stream.deliver(this, event);
  }

  snapshot(snapshot: JobSnapshot): void {
    // While the stream is still opening, its own read is on the way.
    if (!this.buffer) this.stream.merge(this, snapshot, true);
  }

  gone(): void {
    this.stream.gone(this);
  }
}
