/**
 * Without API keys, a job id is a capability (README, Security): knowing it is the only way to
 * read or cancel a job. So nothing enumerates ids — `GET /jobs` is a 403 problem whatever the
 * query, no job index is even kept, bull-board is off without ADMIN_PASSWORD (test/admin.test.ts),
 * and metrics name no job. With keys, `/metrics` needs a key like the job endpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './support/harness/harness.js';
import { bearer, KEY_A, send, startKeyedHarness, submitAs, tokenOf } from './support/http/security.js';

let open: Harness;
let keyed: Harness;
beforeAll(async () => {
  open = await startHarness({ worker: false });
  keyed = await startKeyedHarness({}, { worker: false });
});
afterAll(async () => {
  await Promise.all([open?.close(), keyed?.close()]);
});

/** Every key of the harness's prefix that could list jobs: the owner and type indexes. */
async function indexKeys(h: Harness): Promise<string[]> {
  const prefix = h.config.KEY_PREFIX;
  return [...(await h.redis.keys(`${prefix}:index*`)), ...(await h.redis.keys(`${prefix}:bytype*`))];
}

describe('an open service (no API keys)', () => {
  it('lists no jobs: GET /jobs is a 403 problem whatever the query, and says how to list', async () => {
    const job = await submitAs(open.url, 'ignored');
    for (const query of ['', '?limit=100', '?state=queued', '?type=simulate&limit=1', `?cursor=x`, '?limit=0']) {
      const res = await send(open.url, 'GET', `/jobs${query}`);
      expect(res.status, query).toBe(403);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.json, query).toMatchObject({ type: '/problems/listing-needs-key', status: 403 });
      expect(res.json?.detail).toMatch(/API_KEYS/);
      expect(res.text).not.toContain(job.id);
    }
    // The id itself still works: it is the capability.
    expect((await send(open.url, 'GET', `/jobs/${job.id}`)).json).toMatchObject({ id: job.id });
  });

  it('keeps no index of its jobs (nothing could read it, and it would only grow)', async () => {
    for (let i = 0; i < 3; i++) await submitAs(open.url, 'ignored');
    await send(open.url, 'POST', '/jobs/batch', { body: { jobs: [{ type: 'simulate' }, { type: 'simulate' }] } });
    expect(await indexKeys(open)).toEqual([]);
  });

  it('names no job in /metrics, and serves it without credentials', async () => {
    const job = await submitAs(open.url, 'ignored');
    const res = await send(open.url, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('jobcast_');
    expect(res.text).not.toContain(job.id);
  });

  it('cancels only what is named: an unknown id is a 404, a known one is cancelled', async () => {
    const job = await submitAs(open.url, 'ignored', { steps: 1, stepMs: 0 });
    const unknown = await send(open.url, 'POST', `/jobs/${crypto.randomUUID()}/cancel`);
    expect(unknown.json).toMatchObject({ status: 404, type: '/problems/job-not-found' });
    expect((await send(open.url, 'POST', `/jobs/${job.id}/cancel`)).status).toBe(202);
  });
});

describe('a keyed service', () => {
  it("lists a key's jobs (its own index, and one per type)", async () => {
    const job = await submitAs(keyed.url, KEY_A);
    const res = await send(keyed.url, 'GET', '/jobs?type=simulate', { headers: bearer(KEY_A) });
    expect(((res.json?.items ?? []) as { id: string }[]).map((j) => j.id)).toContain(job.id);
    // Sorted: `<prefix>:bytype:…` before `<prefix>:index:…`.
    expect((await indexKeys(keyed)).sort()).toEqual([
      expect.stringMatching(/:bytype:[^:]+:simulate$/),
      expect.stringMatching(/:index:[^:]+$/),
    ]);
  });

  it('answers /metrics only with a key: 401 without one or with a stream token, 200 with one', async () => {
    const job = await submitAs(keyed.url, KEY_A);
    const none = await send(keyed.url, 'GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.text).not.toContain('jobcast_');
    const token = tokenOf(job.links.events);
    expect((await send(keyed.url, 'GET', `/metrics?token=${encodeURIComponent(token)}`)).status).toBe(401);
    expect((await send(keyed.url, 'GET', '/metrics', { headers: bearer('not-a-key-at-all') })).status).toBe(401);
    const ok = await send(keyed.url, 'GET', '/metrics', { headers: bearer(KEY_A) });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(ok.text).toContain('jobcast_open_streams');
  });
});
