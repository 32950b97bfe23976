/**
 * @module events/shared-event
 * A job event as the hub hands it to every stream of the process that watches the job. Its wire
 * frame for single-job streams is encoded once, on first use, however many streams send it: a
 * thousand watchers of one job cost one encoding per event, not a thousand.
 */
import type { JobEvent } from '../jobs/events.js';
import { encodeJobEvent } from '../sse.js';

/** A job event shared by every stream that receives it. */
export class SharedEvent implements JobEvent {
  #frame: Buffer | undefined;
  constructor(
    readonly jobId: string,
    readonly seq: number,
    readonly event: JobEvent['event'],
    readonly data: string,
    /**
     * A progress event worked out by the hub (queue position, stall) rather than published by
     * the worker: it restates the state of `seq` and advances no cursor.
     */
    readonly derived = false,
  ) {}

  static of(event: JobEvent): SharedEvent {
    return event instanceof SharedEvent ? event : new SharedEvent(event.jobId, event.seq, event.event, event.data);
  }

  /** The frame of a single-job stream (`id:` = seq), encoded once for all such streams. */
  get frame(): Buffer {
    this.#frame ??= Buffer.from(encodeJobEvent(this.seq, this.event, this.data));
    return this.#frame;
  }
}
