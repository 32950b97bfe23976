/**
 * New jobs' records and BullMQ's adds in one script (`jobs/recorded-adds`): the same records,
 * and the same BullMQ state, as our create-records script followed by `queue.add` /
 * `queue.addBulk`. And the guard on what the script borrows from BullMQ: the pinned version,
 * its shipped `addStandardJob` content, and the call BullMQ builds for it. When BullMQ is
 * upgraded these fail first: read the new script, check the wrapping still holds (it is
 * called once per job, as a function of KEYS and ARGV), then update the pin and the hash.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Job, type Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bullJobOptions, createQueue } from '../src/jobs/queue.js';
import { type BullJob, MAX_JOBS_PER_CALL, RecordedAdds, SEND_AT_JOBS } from '../src/jobs/recorded-adds.js';
import { JobOptions } from '../src/jobs/schemas.js';
import {
  BULL_ARGS,
  BULL_KEYS,
  bullAddStandardJob,
  bullStandardAdd,
  bullVersion,
} from '../src/jobs/scripts/add-with-records.js';
import { JobStore, type NewJob } from '../src/jobs/store.js';
import { createRedis, type RedisClient } from '../src/redis.js';

let redis: Redis;
const queues: Queue[] = [];
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  for (const queue of queues) await queue.close();
  await redis.quit();
});

/** A store and a queue under a prefix of their own, on the test's connection. */
function place(prefix: string): { store: JobStore; queue: Queue } {
  const queue = createQueue(redis, { prefix, queueName: 'jobs', retentionSeconds: 60 });
  queues.push(queue);
  return { store: new JobStore(redis, { prefix, logMaxLines: 10, retentionSeconds: 60 }), queue };
}

/** A connection that refuses commands at once, as one whose Redis is gone does. */
function offlineConnection(): Redis {
  const offline = new Redis(inject('redisUrl'), { lazyConnect: true, enableOfflineQueue: false });
  offline.on('error', () => {});
  return offline;
}

/** What BullMQ keeps of a queue, ids aside: its jobs, their order, its events and counters. */
async function bullState(prefix: string, ids: string[]): Promise<unknown> {
  const bull = `{${prefix}}:jobs`;
  const events = await redis.xrange(`${bull}:events`, '-', '+');
  return {
    jobs: await Promise.all(ids.map((id) => redis.hgetall(`${bull}:${id}`))),
    wait: await redis.lrange(`${bull}:wait`, 0, -1),
    counter: await redis.get(`${bull}:id`),
    marker: await redis.zrange(`${bull}:marker`, '0', '-1', 'WITHSCORES'),
    events: events.map(([, fields]) => fields),
  };
}

