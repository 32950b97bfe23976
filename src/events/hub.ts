/**
 * @module events/hub
 * One Redis subscription per API process, fanned out to every local stream in memory.
 *
 * A job's channel is subscribed when its first local watcher arrives and unsubscribed when the
 * last one leaves, all on the one subscriber connection (`events/channels`): ten thousand
 * streams cost ten thousand channel names on one connection, not ten thousand connections, and
 * nothing polls. Each message is read, and its wire frame encoded, once per process, whatever
 * the number of watchers; a progress event's JSON comes written by the record script that
 * published it (decision 020), and the hub adds only what it works out itself.
 *
 * Derived progress is worked out here too, once per watched job per process (`events/derived`):
 * the hub remembers each watched job's latest state, and one shared ticker checks running jobs
 * for a stall and reads the queue positions of queued ones. A change goes to the watchers as a
 * `progress` event with the id of the state it updates (a {@link SharedEvent} marked `derived`).
 *
 * What the hub keeps per job is a `Topic` (`events/topic`); what it hands out, a
 * `SharedEvent` (`events/shared-event`); how it re-reads a job whose events may have been
 * missed, `events/reread`.
 */

import {
  type DerivedProgress,
  progressData,
  readTuple,
  splitMessage,
  splitProgress,
  tupleState,
  withDerived,
} from '../jobs/events.js';
import type { JobKeys } from '../jobs/keys.js';
import { recordStallFacts, recordTuple } from '../jobs/resource.js';
import type { SnapshotReader } from '../jobs/snapshot.js';
import type { JobRecord, JobSnapshot } from '../jobs/store.js';
import type { Logger } from '../log.js';
import type { RedisFaultLog } from '../redis-faults.js';
import type { Channels } from './channels.js';
import type { DerivedTicker } from './derived.js';
import { deliverOrHold, type Rereading, reread } from './reread.js';
import { oldestServed } from './rotation.js';
import { SharedEvent } from './shared-event.js';
import { type HubWatcher, LatestProgress, newTopic, type Topic } from './topic.js';

/** How long after a reported re-subscription the jobs are read a second time. */
const RESUBSCRIBE_SETTLE_MS = 1_000;

/**
 * Quiet jobs checked per safety-net tick: a check is a few Redis commands, so 20,000 quiet
 * streams (idle queued jobs) would otherwise cost tens of thousands of commands every tick.
 */
export const QUIET_CHECKS_PER_TICK = 500;

export interface HubOptions {
  keys: (jobId: string) => JobKeys;
  /** Reads a job's record and kept log lines (see `jobs/store`). */
  snapshot: SnapshotReader;
  /**
   * The same read on the subscriber connection, used while it takes commands
   * (`Channels.takesCommands`): sent in the same write as the SUBSCRIBE, answered after it.
   */
  snapshotOnSubscriber?: SnapshotReader | undefined;
  log: Logger;
  /** Where Redis faults go (one line of advice per outage rather than a warning per job). */
  faults?: RedisFaultLog | undefined;
  /** Works out the derived progress of watched jobs; without it, events carry none. */
  derived?: DerivedTicker | undefined;
}

export class EventHub {
  readonly #channels: Channels;
  readonly #options: HubOptions;
  /** By channel name. */
  readonly #topics = new Map<string, Topic>();
  readonly #derived: DerivedTicker | undefined;

