/**
 * Jobs that do not exist (any more) on event streams:
 * - In a multi-job stream, a job whose record expired (its retention ran out) never costs the
 *   other jobs their events or their `done`: a resume after the expiry says `gone` for it, once,
 *   and goes on with the others; after their `done`, 204.
 * - An unknown job beside a known one: `gone` (not-found) for it, the known one as usual; only a
 *   stream of unknown jobs is a 404.
 * - A burst of streams on an unknown job is a burst of 404s, never 429s: the job is looked up
 *   before a stream slot is taken, and no slot is left held.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobKeys } from '../src/jobs/keys.js';
import { waitFor } from './support/harness/harness.js';
import { type ScriptedHarness, simulateScript, startScriptedHarness } from './support/harness/scripted.js';
import { openWire, readToEnd } from './support/sse/wire.js';

const MAX_STREAMS = 20;

let s: ScriptedHarness;
beforeAll(async () => {
  s = await startScriptedHarness({
    JOB_RETENTION_SECONDS: '1',
    MAX_STREAMS_PER_CLIENT: String(MAX_STREAMS),
    SSE_RETRY_MS: '200',
  });
});
afterAll(async () => {
  await s?.close();
});

const multiUrl = (ids: string[]) => `${s.h.url}/events?jobs=${ids.join(',')}`;

describe('a multi-job stream', () => {
  it('resumed after one job expired: gone (expired) once for it, the other job to its done, then 204', async () => {
    const gate = s.scripts.gate();
    const a = await s.scripts.submit(s.h.url, simulateScript(1, 0));
    const b = await s.scripts.submit(s.h.url, async (ctx) => {
      await ctx.progress(10, 'waiting');
      await gate.wait(ctx.signal);
      await ctx.progress(90, 'almost');
    });
    const first = openWire(multiUrl([a, b]));
    await first.next((e) => e.type === 'done' && e.json.jobId === a, 10_000);
    await first.next((e) => e.type === 'progress' && e.json.jobId === b && e.json.progress === 10, 10_000);
    const lastSeen = first.events.at(-1)?.id as string;
    first.close();

    // A's retention (1 s) runs out.
    await waitFor(async () => (await s.h.redis.exists(jobKeys(s.h.config.KEY_PREFIX, a).record)) === 0, "A's expiry");

    const resumed = openWire(multiUrl([a, b]), { headers: { 'last-event-id': lastSeen } });
    expect((await resumed.response).status).toBe(200);
    const gone = await resumed.next((e) => e.type === 'gone', 5_000);
    expect(gone.json).toEqual({ jobId: a, reason: 'expired' });
    gate.open();
    const done = await resumed.next((e) => e.type === 'done', 10_000);
    expect(done.json).toMatchObject({ jobId: b, status: 'completed' });
    expect(await resumed.ended).toBe('end');
    expect(resumed.events.filter((e) => e.type === 'gone')).toHaveLength(1);

    // From the gone event on, nothing about A comes again: B's events only, then 204.
    const again = await readToEnd(multiUrl([a, b]), { headers: { 'last-event-id': gone.id as string } });
    expect(again.status).toBe(200);
    expect(again.events.map((e) => `${e.type}:${e.json.jobId === a ? 'A' : 'B'}`)).not.toContain('gone:A');
    expect(again.events.at(-1)).toMatchObject({ type: 'done', json: { jobId: b } });
    const after = await fetch(multiUrl([a, b]), { headers: { 'last-event-id': done.id as string } });
    expect(after.status).toBe(204);
  });

  it('with an unknown job beside a known one: gone (not-found) for it, the known one to its done', async () => {
    const known = await s.scripts.submit(s.h.url, simulateScript(2, 10));
    const unknown = crypto.randomUUID();
    const { status, events, end } = await readToEnd(multiUrl([unknown, known]));
    expect(status).toBe(200);
    expect(end).toBe('end');
    expect(events[0]).toMatchObject({ type: 'gone', json: { jobId: unknown, reason: 'not-found' } });
    expect(events.filter((e) => e.json.jobId === unknown)).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'done', json: { jobId: known, status: 'completed' } });
    // The gone job's cursor moved past anything real, so the id still resumes both.
    expect(events.at(-1)?.id).toMatch(/^999999999999999\.\d+$/);
  });
});

describe('streams on an unknown job', () => {
  it(`are 404s before any stream slot is taken: ${MAX_STREAMS * 3} at once, no 429, no slot held`, async () => {
    const unknown = crypto.randomUUID();
    const statuses = await Promise.all(
      Array.from({ length: MAX_STREAMS * 3 }, (_, i) =>
        fetch(i % 2 ? `${s.h.url}/jobs/${unknown}/events` : multiUrl([unknown, crypto.randomUUID()])).then(
          async (res) => {
            await res.body?.cancel();
            return res.status;
          },
        ),
      ),
    );
    const counts: Record<number, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    expect(counts).toEqual({ 404: MAX_STREAMS * 3 });
    const slotKeys = await s.h.redis.keys(`${s.h.config.KEY_PREFIX}:streams:*`);
    const held = await Promise.all(slotKeys.map((key) => s.h.redis.zcard(key)));
    expect(held.reduce((a, b) => a + b, 0)).toBe(0);
    expect(s.h.api.hub.topicCount).toBe(0);
  });
});
