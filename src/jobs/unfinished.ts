/**
 * @module jobs/unfinished
 * The unfinished set: the ids of the jobs whose record has no `done` yet, what the background
 * reconciler (`jobs/reconciler`) walks so that every accepted job reaches a terminal state,
 * watched or not. Added at submit, before the job is queued; removed once the job finished.
 *
 * A sorted set scored by submission time (ms), so it is ordered by (time, id) and a page
 * resumes after the last job seen, however many jobs arrive meanwhile. Scored by time, not all
 * 0 and ordered by id: a new job then joins at the end, where the skiplist path is the same
 * for every insert, instead of at a random place among the backlog (an insert at a random
 * place cost Redis 3–4× as much with 300,000 unfinished; docs/performance.md). Members written
 * with score 0 by earlier versions come first and are walked like the others.
 *
 * One global key, apart from the jobs' own: on a single server new jobs join it in the script
 * that writes their records (`jobs/scripts/create-records`); on a Cluster no Lua script may
 * touch it together with a record, so there it is written with single commands (and read a page
 * at a time by a script of its own key alone).
 */
import type { RedisClient } from '../redis.js';
import { bindScript } from './script-runner.js';
import { unfinishedPageScript } from './scripts/unfinished-page.js';

/** A page of the set, and where the next one starts. */
export interface UnfinishedPage {
  ids: string[];
  /** Give it to the next `page` call; empty when this page reached the end. */
  cursor: string;
}

/** A cursor is `<score> <id>` of the last job seen; anything else starts from the first. */
function parseCursor(cursor: string): { score: string; id: string } | undefined {
  const space = cursor.indexOf(' ');
  const score = cursor.slice(0, space);
  return space > 0 && Number.isFinite(Number(score)) ? { score, id: cursor.slice(space + 1) } : undefined;
}

export class UnfinishedSet {
  /** The set's key, `<prefix>:unfinished`. */
  readonly key: string;
  readonly #redis: RedisClient;
  readonly #page;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#page = bindScript(redis, unfinishedPageScript);
    this.key = `${prefix}:unfinished`;
  }

  /** Adds new jobs submitted at `createdAt` (one command for all of them; on a Cluster, see the module). */
  add(ids: string[], createdAt: number): Promise<unknown> {
    const members: (number | string)[] = [];
    for (const id of ids) members.push(createdAt, id);
    return this.#redis.zadd(this.key, ...members);
  }

  /** Drops jobs: finished, never queued, or their records are gone. */
  async forget(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.#redis.zrem(this.key, ...ids);
  }

  /**
   * Up to `count` ids after `cursor` in (time, id) order, in one call whatever left the set
   * meanwhile (`jobs/scripts/unfinished-page`); an empty cursor starts from the first.
   */
  async page(cursor: string, count: number): Promise<UnfinishedPage> {
    const reply = await this.#page({ key: this.key, after: parseCursor(cursor), count });
    const ids: string[] = [];
    for (let i = 0; i < reply.length; i += 2) ids.push(reply[i] as string);
    const last = reply.length > 0 ? `${reply[reply.length - 1]} ${reply[reply.length - 2]}` : '';
    return { ids, cursor: ids.length < count ? '' : last };
  }
}
