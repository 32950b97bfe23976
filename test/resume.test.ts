/**
 * Streams survive reconnects: a client that comes back with `Last-Event-ID` (header, or
 * `?lastEventId=` on a first connection) gets exactly what it missed — every log line once,
 * in order, then the current state — never a duplicate, never a second `done`; a client that
 * already has `done` is told 204 and stops; a cursor older than the kept log lines is
 * announced by `reset`. Reconnects are driven by the real `eventsource` client after the
 * server ends a stream, after the network cuts it, and against another API replica.
 * Idle streams get heartbeats; every stream starts with `retry:` and the proxy headers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { type RunningApi, startApi } from '../src/server.js';
import { waitFor } from './support/harness/harness.js';
import { logAndProgressScript, type ScriptedHarness, startScriptedHarness } from './support/harness/scripted.js';
import { startTcpProxy } from './support/http/tcp-proxy.js';
import { EventSource, RecordingSource, type SourceEvent } from './support/sse/recording-source.js';
import { openWire, readToEnd, summarize, type WireEvent } from './support/sse/wire.js';

const RETRY_MS = 200;
const HEARTBEAT_MS = 300;

let s: ScriptedHarness;
beforeAll(async () => {
  s = await startScriptedHarness({ SSE_RETRY_MS: String(RETRY_MS), SSE_HEARTBEAT_MS: String(HEARTBEAT_MS) });
});
afterAll(async () => {
  await s?.close();
});

const eventsUrl = (id: string, base = s.h.url) => `${base}/jobs/${id}/events`;
const idsOf = (events: readonly { id: string | undefined }[]) => events.map((e) => Number(e.id));
const linesOf = (events: readonly { type: string; data?: unknown; json?: unknown }[]) =>
  events
    .filter((e) => e.type === 'log')
    .map((e) => ((e as WireEvent).json ?? (e as SourceEvent).data) as { line: string })
    .map((d) => d.line);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);

function expectStrictlyIncreasing(ids: number[]): void {
  for (let i = 1; i < ids.length; i++) {
    expect(ids[i], `id #${i} after ${ids[i - 1]} in ${JSON.stringify(ids)}`).toBeGreaterThan(ids[i - 1] as number);
  }
}

/** A finished job's full replay: a fresh connection after `done`. */
async function replay(id: string, headers: Record<string, string> = {}): Promise<WireEvent[]> {
  const { events, end, status } = await readToEnd(eventsUrl(id), { headers });
  expect(status).toBe(200);
  expect(end).toBe('end');
  return events;
}

