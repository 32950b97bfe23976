/**
 * Many jobs on one connection (`GET /events?jobs=a,b,c`), the way a browser page watches more
 * jobs than its ~6 HTTP/1.1 connections allow: every job's events arrive tagged with their
 * `jobId`, each job ends with exactly one `done`, the server ends the stream after the last
 * one, and the `id:` — every job's cursor joined by `.` in the order of the `jobs` parameter —
 * resumes all of them at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  logAndProgressScript,
  type Script,
  type ScriptedHarness,
  simulateScript,
  startScriptedHarness,
} from './support/harness/scripted.js';
import { EventSource, RecordingSource } from './support/sse/recording-source.js';
import { openWire, readToEnd, type WireEvent } from './support/sse/wire.js';

const RETRY_MS = 200;

let s: ScriptedHarness;
beforeAll(async () => {
  s = await startScriptedHarness({ SSE_RETRY_MS: String(RETRY_MS) });
});
afterAll(async () => {
  await s?.close();
});

const multiUrl = (ids: string[]) => `${s.h.url}/events?jobs=${ids.join(',')}`;
const cursorsOf = (id: string | undefined) => String(id).split('.').map(Number);

/**
 * Checks ids against the cursor rule: each id has one integer per job; an event of job j
 * raises j's cursor and leaves the others as they were (a `reset` moves nothing).
 */
function expectCursorIds(events: readonly WireEvent[], jobIds: string[], start = jobIds.map(() => 0)): void {
  let previous = start;
  for (const [i, event] of events.entries()) {
    expect(event.id, `event #${i}`).toMatch(new RegExp(`^\\d+(\\.\\d+){${jobIds.length - 1}}$`));
    const cursors = cursorsOf(event.id);
    const j = jobIds.indexOf(event.json.jobId as string);
    expect(j, `event #${i} names one of the jobs`).toBeGreaterThanOrEqual(0);
    // A restatement (a queued job's new place) moves no cursor.
    const restated = event.type === 'progress' && event.id === previous.join('.');
    for (let k = 0; k < jobIds.length; k++) {
      const what = `event #${i} (${event.type} of job ${j}) cursor ${k}: ${previous.join('.')} → ${event.id}`;
      if (k === j && event.type !== 'reset' && !restated)
        expect(cursors[k], what).toBeGreaterThan(previous[k] as number);
      else expect(cursors[k], what).toBe(previous[k]);
    }
    previous = cursors;
  }
}

/** Per job: its log lines in order, its done events. */
function perJob(events: readonly WireEvent[], jobId: string) {
  const mine = events.filter((e) => e.json.jobId === jobId);
  return {
    lines: mine.filter((e) => e.type === 'log').map((e) => e.json.line),
    dones: mine.filter((e) => e.type === 'done'),
    last: mine.at(-1),
  };
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);

