/**
 * @module events/hub
 * One RedisClient subscription per API process, fanned out to every local stream in memory.
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
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';
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
  /** The subscription was re-established after a RedisClient outage: events may have been missed. */
  resync(): void;
}

interface Topic {
  jobId: string;
  watchers: Set<HubWatcher>;
  subscribed: Promise<unknown>;
  /** When the last event arrived (or the topic was created). */
  lastEventAt: number;
}

export interface HubOptions {
  keys: (jobId: string) => JobKeys;
  /** Sharded pub/sub (SSUBSCRIBE) for RedisClient Cluster. */
  sharded?: boolean;
  log: Logger;
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
    // so every watcher re-reads its jobs.
    subscriber.on('ready', () => {
      if (this.#everReady) this.#resyncAll();
      this.#everReady = true;
    });
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
   * Starts delivering a job's events to `watcher`. Resolves once RedisClient has confirmed the
   * subscription: read the job's state only after that, and no event can fall in between.
   * Returns the function that stops delivery.
   */
  async watch(jobId: string, watcher: HubWatcher): Promise<() => void> {
    const channel = this.#options.keys(jobId).channel;
    let topic = this.#topics.get(channel);
    if (!topic) {
      const subscribed = this.#options.sharded ? this.#sub.ssubscribe(channel) : this.#sub.subscribe(channel);
      topic = { jobId, watchers: new Set(), subscribed, lastEventAt: Date.now() };
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
    // UNSUBSCRIBE on the same connection, so RedisClient sees them in order.
    const done = this.#options.sharded ? this.#sub.sunsubscribe(channel) : this.#sub.unsubscribe(channel);
    done.catch((error: unknown) => this.#options.log.debug('unsubscribe failed', { channel, error }));
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
    for (const watcher of topic.watchers) watcher.event(event);
  }

  #resyncAll(): void {
    this.#options.log.info('event subscription re-established; resyncing watchers', { jobs: this.#topics.size });
    for (const topic of this.#topics.values()) for (const watcher of topic.watchers) watcher.resync();
  }
}
