/**
 * The unfinished set's pages: in (submission time, id) order, each resuming after the last job
 * of the one before, also inside one millisecond's jobs (a batch's) and when that job finished
 * meanwhile; members an earlier version wrote with score 0, and its cursor (a bare id), are
 * walked too.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { UnfinishedSet } from '../src/jobs/unfinished.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  await redis.quit();
});

/** Every page from `cursor` to the end. */
async function walk(set: UnfinishedSet, count: number, cursor = ''): Promise<string[][]> {
  const pages: string[][] = [];
  for (;;) {
    const page = await set.page(cursor, count);
    pages.push(page.ids);
    if (page.cursor === '') return pages;
    cursor = page.cursor;
  }
}

describe('the unfinished set', () => {
  it('pages through every job once, in (time, id) order, across a millisecond shared by more jobs than a page', async () => {
    const set = new UnfinishedSet(redis, `uf${randomBytes(3).toString('hex')}`);
    const ids = (n: number) => Array.from({ length: n }, () => randomUUID());
    // Written by an earlier version: score 0.
    const legacy = ids(3);
    await redis.zadd(set.key, ...legacy.flatMap((id) => [0, id]));
    const batch = ids(7);
    const later = ids(2);
    await set.add(batch, 1_000);
    await set.add(later, 2_000);
    const order = [...legacy.sort(), ...batch.sort(), ...later.sort()];

    const pages = await walk(set, 3);
    expect(pages.flat()).toEqual(order);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 3, 0]);
    // A full page that ends the set leads to an empty one; a short one ends the walk.
    expect((await walk(set, 5)).map((p) => p.length)).toEqual([5, 5, 2]);
    // An earlier version's cursor (the last id seen) starts from the first.
    expect((await set.page(legacy[0] as string, 4)).ids).toEqual(order.slice(0, 4));

    // Jobs that finished meanwhile, the cursor's own among them, do not stop the walk, and the
    // page leaves the set as it was.
    const first = await set.page('', 5);
    await set.forget(first.ids.slice(3));
    const size = await redis.zcard(set.key);
    const next = await set.page(first.cursor, 5);
    expect(next.ids).toEqual(order.slice(5, 10));
    expect(await redis.zcard(set.key)).toBe(size);
    expect(await redis.zscore(set.key, order[4] as string)).toBeNull();
    // Inside the earlier version's jobs (all scored 0) too.
    expect((await set.page(`0 ${order[0]}`, 2)).ids).toEqual(order.slice(1, 3));
  });
});
