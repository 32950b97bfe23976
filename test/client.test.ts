/**
 * The typed client against a real server: every call, watching with resume, and its SSE
 * parser against the encoder at any chunk split.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FeedEvent, JobcastClient, JobcastError, type WatchEvent } from '../packages/client/src/index.js';
import { SseParser } from '../packages/client/src/sse-parser.js';
import { encodeEvent } from '../src/sse.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { KEY_A, startKeyedHarness } from './support/http/security.js';

let h: Harness;
let client: JobcastClient;
beforeAll(async () => {
  h = await startHarness({ env: { SSE_RETRY_MS: '100' } });
  client = new JobcastClient({ baseUrl: h.url });
});
afterAll(async () => {
  await h.close();
});

async function collect(events: AsyncIterable<WatchEvent>): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('JobcastClient', () => {
  it('submits, gets and watches a job to done; lists only with a key', async () => {
    const job = await client.submit('simulate', { steps: 3, stepMs: 20 });
    expect(job.state).toBe('queued');
    const events = await collect(client.watch(job.id));
    expect(events.at(-1)).toMatchObject({
      type: 'done',
      jobId: job.id,
      data: { status: 'completed', result: { steps: 3 } },
    });
    expect((await client.get(job.id)).state).toBe('completed');
    // Without keys nothing is listed (a job id is the only way to a job)…
    await expect(client.list({ limit: 5 })).rejects.toMatchObject({ status: 403 });
    // …with a key, the key's own jobs are.
    const keyed = await startKeyedHarness({}, { worker: false });
    try {
      const mine = new JobcastClient({ baseUrl: keyed.url, apiKey: KEY_A });
      const submitted = await mine.submit('simulate', { steps: 1 });
      const page = await mine.list({ limit: 5 });
      expect(page.items.map((j) => j.id)).toEqual([submitted.id]);
    } finally {
      await keyed.close();
    }
  });

  it('watches many jobs over one connection, one done each', async () => {
    const jobs = await Promise.all([1, 2, 3].map((n) => client.submit('simulate', { steps: n, stepMs: 30 })));
    const events = await collect(client.watchMany(jobs.map((j) => j.id)));
    for (const job of jobs) {
      expect(events.filter((e) => e.jobId === job.id && e.type === 'done')).toHaveLength(1);
    }
  });

  it('submits a batch, all or none, and watches it to one done per job', async () => {
    const batch = await client.submitBatch([
      { type: 'simulate', data: { steps: 2, stepMs: 20 } },
      { type: 'simulate', data: { steps: 1, stepMs: 20 }, options: { priority: 3 } },
    ]);
    expect(batch.items.map((job) => job.state)).toEqual(['queued', 'queued']);
    const ids = batch.items.map((job) => job.id);
    const done = new Map<string, string>();
    for await (const event of client.watchMany(ids))
      if (event.type === 'done') done.set(event.jobId, event.data.status);
    expect(Object.fromEntries(done)).toEqual(Object.fromEntries(ids.map((id) => [id, 'completed'])));
    await expect(client.submitBatch([{ type: 'simulate' }, { type: 'nope' }])).rejects.toMatchObject({
      status: 422,
      problem: { errors: [{ path: 'jobs.1.type' }] },
    });
  });

  it('resumes after the server drops the connection, without repeats', async () => {
    const job = await client.submit('simulate', { steps: 12, stepMs: 60 });
    const seen: WatchEvent[] = [];
    let drops = 0;
    for await (const event of client.watch(job.id)) {
      seen.push(event);
      if (seen.length === 3 || seen.length === 6) {
        drops++;
        h.api.connections.endAll();
      }
    }
    expect(drops).toBe(2);
    const seqs = seen.map((e) => e.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    expect(seen.filter((e) => e.type === 'done')).toHaveLength(1);
  });

  it('cancels, and reports problems as JobcastError', async () => {
    const job = await client.submit('simulate', { steps: 100, stepMs: 50 });
    await client.cancel(job.id);
    const events = await collect(client.watch(job.id));
    expect(events.at(-1)).toMatchObject({ type: 'done', data: { status: 'cancelled' } });
    const error = await client.cancel(job.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobcastError);
    expect((error as JobcastError).status).toBe(409);
    await expect(client.submit('nope')).rejects.toMatchObject({ status: 422 });
    await expect(client.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ status: 404 });
  });
});

describe('JobcastClient: what progress tells beyond the percentage', () => {
  it("types rate, eta and a queued job's place; summary on request; tags to submit and list by", async () => {
    const job = await client.submit('simulate', { steps: 4, stepMs: 60 });
    let paced = false;
    for await (const event of client.watch(job.id)) {
      if (event.type === 'progress' && event.data.state === 'active' && event.data.progress > 0) {
        expect(event.data.rate).toBeGreaterThan(0);
        expect(Date.parse(event.data.eta ?? '')).toBeGreaterThan(0);
        expect(event.data.stalled).toBe(false);
        paced = true;
      }
    }
    expect(paced).toBe(true);
    const ids = (
      await client.submitBatch([{ type: 'simulate', data: { steps: 2, stepMs: 20 } }, { type: 'simulate' }])
    ).items.map((j) => j.id);
    const summaries = [];
    for await (const event of client.watchMany(ids, { summary: true }))
      if (event.type === 'summary') summaries.push(event.data);
    expect(summaries.at(-1)).toEqual({ total: 2, completed: 2, failed: 0, cancelled: 0, progress: 100 });
    // Without asking, no summary reaches the caller.
    const plain = await collect(client.watchMany(ids));
    expect(plain.map((e) => e.type)).not.toContain('summary');
  });

  it('follows the feed of its key, resuming after a dropped connection without repeats', async () => {
    const keyed = await startKeyedHarness({ SSE_RETRY_MS: '100' });
    const stop = new AbortController();
    try {
      const mine = new JobcastClient({ baseUrl: keyed.url, apiKey: KEY_A });
      const seen: FeedEvent[] = [];
      const following = (async () => {
        for await (const event of mine.feed({ tag: ['cli'], signal: stop.signal })) {
          seen.push(event);
          // Dropped twice by the server: the client comes back from the last id it had.
          if (seen.length === 2 || seen.length === 5) keyed.api.connections.endAll();
          if (event.type === 'done') stop.abort();
        }
      })();
      // The feed starts now: what it gets is what happens after it is open. Its connection is
      // counted once it has subscribed and read where "now" is (events/feed-session).
      await waitFor(() => keyed.api.connections.size === 1, 'the feed stream open');
      const job = await mine.submit('simulate', { steps: 5, stepMs: 80 }, { tags: ['cli'] });
      expect(job.tags).toEqual(['cli']);
      await mine.submit('simulate', { steps: 1 }, { tags: ['other'] });
      await following;
      expect(seen.every((e) => e.type !== 'reset' && e.jobId === job.id)).toBe(true);
      expect(seen.at(-1)).toMatchObject({ type: 'done', data: { status: 'completed' } });
      const ids = seen.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect((await mine.list({ tag: 'cli' })).items.map((j) => j.id)).toEqual([job.id]);
    } finally {
      stop.abort();
      await keyed.close();
    }
  });
});

describe('JobcastClient against a misbehaving server', () => {
  it('reconnects when a stream goes silent, and skips events it cannot read', async () => {
    const jobId = '00000000-0000-4000-8000-000000000001';
    const requests: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      requests.push(req.headers['last-event-id'] as string | undefined);
      if (requests.length === 1) {
        // One good event, one unreadable one, then silence: no heartbeat, no end.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`id: 3\nevent: progress\ndata: ${JSON.stringify({ jobId, state: 'active', progress: 30 })}\n\n`);
        res.write('id: 4\nevent: progress\ndata: {not json\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`id: 5\nevent: done\ndata: ${JSON.stringify({ jobId, status: 'completed' })}\n\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const silent = new JobcastClient({ baseUrl: `http://127.0.0.1:${port}` });
      const states: string[] = [];
      const events = await collect(
        silent.watch(jobId, { idleTimeoutMs: 300, maxRetryMs: 100, onConnection: (state) => states.push(state) }),
      );
      expect(events.map((e) => `${e.seq}:${e.type}`)).toEqual(['3:progress', '5:done']);
      // The second request resumed after the last event read (3; the unreadable 4 was skipped).
      expect(requests).toEqual([undefined, '3']);
      expect(states).toEqual(['live', 'reconnecting', 'live']);
    } finally {
      server.close();
    }
  });

  it('refuses a base URL it could never use', () => {
    expect(() => new JobcastClient({ baseUrl: 'not a url' })).toThrow();
  });
});

describe('SseParser', () => {
  it('reads what encodeEvent writes, at any chunk split', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.stringMatching(/^[0-9.]{0,12}$/),
            event: fc.constantFrom('progress', 'log', 'done'),
            data: fc.string(),
          }),
          {
            minLength: 1,
            maxLength: 5,
          },
        ),
        fc.array(fc.nat(), { maxLength: 8 }),
        (events, cuts) => {
          const wire = `retry: 100\n\n${events.map((e) => encodeEvent(e)).join(': ping\n\n')}`;
          const got: { id: string | undefined; event: string; data: string }[] = [];
          let retry = 0;
          const parser = new SseParser({
            onEvent: (e) => got.push(e),
            onRetry: (ms) => {
              retry = ms;
            },
          });
          const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          let at = 0;
          for (const p of [...points, wire.length]) {
            parser.feed(wire.slice(at, p));
            at = p;
          }
          expect(retry).toBe(100);
          expect(got).toEqual(
            events.map((e) => ({ id: e.id, event: e.event, data: e.data.replace(/\r\n|\r/g, '\n') })),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
