/**
 * @module events/feed-session
 * One client following its API key's feed (`GET /events/feed`): every job of the key as it is
 * created and changes, filtered by state, type and tag, never ending.
 *
 * Ids and resume: every event's `id:` is its feed entry id (`jobs/feed`). A fresh stream starts
 * now, and says where with a first frame that holds only an `id:` (a client sets its last event
 * id from it and dispatches nothing, WHATWG HTML §9.2.6). A client that comes back with
 * `Last-Event-ID` gets what it missed, conflated: per job, its latest state and its `done` if
 * it finished, in the order of their ids; if some of what it missed is no longer kept
 * (FEED_MAX_EVENTS), a `reset` first. Subscribe first, then read, then merge by id, as for jobs.
 *
 * Bounded like every stream: the connection conflates each job's progress while the socket is
 * full (`events/connection`), and live entries held while the feed is read are capped.
 */

import { compareIds, type FeedLog } from '../jobs/feed.js';
import type { FeedFilter, ResetEvent } from '../jobs/schemas.js';
import type { Logger } from '../log.js';
import type { StreamCounters } from '../metrics.js';
import type { RedisFaultLog } from '../redis-faults.js';
import { encodeEvent, SSE_HEADERS } from '../sse.js';
import type { ConnectionSet, NodeResponse } from './connection.js';
import { SseConnection } from './connection.js';
import { type FeedHub, type FeedWatcher, SharedFeedEntry } from './feed-hub.js';

export interface FeedSessionDeps {
  feedHub: FeedHub;
  feed: FeedLog;
  connections: ConnectionSet;
  log: Logger;
  counters?: StreamCounters;
  faults?: RedisFaultLog | undefined;
  /** FEED_MAX_EVENTS: a resume reads at most about this many entries. */
  feedMaxEvents: number;
}

/** Entries read per round trip on resume. */
const PAGE = 1_000;
/** Live entries held while the feed is being read; past it, they are read again afterwards. */
const MAX_HELD = 10_000;

export class FeedSession implements FeedWatcher {
  readonly #deps: FeedSessionDeps;
  readonly #owner: string;
  readonly #filter: FeedFilter;
  /** The newest entry id this client has been given, or was told to start from. */
  #cursor: string;
  readonly #resumed: boolean;
  #connection: SseConnection | undefined;
  #unwatch: (() => void) | undefined;
  /** Live entries held while the feed is read; undefined when delivering directly. */
  #held: SharedFeedEntry[] | undefined = [];
  #overflow = false;
  /** What `prepare` read, for `start` to send. */
  #missed: SharedFeedEntry[] = [];
  #trimmed = false;
  #startAnnounced = false;
  /** The subscription was rebuilt before the stream started: read again once it has. */
  #rereadAtStart = false;

  constructor(deps: FeedSessionDeps, owner: string, filter: FeedFilter, lastEventId: string | undefined) {
    this.#deps = deps;
    this.#owner = owner;
    this.#filter = filter;
    this.#resumed = lastEventId !== undefined;
    this.#cursor = lastEventId ?? '0-0';
  }