describe('GET /events?jobs=a,b,c', () => {
  it("delivers every job's events with its jobId, one done each, and ends after the last done", async () => {
    const plan: [Script, number][] = [
      [logAndProgressScript(6, 30), 6],
      [logAndProgressScript(3, 60), 3],
      [logAndProgressScript(9, 15), 9],
    ];
    const ids = await Promise.all(plan.map(([script]) => s.scripts.submit(s.h.url, script)));
    const stream = openWire(multiUrl(ids));
    const end = await stream.ended;
    const { status, headers } = await stream.response;
    expect(status).toBe(200);
    expect(headers['content-type']).toMatch(/^text\/event-stream/);
    expect(end).toBe('end');
    const events = stream.events;

    ids.forEach((id, j) => {
      const job = perJob(events, id);
      expect(job.lines, `job ${j}`).toEqual(lines(plan[j]?.[1] as number));
      expect(job.dones, `job ${j}`).toHaveLength(1);
      expect(job.last?.type, `job ${j}`).toBe('done');
      expect(job.dones[0]?.json).toMatchObject({ jobId: id, status: 'completed' });
    });
    for (const e of events) expect(ids).toContain(e.json.jobId);
    expect(events.at(-1)?.type).toBe('done');
    // The server ended the response promptly after the last done.
    expect(Date.now() - (events.at(-1)?.at ?? 0)).toBeLessThan(2_000);
    expectCursorIds(events, ids);
  });

  it('resumes every job from the Last-Event-ID of the middle of the stream: nothing twice, nothing missed', async () => {
    const counts = [8, 5, 12];
    const ids = await Promise.all(
      counts.map((n, j) => s.scripts.submit(s.h.url, logAndProgressScript(n, 20 + 10 * j))),
    );
    const first = openWire(multiUrl(ids));
    try {
      await first.next(() => first.events.length >= 12, 10_000);
    } finally {
      first.close();
    }
    const cut = first.events.slice(0, 12);
    const middle = cut.at(-1)?.id as string;
    // Some jobs are still running when the client comes back.
    const second = openWire(multiUrl(ids), { headers: { 'last-event-id': middle } });
    try {
      expect(await second.ended).toBe('end');
    } finally {
      second.close();
    }
    expectCursorIds(second.events, ids, cursorsOf(middle));
    const union = [...cut, ...second.events];
    expectCursorIds(union, ids);
    ids.forEach((id, j) => {
      const job = perJob(union, id);
      expect(job.lines, `job ${j}`).toEqual(lines(counts[j] as number));
      expect(job.dones, `job ${j}`).toHaveLength(1);
    });
    // Nothing of the first part comes again.
    const seen = new Set(cut.map((e) => e.data));
    for (const e of second.events) if (e.type !== 'progress') expect(seen.has(e.data)).toBe(false);
  });

  it('204 when Last-Event-ID covers every done; a cursor at one job’s done streams only the others', async () => {
    const ids = await Promise.all([0, 1, 2].map(() => s.scripts.submit(s.h.url, logAndProgressScript(2, 0))));
    await readToEnd(multiUrl(ids));
    const full = await readToEnd(multiUrl(ids));
    const last = full.events.at(-1)?.id as string;
    const doneSeqs = cursorsOf(last);

    const res = await fetch(multiUrl(ids), { headers: { 'last-event-id': last } });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    const byQuery = await fetch(`${multiUrl(ids)}&lastEventId=${last}`);
    expect(byQuery.status).toBe(204);
    await byQuery.arrayBuffer();

    // Jobs 0 and 2 done, job 1 from the start: only job 1's events, ids keep the other cursors.
    const partial = `${doneSeqs[0]}.0.${doneSeqs[2]}`;
    const rest = await readToEnd(multiUrl(ids), { headers: { 'last-event-id': partial } });
    expect(rest.status).toBe(200);
    expect(rest.end).toBe('end');
    expect(new Set(rest.events.map((e) => e.json.jobId))).toEqual(new Set([ids[1]]));
    expect(rest.events.map((e) => e.type)).toEqual(['log', 'log', 'progress', 'done']);
    expectCursorIds(rest.events, ids, cursorsOf(partial));
    expect(rest.events.at(-1)?.id).toBe(last);
    expect(s.h.api.connections.size).toBe(0);
  });

  it('rejects 101 ids or none with a 400 problem, and only unknown jobs with a 404 problem', async () => {
    const many = Array.from({ length: 101 }, () => crypto.randomUUID());
    const tooMany = await fetch(multiUrl(many));
    expect(tooMany.status).toBe(400);
    expect(tooMany.headers.get('content-type')).toBe('application/problem+json');
    expect(await tooMany.json()).toMatchObject({ status: 400, detail: expect.stringContaining('101') });

    for (const path of ['/events?jobs=', '/events', '/events?jobs=,,']) {
      const empty = await fetch(`${s.h.url}${path}`);
      expect(empty.status, path).toBe(400);
      expect(empty.headers.get('content-type'), path).toBe('application/problem+json');
      expect(await empty.json(), path).toMatchObject({ status: 400 });
    }

    // An unknown job beside a known one costs the known one nothing (see stream-gone.test.ts);
    // a stream of unknown jobs only is a 404 naming them.
    const unknown = crypto.randomUUID();
    const other = crypto.randomUUID();
    const notFound = await fetch(multiUrl([unknown, other]));
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await notFound.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 404, type: '/problems/job-not-found' });
    expect(problem.detail).toBe(`no jobs with ids "${unknown}", "${other}"`);
    // Ids that cannot be jobs' are refused before any lookup, each named too.
    const malformed = (await (await fetch(multiUrl(['a', 'b']))).json()) as Record<string, unknown>;
    expect(malformed).toMatchObject({ status: 404, detail: 'no jobs with ids "a", "b"' });
    // Exactly 100 is fine (all unknown here: 404, not 400).
    expect((await fetch(multiUrl(many.slice(0, 100)))).status).toBe(404);
    expect(s.h.api.hub.topicCount).toBe(0);
  });

  it('carries 20 jobs on ONE EventSource connection to done, then the client stops on 204', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => s.scripts.submit(s.h.url, simulateScript(5, 60))));
    const source = new RecordingSource(multiUrl(ids));
    try {
      const allDone = () => new Set(source.events.filter((e) => e.type === 'done').map((e) => e.data.jobId)).size;
      await source.until(() => allDone() === 20, 'done of all 20 jobs', 20_000);
      // The server ends the stream; EventSource comes back once with the final cursor and
      // is told 204.
      await source.until((x) => x.readyState === EventSource.CLOSED, 'EventSource to stop', 5_000);
      await sleep(RETRY_MS * 3);
      expect(source.requests).toHaveLength(2);
      expect(source.requests[1]?.lastEventId).toBe(source.events.at(-1)?.id);
      expect(cursorsOf(source.requests[1]?.lastEventId)).toHaveLength(20);
      expect(source.errors.at(-1)?.code).toBe(204);
      expect(source.events.filter((e) => e.type === 'done')).toHaveLength(20);
      for (const id of ids) {
        const dones = source.events.filter((e) => e.type === 'done' && e.data.jobId === id);
        expect(dones).toHaveLength(1);
        expect(dones[0]?.data).toMatchObject({ status: 'completed', result: { steps: 0 } });
      }
      // All of it over the first connection.
      expect(source.events.every((e) => e.request === 0)).toBe(true);
    } finally {
      source.close();
    }
  });
});