describe('records and adds in one script', () => {
  it('writes the records and BullMQ state of the two calls it replaces, for one job and for a batch', async () => {
    for (const count of [1, 3]) {
      const prefix = `ar${randomBytes(3).toString('hex')}`;
      const together = place(prefix);
      const apart = place(`${prefix}x`);
      const adds = new RecordedAdds(redis, together.queue);
      const createdAt = Date.now();
      const jobs: NewJob[] = Array.from({ length: count }, (_, i) => ({
        id: randomUUID(),
        type: 'simulate',
        maxAttempts: 2,
        ...(i === 1 ? { tags: ['a', 'b c'] } : {}),
      }));
      const options = JobOptions.parse({ attempts: 2 });
      const bulk: BullJob[] = jobs.map((job, i) => ({
        name: job.type,
        data: { steps: i + 1 },
        opts: bullJobOptions(job.id, options, 60, createdAt),
      }));
      expect(bulk.every((b) => RecordedAdds.fits(b.opts))).toBe(true);

      let added: Promise<string[]> | undefined;
      const one = together.store.create(jobs, 'owner-1', createdAt, (records) => {
        const sent = adds.add(
          together.store.unfinished.key,
          jobs.map((job) => together.store.keys(job.id).record),
          records,
          bulk,
        );
        added = Promise.all(sent.adds);
        return sent.done;
      });
      const two = apart.store.create(jobs, 'owner-1', createdAt);
      const [, ids] = await Promise.all([one.written, added, two.written, apart.queue.addBulk(bulk)]);
      expect(ids).toEqual(jobs.map((job) => job.id));

      expect(one.records).toEqual(two.records);
      for (const job of jobs) {
        expect(await redis.hgetall(together.store.keys(job.id).record)).toEqual(
          await redis.hgetall(apart.store.keys(job.id).record),
        );
      }
      expect(await redis.zrange(together.store.unfinished.key, '0', '-1', 'WITHSCORES')).toEqual(
        await redis.zrange(apart.store.unfinished.key, '0', '-1', 'WITHSCORES'),
      );
      const jobIds = jobs.map((job) => job.id);
      const state = await bullState(prefix, jobIds);
      expect(state).toEqual(await bullState(`${prefix}x`, jobIds));
      // And BullMQ reads the jobs back as its own.
      const read = await Job.fromId(together.queue, jobs[0]?.id as string);
      expect(read?.opts.attempts).toBe(2);
      expect(read?.data).toEqual({ steps: 1 });
    }
  });

  it('leaves delayed and prioritized jobs, and parents, to BullMQ’s other scripts', () => {
    const options = JobOptions.parse({});
    const opts = bullJobOptions(randomUUID(), options, 60);
    expect(RecordedAdds.fits(opts)).toBe(true);
    expect(RecordedAdds.fits({ ...opts, delay: 1 })).toBe(false);
    expect(RecordedAdds.fits({ ...opts, priority: 3 })).toBe(false);
    expect(RecordedAdds.fits({ ...opts, parent: { id: 'p', queue: 'q' } })).toBe(false);
    expect(RecordedAdds.fits({ ...opts, deduplication: { id: 'd' } })).toBe(false);
  });

  it('rejects, sending nothing, when BullMQ refuses a job', async () => {
    const prefix = `ar${randomBytes(3).toString('hex')}`;
    const { store, queue } = place(prefix);
    const adds = new RecordedAdds(redis, queue);
    const id = randomUUID();
    const records = store.create([{ id, type: 'simulate', maxAttempts: 1 }], undefined, Date.now(), () =>
      Promise.resolve(),
    ).records;
    // BullMQ's own check: a job id may not be an integer.
    const sent = adds.add(store.unfinished.key, [store.keys(id).record], records, [
      { name: 'simulate', data: {}, opts: { jobId: '12' } },
    ]);
    const [added, done] = await Promise.allSettled([Promise.all(sent.adds), sent.done]);
    expect(added).toMatchObject({ status: 'rejected', reason: { message: 'Custom Id cannot be integers' } });
    expect(done).toMatchObject({ status: 'rejected', reason: { message: 'Custom Id cannot be integers' } });
    expect(await redis.exists(store.keys(id).record)).toBe(0);
  });
  it('rejects both, and nothing else, when the call fails', async () => {
    const prefix = `ar${randomBytes(3).toString('hex')}`;
    const { store, queue } = place(prefix);
    const offline = offlineConnection();
    const adds = new RecordedAdds(offline, queue);
    const ids = [randomUUID(), randomUUID()];
    const { records } = store.create(
      ids.map((id) => ({ id, type: 'simulate', maxAttempts: 1 })),
      undefined,
      Date.now(),
      () => Promise.resolve(),
    );
    const sent = adds.add(
      store.unfinished.key,
      ids.map((id) => store.keys(id).record),
      records,
      ids.map((id) => ({ name: 'simulate', data: {}, opts: { jobId: id } })),
    );
    const [added, done] = await Promise.allSettled([Promise.all(sent.adds), sent.done]);
    expect(added.status).toBe('rejected');
    expect(done.status).toBe('rejected');
    offline.disconnect();
  });
});

/** Shows `see` every command `connection` is asked to send, as it is asked. */
function onSend(connection: RedisClient, see: (command: { name: string; args: unknown[] }) => void): void {
  const send = connection.sendCommand.bind(connection);
  connection.sendCommand = ((command: { name: string; args: unknown[] }, stream?: unknown) => {
    see(command);
    return send(command as never, stream as never);
  }) as typeof connection.sendCommand;
}

/** The names of the commands `connection` is asked to send, in order. */
function commandsOf(connection: RedisClient): string[] {
  const sent: string[] = [];
  onSend(connection, (command) => sent.push(command.name));
  return sent;
}

/**
 * A connection of this test's own, and the names of the commands it sends, in order (once it is
 * ready: ioredis sends a command queued while it connects a second time).
 */
