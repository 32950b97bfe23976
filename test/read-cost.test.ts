/**
 * What a read costs Redis, counted: every command the server executes (INFO commandstats, Lua
 * scripts' own calls included) on a Redis of this file's own, around one request. A page of
 * `GET /jobs` reads a bounded number of records whatever the filter (a type has its own index;
 * a state filter stops after 100 record reads and hands back a cursor), so a flood of rare
 * filters cannot multiply into tens of thousands of commands. And reads are rate-limited per
 * client (`READ_RATE_LIMIT_PER_MINUTE`).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerId } from '../src/auth/api-keys.js';
import { parseConfig } from '../src/config.js';
import { JobStore } from '../src/jobs/store.js';
import { createLogger } from '../src/log.js';
import { type RunningApi, startApi } from '../src/server.js';
import type { Harness } from './support/harness/harness.js';
import {
  awayFromMinuteBoundary,
  bearer,
  KEY_A,
  KEY_B,
  KEYS,
  minuteWindow,
  send,
  startKeyedHarness,
  submitAs,
  TOKEN_SECRET,
} from './support/http/security.js';
import { type PrivateRedis, startPrivateRedis } from './support/redis/private-redis.js';

/** The size of the index the attack was measured on. */
const JOBS = 2_284;
const PREFIX = 'cost';

let redis: PrivateRedis;
let inspector: Redis;
let api: RunningApi;
let store: JobStore;
const figures: string[] = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  inspector = new Redis(redis.url);
  const config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    KEY_PREFIX: PREFIX,
    API_KEYS: KEYS,
    STREAM_TOKEN_SECRET: TOKEN_SECRET,
    READ_RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    // The reconciler walks 200 unfinished jobs per tick (~2,000 commands) in the background:
    // counted inside a request's window on a slow machine, it is not what a read costs.
    RECONCILE_INTERVAL_MS: '3600000',
  });
  api = await startApi(config, redis.url, createLogger('silent'));
  store = new JobStore(inspector, { prefix: PREFIX, logMaxLines: 100, retentionSeconds: 3600 });
  // KEY_A's jobs: all queued except every tenth, completed; none failed. Written the way the
  // API writes them, oldest first.
  const owner = ownerId(KEY_A);
  const base = Date.now() - JOBS;
  for (let i = 0; i < JOBS; i += 200) {
    const jobs = Array.from({ length: Math.min(200, JOBS - i) }, () => ({
      id: crypto.randomUUID(),
      type: 'simulate',
      maxAttempts: 1,
    }));
    const { records, written } = store.create(jobs, owner, base + i);
    await written;
    const pipeline = inspector.pipeline();
    records.forEach((record, j) => {
      if ((i + j) % 10 === 0) pipeline.hset(store.keys(record.id).record, 'state', 'completed');
    });
    await pipeline.exec();
  }
}, 60_000);
afterAll(async () => {
  console.log(`[read-cost] ${figures.join('; ')}`);
  await api?.close();
  inspector?.disconnect();
  await redis?.stop();
});