describe('a client resuming with Last-Event-ID', () => {
  it('gets each missed log line once, in order, then the current state, then the rest live', async () => {
    const gate = s.scripts.gate();
    const id = await s.scripts.submit(s.h.url, async (ctx) => {
      await logAndProgressScript(6, 0)(ctx);
      await gate.wait(ctx.signal);
      await logAndProgressScript(4, 20, 7)(ctx);
    });
    // The first connection reads up to the point where the job waits.
    const first = openWire(eventsUrl(id));
    try {
      await first.next((e) => e.type === 'progress' && e.json.message === 'after line 6', 10_000);
    } finally {
      first.close();
    }
    expect(linesOf(first.events)).toEqual(range(1, 6));
    const line2 = first.events.find((e) => e.type === 'log' && e.json.line === 'line 2') as WireEvent;
    const n = Number(line2.id);

    // Reconnect from "line 2": lines 3..6, then the state as it is now (not the progress
    // reports in between: progress is state).
    const resumed = openWire(eventsUrl(id), { headers: { 'last-event-id': String(n) } });
    try {
      const current = await resumed.next((e) => e.type === 'progress', 10_000);
      expect(resumed.events.map((e) => e.type)).toEqual(['log', 'log', 'log', 'log', 'progress']);
      expect(linesOf(resumed.events)).toEqual(range(3, 6));
      expect(current.json).toMatchObject({ state: 'active', message: 'after line 6' });
      // The same events carry the same ids on every connection.
      const firstIds = new Map(first.events.map((e) => [e.data, e.id]));
      for (const e of resumed.events.filter((x) => x.type === 'log')) expect(e.id).toBe(firstIds.get(e.data));

      gate.open();
      expect(await resumed.ended).toBe('end');
    } finally {
      resumed.close();
    }
    const ids = idsOf(resumed.events);
    expect(Math.min(...ids)).toBeGreaterThan(n);
    expectStrictlyIncreasing(ids);
    expect(linesOf(resumed.events)).toEqual(range(3, 10));
    expect(resumed.events.filter((e) => e.type === 'done')).toHaveLength(1);
    expect(resumed.events.at(-1)?.type).toBe('done');
    expect(resumed.events.at(-2)?.json).toMatchObject({ state: 'completed', progress: 100 });
  });

  it('of a finished job, from any cursor N, gets exactly the events after N (header or ?lastEventId)', async () => {
    const id = await s.scripts.submit(s.h.url, logAndProgressScript(5, 0));
    await readToEnd(eventsUrl(id));
    const full = await replay(id);
    const done = full.at(-1) as WireEvent;
    expect(done.type).toBe('done');
    expect(linesOf(full)).toEqual(range(1, 5));
    const dseq = Number(done.id);
    const key = (e: WireEvent) => `${e.id}:${e.type}:${e.data}`;

    for (let n = 1; n < dseq; n++) {
      const want = full.filter((e) => Number(e.id) > n).map(key);
      const byHeader = await replay(id, { 'last-event-id': String(n) });
      expect(byHeader.map(key), `Last-Event-ID: ${n}`).toEqual(want);
      const byQuery = await readToEnd(`${eventsUrl(id)}?lastEventId=${n}`);
      expect(byQuery.events.map(key), `?lastEventId=${n}`).toEqual(want);
    }
    // EventSource reconnects to the URL it was created with (`?lastEventId=` of its first
    // connection) and sends its newer position as the header: the header must win.
    const both = await replay(id, { 'last-event-id': String(dseq - 1) });
    const mixed = await readToEnd(`${eventsUrl(id)}?lastEventId=1`, { headers: { 'last-event-id': String(dseq - 1) } });
    expect(mixed.events.map(key)).toEqual(both.map(key));
    expect(mixed.events.map((e) => e.type)).toEqual(['done']);
  });

  it('at done (or beyond) gets 204 No Content, and EventSource stops without a reconnect storm', async () => {
    const id = await s.scripts.submit(s.h.url, logAndProgressScript(2, 0));
    const full = (await readToEnd(eventsUrl(id))).events;
    const dseq = Number(full.at(-1)?.id);

    for (const cursor of [dseq, dseq + 1, dseq + 1_000_000]) {
      const res = await fetch(eventsUrl(id), { headers: { 'last-event-id': String(cursor) } });
      expect(res.status, `Last-Event-ID: ${cursor}`).toBe(204);
      expect(await res.text()).toBe('');
      const byQuery = await fetch(`${eventsUrl(id)}?lastEventId=${cursor}`);
      expect(byQuery.status).toBe(204);
      await byQuery.arrayBuffer();
    }
    expect(s.h.api.connections.size).toBe(0);

    // A real client that already has done (first connection with ?lastEventId).
    const stopped = new RecordingSource(`${eventsUrl(id)}?lastEventId=${dseq}`);
    try {
      // A client that reconnected after the 204 would do so every RETRY_MS: eight of them pass.
      await sleep(8 * RETRY_MS);
      expect(stopped.requests.length).toBeLessThanOrEqual(2);
      expect(stopped.requests).toHaveLength(1);
      expect(stopped.readyState).toBe(EventSource.CLOSED);
      expect(stopped.events).toEqual([]);
      expect(stopped.errors.map((e) => e.code)).toEqual([204]);
    } finally {
      stopped.close();
    }
  });

  it('that watched to done: the server ends the stream, EventSource asks once more with done’s id, gets 204 and stops', async () => {
    const id = await s.scripts.submit(s.h.url, logAndProgressScript(3, 30));
    // Not closed on done, as a careless page would leave it.
    const source = new RecordingSource(eventsUrl(id));
    try {
      await source.until((x) => x.events.some((e) => e.type === 'done'), 'done');
      const doneId = source.events.find((e) => e.type === 'done')?.id;
      await source.until((x) => x.readyState === EventSource.CLOSED, 'EventSource to stop', 5_000);
      const stoppedAt = Date.now();
      // Eight retry periods: a client that kept reconnecting would have asked several times.
      await sleep(8 * RETRY_MS);
      expect(source.requests.length).toBeLessThanOrEqual(2);
      expect(source.requests.map((r) => r.lastEventId)).toEqual([undefined, doneId]);
      expect(source.errors.at(-1)?.code).toBe(204);
      expect(source.events.filter((e) => e.type === 'done')).toHaveLength(1);
      expect(source.requests.every((r) => r.at <= stoppedAt)).toBe(true);
    } finally {
      source.close();
    }
  });
});

