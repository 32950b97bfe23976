/**
 * @module events/feed-hub
 * The live side of the API keys' feeds (`jobs/feed`): an owner's feed channel is subscribed
 * when the first feed stream of that owner opens on this process and unsubscribed when the last
 * one closes, on the process's one subscriber connection (`events/channels`). Each message is
 * parsed, and its public JSON and frame built, once per process.
 */
import { progressData, readTuple } from '../jobs/events.js';
import { type FeedEntry, type FeedLog, parseFeedMessage } from '../jobs/feed.js';
import type { Logger } from '../log.js';
import { encodeEvent } from '../sse.js';
import type { Channels } from './channels.js';

/** A feed entry shared by every feed stream of its owner on this process. */
export class SharedFeedEntry {
  #data: string | undefined;
  #frame: Buffer | undefined;
  #state: string | undefined;
  constructor(readonly entry: FeedEntry) {}

  /** The job's state after this change (for `done`: its status): what `?state=` looks at. */
  get state(): string {
    const { event, payload } = this.entry;
    this.#state ??= event === 'progress' ? readTuple(payload)[0] : (JSON.parse(payload) as { status: string }).status;
    return this.#state;
  }

  /** The event's public JSON: a feed progress event also names the job's type and tags. */
  get data(): string {
    const { jobId, type, tags, event, payload } = this.entry;
    this.#data ??= event === 'progress' ? progressData(jobId, readTuple(payload), {}, { type, tags }) : payload;
    return this.#data;
  }

  /** The frame (`id:` = the entry id). */
  get frame(): Buffer {
    this.#frame ??= Buffer.from(encodeEvent({ id: this.entry.id, event: this.entry.event, data: this.data }));
    return this.#frame;
  }
}

export interface FeedWatcher {
  /** A live entry of the owner's feed. Must not throw. */
  entry(entry: SharedFeedEntry): void;
  /** The subscription was re-established: entries may have been missed; re-read them. */
  resubscribed(): void;
}

interface FeedTopic {
  watchers: Set<FeedWatcher>;
  subscribed: Promise<unknown>;
}

export class FeedHub {
  readonly #channels: Channels;
  readonly #feed: FeedLog;
  readonly #log: Logger;
  /** By channel. */
  readonly #topics = new Map<string, FeedTopic>();

  constructor(channels: Channels, options: { feed: FeedLog; log: Logger }) {
    this.#channels = channels;
    this.#feed = options.feed;
    this.#log = options.log;
    channels.onResubscribed(() => {
      for (const topic of this.#topics.values()) for (const watcher of topic.watchers) watcher.resubscribed();
    });
  }

  /** Feeds followed on this process (one channel each). */
  get topicCount(): number {
    return this.#topics.size;
  }

  /** Delivers the owner's live entries to `watcher` once Redis confirmed the subscription. */
  async watch(owner: string, watcher: FeedWatcher): Promise<() => void> {
    const channel = this.#feed.channel(owner);
    let topic = this.#topics.get(channel);
    if (!topic) {
      const created: FeedTopic = { watchers: new Set(), subscribed: Promise.resolve() };
      created.subscribed = this.#channels.subscribe(channel, (message) => this.#dispatch(created, message));
      topic = created;
      this.#topics.set(channel, topic);
    }
    topic.watchers.add(watcher);
    const unwatch = () => {
      const current = this.#topics.get(channel);
      if (!current?.watchers.delete(watcher) || current.watchers.size > 0) return;
      this.#topics.delete(channel);
      this.#channels.unsubscribe(channel);
    };
    try {
      await topic.subscribed;
    } catch (error) {
      unwatch();
      throw error;
    }
    return unwatch;
  }

  #dispatch(topic: FeedTopic, message: string): void {
    const entry = parseFeedMessage(message);
    if (!entry) {
      this.#log.warn('unreadable feed message');
      return;
    }
    const shared = new SharedFeedEntry(entry);
    for (const watcher of topic.watchers) watcher.entry(shared);
  }
}
