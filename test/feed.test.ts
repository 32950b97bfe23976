/**
 * The feed (README, "The feed"): `GET /events/feed` streams every job of an API key — submitted
 * by any client of that key — as it is created and changes, and never one of another key;
 * filters by state, type and tag; resumes with Last-Event-ID (what was missed, conflated per
 * job, and a `reset` when some of it is no longer kept); needs a key. Tags are stored, returned
 * and listed (`GET /jobs?tag=`).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { call, listPage, submitJob } from './support/http/api.js';
import { type LiveWatch, liveWatch } from './support/sse/live-watch.js';
import { readStreamUntil } from './support/sse/sse.js';

const KEY_A = 'feed-key-a-0123456789';
const KEY_B = 'feed-key-b-0123456789';
const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('the feed of an API key', () => {
  let h: Harness;
  const feeds: LiveWatch[] = [];
  beforeAll(async () => {
    h = await startHarness({ env: { API_KEYS: `${KEY_A},${KEY_B}`, FEED_MAX_EVENTS: '100' } });
  });
  // Each test closes the feeds it opened: a stream left open would be its leak.
  afterEach(() => {
    for (const feed of feeds.splice(0)) feed.close();
  });
  afterAll(async () => {
    await h?.close();
  });

  const open = new Set<LiveWatch>();
  /** A feed opened as `key`, with `query`; returned once the server holds it. */
  const openFeed = async (key: string, query = '', headers: Record<string, string> = {}) => {
    // Streams closed by the test are gone from the server first (nothing else streams here).
    await waitFor(() => h.api.connections.size === open.size, 'closed feeds to go');
    const watch = liveWatch(`${h.url}/events/feed${query}`, { headers: { ...as(key), ...headers }, endless: true });
    const feed: LiveWatch = {
      ...watch,
      events: watch.events,
      close() {
        open.delete(feed);
        watch.close();
      },
    };
    feeds.push(feed);
    open.add(feed);
    // Its first frame has no event to wait for: wait until the server holds the stream.
    await waitFor(() => h.api.connections.size === open.size, 'the feed to open');
    return feed;
  };
  const submit = (key: string, body: Parameters<typeof submitJob>[1]) => submitJob(h, body, as(key));

  it("receives the jobs another client of the key submits, from creation to done, and never another key's", async () => {
    const mine = await openFeed(KEY_A);
    const theirs = await openFeed(KEY_B);
    const job = await submit(KEY_A, { data: { steps: 3, stepMs: 20 }, tags: ['nightly'] });
    const other = await submit(KEY_B, { data: { steps: 1, stepMs: 0 } });
    const done = await mine.next((e) => e.type === 'done' && e.data.jobId === job.id, 10_000);
    expect(done.data.status).toBe('completed');
    const events = mine.events.filter((e) => e.data.jobId === job.id);
    // Created (queued), started, every step, completed, done: in order, each with its feed id.
    expect(events.map((e) => `${e.type}:${e.data.state ?? e.data.status}:${e.data.progress ?? ''}`)).toEqual([
      'progress:queued:0',
      'progress:active:0',
      'progress:active:33.33',
      'progress:active:66.67',
      'progress:active:100',
      'progress:completed:100',
      'done:completed:',
    ]);
    for (const e of events.filter((e) => e.type === 'progress')) {
      expect(e.data).toMatchObject({ type: 'simulate', tags: ['nightly'] });
    }
    const ids = events.map((e) => e.id);
    expect(ids.every((id) => /^\d+-\d+$/.test(id))).toBe(true);
    expect([...ids].sort(compareFeedIds)).toEqual(ids);
    // Key B's feed got its own job, and nothing of key A's.
    await theirs.next((e) => e.type === 'done' && e.data.jobId === other.id, 10_000);
    expect(theirs.events.some((e) => e.data.jobId === job.id)).toBe(false);
    expect(mine.events.some((e) => e.data.jobId === other.id)).toBe(false);
  });

  it('filters by state (entering, in, or leaving), type and tag', async () => {
    const running = await openFeed(KEY_A, '?state=active');
    const tagged = await openFeed(KEY_A, '?tag=urgent,vip');
    const untyped = await openFeed(KEY_A, '?type=nothing-of-the-kind');
    const plain = await submit(KEY_A, { data: { steps: 1, stepMs: 0 } });
    const vip = await submit(KEY_A, { data: { steps: 1, stepMs: 0 }, tags: ['vip', 'eu'] });
    await running.next((e) => e.type === 'done' && e.data.jobId === vip.id, 10_000);
    await tagged.next((e) => e.type === 'done' && e.data.jobId === vip.id, 10_000);
    // Running jobs: from their start to their end (the event that leaves `active` included).
    const trail = running.events.filter((e) => e.data.jobId === plain.id).map((e) => e.data.state ?? e.data.status);
    expect(trail).toEqual(['active', 'active', 'completed', 'completed']);
    expect(tagged.events.some((e) => e.data.jobId === plain.id)).toBe(false);
    expect(tagged.events.filter((e) => e.data.jobId === vip.id).at(0)?.data).toMatchObject({ state: 'queued' });
    expect(untyped.events).toEqual([]);
    const bad = await call(h, 'GET', '/events/feed?tag=no%20spaces', { headers: as(KEY_A) });
    expect(bad.status).toBe(400);
  });

  it('resumes with Last-Event-ID: what was missed, conflated per job; nothing twice', async () => {
    const first = await openFeed(KEY_A);
    const before = await submit(KEY_A, { data: { steps: 1, stepMs: 0 } });
    const seen = await first.next((e) => e.type === 'done' && e.data.jobId === before.id, 10_000);
    first.close();
    // While away: two jobs run to the end.
    const missed = [await submit(KEY_A, { data: { steps: 4, stepMs: 10 } }), await submit(KEY_A, { data: {} })];
    await waitFor(
      async () => (await listPage(h, { state: 'completed' }, as(KEY_A))).items.some((j) => j.id === missed[0]?.id),
      'the first missed job to complete',
    );
    const resumed = await openFeed(KEY_A, '', { 'last-event-id': seen.id });
    const done = await resumed.next((e) => e.type === 'done' && e.data.jobId === missed[1]?.id, 15_000);
    expect(done.data.status).toBe('completed');
    // Nothing it had; each missed job once, its latest state then its done (the one still
    // running at the resume goes on live from there).
    expect(resumed.events.some((e) => e.data.jobId === before.id)).toBe(false);
    const first0 = resumed.events.filter((e) => e.data.jobId === missed[0]?.id).map((e) => e.type);
    expect(first0).toEqual(['progress', 'done']);
    const ids = resumed.events.map((e) => e.id);
    expect([...ids].sort(compareFeedIds)).toEqual(ids);
    expect(compareFeedIds(ids[0] as string, seen.id)).toBeGreaterThan(0);
  });

  it('says `reset` when what was missed is no longer kept (FEED_MAX_EVENTS)', async () => {
    const feed = await openFeed(KEY_B);
    const job = await submit(KEY_B, { data: { steps: 1, stepMs: 0 } });
    const seen = await feed.next((e) => e.type === 'done' && e.data.jobId === job.id, 10_000);
    feed.close();
    // More than 100 changes while away: a batch of 60 one-step jobs is about 300.
    const res = await call(h, 'POST', '/jobs/batch', {
      body: { jobs: Array.from({ length: 60 }, () => ({ type: 'simulate', data: { steps: 1, stepMs: 0 } })) },
      headers: as(KEY_B),
    });
    expect(res.status).toBe(202);
    const jobs = (res.body.items as { id: string }[]).map((j) => j.id);
    const last = jobs.at(-1);
    await waitFor(async () => {
      const states = await Promise.all(
        jobs.map(async (id) => (await call(h, 'GET', `/jobs/${id}`, { headers: as(KEY_B) })).body.state),
      );
      return states.every((state) => state === 'completed');
    }, 'the batch to complete');
    const { text } = await readStreamUntil(`${h.url}/events/feed`, (t) => t.includes(`"jobId":"${last}","status"`), {
      headers: { ...as(KEY_B), 'last-event-id': seen.id },
      timeoutMs: 15_000,
    });
    expect(text.indexOf('event: reset')).toBeGreaterThan(0);
    expect(text.indexOf('event: reset')).toBeLessThan(text.indexOf('event: progress'));
  });

  it('needs a key: a job stream token is not enough; without API keys it is a 403', async () => {
    expect((await call(h, 'GET', '/events/feed')).status).toBe(401);
    const job = await submit(KEY_A, { data: { steps: 1, stepMs: 0 } });
    const token = new URL(`${h.url}${(job as unknown as { links: { events: string } }).links.events}`).searchParams.get(
      'token',
    );
    expect((await call(h, 'GET', `/events/feed?token=${token}`)).status).toBe(401);
    const open = await startHarness({ worker: false });
    try {
      const res = await call(open, 'GET', '/events/feed');
      expect(res.status).toBe(403);
      expect(res.body.type).toBe('/problems/listing-needs-key');
    } finally {
      await open.close();
    }
  });
});