describe('a Last-Event-ID the server cannot honour', () => {
  it('that is not a cursor at all is ignored: the client gets everything, as on a first connection', async () => {
    const id = await s.scripts.submit(s.h.url, logAndProgressScript(2, 0));
    await readToEnd(eventsUrl(id));
    const full = (await replay(id)).map((e) => `${e.id}:${e.type}`);
    for (const garbage of ['abc', '-1', '1.2', '', ' ', '9'.repeat(40)]) {
      const got = await readToEnd(eventsUrl(id), { headers: { 'last-event-id': garbage } });
      expect(
        got.events.map((e) => `${e.id}:${e.type}`),
        JSON.stringify(garbage),
      ).toEqual(full);
    }
  });

  it('that is ahead of every event of a running job (Redis lost its last writes) still gets the state and done', async () => {
    // After a Redis failover or a restart from an fsync-every-second AOF, a job's sequence can
    // restart below ids clients already hold. The job then carries on and finishes; a client
    // resuming with such an id must not wait forever for ids that will never come.
    const gate = s.scripts.gate();
    const id = await s.scripts.submit(s.h.url, async (ctx) => {
      await ctx.progress(10, 'before');
      await gate.wait(ctx.signal);
      await ctx.progress(50, 'after');
    });
    await waitFor(async () => {
      const res = await fetch(`${s.h.url}/jobs/${id}`);
      return ((await res.json()) as { message?: string }).message === 'before';
    }, 'job to wait');
    const stream = openWire(eventsUrl(id), { headers: { 'last-event-id': '1000' } });
    try {
      expect((await stream.response).status).toBe(200);
      gate.open();
      const done = await stream.next((e) => e.type === 'done', 5_000);
      expect(done.json).toMatchObject({ jobId: id, status: 'completed' });
      expect(await stream.ended).toBe('end');
      expect(stream.events.some((e) => e.type === 'progress')).toBe(true);
    } finally {
      stream.close();
    }
  });
});

