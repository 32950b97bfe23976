/**
 * @module events/reread
 * Re-reading a watched job after its live events may have been missed (the subscription was
 * re-established, the job was quiet for long, see `api/reconciling`): one read per job,
 * whatever the number of its watchers. Live events that arrive while the read is on its way are
 * held on the topic and reach the watchers after it, so no watcher sees an event before the
 * state it follows; each watcher keeps only what is newer than its cursor.
 */
import type { JobRecord, JobSnapshot } from '../jobs/store.js';
import type { SharedEvent } from './shared-event.js';
import type { Topic } from './topic.js';

/** Live events one topic may hold during a re-read (a read takes one round trip). */
const MAX_HELD = 10_000;

/** What a re-read needs of the hub. */
export interface Rereading {
  /** Reads the job's record and kept log lines (undefined: the job is gone). */
  read(jobId: string): Promise<JobSnapshot | undefined>;
  /** The record read: the hub learns its state before the watchers get it. */
  learn(record: JobRecord): void;
  /** The read failed: the watchers keep what they have, the next re-read catches up. */
  failed(topic: Topic, error: unknown): void;
}

/** Hands `event` to the topic's watchers, or holds it while the topic is being re-read. */
export function deliverOrHold(topic: Topic, event: SharedEvent): void {
  if (topic.holding) {
    if (topic.holding.length < MAX_HELD) topic.holding.push(event);
    return;
  }
  for (const watcher of topic.watchers) watcher.event(event);
}

/** Re-reads the topic's job (unless a re-read is on its way) and gives every watcher the read. */
export function reread(topic: Topic, rereading: Rereading): void {
  if (topic.holding) return;
  topic.holding = [];
  const release = () => {
    const held = topic.holding ?? [];
    topic.holding = undefined;
    for (const event of held) for (const watcher of topic.watchers) watcher.event(event);
  };
  rereading.read(topic.jobId).then(
    (snapshot) => {
      if (snapshot) rereading.learn(snapshot.record);
      for (const watcher of topic.watchers) {
        if (snapshot) watcher.snapshot(snapshot);
        else watcher.gone();
      }
      release();
    },
    (error: unknown) => {
      rereading.failed(topic, error);
      release();
    },
  );
}
