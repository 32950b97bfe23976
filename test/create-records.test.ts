/**
 * A batch's records: written by one script where every key is on one server, by one HSET per
 * job on a Cluster (`cluster: true`). Either way each record holds exactly what a single job's
 * HSET writes, and the jobs join the unfinished set.
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

/** Jobs with every optional field somewhere among them. */
const jobs = (): NewJob[] => [
  { id: randomUUID(), type: 'simulate', maxAttempts: 1 },
  { id: randomUUID(), type: 'simulate', maxAttempts: 3, runAt: 1_800_000_000_000, tags: ['a', 'b c'] },
  { id: randomUUID(), type: 'other', maxAttempts: 2, webhook: '{"url":"https://example.com/hook"}' },
];

describe('creating the records of a batch', () => {
  it('writes, with one script, the same records one HSET per job writes (Cluster), for an owner and without', async () => {
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
      // And a one-job batch, which always goes by HSET.
      const [single] = jobs();
      const one = byScript.create([single as NewJob], owner, createdAt);
      await one.written;
      expect(await byScript.get((single as NewJob).id)).toEqual(one.records[0]);
    }
  });
});