async function watchedConnection(): Promise<{ connection: Redis; sent: string[] }> {
  const connection = new Redis(inject('redisUrl'));
  await connection.ping();
  return { connection, sent: commandsOf(connection) };
}

const isScriptCall = (name: string) => name.startsWith('eval');
const scriptCalls = (sent: string[]) => sent.filter(isScriptCall);

/**
 * The number of jobs in each add-with-records call `connection` sends, in order: its keys are
 * BullMQ's, the unfinished set's, then one record's per job (EVALSHA's second argument counts them).
 */
function jobsPerCall(connection: RedisClient): number[] {
  const calls: number[] = [];
  onSend(connection, (command) => {
    if (isScriptCall(command.name)) calls.push(Number(command.args[1]) - BULL_KEYS - 1);
  });
  return calls;
}

/** The API's command connection, ready: its writes are corked until the end of a turn (src/redis.ts). */
async function commandConnection(): Promise<RedisClient> {
  const connection = createRedis({ url: inject('redisUrl'), cluster: false, commandTimeoutMs: 5_000 }, 'command');
  await connection.ping();
  return connection;
}

/** Whether `connection` holds writes back (corked until the end of the turn, src/redis.ts). */
const holdsWrites = (connection: RedisClient) =>
  (connection as unknown as { stream: { writableCorked: number } }).stream.writableCorked > 0;

/**
 * One caller's share of a call through `adds`, as jobs/enqueue makes it: the records, the adds,
 * then the store's `follow` (or `follow` given here in its place).
 */
function share(
  store: JobStore,
  adds: RecordedAdds,
  jobs: NewJob[],
  options: { owner?: string; jobId?: (job: NewJob) => string; follow?: () => Promise<unknown> } = {},
): { written: Promise<unknown>; added: Promise<string[]> } {
  const { owner, jobId = (job) => job.id } = options;
  let added: Promise<string[]> | undefined;
  const { written } = store.create(jobs, owner, Date.now(), (records, follow) => {
    const sent = adds.add(
      store.unfinished.key,
      jobs.map((job) => store.keys(job.id).record),
      records,
      jobs.map((job) => ({ name: job.type, data: { steps: 1 }, opts: { jobId: jobId(job) } })),
      options.follow ?? follow,
    );
    added = Promise.all(sent.adds);
    return sent.done;
  });
  return { written, added: added as Promise<string[]> };
}

/** {@link share}'s outcome: BullMQ's ids, or the first reason the adds or the writes failed. */
function submit(store: JobStore, adds: RecordedAdds, jobs: NewJob[], options?: Parameters<typeof share>[3]) {
  const { written, added } = share(store, adds, jobs, options);
  // The adds' own reason first (a refused job); the writes then fail with "not built".
  return Promise.allSettled([added, written]).then(([ids, writes]) => {
    if (ids.status === 'rejected') throw ids.reason;
    if (writes.status === 'rejected') throw writes.reason;
    return ids.value;
  });
}

const newJobs = (count: number): NewJob[] =>
  Array.from({ length: count }, () => ({ id: randomUUID(), type: 'simulate', maxAttempts: 1 }));

