/**
 * @module jobs/unfinished
 * The unfinished set: the ids of the jobs whose record has no `done` yet, what the background
 * reconciler (`jobs/reconciler`) walks so that every accepted job reaches a terminal state,
 * watched or not. Added at submit, before the job is queued; removed once the job finished.
 *
 * A sorted set with every score 0, so it is ordered by id and a page resumes after the last
 * id seen (`ZRANGE … BYLEX`), however many jobs arrive meanwhile. One global key, apart from
 * the jobs' own: on a single server new jobs join it in the script that writes their records
 * (`jobs/scripts/create-records`); on a Cluster no Lua script may touch it together with a
 * record, so there it is only ever written with single commands.
 */
import type { RedisClient } from '../redis.js';

export class UnfinishedSet {
  /** The set's key, `<prefix>:unfinished`. */
  readonly key: string;
  readonly #redis: RedisClient;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.key = `${prefix}:unfinished`;
  }

  /** Adds new jobs (one command for all of them; on a Cluster, see the module). */
  add(ids: string[]): Promise<unknown> {
    const members: (number | string)[] = [];
    for (const id of ids) members.push(0, id);
    return this.#redis.zadd(this.key, ...members);
  }

  /** Drops jobs: finished, never queued, or their records are gone. */
  async forget(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.#redis.zrem(this.key, ...ids);
  }

  /** A page of ids after `cursor` (by id); an empty cursor starts from the first. */
  page(cursor: string, count: number): Promise<string[]> {
    return this.#redis.zrange(this.key, cursor ? `(${cursor}` : '-', '+', 'BYLEX', 'LIMIT', 0, count);
  }
}
