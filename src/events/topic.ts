/**
 * @module events/topic
 * What the hub keeps per watched job (a topic: one channel subscription, whatever the number of
 * its watchers), and what a watcher must answer to. The stall and queue-position ticker
 * (`events/derived`) reads topics too, which is why they are not private to the hub.
 */
import { type DerivedProgress, type ProgressTuple, readTuple } from '../jobs/events.js';
import type { JobSnapshot } from '../jobs/store.js';
import type { SharedEvent } from './shared-event.js';

/** One stream's interest in a job: the hub calls it with the job's events and re-reads. */
export interface HubWatcher {
  /** A live event of the watched job. Must not throw. */
  event(event: SharedEvent): void;
  /**
   * A fresh read of the job, after events may have been missed (the subscription was
   * re-established, or the job was quiet for long): deliver what is newer than seen.
   */
  snapshot(snapshot: JobSnapshot): void;
  /** The job's record is gone (it expired) while watched. */
  gone(): void;
}

/**
 * A job's latest progress. A live event's tuple is kept as its JSON and parsed only when asked
 * for (the stall check, a derived event): most are replaced by the next report first.
 */
export class LatestProgress {
  #tuple: ProgressTuple | undefined;
  #tupleJson: string | undefined;

  constructor(
    readonly seq: number,
    readonly state: string,
    tuple: ProgressTuple | string,
  ) {
    if (typeof tuple === 'string') this.#tupleJson = tuple;
    else this.#tuple = tuple;
  }

  get tuple(): ProgressTuple {
    if (!this.#tuple) {
      this.#tuple = readTuple(this.#tupleJson as string);
      this.#tupleJson = undefined;
    }
    return this.#tuple;
  }
}

/** A watched job: its watchers, and what the hub knows and worked out about it. */
export interface Topic {
  jobId: string;
  /** Its pub/sub channel, the hub's key for it (one string for all its watchers). */
  channel: string;
  watchers: Set<HubWatcher>;
  subscribed: Promise<unknown>;
  /** When the last event arrived (or the topic was created). */
  lastEventAt: number;
  /** When the quiet-job safety net last checked it (0: never). */
  checkedAt: number;
  /** When its queue position was last read (0: never, since it was last queued). */
  placeReadAt: number;
  /** Live events held while the job is re-read, so they reach watchers after the read. */
  holding: SharedEvent[] | undefined;
  /** The job's type (from its record), for estimating its start. */
  type: string | undefined;
  /** Its latest known progress: from a live event or a record read, whichever is newer. */
  latest: LatestProgress | undefined;
  /** What was worked out about that state and last sent. */
  derived: DerivedProgress;
}

/** A topic just created for `jobId`: no watcher yet, nothing known about the job. */
export function newTopic(jobId: string, channel: string): Topic {
  return {
    jobId,
    channel,
    watchers: new Set(),
    subscribed: Promise.resolve(),
    lastEventAt: Date.now(),
    checkedAt: 0,
    placeReadAt: 0,
    holding: undefined,
    type: undefined,
    latest: undefined,
    derived: {},
  };
}