describe('the feed counts as a stream', () => {
  it('takes a stream slot: past MAX_STREAMS_PER_CLIENT it is a 429; its slot is given back when it closes', async () => {
    const h = await startHarness({ worker: false, env: { API_KEYS: KEY_A, MAX_STREAMS_PER_CLIENT: '1' } });
    try {
      const first = liveWatch(`${h.url}/events/feed`, { headers: as(KEY_A), endless: true });
      await waitFor(() => h.api.connections.size === 1, 'the first feed to open');
      const second = await call(h, 'GET', '/events/feed', { headers: as(KEY_A) });
      expect(second.status).toBe(429);
      first.close();
      await waitFor(async () => {
        const again = await fetch(`${h.url}/events/feed`, {
          headers: as(KEY_A),
          signal: AbortSignal.timeout(500),
        }).catch(() => undefined);
        const ok = again?.status === 200;
        await again?.body?.cancel().catch(() => {});
        return ok;
      }, 'a slot for a new feed');
    } finally {
      await h.close();
    }
  });
});

describe('tags', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: false, env: { API_KEYS: KEY_A } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('are stored, returned, and listed with GET /jobs?tag= (with the other filters)', async () => {
    const post = (body: unknown, path = '/jobs') => call(h, 'POST', path, { body, headers: as(KEY_A) });
    const a = (await post({ type: 'simulate', tags: ['report', 'eu'] })).body as { id: string; tags: string[] };
    const b = (await post({ type: 'simulate', tags: ['report'] })).body as { id: string };
    await post({ type: 'simulate' });
    const batch = await post({ jobs: [{ type: 'simulate', tags: ['eu'] }] }, '/jobs/batch');
    const c = (batch.body.items as { id: string; tags: string[] }[])[0];
    expect(a.tags).toEqual(['report', 'eu']);
    expect(c?.tags).toEqual(['eu']);
    const ids = async (query: Record<string, string>) =>
      (await listPage(h, { ...query, limit: 10 }, as(KEY_A))).items.map((j) => j.id);
    expect(await ids({ tag: 'report' })).toEqual([b.id, a.id]);
    expect(await ids({ tag: 'eu' })).toEqual([c?.id, a.id]);
    expect(await ids({ tag: 'eu', type: 'simulate', state: 'queued' })).toEqual([c?.id, a.id]);
    expect(await ids({ tag: 'none' })).toEqual([]);
    expect((await call(h, 'GET', `/jobs/${a.id}`, { headers: as(KEY_A) })).body.tags).toEqual(['report', 'eu']);
  });

  it('are validated: a few short labels, each once', async () => {
    const post = (tags: unknown) => call(h, 'POST', '/jobs', { body: { type: 'simulate', tags }, headers: as(KEY_A) });
    for (const tags of [
      ['has space'],
      ['x'.repeat(65)],
      Array.from({ length: 11 }, (_, i) => `t${i}`),
      ['a', 'a'],
      [''],
      'eu',
    ]) {
      const res = await post(tags);
      expect(res.status, JSON.stringify(tags)).toBe(422);
      expect(JSON.stringify(res.body.errors)).toContain('tags');
    }
  });
});

function compareFeedIds(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('-').map(Number);
  const [bm = 0, bn = 0] = b.split('-').map(Number);
  return am - bm || an - bn;
}