  constructor(channels: Channels, options: HubOptions) {
    this.#channels = channels;
    this.#options = options;
    this.#derived = options.derived;
    this.#derived?.attach({
      topics: () => this.#topics.values(),
      changed: (topic) => this.#sendDerived(topic),
    });
    channels.onResubscribed(() => this.#resubscribed());
  }

  /** Channels subscribed (one per job with local watchers). */
  get topicCount(): number {
    return this.#topics.size;
  }

  get watcherCount(): number {
    let n = 0;
    for (const topic of this.#topics.values()) n += topic.watchers.size;
    return n;
  }

  /**
   * Watched jobs that have had no event, and no check, for `quietMs`: the next to check against
   * BullMQ (at most `limit`, those waiting longest first; each is marked checked now).
   */
  quietJobs(quietMs: number, limit = QUIET_CHECKS_PER_TICK): string[] {
    const now = Date.now();
    const lastSeen = (t: Topic) => Math.max(t.lastEventAt, t.checkedAt);
    const quiet = [...this.#topics.values()].filter((t) => lastSeen(t) <= now - quietMs);
    return oldestServed(quiet, lastSeen, limit).map((topic) => {
      topic.checkedAt = now;
      return topic.jobId;
    });
  }

  /**
   * Starts delivering a job's events to `watcher`, and reads the job: the read sees the job
   * as of a moment when its subscription was in place, so no event falls between the two.
   * Returns the function that stops delivery, and the read (undefined: no such job).
   *
   * When the subscriber connection takes commands, the read goes on it, behind the SUBSCRIBE
   * (one write and one round trip); otherwise it is sent once Redis has confirmed the
   * subscription, on the command connection.
   */
  async watch(jobId: string, watcher: HubWatcher): Promise<{ unwatch: () => void; snapshot: JobSnapshot | undefined }> {
    const channel = this.#options.keys(jobId).channel;
    const topic = this.#topics.get(channel) ?? this.#newTopic(jobId, channel);
    topic.watchers.add(watcher);
    // The topic's channel, not the one just built: a closure per stream keeps what it names.
    const unwatch = () => this.#unwatch(topic.channel, watcher);
    const onSubscriber = this.#channels.takesCommands ? this.#options.snapshotOnSubscriber : undefined;
    try {
      if (onSubscriber) {
        const [, snapshot] = await Promise.all([topic.subscribed, onSubscriber(jobId)]);
        return { unwatch, snapshot };
      }
      await topic.subscribed;
      return { unwatch, snapshot: await this.#options.snapshot(jobId) };
    } catch (error) {
      unwatch();
      throw error;
    }
  }

  #newTopic(jobId: string, channel: string): Topic {
    const topic = newTopic(jobId, channel);
    topic.subscribed = this.#channels.subscribe(topic.channel, (message) => this.#dispatch(topic, message));
    this.#topics.set(topic.channel, topic);
    this.#derived?.start();
    return topic;
  }

  #unwatch(channel: string, watcher: HubWatcher): void {
    const topic = this.#topics.get(channel);
    if (!topic?.watchers.delete(watcher) || topic.watchers.size > 0) return;
    this.#topics.delete(channel);
    this.#channels.unsubscribe(channel);
    if (this.#topics.size === 0) this.#derived?.stop();
  }

  /**
   * A record of a watched job was read (a stream opening, a re-read): the hub learns its type
   * and, if newer than what it had, its state. Returns what was worked out about that state,
   * for the progress event the record stands for.
   */
  note(record: JobRecord): DerivedProgress {
    const topic = this.#topics.get(this.#options.keys(record.id).channel);
    const stalled = this.#derived?.stalled(recordStallFacts(record));
    if (!topic) return { stalled };
    topic.type = record.type;
    const seq = Number(record.pseq);
    if (!topic.latest || seq > topic.latest.seq) {
      const tuple = recordTuple(record);
      this.#learn(topic, new LatestProgress(seq, tuple[0], tuple), stalled);
    }
    if (topic.latest?.seq !== seq) return { stalled };
    return { ...topic.derived, stalled: topic.derived.stalled ?? stalled };
  }

  /** A newer state: what was worked out about the older one no longer holds. */
  #learn(topic: Topic, latest: LatestProgress, stalled: boolean | undefined): void {
    const { state } = latest;
    // Still queued (a retry's new message…): the place last read stays the best known.
    const keepPlace = state === 'queued' && topic.latest?.state === 'queued';
    topic.latest = latest;
    const before = topic.derived;
    const queuePosition = keepPlace ? before.queuePosition : undefined;
    const expectedStartAt = keepPlace ? before.expectedStartAt : undefined;
    const stalledNow = state === 'active' ? stalled : undefined;
    // Most reports change none of it (a running job, still not stalled): no new object per event.
    if (
      before.queuePosition !== queuePosition ||
      before.expectedStartAt !== expectedStartAt ||
      before.stalled !== stalledNow
    ) {
      topic.derived = { queuePosition, expectedStartAt, stalled: stalledNow };
    }
    if (state === 'queued' && !keepPlace) {
      // Its place in this line is unknown: read first, and soon.
      topic.placeReadAt = 0;
      this.#derived?.soon();
    }
  }

  /**
   * Re-reads jobs and hands each watcher what it missed: all watched jobs, or those named.
   * One read per job, whatever the number of its watchers.
   */
  resync(jobIds?: string[]): void {
    const wanted = jobIds ? new Set(jobIds) : undefined;
    for (const topic of this.#topics.values()) if (!wanted || wanted.has(topic.jobId)) reread(topic, this.#rereading);
  }

  readonly #rereading: Rereading = {
    read: (jobId) => this.#options.snapshot(jobId),
    learn: (record) => this.note(record),
    failed: (topic, error) => {
      if (!this.#options.faults?.report(error)) {
        this.#options.log.warn('could not re-read a watched job', { jobId: topic.jobId, error });
      }
    },
  };

  #resubscribed(): void {
    this.#options.log.info('event subscription re-established; re-reading watched jobs', { jobs: this.#topics.size });
    this.resync();
    // ioredis reports a rebuilt subscription as soon as it has sent the SUBSCRIBE commands, not
    // when Redis confirmed them: an event published in between would be missed by the first
    // read, so read once more a moment later.
    setTimeout(() => this.resync(), RESUBSCRIBE_SETTLE_MS).unref();
  }

  #dispatch(topic: Topic, message: string): void {
    let event: SharedEvent | undefined;
    try {
      event = this.#parse(topic, message);
    } catch (error) {
      this.#options.log.warn('unreadable event message', { jobId: topic.jobId, error });
    }
    if (!event) return;
    topic.lastEventAt = Date.now();
    deliverOrHold(topic, event);
  }

  /** A channel message as a shared event; a progress event also updates what the hub knows. */
  #parse(topic: Topic, message: string): SharedEvent | undefined {
    const raw = splitMessage(message);
    if (!raw) return undefined;
    const { seq, event, payload } = raw;
    if (event === 'log' || event === 'done') return new SharedEvent(topic.jobId, seq, event, payload);
    if (event !== 'progress') return undefined;
    const { tupleJson, ready } = splitProgress(payload);
    const state = tupleState(tupleJson);
    // A report just arrived: a running job is not stalled.
    if (!topic.latest || seq > topic.latest.seq) {
      this.#learn(topic, new LatestProgress(seq, state, tupleJson), this.#derived ? false : undefined);
    }
    const derived = topic.latest?.seq === seq ? topic.derived : {};
    // The record script wrote the JSON (one writing per event, not one per API process).
    const data = ready ? withDerived(ready, state, derived) : progressData(topic.jobId, readTuple(tupleJson), derived);
    return new SharedEvent(topic.jobId, seq, 'progress', data);
  }

  /** A change worked out by the ticker: the latest state again, with it. */
  #sendDerived(topic: Topic): void {
    const latest = topic.latest;
    if (!latest) return;
    const data = progressData(topic.jobId, latest.tuple, topic.derived);
    deliverOrHold(topic, new SharedEvent(topic.jobId, latest.seq, 'progress', data, true));
  }
}