describe('the adds of one turn, in one call', () => {
  it('sends the callers of one turn as one call; each hears its own jobs, and every job is written and queued', async () => {
    const prefix = `ar${randomBytes(3).toString('hex')}`;
    const { store, queue } = place(prefix);
    const { connection, sent } = await watchedConnection();
    const adds = new RecordedAdds(connection, queue);
    const callers = [newJobs(1), newJobs(3), newJobs(1)];
    const answers = await Promise.all(callers.map((jobs) => submit(store, adds, jobs)));
    expect(answers).toEqual(callers.map((jobs) => jobs.map((job) => job.id)));
    expect(scriptCalls(sent)).toHaveLength(1);
    for (const job of callers.flat()) {
      expect(await redis.hget(store.keys(job.id).record, 'state')).toBe('queued');
      expect((await queue.getJob(job.id))?.id).toBe(job.id);
    }
    expect(await queue.getWaitingCount()).toBe(5);
    // The next turn's caller starts a call of its own.
    await submit(store, adds, newJobs(1));
    expect(scriptCalls(sent)).toHaveLength(2);
    await connection.quit();
  });

  it(`sends a call once it holds ${SEND_AT_JOBS} jobs, and carries at most ${MAX_JOBS_PER_CALL}: a busier turn sends several`, async () => {
    const prefix = `ar${randomBytes(3).toString('hex')}`;
    const { store, queue } = place(prefix);
    const connection = new Redis(inject('redisUrl'));
    await connection.ping();
    const calls = jobsPerCall(connection);
    const adds = new RecordedAdds(connection, queue);
    const callers = [newJobs(10), newJobs(95), newJobs(10), newJobs(10), newJobs(5), newJobs(1)];
    const answers = await Promise.all(callers.map((jobs) => submit(store, adds, jobs)));
    expect(answers).toEqual(callers.map((jobs) => jobs.map((job) => job.id)));
    // 10 (with 95 more it would pass 100) | 95 | 10 + 10 (16 or more: at once) | 5 + 1 (the turn's end)
    expect(calls).toEqual([10, 95, 20, 6]);
    expect(await queue.getWaitingCount()).toBe(131);
    await connection.quit();
  });

  it(`sends a call of ${SEND_AT_JOBS} jobs before its turn ends, so that Redis runs it while the turn's other requests are read`, async () => {
    const prefix = `ar${randomBytes(3).toString('hex')}`;
    const { store, queue } = place(prefix);
    const connection = await commandConnection();
    try {
      const calls = jobsPerCall(connection);
      const adds = new RecordedAdds(connection, queue);
      const first = Array.from({ length: SEND_AT_JOBS }, () => submit(store, adds, newJobs(1)));
      // Still the turn of those adds: their call was sent, and the connection holds nothing back.
      expect(calls).toEqual([SEND_AT_JOBS]);
      expect(holdsWrites(connection)).toBe(false);
      // The next caller's call waits for the end of the turn, for callers that may join it.
      const next = submit(store, adds, newJobs(1));
      expect(calls).toEqual([SEND_AT_JOBS]);
      const answers = await Promise.all([...first, next]);
      expect(answers.flat()).toHaveLength(SEND_AT_JOBS + 1);
      expect(calls).toEqual([SEND_AT_JOBS, 1]);
      expect(await queue.getWaitingCount()).toBe(SEND_AT_JOBS + 1);
    } finally {
      await connection.quit();
    }
  });

  it('refuses a caller whose job BullMQ refuses at once, alone: the others of its turn are queued in one call', async () => {
    // BullMQ's checks run as each caller adds (in its own turn); a refused caller never joins
    // the call. (Inside the call, BullMQ's standard add refuses nothing a check has passed.)
    const prefix = `ar${randomBytes(3).toString('hex')}`;
    const { store, queue } = place(prefix);
    const { connection, sent } = await watchedConnection();
    const [good, bad, alsoGood] = [newJobs(1), newJobs(1), newJobs(2)];
    const adds = new RecordedAdds(connection, queue);
    const [ok, refused, alsoOk] = await Promise.allSettled([
      submit(store, adds, good),
      // BullMQ's own check: a job id may not be an integer.
      submit(store, adds, bad, { jobId: () => '12' }),
      submit(store, adds, alsoGood),
    ]);
    expect(ok).toEqual({ status: 'fulfilled', value: [good[0]?.id] });
    expect(refused).toMatchObject({ status: 'rejected', reason: { message: 'Custom Id cannot be integers' } });
    expect(alsoOk).toEqual({ status: 'fulfilled', value: alsoGood.map((job) => job.id) });
    expect(scriptCalls(sent)).toHaveLength(1);
    expect(await queue.getWaitingCount()).toBe(3);
    expect(await redis.exists(store.keys(bad[0]?.id as string).record)).toBe(0);
    await connection.quit();
  });

  it('refuses every caller of a call that fails', async () => {
    const prefix = `ar${randomBytes(3).toString('hex')}`;
    const { store, queue } = place(prefix);
    const offline = offlineConnection();
    const sent = commandsOf(offline);
    const adds = new RecordedAdds(offline, queue);
    const results = await Promise.allSettled([submit(store, adds, newJobs(1)), submit(store, adds, newJobs(2))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    // One call, shared by both.
    expect(scriptCalls(sent)).toHaveLength(1);
    offline.disconnect();
  });

  it('leaves in the turn it is sent, on a connection that holds writes to the end of a turn', async () => {
    const prefix = `ar${randomBytes(3).toString('hex')}`;
    const { store, queue } = place(prefix);
    const connection = await commandConnection();
    const adds = new RecordedAdds(connection, queue);
    const submitted = submit(store, adds, newJobs(1));
    // After the gathering's own setImmediate, in the same check phase: it was sent, not held.
    await new Promise((resolve) => setImmediate(resolve));
    expect(holdsWrites(connection)).toBe(false);
    await submitted;
    await connection.quit();
  });

  it('settles every caller of a call, even when one caller’s follow-up throws', async () => {
    const prefix = `ar${randomBytes(3).toString('hex')}`;
    const { store, queue } = place(prefix);
    const adds = new RecordedAdds(redis, queue);
    const [first, second] = [newJobs(1), newJobs(1)];
    const broken = share(store, adds, first, {
      follow: () => {
        throw new Error('follow-up broke');
      },
    });
    const fine = share(store, adds, second);
    const [brokenWrite, fineWrite, fineAdd] = await Promise.allSettled([broken.written, fine.written, fine.added]);
    expect(brokenWrite).toMatchObject({ status: 'rejected', reason: { message: 'follow-up broke' } });
    expect(fineWrite.status).toBe('fulfilled');
    expect(fineAdd).toEqual({ status: 'fulfilled', value: [second[0]?.id] });
    await broken.added;
  });

  it('sends an owner’s index and feed entries after the call that writes the records they name', async () => {
    const prefix = `ar${randomBytes(3).toString('hex')}`;
    const queue = createQueue(redis, { prefix, queueName: 'jobs', retentionSeconds: 60 });
    queues.push(queue);
    const { connection, sent } = await watchedConnection();
    // The store's own writes (index, feed) go on the watched connection too, as in the API.
    const store = new JobStore(connection, { prefix, logMaxLines: 10, retentionSeconds: 60 });
    const adds = new RecordedAdds(connection, queue);
    const jobs = newJobs(2);
    await Promise.all([
      submit(store, adds, jobs, { owner: 'owner-1' }),
      submit(store, adds, newJobs(1), { owner: 'owner-2' }),
    ]);
    const call = sent.findIndex(isScriptCall);
    const zadd = sent.indexOf('zadd');
    expect(call).toBeGreaterThanOrEqual(0);
    expect(zadd).toBeGreaterThan(call);
    expect(await connection.zcard(store.indexKey('owner-1'))).toBe(2);
    expect(await connection.zcard(store.indexKey('owner-2'))).toBe(1);
    await connection.quit();
  });
});

describe('what the script borrows from BullMQ', () => {
  it('is the pinned version’s shipped addStandardJob, unchanged', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    // Pinned exactly: any other version must pass this file first.
    expect(manifest.dependencies.bullmq).toBe(bullVersion);
    expect(bullVersion).toBe('6.7.0');
    expect(bullAddStandardJob.name).toBe('addStandardJob');
    expect(bullAddStandardJob.keys).toBe(BULL_KEYS);
    expect(createHash('sha256').update(bullAddStandardJob.content).digest('hex')).toBe(
      '2eee45c9ffc54d24681b737f926016a7f7464f0d32a5f87f623bffa2fc55413c',
    );
  });

  it('is what BullMQ asks a client to run for a standard add: its queue keys, then 3 arguments', async () => {
    const { queue } = place(`ar${randomBytes(3).toString('hex')}`);
    let asked: { name: string; args: unknown[] } | undefined;
    const client = {
      runCommand(name: string, args: unknown[]) {
        asked = { name, args };
        return Promise.resolve('x');
      },
    };
    const job = new Job(queue, 'simulate', { steps: 1 }, bullJobOptions('an-id', JobOptions.parse({}), 60), 'an-id');
    const adding = job.addJob(client as never);
    // Built at once, before anything is awaited: RecordedAdds sends the call in the same turn.
    expect(asked?.name).toBe(bullStandardAdd);
    await adding;
    const keys = queue.keys;
    expect(asked?.args.slice(0, BULL_KEYS)).toEqual([
      keys.wait,
      keys.paused,
      keys.meta,
      keys.id,
      keys.completed,
      keys.delayed,
      keys.active,
      keys.events,
      keys.marker,
    ]);
    expect(asked?.args).toHaveLength(BULL_KEYS + BULL_ARGS);
    expect(asked?.args[BULL_KEYS + 1]).toBe(JSON.stringify({ steps: 1 }));
  });
});
