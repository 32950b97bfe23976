/**
 * @module events/hub
 * One Redis subscription per API process, fanned out to every local stream in memory.
 *
 * A job's channel is subscribed when its first local watcher arrives and unsubscribed when the
 * last one leaves, all on the one subscriber connection: ten thousand streams cost ten thousand
 * channel names on one connection, not ten thousand connections, and nothing polls. Each
 * message is parsed, and its wire frame encoded, once per process, whatever the number of
 * watchers.
 */

import type { JobEvent } from '../jobs/events.js';
import { parseMessage } from '../jobs/events.js';
import type { JobKeys } from '../jobs/keys.js';
import type { JobSnapshot } from '../jobs/store.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';
import type { RedisFaultLog } from '../redis-faults.js';
import { encodeEvent } from '../sse.js';

/** A job event shared by every stream that receives it. */
export class SharedEvent implements JobEvent {
  #frame: Buffer | undefined;
  constructor(
    readonly jobId: string,
    readonly seq: number,
    readonly event: JobEvent['event'],
    readonly data: string,
  ) {}

  static of(event: JobEvent): SharedEvent {
    return event instanceof SharedEvent ? event : new SharedEvent(event.jobId, event.seq, event.event, event.data);
  }

  /** The frame of a single-job stream (`id:` = seq), encoded once for all such streams. */
  get frame(): Buffer {
    this.#frame ??= Buffer.from(encodeEvent({ id: String(this.seq), event: this.event, data: this.data }));
    return this.#frame;
  }
}

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

interface Topic {
  jobId: string;
  watchers: Set<HubWatcher>;
  subscribed: Promise<unknown>;
  /** When the last event arrived (or the topic was created). */
  lastEventAt: number;
  /** Live events held while the job is re-read, so they reach watchers after the read. */
  holding: SharedEvent[] | undefined;
}

/** How long after a reported re-subscription the jobs are read a second time. */
const RESUBSCRIBE_SETTLE_MS = 1_000;

/** Live events one topic may hold during a re-read (a read takes one round trip). */
const MAX_HELD = 10_000;

export interface HubOptions {
  keys: (jobId: string) => JobKeys;
  /** Reads a job's record and kept log lines (see `jobs/store`). */
  snapshot: (jobId: string) => Promise<JobSnapshot | undefined>;
  /** Sharded pub/sub (SSUBSCRIBE) for Redis Cluster. */
  sharded?: boolean;
  log: Logger;
  /** Where Redis faults go (one line of advice per outage rather than a warning per job). */
  faults?: RedisFaultLog | undefined;
}

export class EventHub {
  readonly #sub: RedisClient;
  readonly #options: HubOptions;
  /** By channel name. */
  readonly #topics = new Map<string, Topic>();
  #everReady = false;

  constructor(subscriber: RedisClient, options: HubOptions) {
    this.#sub = subscriber;
    this.#options = options;
    const onMessage = (channel: string, message: string) => this.#dispatch(channel, message);
    subscriber.on(options.sharded ? 'smessage' : 'message', onMessage);
    // ioredis re-subscribes by itself after a reconnect; what was published meanwhile is lost,
    // so every watched job is re-read. A Cluster rebuilds a lost shard subscriber on its own
    // and says so with 'subscribersReady', not 'ready'.
    subscriber.on('ready', () => {
      if (this.#everReady) this.#resubscribed();
      this.#everReady = true;
    });
    if (options.sharded) subscriber.on('subscribersReady', () => this.#resubscribed());
    if (subscriber.status === 'ready') this.#everReady = true;
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

  /** Watched jobs that have had no event for `quietMs`: candidates for a reconcile check. */
  quietJobs(quietMs: number): string[] {
    const before = Date.now() - quietMs;
    return [...this.#topics.values()].filter((t) => t.lastEventAt < before).map((t) => t.jobId);
  }

  /**
   * Starts delivering a job's events to `watcher`. Resolves once Redis has confirmed the
   * subscription: read the job's state only after that, and no event can fall in between.
   * Returns the function that stops delivery.
   */
  async watch(jobId: string, watcher: HubWatcher): Promise<() => void> {
    const channel = this.#options.keys(jobId).channel;
    let topic = this.#topics.get(channel);
    if (!topic) {
      const subscribed = this.#options.sharded ? this.#sub.ssubscribe(channel) : this.#sub.subscribe(channel);
      topic = { jobId, watchers: new Set(), subscribed, lastEventAt: Date.now(), holding: undefined };
      this.#topics.set(channel, topic);
    }
    topic.watchers.add(watcher);
    const unwatch = () => this.#unwatch(channel, watcher);
    try {
      await topic.subscribed;
    } catch (error) {
      unwatch();
      throw error;
    }
    return unwatch;
  }

  #unwatch(channel: string, watcher: HubWatcher): void {
    const topic = this.#topics.get(channel);
    if (!topic?.watchers.delete(watcher) || topic.watchers.size > 0) return;
    this.#topics.delete(channel);
    // A watch() arriving after this gets a new topic; its SUBSCRIBE is sent after this
    // UNSUBSCRIBE on the same connection, so Redis sees them in order.
    const done = this.#options.sharded ? this.#sub.sunsubscribe(channel) : this.#sub.unsubscribe(channel);
    done.catch((error: unknown) => this.#options.log.debug('unsubscribe failed', { channel, error }));
  }

  /**
   * Re-reads jobs and hands each watcher what it missed: all watched jobs, or those named.
   * One read per job, whatever the number of its watchers.
   */
  resync(jobIds?: string[]): void {
    const wanted = jobIds ? new Set(jobIds) : undefined;
    for (const topic of this.#topics.values()) if (!wanted || wanted.has(topic.jobId)) this.#resyncTopic(topic);
  }

  #resyncTopic(topic: Topic): void {
    if (topic.holding) return;
    topic.holding = [];
    const release = () => {
      const held = topic.holding ?? [];
      topic.holding = undefined;
      for (const event of held) for (const watcher of topic.watchers) watcher.event(event);
    };
    this.#options.snapshot(topic.jobId).then(
      (snapshot) => {
        for (const watcher of topic.watchers) {
          if (snapshot) watcher.snapshot(snapshot);
          else watcher.gone();
        }
        release();
      },
      (error: unknown) => {
        if (!this.#options.faults?.report(error)) {
          this.#options.log.warn('could not re-read a watched job', { jobId: topic.jobId, error });
        }
        release();
      },
    );
  }

  #resubscribed(): void {
    this.#options.log.info('event subscription re-established; re-reading watched jobs', { jobs: this.#topics.size });
    this.resync();
    // ioredis reports a rebuilt subscription as soon as it has sent the SUBSCRIBE commands, not
    // when Redis confirmed them: an event published in between would be missed by the first
    // read, so read once more a moment later.
    setTimeout(() => this.resync(), RESUBSCRIBE_SETTLE_MS).unref();
  }

  #dispatch(channel: string, message: string): void {
    const topic = this.#topics.get(channel);
    if (!topic) return;
    let parsed: JobEvent | undefined;
    try {
      parsed = parseMessage(topic.jobId, message);
    } catch (error) {
      this.#options.log.warn('unreadable event message', { channel, error });
    }
    if (!parsed) return;
    topic.lastEventAt = Date.now();
    const event = SharedEvent.of(parsed);
    if (topic.holding) {
      if (topic.holding.length < MAX_HELD) topic.holding.push(event);
      return;
    }
    for (const watcher of topic.watchers) watcher.event(event);
  }
}
