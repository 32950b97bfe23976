/**
 * Fan-out at scale: many SSE streams on one API process cost one Redis subscription per job
 * and no Redis connection per stream (DESIGN: "O(1) Redis connections per process"), and every
 * stream still gets its `done`.
 *
 * Runs against a redis-server of its own so the client count is not moved by other test
 * files. The worker is started only once every stream is open, so all of them are watching
 * a job that has not finished yet and `done` really is fanned out live.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../src/config.js';
import { bullPrefix } from '../src/jobs/keys.js';
import { createLogger } from '../src/log.js';
import { type RunningApi, startApi } from '../src/server.js';
import { type RunningWorker, startWorker } from '../workers/runner.js';
import { connectedClients, waitFor } from './support/harness/harness.js';
import { submitJob } from './support/http/api.js';
import { type PrivateRedis, startPrivateRedis } from './support/redis/private-redis.js';
import { openStream, type RawStream } from './support/sse/raw-sse.js';
import type { ReceivedEvent } from './support/sse/sse.js';

let redis: PrivateRedis;
let config: Config;
let api: RunningApi;
let worker: RunningWorker | undefined;
let inspector: Redis;
let streams: RawStream[] = [];
const log = createLogger('warn');

beforeAll(async () => {
  redis = await startPrivateRedis();
  config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    KEY_PREFIX: `scale${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'warn',
    // All 1,000 "clients" here share one address: raise the per-client stream cap above them
    // (the cap itself stays on, so each stream still claims its slot in Redis).
    MAX_STREAMS_PER_CLIENT: '2000',
  });
  api = await startApi(config, redis.url, log);
  inspector = new Redis(redis.url);
});

afterEach(async () => {
  for (const stream of streams) stream.close();
  streams = [];
  await worker?.close();
  worker = undefined;
});

afterAll(async () => {
  await api?.close();
  await inspector?.quit();
  await redis?.stop();
});

const submit = async (data: Record<string, unknown>) => (await submitJob(api, { data })).id;

/**
 * Job event channels (`<prefix>:{<id>}:ev`) subscribed on the Redis server, by anyone: only
 * our API subscribes to them here. (Workers subscribe to other channels, e.g. for cancels.)
 */
async function channels(): Promise<string[]> {
  return (await inspector.pubsub('CHANNELS', `${config.KEY_PREFIX}:{*}:ev`)) as string[];
}

/** Resolves when every stream has its first event (the state sent on connect). */
function allConnected(list: RawStream[], timeoutMs: number): Promise<unknown> {
  return Promise.all(list.map((s) => s.next(() => true, timeoutMs)));
}

/** Waits for `done` on every stream, noting when each arrived. */
async function allDone(list: RawStream[], timeoutMs: number): Promise<{ events: ReceivedEvent[]; at: number[] }> {
  const at: number[] = [];
  const events = await Promise.all(
    list.map(async (s) => {
      const done = await s.next((e) => e.type === 'done', timeoutMs);
      at.push(performance.now());
      return done;
    }),
  );
  return { events, at };
}

