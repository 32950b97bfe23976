/**
 * A client that stops reading must cost the server nothing but a small, fixed amount of
 * memory, must not slow anyone else down, and is cut off after SSE_STUCK_TIMEOUT_MS (it
 * resumes with Last-Event-ID when it comes back). A client that is merely slow gets the
 * latest progress, not a backlog: progress is state, so queued progress is conflated, while
 * `done` is never dropped.
 *
 * The job reports 20,000 progress updates as fast as the worker can send them, each with a
 * 500-character message: ~14 MB of frames per stream, more than the ~4 MB a non-reading
 * loopback socket can absorb in kernel buffers, so the server really does see a full socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { startApi } from '../src/server.js';
import { waitFor } from './support/harness/harness.js';
import type { Script } from './support/harness/scripted.js';
import { type ScriptedHarness, startScriptedHarness } from './support/harness/scripted.js';
import {
  collectGarbage,
  mb,
  memoryNow,
  openCountingStream,
  openNonReadingSocket,
  openPausedStream,
  samplePeaks,
} from './support/sse/slow-clients.js';
import { openWire } from './support/sse/wire.js';

const UPDATES = 20_000;
const STUCK_TIMEOUT_MS = 1_000;
const PAD = 'x'.repeat(500);
/** Reports sent before waiting for Redis: a worker that does not await each report. */
const IN_FLIGHT = 10;

/** Reports `count` progress updates as fast as Redis takes them. */
const flood =
  (count: number): Script =>
  async (ctx) => {
    let inFlight: Promise<void>[] = [];
    for (let i = 1; i <= count; i++) {
      inFlight.push(ctx.progress((i / count) * 100, `update ${i} of ${count} ${PAD}`));
      if (inFlight.length === IN_FLIGHT) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);
  };

/** When the first event with an id ≥ `from` arrived. */
function arrivalFrom(arrivals: Map<string, number>, from: number): number {
  for (let id = from; id < from + 1_000; id++) {
    const at = arrivals.get(String(id));
    if (at !== undefined) return at;
  }
  throw new Error(`the normal client got no event with an id from ${from} to ${from + 999}`);
}

let s: ScriptedHarness;
beforeAll(async () => {
  s = await startScriptedHarness({ SSE_STUCK_TIMEOUT_MS: String(STUCK_TIMEOUT_MS) });
});
afterAll(async () => {
  await s?.close();
});

describe('a client that stops reading', () => {
  it('is disconnected after SSE_STUCK_TIMEOUT_MS, costs no memory, and does not delay a normal client', async () => {
    const gate = s.scripts.gate();
    const id = await s.scripts.submit(s.h.url, async (ctx) => {
      await gate.wait(ctx.signal);
      await flood(UPDATES)(ctx);
    });
    const url = `${s.h.url}/jobs/${id}/events`;
    const normal = openCountingStream(url, 30_000);
    const stuck = await openNonReadingSocket(url);
    let watching: NodeJS.Timeout | undefined;
    try {
      await normal.first;
      await waitFor(() => s.h.api.connections.size === 2, 'both streams open');
      const dropsBefore = s.h.api.connections.stuckDisconnects;

      collectGarbage();
      const before = memoryNow();
      const peaks = samplePeaks();
      // When the server drops the stuck stream, and when its connection count lets go of it.
      let dropped: { at: number; releasedAt?: number } | undefined;
      watching = setInterval(() => {
        if (!dropped && s.h.api.connections.stuckDisconnects > dropsBefore) dropped = { at: Date.now() };
        if (dropped && !dropped.releasedAt && s.h.api.connections.size <= 1) dropped.releasedAt = Date.now();
      }, 5);
      const startedAt = Date.now();
      gate.open();

      const done = await normal.done;
      const doneSentAt = Date.parse(done.data.at as string);
      await waitFor(
        () => dropped?.releasedAt !== undefined,
        'the stuck client to be disconnected',
        STUCK_TIMEOUT_MS + 10_000,
      );
      const drop = dropped as { at: number; releasedAt: number };
      await waitFor(() => s.h.api.connections.size === 0, 'every stream to be gone', 5_000);
      const peak = peaks.stop();
      collectGarbage();
      const after = memoryNow();

      // What the stuck client had been sent before the server gave up on it: what fitted in
      // the kernel buffers, then nothing — no backlog, no done. It resumes with Last-Event-ID.
      const drained = await stuck.drain(10_000);
      const stuckIds = [...drained.text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1] as string);
      const lastSent = stuckIds.at(-1) as string;
      // Its socket was full from about when the normal client got that same event (or, if the
      // normal client's copy of it was conflated away, the next one it got).
      const fullSince = arrivalFrom(normal.arrivals, Number(lastSent));

      console.log(
        [
          `${UPDATES} progress updates in ${doneSentAt - startedAt} ms`,
          `normal client: done ${done.at - doneSentAt} ms after the worker sent it; ${normal.count} events received`,
          `stuck client: sent ${stuckIds.length} events (${mb(drained.text.length)}, last id ${lastSent}) before its socket filled; dropped ${drop.at - fullSince} ms after that (SSE_STUCK_TIMEOUT_MS=${STUCK_TIMEOUT_MS}), ${drop.at - startedAt} ms into the job`,
          `heap used: before ${mb(before.heapUsed)}, peak ${mb(peak.heapUsed)}, after ${mb(after.heapUsed)} (growth ${mb(after.heapUsed - before.heapUsed)})`,
          `external (Buffers): before ${mb(before.external)}, peak ${mb(peak.external)}, after ${mb(after.external)}`,
        ].join('\n'),
      );

      expect(done.data).toMatchObject({ jobId: id, status: 'completed' });
      expect(done.at - doneSentAt).toBeLessThan(3_000);
      expect(s.h.api.connections.stuckDisconnects).toBe(dropsBefore + 1);
      expect(drop.releasedAt - drop.at).toBeLessThan(1_000);
      // Dropped for being stuck, not for a queue overflow (SSE_MAX_PENDING_EVENTS=2000 more
      // events, a few hundred ms at this rate, had progress not been conflated). The slack is
      // for the normal client receiving that event a little after the stuck one was sent it.
      expect(drop.at - fullSince).toBeGreaterThanOrEqual(STUCK_TIMEOUT_MS - 300);
      expect(drop.at - fullSince).toBeLessThan(STUCK_TIMEOUT_MS + 4_000);
      expect(drained.ended).toBe(true);
      expect(drained.text).not.toMatch(/^event: done$/m);
      expect(stuckIds.length).toBeLessThan(UPDATES);
      expect(after.heapUsed - before.heapUsed).toBeLessThan(30 * 1024 * 1024);
      expect(after.external - before.external).toBeLessThan(5 * 1024 * 1024);
    } finally {
      clearInterval(watching);
      normal.close();
      stuck.close();
    }
  });
});

