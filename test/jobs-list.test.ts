/**
 * `GET /jobs`: `{items, nextCursor}`, newest first, filtered by state and type, and a cursor
 * that walks every job exactly once — even while new jobs keep arriving.
 *
 * The file's 45 jobs: every third is delayed for an hour (stays `queued`), the rest run at
 * once and complete, so the list holds two states side by side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, waitFor } from './support/harness/harness.js';
import { call, expectProblem, type Job, listPage, submitJob, walkPages } from './support/http/api.js';
import { bearer, KEY_A, startKeyedHarness } from './support/http/security.js';

const JOBS = 45;
const HOUR_MS = 3_600_000;

let h: Harness;
/** The jobs of `beforeAll`, in submission order (oldest first). */
let created: Job[] = [];
const queuedIds = new Set<string>();

/** Jobs are listed to the key that created them (an open service lists nothing: test/open-mode.test.ts). */
const AUTH = bearer(KEY_A);

beforeAll(async () => {
  h = await startKeyedHarness();
  created = [];
  for (let i = 0; i < JOBS; i++) {
    // One at a time, so submission order is creation order.
    const delayed = i % 3 === 0;
    const job = await submitJob(
      h,
      { data: { steps: 1, stepMs: 0 }, ...(delayed ? { options: { delayMs: HOUR_MS } } : {}) },
      AUTH,
    );
    created.push(job);
    if (delayed) queuedIds.add(job.id);
  }
  const completed = JOBS - queuedIds.size;
  await waitFor(
    async () => (await listPage(h, { state: 'completed', limit: 100 }, AUTH)).items.length === completed,
    `${completed} completed jobs`,
  );
});
afterAll(async () => {
  await h?.close();
});

const ids = (items: Job[]) => items.map((job) => job.id);

/** Asserts newest first: createdAt never increases down the list, and submission order agrees. */
function expectNewestFirst(items: Job[]): void {
  const times = items.map((job) => Date.parse(job.createdAt));
  for (let i = 1; i < times.length; i++) {
    expect(times[i], `item ${i} is newer than item ${i - 1}`).toBeLessThanOrEqual(times[i - 1] as number);
  }
  // Jobs submitted one after another in different milliseconds appear in reverse order.
  const submitted = new Map(created.map((job, i) => [job.id, i]));
  const order = items.map((job) => submitted.get(job.id)).filter((i): i is number => i !== undefined);
  for (let i = 1; i < order.length; i++) {
    const [newer, older] = [created[order[i - 1] as number] as Job, created[order[i] as number] as Job];
    if (newer.createdAt !== older.createdAt) expect(order[i]).toBeLessThan(order[i - 1] as number);
  }
}

describe('GET /jobs', () => {
  it('answers {items, nextCursor}, newest first, 20 by default', async () => {
    const page = await listPage(h, {}, AUTH);
    expect(page.items).toHaveLength(20);
    expect(typeof page.nextCursor).toBe('string');
    expectNewestFirst(page.items);
    expect(page.items[0]?.id).toBe(created.at(-1)?.id);
    // Items are full job resources.
    const newest = page.items[0] as Job;
    expect(newest.links.self).toBe(`/jobs/${newest.id}`);
  });

  it('walks every job exactly once with limit 7, newest first, ending with nextCursor null', async () => {
    const pages = await walkPages(h, { limit: 7 }, { headers: AUTH });
    expect(pages.map((p) => p.items.length)).toEqual([7, 7, 7, 7, 7, 7, 3]);
    expect(pages.at(-1)?.nextCursor).toBeNull();
    const all = pages.flatMap((p) => p.items);
    expect(new Set(ids(all)).size).toBe(all.length);
    expect(ids(all).sort()).toEqual(ids(created).sort());
    expectNewestFirst(all);
    // The walk is the same list one big page gives.
    expect(ids(all)).toEqual(ids((await listPage(h, { limit: 100 }, AUTH)).items));
  });

  it('filters by state, also across pages', async () => {
    const queued = (await walkPages(h, { state: 'queued', limit: 4 }, { headers: AUTH })).flatMap((p) => p.items);
    expect(ids(queued).sort()).toEqual([...queuedIds].sort());
    expect(queued.every((job) => job.state === 'queued' && job.runAt !== undefined)).toBe(true);
    expectNewestFirst(queued);

    const completed = (await walkPages(h, { state: 'completed', limit: 7 }, { headers: AUTH })).flatMap((p) => p.items);
    expect(completed).toHaveLength(JOBS - queuedIds.size);
    expect(completed.every((job) => job.state === 'completed' && !queuedIds.has(job.id))).toBe(true);
    expectNewestFirst(completed);

    const failed = await listPage(h, { state: 'failed' }, AUTH);
    expect(failed).toEqual({ items: [], nextCursor: null });
  });

  it('filters by type, alone and with state', async () => {
    const simulate = (await walkPages(h, { type: 'simulate', limit: 50 }, { headers: AUTH })).flatMap((p) => p.items);
    expect(simulate).toHaveLength(JOBS);
    expect(await listPage(h, { type: 'no-such-type' }, AUTH)).toEqual({ items: [], nextCursor: null });
    const both = await listPage(h, { type: 'simulate', state: 'queued', limit: 100 }, AUTH);
    expect(ids(both.items).sort()).toEqual([...queuedIds].sort());
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=x', 'limit'],
    ['limit=1.5', 'limit'],
    ['state=running', 'state'],
    ['state=', 'state'],
    ['cursor=not-a-cursor', 'cursor'],
    ['cursor=000000000000000%3A..', 'cursor'],
  ])('refuses %s with a 400 problem naming the parameter', async (query, field) => {
    const res = await call(h, 'GET', `/jobs?${query}`, { headers: AUTH });
    expectProblem(res, 400);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: `query.${field}` })]));
  });

  it('accepts the limits 1 and 100', async () => {
    expect((await listPage(h, { limit: 1 }, AUTH)).items).toHaveLength(1);
    expect((await listPage(h, { limit: 100 }, AUTH)).items).toHaveLength(JOBS);
  });

  it('sees every original job once while new jobs are added during the walk', async () => {
    const original = new Set(ids((await listPage(h, { limit: 100 }, AUTH)).items));
    const added: string[] = [];
    const pages = await walkPages(
      h,
      { limit: 7 },
      {
        between: async () => {
          // Three new jobs between pages: newer than anything the walk still has to visit.
          for (let i = 0; i < 3; i++) added.push((await submitJob(h, { data: { steps: 1, stepMs: 0 } }, AUTH)).id);
        },
        headers: AUTH,
      },
    );
    const seen = ids(pages.flatMap((p) => p.items));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => original.has(id)).sort()).toEqual([...original].sort());
    // The first page was read before any was added; the cursor never goes back to newer jobs.
    expect(seen.filter((id) => added.includes(id))).toEqual([]);
    expect(added.length).toBeGreaterThan(0);
    // A fresh walk sees them all, newest first.
    const fresh = ids((await walkPages(h, { limit: 7 }, { headers: AUTH })).flatMap((p) => p.items));
    expect(fresh).toHaveLength(original.size + added.length);
    expect(fresh.slice(0, added.length).sort()).toEqual([...added].sort());
  });
});
