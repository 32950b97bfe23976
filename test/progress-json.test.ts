/**
 * The public JSON of a progress event is written once, by the record script that publishes it
 * (`jobs/scripts/record-prelude`), and the hub sends it as it is: it must be exactly the text
 * the hub would have written from the tuple (`progressData`), whatever a handler reports — any
 * message, details, pace, attempt — and through a job's end. Where the script cannot write a
 * field as JavaScript would (a progress that is not a number, a time `toISOString` refuses), it
 * leaves the JSON out, and a stream still gets the event, written by the hub.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Channels } from '../src/events/channels.js';
import { DerivedTicker } from '../src/events/derived.js';
import { EventHub } from '../src/events/hub.js';
import type { SharedEvent } from '../src/events/shared-event.js';
import { progressData, readTuple, splitMessage, splitProgress } from '../src/jobs/events.js';
import { recordTuple } from '../src/jobs/resource.js';
import { type JobRecord, JobStore, type ProgressChange } from '../src/jobs/store.js';
import { createLogger } from '../src/log.js';
import { waitFor } from './support/harness/harness.js';
import { anyText } from './support/sse/sse-arbitraries.js';

const log = createLogger('error');

let redis: Redis;
let subscriber: Redis;
let subscriberForHub: Redis;
let store: JobStore;
/** The next message of each channel, once subscribed. */
const waiting = new Map<string, (message: string) => void>();

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  subscriber = new Redis(inject('redisUrl'));
  subscriberForHub = new Redis(inject('redisUrl'));
  subscriber.on('message', (channel: string, message: string) => waiting.get(channel)?.(message));
  store = new JobStore(redis, { prefix: `pj${randomUUID().slice(0, 6)}`, logMaxLines: 10, retentionSeconds: 60 });
});
afterAll(async () => {
  await Promise.all([redis.quit(), subscriber.quit(), subscriberForHub.quit()]);
});

/** A new job, subscribed: `next(n)` resolves with the next n messages of its channel. */
async function watchedJob() {
  const id = randomUUID();
  await store.create([{ id, type: 'simulate', maxAttempts: 3 }], undefined, Date.now()).written;
  const channel = store.keys(id).channel;
  await subscriber.subscribe(channel);
  const next = (n: number) =>
    new Promise<string[]>((resolve) => {
      const got: string[] = [];
      waiting.set(channel, (message) => {
        got.push(message);
        if (got.length === n) resolve(got);
      });
    });
  const done = async () => {
    waiting.delete(channel);
    await subscriber.unsubscribe(channel);
  };
  return { id, next, done };
}

/** What the hub would write from a progress message's tuple, and what the script wrote. */
function bothWays(jobId: string, message: string) {
  const raw = splitMessage(message);
  expect(raw?.event).toBe('progress');
  const { tupleJson, ready } = splitProgress(raw?.payload ?? '');
  return { ready, fromTuple: progressData(jobId, readTuple(tupleJson)) };
}

const longInteger = (n: number | undefined) => n !== undefined && Number.isInteger(n) && Math.abs(n) >= 1e15;
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const change: fc.Arbitrary<ProgressChange> = fc.record(
  {
    state: fc.constantFrom('queued', 'active', 'active', 'active'),
    progress: fc.oneof(finite, fc.double({ min: 0, max: 100, noNaN: true }), fc.integer({ min: 0, max: 100 })),
    message: fc.oneof(anyText(), fc.constantFrom('', 'step 3 of 50', 'a/b "c" \\ \u2028 \u007f é 中 😀')),
    attempt: fc.integer({ min: 1, max: 5 }),
    details: fc.option(
      fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue()).map((v) => JSON.stringify(v)),
      { nil: undefined },
    ),
    pace: fc.option(
      fc.record({
        rate: fc.oneof(finite, fc.double({ min: 0.001, max: 1000, noNaN: true })),
        etaMs: fc.option(fc.integer({ min: 0, max: 4e12 }), { nil: undefined }),
        intervalMs: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
        reports: fc.integer({ min: 1, max: 100 }),
      }),
      { nil: undefined },
    ),
  },
  { requiredKeys: ['state', 'progress', 'attempt'] },
) as fc.Arbitrary<ProgressChange>;

