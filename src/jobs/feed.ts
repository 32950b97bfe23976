/**
 * @module jobs/feed
 * The feed of an API key: every change of every job the key submitted, in one order, for
 * `GET /events/feed`. A Redis stream per owner (capped at FEED_MAX_EVENTS, expiring with the
 * jobs' retention when idle) holds the recent changes, so a client resumes from the entry id it
 * last saw; each append is also published on the owner's channel, with that id, for the live
 * streams. Stream and channel share the hash tag `{feed:<owner>}`: on a Cluster they live in
 * one slot, the append script may touch both, and the channel uses sharded pub/sub there.
 *
 * An entry (field `m`) is `<jobId>\n<type>\n<tags JSON>\n<previous state>\n<seq>\n<event>\n<payload>`:
 * the job's own event (`jobs/scripts`), labelled with what the feed's filters look at. The
 * published message puts the entry id in front: `<entry id>\n<entry>`.
 */
import type { RedisClient } from '../redis.js';
import type { ProgressTuple } from './events.js';
import type { JobRecord } from './record.js';
import { bindScript } from './script-runner.js';
import { feedAppendScript } from './scripts/feed-append.js';

/** One feed entry, split. */
export interface FeedEntry {
  /** The stream entry id (`<ms>-<n>`): the feed event's SSE id. */
  id: string;
  jobId: string;
  type: string;
  tags: string[];
  /** The job's state before this change ('' when it was just created). */
  previousState: string;
  seq: number;
  event: 'progress' | 'done';
  payload: string;
}

export interface FeedOptions {
  prefix: string;
  /** Entries kept per owner (FEED_MAX_EVENTS). */
  maxEvents: number;
  /** A feed nobody appends to expires after this long, like its jobs. */
  retentionSeconds: number;
  publishCommand: 'PUBLISH' | 'SPUBLISH';
}

export class FeedLog {
  readonly #redis: RedisClient;
  readonly #options: FeedOptions;
  readonly #append;

  constructor(redis: RedisClient, options: FeedOptions) {
    this.#redis = redis;
    this.#options = options;
    this.#append = bindScript(redis, feedAppendScript);
  }

  streamKey(owner: string): string {
    return `${this.#options.prefix}:{feed:${owner}}`;
  }

  channel(owner: string): string {
    return `${this.streamKey(owner)}:ev`;
  }

  /** Appends entries (see the module) to the owner's feed and publishes them, in order. */
  async append(owner: string, entries: string[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#append({
      stream: this.streamKey(owner),
      channel: this.channel(owner),
      publishCommand: this.#options.publishCommand,
      maxEvents: this.#options.maxEvents,
      expirySeconds: this.#options.retentionSeconds,
      entries,
    });
  }

  /** The newest entry id ('0-0' for an empty or expired feed): where a fresh client starts. */
  async lastId(owner: string): Promise<string> {
    const [newest] = await this.#redis.xrevrange(this.streamKey(owner), '+', '-', 'COUNT', 1);
    return newest?.[0] ?? '0-0';
  }

  /** Up to `count` entries after `after` (exclusive), oldest first. */
  async after(owner: string, after: string, count: number): Promise<FeedEntry[]> {
    const found = await this.#redis.xrange(this.streamKey(owner), `(${after}`, '+', 'COUNT', count);
    return found.flatMap(([id, fields]) => {
      const entry = parseFeedEntry(id, fields[1] ?? '');
      return entry ? [entry] : [];
    });
  }

  /**
   * Whether entries newer than `after` may have been trimmed away (the client was gone for
   * longer than FEED_MAX_EVENTS changes): entries were trimmed (Redis ≥ 7 counts the entries
   * ever added) and `after` is older than the first one kept. (Trimming does not move Redis's
   * `max-deleted-entry-id`; only XDEL does.) A client whose last entry was exactly the last one
   * trimmed is told too: a needless `reset` rather than a silent gap.
   */
  async trimmedSince(owner: string, after: string): Promise<boolean> {
    let info: unknown;
    try {
      info = await this.#redis.call('XINFO', 'STREAM', this.streamKey(owner));
    } catch {
      return false; // no such stream: nothing was kept, so nothing was trimmed either
    }
    const added = Number(field(info, 'entries-added'));
    const kept = Number(field(info, 'length'));
    const first = field(info, 'recorded-first-entry-id');
    return added > kept && typeof first === 'string' && compareIds(after, first) < 0;
  }
}

/** A field of an XINFO reply: a flat [name, value, …] list (RESP2) or a map (RESP3). */
function field(reply: unknown, name: string): unknown {
  if (reply instanceof Map) return reply.get(name);
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) if (String(reply[i]) === name) return reply[i + 1];
    return undefined;
  }
  return reply && typeof reply === 'object' ? (reply as Record<string, unknown>)[name] : undefined;
}

/** Orders stream ids (`<ms>-<n>`); a malformed one sorts first. */
export function compareIds(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('-').map(Number);
  const [bm = 0, bn = 0] = b.split('-').map(Number);
  return am - bm || an - bn;
}

/** A well-formed stream id, as a feed's Last-Event-ID must be. */
export const FEED_ID = /^\d{1,15}-\d{1,15}$/;

/** Splits an entry; undefined for anything else. */
export function parseFeedEntry(id: string, text: string): FeedEntry | undefined {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < 6; i++) {
    const cut = text.indexOf('\n', from);
    if (cut < 0) return undefined;
    parts.push(text.slice(from, cut));
    from = cut + 1;
  }
  const [jobId = '', type = '', tags = '', previousState = '', seq = '', event = ''] = parts;
  if (event !== 'progress' && event !== 'done') return undefined;
  let tagList: string[] = [];
  if (tags) {
    try {
      tagList = JSON.parse(tags) as string[];
    } catch {
      return undefined;
    }
  }
  return { id, jobId, type, tags: tagList, previousState, seq: Number(seq), event, payload: text.slice(from) };
}

/** Splits a published message, `<entry id>\n<entry>`. */
export function parseFeedMessage(message: string): FeedEntry | undefined {
  const cut = message.indexOf('\n');
  return cut > 0 ? parseFeedEntry(message.slice(0, cut), message.slice(cut + 1)) : undefined;
}

/** A created job's first entry: the event of seq 1, state queued, with no state before it. */
export function createdEntry(record: JobRecord): string {
  const tuple: ProgressTuple = ['queued', '0', '0', record.createdAt, '', '', '', '', ''];
  return `${record.id}\n${record.type}\n${record.tags ?? ''}\n\n1\nprogress\n${JSON.stringify(tuple)}`;
}
