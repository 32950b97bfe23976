/**
 * New jobs' records and their unfinished entries: written by one script where every key is on
 * one server (a single job's too), by one HSET per job and one ZADD on a Cluster (`cluster:
 * true`). Either way each record holds exactly the same fields, and the jobs join the
 * unfinished set.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JobStore, type NewJob } from '../src/jobs/store.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  await redis.quit();
});

/** Jobs with every optional field somewhere among them, alike and different neighbours. */
const jobs = (): NewJob[] => [
  // Two alike: the second record's fields go as '' (the same as the one before it).
  { id: randomUUID(), type: 'simulate', maxAttempts: 1 },
  { id: randomUUID(), type: 'simulate', maxAttempts: 1 },
  { id: randomUUID(), type: 'simulate', maxAttempts: 3, runAt: 1_800_000_000_000, tags: ['a', 'b c'] },
  { id: randomUUID(), type: 'other', maxAttempts: 2, webhook: '{"url":"https://example.com/hook"}' },
  // What JSON carries with care: quotes, backslashes, non-ASCII, a lone surrogate, an empty tag.
  { id: randomUUID(), type: 'simulate', maxAttempts: 1, tags: ['ü é 中', 'a"b\\c', '\ud800', ''] },
];

describe('creating the records of new jobs', () => {
  it('writes, with one script, the same records and unfinished entries the commands of a Cluster write, for an owner and without', async () => {
    for (const owner of [undefined, 'owner-1']) {
      const prefix = `cr${randomBytes(3).toString('hex')}`;
      const byScript = new JobStore(redis, { prefix, logMaxLines: 10, retentionSeconds: 60 });
      const byCommands = new JobStore(redis, {
        prefix: `${prefix}c`,
        logMaxLines: 10,
        retentionSeconds: 60,
        cluster: true,
      });
      const batch = jobs();
      const createdAt = Date.now();
      const viaScript = byScript.create(batch, owner, createdAt);
      const viaCommands = byCommands.create(batch, owner, createdAt);
      await Promise.all([viaScript.written, viaCommands.written]);
      expect(viaScript.records).toEqual(viaCommands.records);
      for (const [i, job] of batch.entries()) {
        const stored = await redis.hgetall(byScript.keys(job.id).record);
        expect(stored).toEqual(await redis.hgetall(byCommands.keys(job.id).record));
        expect(stored).toEqual({ ...viaScript.records[i] });
        expect(await byScript.get(job.id)).toEqual(viaScript.records[i]);
      }
      expect(await redis.zrange(byScript.unfinished.key, '0', '-1')).toEqual(batch.map((j) => j.id).sort());
      expect(await redis.zrange(byCommands.unfinished.key, '0', '-1')).toEqual(batch.map((j) => j.id).sort());
      // And a single job, which goes by the script too: the same record, and in the set.
      const [single] = jobs() as [NewJob];
      const one = byScript.create([single], owner, createdAt);
      const oneByCommands = byCommands.create([single], owner, createdAt);
      await Promise.all([one.written, oneByCommands.written]);
      expect(await byScript.get(single.id)).toEqual(one.records[0]);
      expect(await redis.hgetall(byScript.keys(single.id).record)).toEqual(
        await redis.hgetall(byCommands.keys(single.id).record),
      );
      // Scored by submission time, so new jobs join the set at its end.
      expect(await redis.zscore(byScript.unfinished.key, single.id)).toBe(String(createdAt));
      expect(await redis.zscore(byCommands.unfinished.key, single.id)).toBe(String(createdAt));
    }
  });
});