describe("a progress event's public JSON, written by its record script", () => {
  it('is the text the hub writes from the tuple, for any report and the reports after it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(change, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 4e12 }),
        async (changes, at) => {
          const job = await watchedJob();
          try {
            // Later reports keep an earlier message or details the handler did not repeat.
            for (const [i, c] of changes.entries()) {
              const arrived = job.next(1);
              const attempt = Math.max(...changes.slice(0, i + 1).map((x) => x.attempt));
              expect(await store.report(job.id, { ...c, attempt }, at + i)).toBeGreaterThan(0);
              const { ready, fromTuple } = bothWays(job.id, (await arrived)[0] as string);
              if (ready !== undefined) expect(ready).toBe(fromTuple);
              // Left to the hub only for integers past 15 digits (which ioredis writes out in full).
              else expect([c.progress, c.pace?.rate].some(longInteger)).toBe(true);
            }
          } finally {
            await job.done();
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("is the same for a job's final progress, completed or not", async () => {
    for (const status of ['completed', 'failed', 'cancelled'] as const) {
      const job = await watchedJob();
      try {
        const reported = job.next(1);
        await store.report(job.id, {
          state: 'active',
          progress: 42,
          message: 'half "way"',
          attempt: 1,
          pace: { rate: 3.3, etaMs: Date.now() + 5_000, intervalMs: 200, reports: 3 },
        });
        await reported;
        const ended = job.next(2);
        expect(await store.finish(job.id, status, { error: 'x', message: 'the end' })).toBeGreaterThan(0);
        const [progress, done] = await ended;
        const { ready, fromTuple } = bothWays(job.id, progress as string);
        expect(ready).toBeDefined();
        expect(ready).toBe(fromTuple);
        expect(JSON.parse(ready as string)).toMatchObject({ state: status, message: 'the end' });
        expect(splitMessage(done as string)?.event).toBe('done');
      } finally {
        await job.done();
      }
    }
  });

  it('is left to the hub where the script cannot write it as JavaScript would', async () => {
    const cases: Partial<ProgressChange>[] = [
      { progress: Number.NaN },
      { progress: Number.POSITIVE_INFINITY },
      // An ETA toISOString refuses: the JSON the hub writes says why it cannot (a warning).
      { pace: { rate: 1, etaMs: 9e15, reports: 2 } },
    ];
    for (const odd of cases) {
      const job = await watchedJob();
      try {
        const arrived = job.next(1);
        await store.report(job.id, { state: 'active', progress: 5, attempt: 1, ...odd });
        const raw = splitMessage((await arrived)[0] as string);
        const { tupleJson, ready } = splitProgress(raw?.payload ?? '');
        expect(ready).toBeUndefined();
        expect(readTuple(tupleJson)[0]).toBe('active');
      } finally {
        await job.done();
      }
    }
  });
});

describe('the hub, sending a progress event', () => {
  it('sends the JSON its record script wrote, with the stall signal added; and writes it itself for a message without it', async () => {
    const channels = new Channels(subscriberForHub, { log });
    const stallAfterMs = 60_000;
    const derived = new DerivedTicker({ stallAfterMs, tickMs: 60_000, log });
    const hub = new EventHub(channels, {
      keys: (id) => store.keys(id),
      snapshot: (id) => store.snapshot(id),
      log,
      derived,
    });
    const id = randomUUID();
    await store.create([{ id, type: 'simulate', maxAttempts: 1 }], undefined, Date.now()).written;
    const events: SharedEvent[] = [];
    const { unwatch } = await hub.watch(id, { event: (e) => events.push(e), snapshot: () => {}, gone: () => {} });
    try {
      const pace = { rate: 2.5, etaMs: Date.now() + 20_000, intervalMs: 400, reports: 4 };
      await store.report(id, { state: 'active', progress: 50, message: 'half', attempt: 1, details: '{"n":1}', pace });
      await waitFor(() => events.length === 1, 'the report');
      const record = (await store.get(id)) as JobRecord;
      const expected = progressData(id, recordTuple(record), { stalled: false });
      expect(events[0]?.data).toBe(expected);
      expect(JSON.parse(expected)).toMatchObject({ state: 'active', progress: 50, stalled: false, details: { n: 1 } });

      // The same state published as a script of an earlier version did: the tuple alone.
      const tuple = recordTuple(record);
      await redis.publish(store.keys(id).channel, `${Number(record.seq) + 1}\nprogress\n${JSON.stringify(tuple)}`);
      await waitFor(() => events.length === 2, 'the tuple-only message');
      expect(events[1]?.data).toBe(expected);

      // And a report the script leaves to the hub (a progress that is not a number).
      await store.report(id, { state: 'active', progress: Number.NaN, attempt: 1 });
      await waitFor(() => events.length === 3, 'the report without public JSON');
      expect(JSON.parse(events[2]?.data ?? '')).toMatchObject({ progress: null, stalled: false, message: 'half' });
    } finally {
      unwatch();
      derived.stop();
    }
  });
});