/** Commands Redis has executed so far (every command, scripts' calls included). */
async function executed(): Promise<number> {
  const stats = await inspector.info('commandstats');
  return [...stats.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Runs `requests` (at once) and returns the Redis commands they cost (the INFO calls taken out). */
async function cost(requests: () => Promise<unknown>): Promise<number> {
  const before = await executed();
  await requests();
  // The first INFO is counted once it has run.
  return (await executed()) - before - 1;
}

const list = (query: string) => send(api.url, 'GET', `/jobs?${query}`, { headers: bearer(KEY_A) });

describe(`GET /jobs over ${JOBS} jobs: Redis commands per request`, () => {
  it('an unknown type costs nothing: no job has it', async () => {
    let res: Awaited<ReturnType<typeof list>> | undefined;
    const n = await cost(async () => {
      res = await list('type=zzz&limit=1');
    });
    expect(res?.json).toEqual({ items: [], nextCursor: null });
    figures.push(`type=zzz&limit=1: ${n} commands (before: ~1,020)`);
    expect(n).toBe(0);
  });

  it('a page without a state filter reads what it shows, and one index read', async () => {
    let res: Awaited<ReturnType<typeof list>> | undefined;
    const n = await cost(async () => {
      res = await list('limit=1');
    });
    expect(res?.json?.items).toHaveLength(1);
    figures.push(`limit=1: ${n} commands`);
    // The record and the index; the job is queued, so one script reads its place (4 commands
    // and 3 for the job), and the capacity is read (3, at most once per 5 s).
    expect(n).toBeLessThanOrEqual(2 + 1 + 4 + 3 + 3);
    const page = await cost(() => list('limit=100&type=simulate'));
    figures.push(`limit=100&type=simulate: ${page}`);
    // The records and the index, and one script that reads where the page's queued jobs stand
    // in BullMQ's line (jobs/queue-positions): 3 commands, 2 per queued job, and one bounded
    // scan of the wait list.
    expect(page).toBeLessThanOrEqual(101 + 1 + 3 + 2 * 100 + 1);
  });

  it('a state no job has stops after 100 record reads, with a cursor to go on from', async () => {
    let res: Awaited<ReturnType<typeof list>> | undefined;
    const n = await cost(async () => {
      res = await list('state=failed&limit=1');
    });
    expect(res?.json?.items).toEqual([]);
    expect(typeof res?.json?.nextCursor).toBe('string');
    figures.push(`state=failed&limit=1: ${n} commands`);
    expect(n).toBeLessThanOrEqual(110);
    // Following the cursor gets to the end, each page as bounded.
    let cursor = res?.json?.nextCursor as string | null;
    let pages = 1;
    let most = n;
    while (cursor !== null) {
      expect(pages, 'pages').toBeLessThan(Math.ceil(JOBS / 100) + 2);
      let page: Awaited<ReturnType<typeof list>> | undefined;
      most = Math.max(
        most,
        await cost(async () => {
          page = await list(`state=failed&limit=1&cursor=${encodeURIComponent(cursor as string)}`);
        }),
      );
      expect(page?.status).toBe(200);
      cursor = page?.json?.nextCursor as string | null;
      pages++;
    }
    figures.push(`…walked in ${pages} pages, at most ${most} commands each`);
    expect(most).toBeLessThanOrEqual(110);
  });

  it('a sparse state still fills its page, within the same bound', async () => {
    let res: Awaited<ReturnType<typeof list>> | undefined;
    const n = await cost(async () => {
      res = await list('state=completed&limit=5');
    });
    const items = res?.json?.items as { state: string }[];
    expect(items).toHaveLength(5);
    expect(items.every((job) => job.state === 'completed')).toBe(true);
    figures.push(`state=completed&limit=5 (1 job in 10): ${n} commands`);
    expect(n).toBeLessThanOrEqual(110);
  });

  it('50 concurrent rare-filter requests cost at most 50 × the bound (before: 51,009 commands)', async () => {
    const n = await cost(() => Promise.all(Array.from({ length: 50 }, () => list('state=failed&limit=1'))));
    figures.push(`50 × state=failed&limit=1 at once: ${n} commands`);
    expect(n).toBeLessThanOrEqual(50 * 110);
  });
});

describe('the type index', () => {
  it('finds a rare type at once, however many jobs of other types are newer', async () => {
    const owner = 'type-index-owner';
    const rare = crypto.randomUUID();
    await store.create([{ id: rare, type: 'rare', maxAttempts: 1 }], owner, Date.now() - 10_000).written;
    const common = Array.from({ length: 500 }, () => ({ id: crypto.randomUUID(), type: 'common', maxAttempts: 1 }));
    await store.create(common, owner, Date.now()).written;
    let page: Awaited<ReturnType<JobStore['list']>> | undefined;
    const n = await cost(async () => {
      page = await store.list(owner, { type: 'rare' }, 1);
    });
    expect(page?.records.map((r) => r.id)).toEqual([rare]);
    expect(page?.nextCursor).toBeUndefined();
    expect(n).toBeLessThanOrEqual(2);
    // An expired record is dropped from the type's index and the owner's as it is met.
    await inspector.del(store.keys(rare).record);
    expect((await store.list(owner, { type: 'rare' }, 1)).records).toEqual([]);
    expect(await inspector.zcard(store.typeIndexKey(owner, 'rare'))).toBe(0);
    expect(await inspector.zcard(store.indexKey(owner))).toBe(500);
  });
});

describe('READ_RATE_LIMIT_PER_MINUTE=3', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startKeyedHarness({ READ_RATE_LIMIT_PER_MINUTE: '3', MAX_STREAMS_PER_CLIENT: '0' }, { worker: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("refuses a key's 4th read in a minute with 429 and Retry-After; other keys, submissions and streams are not counted", async () => {
    await awayFromMinuteBoundary();
    const window = minuteWindow();
    const job = await submitAs(h.url, KEY_A);
    const reads = [`/jobs/${job.id}`, `/jobs/${job.id}/logs`, '/jobs?limit=1'];
    for (const path of reads)
      expect((await send(h.url, 'GET', path, { headers: bearer(KEY_A) })).status, path).toBe(200);
    const fourth = await send(h.url, 'GET', `/jobs/${job.id}`, { headers: bearer(KEY_A) });
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('content-type')).toBe('application/problem+json');
    expect(fourth.json).toMatchObject({ type: '/problems/too-many-requests', limit: 3 });
    expect(fourth.json?.detail).toMatch(/3 reads per minute/);
    const retryAfter = Number(fourth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await send(h.url, 'GET', '/jobs?limit=1', { headers: bearer(KEY_A) })).status).toBe(429);
    // Another key has its own count; submitting and watching are other limits.
    expect((await send(h.url, 'GET', '/jobs?limit=1', { headers: bearer(KEY_B) })).status).toBe(200);
    expect((await submitAs(h.url, KEY_A)).id).toBeDefined();
    const stream = await send(h.url, 'GET', `/jobs/${job.id}/events`, { headers: bearer(KEY_A), timeoutMs: 300 });
    expect(stream.status).toBe(200);
    expect(minuteWindow(), 'the test stayed in one rate window').toBe(window);
  });
});