describe('a resume older than the kept log lines', () => {
  let small: ScriptedHarness;
  beforeAll(async () => {
    small = await startScriptedHarness({ JOB_LOG_MAX_LINES: '3' });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('starts with a reset event, then the kept lines, the state and done', async () => {
    const id = await small.scripts.submit(small.h.url, async (ctx) => {
      for (let i = 1; i <= 10; i++) await ctx.log(`line ${i}`);
    });
    const url = `${small.h.url}/jobs/${id}/events`;
    await readToEnd(url);
    // A fresh connection: the 3 kept lines, the final state, done; nothing to announce.
    const fresh = (await readToEnd(url)).events;
    expect(fresh.map((e) => e.type)).toEqual(['log', 'log', 'log', 'progress', 'done']);
    expect(linesOf(fresh)).toEqual(range(8, 10));
    const firstKept = Number(fresh[0]?.id);
    const line1 = firstKept - 7;

    // A client that had line 1 only: lines 2..7 are gone, and it is told so first.
    const old = (await readToEnd(url, { headers: { 'last-event-id': String(line1) } })).events;
    expect(old.map((e) => e.type)).toEqual(['reset', 'log', 'log', 'log', 'progress', 'done']);
    expect(old[0]?.json).toMatchObject({ jobId: id, reason: expect.stringContaining('no longer kept') });
    // The reset does not move the client's position: its id is the cursor the client sent.
    expect(old[0]?.id).toBe(String(line1));
    expect(linesOf(old)).toEqual(range(8, 10));
    expect(old.slice(1).map((e) => e.id)).toEqual(fresh.map((e) => e.id));

    // Just before the newest dropped line: reset. At it (the client has every dropped line):
    // no reset, nothing missing.
    const beforeNewestDropped = (await readToEnd(url, { headers: { 'last-event-id': String(firstKept - 2) } })).events;
    expect(beforeNewestDropped[0]?.type).toBe('reset');
    const atNewestDropped = (await readToEnd(url, { headers: { 'last-event-id': String(firstKept - 1) } })).events;
    expect(atNewestDropped.map((e) => e.type)).toEqual(['log', 'log', 'log', 'progress', 'done']);
  });
});

describe('a real EventSource whose connection drops mid-stream', () => {
  /** Checks the union of everything the client received over all its connections. */
  function expectSeamless(source: RecordingSource, lines: number): void {
    const ids = idsOf(source.events);
    expectStrictlyIncreasing(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(source.events.filter((e) => e.type === 'done')).toHaveLength(1);
    expect(source.events.at(-1)?.type).toBe('done');
    expect(linesOf(source.events)).toEqual(range(1, lines));
    // Each reconnect sent the id of the last event received before it.
    for (let r = 1; r < source.requests.length; r++) {
      const before = source.events.filter((e) => e.request < r).at(-1);
      expect(source.requests[r]?.lastEventId, `request ${r}`).toBe(before?.id);
    }
  }

  it('when the server ends it: reconnects after retry and the union has every event once', async () => {
    const id = await s.scripts.submit(s.h.url, logAndProgressScript(30, 40));
    const source = new RecordingSource(eventsUrl(id));
    try {
      for (const drop of [1, 2]) {
        await source.until(
          (x) => x.events.length >= drop * 12 && x.requests.length === drop,
          `events before drop ${drop}`,
        );
        s.h.api.connections.endAll();
        await source.until((x) => x.requests.length === drop + 1, `reconnect ${drop}`, 5_000);
      }
      await source.until((x) => x.events.some((e) => e.type === 'done'), 'done', 15_000);
      expectSeamless(source, 30);
      // Reconnects waited for the server's `retry` (200 ms), not the client's 3 s default.
      const drops = source.errors.filter((e) => e.readyState === EventSource.CONNECTING);
      expect(drops.length).toBeGreaterThanOrEqual(2);
      for (const r of [1, 2]) {
        const waited = (source.requests[r]?.at ?? 0) - (drops[r - 1]?.at ?? 0);
        expect(waited).toBeGreaterThanOrEqual(RETRY_MS - 20);
        expect(waited).toBeLessThan(1_500);
      }
    } finally {
      source.close();
    }
  });

  it('when the network cuts it (TCP reset, no goodbye): reconnects by itself and misses nothing', async () => {
    const proxy = await startTcpProxy(s.h.api.port);
    const id = await s.scripts.submit(s.h.url, logAndProgressScript(30, 40));
    const source = new RecordingSource(eventsUrl(id, proxy.url));
    try {
      for (const drop of [1, 2]) {
        await source.until(
          (x) => x.events.length >= drop * 12 && x.requests.length === drop,
          `events before cut ${drop}`,
        );
        expect(proxy.cutAll()).toBeGreaterThanOrEqual(1);
        await source.until((x) => x.requests.length === drop + 1, `reconnect after cut ${drop}`, 5_000);
      }
      await source.until((x) => x.events.some((e) => e.type === 'done'), 'done', 15_000);
      expectSeamless(source, 30);
      expect(proxy.accepted).toBeGreaterThanOrEqual(3);
    } finally {
      source.close();
      await proxy.close();
    }
    // The server noticed the cut streams and let them go.
    await waitFor(() => s.h.api.connections.size === 0, 'server to release cut streams', 5_000);
  });

  it('resumes on a different API replica (same Redis, same prefix and queue)', async () => {
    const other: RunningApi = await startApi(s.h.config, s.h.redisUrl, createLogger('warn'));
    try {
      const gate = s.scripts.gate();
      const id = await s.scripts.submit(s.h.url, async (ctx) => {
        await logAndProgressScript(4, 10)(ctx);
        await gate.wait(ctx.signal);
        await logAndProgressScript(4, 10, 5)(ctx);
      });
      const first = openWire(eventsUrl(id));
      try {
        await first.next((e) => e.json.message === 'after line 4', 10_000);
      } finally {
        first.close();
      }
      const lastId = first.events.at(-1)?.id as string;
      // The job goes on while the client is away; part of it is replayed, part arrives live.
      gate.open();
      await sleep(25);
      const second = openWire(eventsUrl(id, other.url), { headers: { 'last-event-id': lastId } });
      try {
        expect(await second.ended).toBe('end');
      } finally {
        second.close();
      }
      expect(Number(second.events[0]?.id)).toBeGreaterThan(Number(lastId));
      const union = [...first.events, ...second.events];
      expectStrictlyIncreasing(idsOf(union));
      expect(linesOf(union)).toEqual(range(1, 8));
      expect(union.filter((e) => e.type === 'done')).toHaveLength(1);
      expect(union.at(-1)?.type).toBe('done');
      expect(summarize(second.events)).toContain('done');
    } finally {
      await other.close();
    }
  });
});

describe('an idle stream', () => {
  it('starts with retry, carries the no-buffering headers, and gets a ping comment about every SSE_HEARTBEAT_MS', async () => {
    const gate = s.scripts.gate();
    const id = await s.scripts.submit(s.h.url, async (ctx) => {
      await ctx.progress(10, 'waiting');
      await gate.wait(ctx.signal);
    });
    await waitFor(async () => {
      const res = await fetch(`${s.h.url}/jobs/${id}`);
      return ((await res.json()) as { message?: string }).message === 'waiting';
    }, 'job to wait');
    const stream = openWire(eventsUrl(id));
    try {
      const { status, headers } = await stream.response;
      expect(status).toBe(200);
      expect(headers['content-type']).toMatch(/^text\/event-stream/);
      expect(headers['cache-control']).toBe('no-cache, no-transform');
      expect(headers['x-accel-buffering']).toBe('no');
      const first = await stream.next(() => true, 5_000);
      await sleep(HEARTBEAT_MS * 6);
      expect(stream.raw.startsWith(`retry: ${RETRY_MS}\n\n`)).toBe(true);
      expect(stream.retries).toEqual([RETRY_MS]);
      expect(stream.raw).toMatch(/^: ping$/m);
      const watchedMs = Date.now() - first.at;
      const pings = stream.comments.filter((c) => c.text === 'ping').map((c) => c.at);
      const gaps = pings.map((at, i) => at - (i === 0 ? first.at : (pings[i - 1] as number)));
      console.log(`heartbeat gaps (ms, SSE_HEARTBEAT_MS=${HEARTBEAT_MS}): ${gaps.join(', ')}`);
      // About one ping per interval: at least 3 in 6 intervals, never more than one per
      // interval, and on average not much later than the interval. (Single gaps can shrink
      // when a busy event loop hands two pings to the client at once.)
      expect(pings.length).toBeGreaterThanOrEqual(3);
      expect(pings.length).toBeLessThanOrEqual(Math.floor(watchedMs / HEARTBEAT_MS));
      const average = ((pings.at(-1) as number) - first.at) / pings.length;
      expect(average).toBeGreaterThanOrEqual(HEARTBEAT_MS - 50);
      expect(average).toBeLessThanOrEqual(HEARTBEAT_MS * 2);
      expect(stream.events).toHaveLength(1);
    } finally {
      stream.close();
      gate.open();
    }
  });
});
