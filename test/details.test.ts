/**
 * Progress details (README, "Adding a job type"): `ctx.progress(percent, message, details)`
 * carries a small JSON object on progress events and the resource, kept until the handler
 * reports others, conflated like the rest. Details that are not a plain JSON object, or larger
 * than 4 KB, are an error thrown in the handler (which may catch it), never a crash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidDetailsError, MAX_DETAILS_BYTES, serializeDetails } from '../src/jobs/details.js';
import { waitFor } from './support/harness/harness.js';
import { type ScriptedHarness, startScriptedHarness } from './support/harness/scripted.js';
import { getJob } from './support/http/api.js';
import { liveWatch } from './support/sse/live-watch.js';

describe('details (jobs/details)', () => {
  it('takes a plain JSON object of at most 4 KB, and refuses anything else by name', () => {
    expect(serializeDetails({ file: 'a.png', done: 3, of: 10 })).toBe('{"file":"a.png","done":3,"of":10}');
    expect(serializeDetails(Object.create(null))).toBe('{}');
    const exactly = { x: 'y'.repeat(MAX_DETAILS_BYTES - 8) };
    expect(Buffer.byteLength(serializeDetails(exactly))).toBe(MAX_DETAILS_BYTES);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const [bad, why] of [
      [[1, 2], /not an array/],
      [null, /not null/],
      ['text', /not string/],
      [new Date(), /plain JSON object/],
      [{ n: 1n }, /not JSON/],
      [cycle, /not JSON/],
      [{ x: 'é'.repeat(MAX_DETAILS_BYTES / 2) }, /4104 bytes of JSON; at most 4096/],
    ] as const) {
      expect(() => serializeDetails(bad)).toThrow(InvalidDetailsError);
      expect(() => serializeDetails(bad)).toThrow(why);
    }
  });
});

describe('details reported by a handler', () => {
  let s: ScriptedHarness;
  beforeAll(async () => {
    s = await startScriptedHarness();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('ride on progress events and the resource, and stay until replaced', async () => {
    const hold = s.scripts.gate();
    const id = await s.scripts.submit(s.h.url, async (ctx) => {
      await ctx.progress(25, 'fetching', { file: 'a.png', bytes: 1024 });
      await ctx.progress(50, 'resizing');
      await hold.wait(ctx.signal);
      await ctx.progress(75, 'uploading', { file: 'a.png', url: 'https://example.com/a.png' });
    });
    const w = liveWatch(`${s.h.url}/jobs/${id}/events`);
    try {
      await w.next((e) => e.data.progress === 50, 10_000);
      // Kept until replaced: the 50% report carried none of its own.
      expect((await getJob(s.h, id)).details).toEqual({ file: 'a.png', bytes: 1024 });
      hold.open();
      await w.done(10_000);
      // (The stream starts from the state at connect: 25% or 50%.)
      const details = new Map(
        w.events
          .filter((e) => e.type === 'progress')
          .map((e) => [`${e.data.progress}:${e.data.state}`, e.data.details]),
      );
      expect(details.get('50:active')).toEqual({ file: 'a.png', bytes: 1024 });
      expect(details.get('75:active')).toEqual({ file: 'a.png', url: 'https://example.com/a.png' });
      expect(details.get('100:completed')).toEqual({ file: 'a.png', url: 'https://example.com/a.png' });
    } finally {
      w.close();
    }
    // The finished job keeps its last details.
    expect((await getJob(s.h, id)).details).toEqual({ file: 'a.png', url: 'https://example.com/a.png' });
  });

  it('too large: an error the handler may catch, and the job goes on; uncaught, the job fails with it', async () => {
    let caught: unknown;
    const tolerant = await s.scripts.submit(s.h.url, async (ctx) => {
      try {
        await ctx.progress(10, 'big', { blob: 'x'.repeat(5_000) });
      } catch (error) {
        caught = error;
      }
      await ctx.progress(20, 'small', { ok: true });
    });
    const strict = await s.scripts.submit(s.h.url, async (ctx) => {
      // Not even awaited: it throws at the call, before anything is sent.
      void ctx.progress(10, 'big', { blob: 'x'.repeat(5_000) });
    });
    await waitFor(async () => (await getJob(s.h, tolerant)).state === 'completed', 'the tolerant job to complete');
    expect(caught).toBeInstanceOf(InvalidDetailsError);
    const done = await getJob(s.h, tolerant);
    expect(done).toMatchObject({ details: { ok: true }, message: 'small' });
    await waitFor(async () => (await getJob(s.h, strict)).state === 'failed', 'the strict job to fail');
    const failed = await getJob(s.h, strict);
    expect(failed.error).toMatch(/progress details are \d+ bytes of JSON; at most 4096 are carried/);
    expect(failed.details).toBeUndefined();
    // The worker is still there.
    const after = await s.scripts.submit(s.h.url, async (ctx) => ctx.progress(100));
    await waitFor(async () => (await getJob(s.h, after)).state === 'completed', 'a job after them');
  });
});