describe('1,000 streams on one job', () => {
  it('all get done, over one subscription, with no Redis connection per stream', async () => {
    const id = await submit({ steps: 20, stepMs: 100 });
    const jobUrl = `${api.url}/jobs/${id}/events`;
    const clientsIdle = await connectedClients(inspector);

    streams.push(openStream(jobUrl));
    await allConnected(streams, 10_000);
    const clientsOne = await connectedClients(inspector);
    expect(api.hub.topicCount).toBe(1);

    const openStarted = performance.now();
    for (let i = 1; i < 1_000; i++) streams.push(openStream(jobUrl));
    await allConnected(streams, 30_000);
    const openMs = performance.now() - openStarted;
    const clientsThousand = await connectedClients(inspector);
    const topicsThousand = api.hub.topicCount;
    const subscribedChannels = await channels();
    const numsub = (await inspector.pubsub('NUMSUB', `${config.KEY_PREFIX}:{${id}}:ev`)) as [string, number];

    expect(api.connections.size).toBe(1_000);
    expect(clientsThousand).toBe(clientsOne);
    expect(topicsThousand).toBe(1);
    expect(subscribedChannels).toHaveLength(1);
    expect(Number(numsub[1])).toBe(1);
    // Every stream starts from the job's current state.
    for (const s of streams) expect(s.events[0]).toMatchObject({ type: 'progress', data: { jobId: id } });

    const workerStarted = performance.now();
    worker = await startWorker(config, redis.url, log);
    const clientsWithWorker = await connectedClients(inspector);
    const { events: dones, at } = await allDone(streams, 30_000);
    const firstDone = Math.min(...at);
    const lastDone = Math.max(...at);

    for (const done of dones) {
      expect(done.data).toMatchObject({ jobId: id, status: 'completed', result: { steps: 20 } });
    }
    // After done the server ends each response cleanly (no reconnect needed).
    const ends = await Promise.all(streams.map((s) => s.ended));
    expect(new Set(ends)).toEqual(new Set(['end']));
    await waitFor(() => api.connections.size === 0 && api.hub.topicCount === 0, 'streams and topics released', 5_000);
    // As in the test below: the UNSUBSCRIBE travels on the subscriber connection, PUBSUB
    // CHANNELS on another, and Redis may answer the second first (seen once in a clean-clone CI).
    await waitFor(async () => (await channels()).length === 0, 'the channel unsubscribed', 5_000);

    console.log(
      [
        '[scale] 1,000 streams on one job:',
        `  redis clients: idle ${clientsIdle}, 1 stream ${clientsOne}, 1,000 streams ${clientsThousand} (API process; +worker ${clientsWithWorker})`,
        `  hub topics with 1,000 streams open: ${topicsThousand}; channels on the server: ${subscribedChannels.length}`,
        `  opening 999 streams until each had its first event: ${openMs.toFixed(0)} ms`,
        `  worker start → last done: ${(lastDone - workerStarted).toFixed(0)} ms (job: 20 steps × 100 ms)`,
        `  first → last done delivered: ${(lastDone - firstDone).toFixed(1)} ms`,
      ].join('\n'),
    );
    // Typically ~5 s; the bounds above leave room for a machine busy with other work.
  }, 80_000);
});

describe('200 streams over 20 jobs', () => {
  it('all get their own job’s done, with one subscription per distinct job', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => submit({ steps: 5, stepMs: 200 })));
    const clientsBefore = await connectedClients(inspector);
    const owner = new Map<RawStream, string>();
    for (let i = 0; i < 200; i++) {
      const id = ids[i % ids.length] as string;
      const stream = openStream(`${api.url}/jobs/${id}/events`);
      owner.set(stream, id);
      streams.push(stream);
    }
    await allConnected(streams, 15_000);

    expect(api.connections.size).toBe(200);
    expect(api.hub.topicCount).toBe(20);
    expect(await channels()).toHaveLength(20);
    expect(await connectedClients(inspector)).toBe(clientsBefore);

    // All 20 at once: one abort listener per running job on the worker's shared signal is no
    // leak, and Node must not be led to warn of one (it warns past 10 listeners).
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const started = performance.now();
    let dones: ReceivedEvent[];
    try {
      worker = await startWorker({ ...config, WORKER_CONCURRENCY: 20 }, redis.url, log);
      const active = `${bullPrefix(config.KEY_PREFIX)}:${config.QUEUE_NAME}:active`;
      await waitFor(async () => (await inspector.llen(active)) === 20, 'all 20 jobs running at once', 15_000);
      ({ events: dones } = await allDone(streams, 20_000));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    const elapsed = performance.now() - started;

    dones.forEach((done, i) => {
      expect(done.data).toMatchObject({
        jobId: owner.get(streams[i] as RawStream),
        status: 'completed',
        result: { steps: 5 },
      });
    });
    await waitFor(() => api.connections.size === 0 && api.hub.topicCount === 0, 'streams and topics released', 5_000);
    // The UNSUBSCRIBEs travel on the subscriber connection, PUBSUB CHANNELS on another: Redis
    // may answer the second first. Released means none left once they have arrived.
    await waitFor(async () => (await channels()).length === 0, 'every channel unsubscribed', 5_000);
    console.log(`[scale] 200 streams over 20 jobs: worker start → last done ${elapsed.toFixed(0)} ms; topics open: 20`);
  }, 50_000);
});