  /** Subscribes, then reads where the client starts (and what it missed). Nothing is written yet. */
  async prepare(): Promise<void> {
    try {
      this.#unwatch = await this.#deps.feedHub.watch(this.#owner, this);
      if (this.#resumed) {
        [this.#trimmed, this.#missed] = await Promise.all([
          this.#deps.feed.trimmedSince(this.#owner, this.#cursor),
          this.#readAfter(this.#cursor),
        ]);
      } else {
        this.#cursor = await this.#deps.feed.lastId(this.#owner);
      }
    } catch (error) {
      this.release();
      throw error;
    }
  }

  /** Starts streaming on `res`; `onClose` runs when the stream ends. */
  start(res: NodeResponse, headers: Record<string, string>, onClose: () => void = () => {}): void {
    const connection = new SseConnection(res, this.#deps.connections, { ...headers, ...SSE_HEADERS });
    this.#connection = connection;
    connection.onClose(() => {
      this.release();
      onClose();
    });
    if (this.#trimmed) {
      const data: ResetEvent = {
        reason: `some changes after ${this.#cursor} are no longer kept (FEED_MAX_EVENTS): list the jobs (GET /jobs) to catch up; the feed goes on from here`,
      };
      connection.send(Buffer.from(encodeEvent({ id: this.#cursor, event: 'reset', data: JSON.stringify(data) })));
      this.#deps.counters?.sent('reset');
    }
    const missed = this.#missed;
    this.#missed = [];
    this.#catchUp(missed);
    if (this.#rereadAtStart) this.resubscribed();
  }

  entry(entry: SharedFeedEntry): void {
    if (this.#held) {
      if (this.#held.length < MAX_HELD) this.#held.push(entry);
      else this.#overflow = true;
      return;
    }
    this.#deliver(entry);
  }

  resubscribed(): void {
    if (!this.#connection) {
      this.#rereadAtStart = true;
      return;
    }
    if (this.#held) return;
    this.#held = [];
    this.#readAfter(this.#cursor).then(
      (missed) => this.#catchUp(missed),
      (error: unknown) => {
        if (!this.#deps.faults?.report(error)) this.#deps.log.warn('could not re-read a feed', { error });
        this.#catchUp([]);
      },
    );
  }

  release(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  /** Sends what was missed (conflated), then what arrived live meanwhile; goes live. */
  #catchUp(missed: SharedFeedEntry[]): void {
    const lastRead = missed.at(-1)?.entry.id;
    const latest = new Map<string, { progress?: SharedFeedEntry; done?: SharedFeedEntry }>();
    for (const entry of missed) {
      if (!this.#passes(entry)) continue;
      const slot = latest.get(entry.entry.jobId) ?? {};
      slot[entry.entry.event] = entry;
      latest.set(entry.entry.jobId, slot);
    }
    const conflated = [...latest.values()]
      .flatMap(({ progress, done }) => [progress, done].filter((e): e is SharedFeedEntry => e !== undefined))
      .sort((a, b) => compareIds(a.entry.id, b.entry.id));
    for (const entry of conflated) this.#write(entry);
    if (lastRead !== undefined && compareIds(lastRead, this.#cursor) > 0) this.#moveCursor(lastRead);
    // A fresh stream says where it starts, so a reconnect before its first event resumes.
    if (!this.#resumed && missed.length === 0 && !this.#startAnnounced) this.#moveCursor(this.#cursor);
    const held = this.#held ?? [];
    this.#held = undefined;
    if (this.#overflow) {
      this.#overflow = false;
      this.resubscribed();
      return;
    }
    for (const entry of held) this.#deliver(entry);
  }

  /** An `id:`-only frame: the client's last event id moves on, nothing is dispatched. */
  #moveCursor(id: string): void {
    this.#cursor = id;
    this.#startAnnounced = true;
    this.#connection?.send(Buffer.from(`id: ${id}\n\n`));
  }

  #deliver(entry: SharedFeedEntry): void {
    if (compareIds(entry.entry.id, this.#cursor) <= 0 || !this.#passes(entry)) return;
    this.#write(entry);
  }

  #write(entry: SharedFeedEntry): void {
    this.#cursor = entry.entry.id;
    this.#connection?.send(entry.frame, entry.entry.event === 'progress' ? entry.entry.jobId : undefined);
    this.#deps.counters?.sent(entry.entry.event);
  }

  /**
   * The filters: any of the types, any of the tags, and a state the job enters, is in, or
   * leaves (so a view of running jobs sees each one end).
   */
  #passes(shared: SharedFeedEntry): boolean {
    const { type, tag, state } = this.#filter;
    const { entry } = shared;
    if (type && !type.includes(entry.type)) return false;
    if (tag && !entry.tags.some((t) => tag.includes(t))) return false;
    if (state && !(state as string[]).includes(shared.state) && !(state as string[]).includes(entry.previousState)) {
      return false;
    }
    return true;
  }

  /** The entries after `after`, page by page, at most about FEED_MAX_EVENTS (all the feed keeps). */
  async #readAfter(after: string): Promise<SharedFeedEntry[]> {
    const found: SharedFeedEntry[] = [];
    let from = after;
    // Approximate trimming (XADD MAXLEN ~) may keep a little more than asked: read up to twice.
    while (found.length < 2 * this.#deps.feedMaxEvents) {
      const page = await this.#deps.feed.after(this.#owner, from, PAGE);
      for (const entry of page) found.push(new SharedFeedEntry(entry));
      const last = page.at(-1);
      if (!last || page.length < PAGE) break;
      from = last.id;
    }
    return found;
  }
}