describe('a client that pauses while the job floods progress', () => {
  it('then reads on: gets only the latest progress and done after its buffers — the queue held ≤ 3 events', async () => {
    // Its own replica with a long stuck timeout, so the pause is not punished.
    const patient = await startApi({ ...s.h.config, SSE_STUCK_TIMEOUT_MS: 60_000 }, s.h.redisUrl, createLogger('warn'));
    const gate = s.scripts.gate();
    const id = await s.scripts.submit(s.h.url, async (ctx) => {
      await gate.wait(ctx.signal);
      await flood(UPDATES)(ctx);
    });
    const paused = openPausedStream(`${patient.url}/jobs/${id}/events`);
    const watcher = openWire(`${s.h.url}/jobs/${id}/events`);
    try {
      expect((await paused.response).statusCode).toBe(200);
      await waitFor(() => patient.connections.size === 1, 'paused stream open');
      gate.open();
      await watcher.next((e) => e.type === 'done', 30_000);
      const events = await paused.readToEnd(15_000);

      const ids = events.map((e) => Number(e.id));
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1] as number);
      const progress = events.filter((e) => e.type === 'progress');
      expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
      expect(events.at(-1)?.type).toBe('done');
      expect(progress.at(-1)?.json).toMatchObject({ state: 'completed', progress: 100 });
      // Ids run without gaps while the socket takes everything (a burst larger than the
      // socket's high-water mark may be conflated too); once the socket was full for good, the
      // server kept only the newest progress, then done: after the last jump, at most 3 events.
      const jumps = ids.flatMap((id, i) => (i > 1 && id - (ids[i - 1] as number) > 1 ? [i] : []));
      console.log(
        `paused client: ${progress.length} of ${UPDATES} progress events delivered; ${jumps.length} jump(s) in ids, the last before event #${jumps.at(-1)}; last ids ${ids.slice(-6).join(',')}`,
      );
      expect(progress.length).toBeLessThan(UPDATES);
      const lastJump = jumps.at(-1) as number;
      expect(jumps.length).toBeGreaterThanOrEqual(1);
      expect(events.length - lastJump).toBeLessThanOrEqual(3);
      // Progress, then done. (The socket may take one more progress in a drain after the jump,
      // before the last one comes: then two progress events follow it, in sequence.)
      const tail = events.slice(lastJump).map((e) => e.type);
      expect(tail.at(-1)).toBe('done');
      expect(tail.slice(0, -1).length).toBeGreaterThanOrEqual(1);
      expect(tail.slice(0, -1).every((type) => type === 'progress')).toBe(true);
    } finally {
      paused.close();
      watcher.close();
      await patient.close();
    }
  });
});
