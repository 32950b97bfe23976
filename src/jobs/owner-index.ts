/**
 * @module jobs/owner-index
 * The indexes that list an owner's jobs (`GET /jobs`): one sorted set per owner, and one per
 * owner and type and per owner and tag, all scores 0 and ordered by member
 * (`<createdAt, 15 digits>:<id>`), so newest last. Jobs submitted without a key have none:
 * nothing lists them (an id is their only way in).
 */
import type { RedisClient } from '../redis.js';
import type { JobRecord, NewJob } from './record.js';
import type { JobState } from './schemas.js';

export interface ListFilter {
  state?: JobState | undefined;
  type?: string | undefined;
  tag?: string | undefined;
}

export interface ListPage {
  records: JobRecord[];
  /** Where the next page starts; undefined when there is none. */
  nextCursor: string | undefined;
}

/**
 * Most job records one list request reads (kept, filtered out, or found expired), so a request's
 * Redis cost is bounded whatever the filter: about this many reads, plus a few index reads.
 * A page is never larger than 100, so a full page always fits.
 */
const LIST_READ_BUDGET = 100;

/** Index members sort by creation time, then id: `<createdAt, 15 digits>:<id>`. */
const indexMember = (createdAt: number | string, id: string) => `${String(createdAt).padStart(15, '0')}:${id}`;

/** The owner indexes under one key prefix; `get` reads a record (expired ones are dropped as found). */
export class OwnerIndex {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #get: (id: string) => Promise<JobRecord | undefined>;

  constructor(redis: RedisClient, prefix: string, get: (id: string) => Promise<JobRecord | undefined>) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#get = get;
  }

  /**
   * Sorted set of an owner's jobs (all scores 0, ordered by member, so newest last). Jobs
   * submitted without a key have none: nothing lists them (an id is their only way in).
   */
  indexKey(owner: string): string {
    return `${this.#prefix}:index:${owner}`;
  }

  /** The same, for the owner's jobs of one type (a type never changes, so it is exact). */
  typeIndexKey(owner: string, type: string): string {
    return `${this.#prefix}:bytype:${owner}:${type}`;
  }

  /** The same, for the owner's jobs with one tag (tags never change either). */
  tagIndexKey(owner: string, tag: string): string {
    return `${this.#prefix}:bytag:${owner}:${tag}`;
  }

  /** Adds jobs of one owner to (or removes them from) the owner's index and its type and tag indexes. */
  writes(jobs: NewJob[], owner: string | undefined, createdAt: number, op: 'zadd' | 'zrem'): Promise<unknown>[] {
    if (owner === undefined) return [];
    const ownerKey = this.indexKey(owner);
    const byKey = new Map<string, string[]>([[ownerKey, []]]);
    // Appended in place: a batch's members are gathered in linear time.
    const add = (key: string, member: string) => {
      const members = byKey.get(key);
      if (members) members.push(member);
      else byKey.set(key, [member]);
    };
    for (const job of jobs) {
      const member = indexMember(createdAt, job.id);
      add(ownerKey, member);
      add(this.typeIndexKey(owner, job.type), member);
      for (const tag of job.tags ?? []) add(this.tagIndexKey(owner, tag), member);
    }
    return [...byKey].map(([key, members]) =>
      op === 'zadd' ? this.#redis.zadd(key, ...members.flatMap((m) => [0, m])) : this.#redis.zrem(key, ...members),
    );
  }

  /**
   * A page of an owner's jobs, newest first. The cursor is the index member of the last job
   * looked at, so pages never overlap or skip, however many jobs arrive meanwhile. A tag filter
   * reads the tag's own index, else a type filter the type's; the other filters are checked on
   * each record, and the reads of one request stop at LIST_READ_BUDGET: a page may then be
   * short, with a cursor to go on from. Jobs whose records expired are dropped from the index
   * read on the way.
   */
  async list(owner: string, filter: ListFilter, limit: number, cursor?: string): Promise<ListPage> {
    const indexKey =
      filter.tag !== undefined
        ? this.tagIndexKey(owner, filter.tag)
        : filter.type !== undefined
          ? this.typeIndexKey(owner, filter.type)
          : this.indexKey(owner);
    const typeChecked = filter.tag !== undefined && filter.type !== undefined;
    const records: JobRecord[] = [];
    let from = cursor ? `(${cursor}` : '+';
    let budget = LIST_READ_BUDGET;
    // Without a state filter every kept record is wanted: read no more than the page needs.
    // With one, read ahead; either way read more each round (records may have expired).
    let chunk = filter.state || typeChecked ? Math.max(2 * limit, 20) : limit;
    for (;;) {
      const take = Math.min(budget, chunk, LIST_READ_BUDGET);
      // One more member than will be read says whether anything is left after them.
      const members = await this.#redis.zrange(indexKey, from, '-', 'BYLEX', 'REV', 'LIMIT', 0, take + 1);
      const page = members.slice(0, take);
      const more = members.length > take;
      if (page.length === 0) return { records, nextCursor: undefined };
      budget -= page.length;
      const found = await Promise.all(page.map((m) => this.#get(m.slice(m.indexOf(':') + 1))));
      const expired = page.filter((_, i) => found[i] === undefined);
      if (expired.length > 0) {
        // The owner's index lists every job of a type index too; it is cleaned when it is read.
        const keys = indexKey === this.indexKey(owner) ? [indexKey] : [indexKey, this.indexKey(owner)];
        await Promise.all(keys.map((key) => this.#redis.zrem(key, ...expired)));
      }
      for (let i = 0; i < page.length; i++) {
        const record = found[i];
        if (!record || (filter.state && record.state !== filter.state)) continue;
        if (typeChecked && record.type !== filter.type) continue;
        records.push(record);
        if (records.length === limit) {
          return { records, nextCursor: i < page.length - 1 || more ? page[i] : undefined };
        }
      }
      if (!more) return { records, nextCursor: undefined };
      const last = page.at(-1) as string;
      // Budget spent: hand back what was found and where to go on.
      if (budget <= 0) return { records, nextCursor: last };
      from = `(${last}`;
      chunk *= 2;
    }
  }
}
