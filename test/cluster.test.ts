/**
 * jobcast on a real Redis Cluster (three masters, local redis-server processes) with
 * REDIS_CLUSTER=1 and REDIS_URL naming one node, run as in production: two API processes and
 * two worker processes. Jobs submitted on one API are watched on the other to `done`; a
 * stream read on API 1 resumes on API 2 with Last-Event-ID (no duplicate, one `done`); one
 * connection watches jobs whose records live on every shard, and so does a batch's stream; a
 * job running on either worker is cancelled through API 2; the list shows every job. Underneath: job records spread over all
 * three shards (by their `{<id>}` hash tag) while BullMQ's keys share the one `{<prefix>}` tag,
 * and each job's events travel by sharded pub/sub on its own shard. Last, the API's sharded
 * subscription to one shard drops at the instant a job there publishes `done`: once it is
 * re-subscribed the stream must still get that `done`.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doneData } from '../src/jobs/events.js';
import { jobKeys } from '../src/jobs/keys.js';
import { finishLua } from '../src/jobs/scripts/finish.js';
import { waitFor } from './support/harness/harness.js';
import { getJob as getJobOf, submitJob } from './support/http/api.js';
import { bearer, KEY_A } from './support/http/security.js';
import { createFleet, type Fleet, type FleetMember } from './support/processes/fleet.js';
import { childrenLeftBehind } from './support/processes/processes.js';
import { type ClusterNode, type RedisCluster, scanKeys, startRedisCluster } from './support/redis/cluster.js';
import { type LiveWatch, liveWatch } from './support/sse/live-watch.js';
import { openStream, type RawStream } from './support/sse/raw-sse.js';
import { expectIncreasingIds, type ReceivedEvent, readStreamUntil, watch } from './support/sse/sse.js';

const PREFIX = `cl${randomBytes(4).toString('hex')}`;

let cluster: RedisCluster | undefined;
let fleet: Fleet | undefined;
let api1: FleetMember;
let api2: FleetMember;
const streams: RawStream[] = [];
const watches: LiveWatch[] = [];
/** Every job submitted by this file, for the list and the key checks. */
const submitted: string[] = [];
const figures: string[] = [];
let startedAt = 0;

beforeAll(async () => {
  startedAt = performance.now();
  cluster = await startRedisCluster({ masters: 3 });
  const clusterMs = performance.now() - startedAt;
  fleet = createFleet({
    REDIS_URL: cluster.url,
    REDIS_CLUSTER: '1',
    KEY_PREFIX: PREFIX,
    SSE_RETRY_MS: '200',
    // One job at a time per worker: two jobs running at once are on two different workers.
    WORKER_CONCURRENCY: '1',
    // The limits stay on (above what this file uses): their keys and script run on the cluster too.
    RATE_LIMIT_PER_MINUTE: '1000',
    MAX_STREAMS_PER_CLIENT: '100',
    // Keyed, so that jobs are listed (and their indexes live on the cluster too).
    API_KEYS: KEY_A,
  });
  // Two at a time: four `tsx` start-ups at once starve a two-core machine.
  [api1] = await Promise.all([fleet.api(), fleet.worker()]);
  [api2] = await Promise.all([fleet.api(), fleet.worker()]);
  figures.push(
    `cluster up in ${clusterMs.toFixed(0)} ms, 2 APIs + 2 workers in ${(performance.now() - startedAt - clusterMs).toFixed(0)} ms`,
  );
}, 90_000);

afterAll(async () => {
  for (const s of streams) s.close();
  for (const w of watches) w.close();
  try {
    await fleet?.stopAll();
  } finally {
    await cluster?.stop();
    figures.push(`total ${(performance.now() - startedAt).toFixed(0)} ms`);
    console.log(`[cluster] ${figures.join('; ')}`);
  }
  // Nothing left behind: no API, worker or redis-server process outlives the file.
  await waitFor(() => childrenLeftBehind().length === 0, 'every child process to be gone', 5_000).catch(() => {
    throw new Error(`processes left behind: ${JSON.stringify(childrenLeftBehind())}`);
  });
}, 30_000);

const url = (api: FleetMember) => api.url as string;
const AUTH = bearer(KEY_A);

async function submit(api: FleetMember, data: Record<string, unknown>): Promise<string> {
  const { id } = await submitJob(api, { data }, AUTH);
  submitted.push(id);
  return id;
}

const getJob = (api: FleetMember, id: string) => getJobOf(api, id, AUTH);

/** The node holding a job's record (its key hashes on `{<id>}`). */
async function shardOf(id: string): Promise<ClusterNode> {
  const c = cluster as RedisCluster;
  return c.nodeOfSlot(await c.keySlot(`${PREFIX}:{${id}}`));
}

describe('two API and two worker processes on a 3-master Redis Cluster', () => {
  it('runs jobs submitted on API 1 to done, watched live on API 2', async () => {
    const t0 = performance.now();
    const ids = await Promise.all(Array.from({ length: 6 }, () => submit(api1, { steps: 5, stepMs: 60 })));
    const streamsOf = await Promise.all(
      ids.map((id) => watch(`${url(api2)}/jobs/${id}/events`, { timeoutMs: 20_000, headers: AUTH })),
    );
    for (const [i, events] of streamsOf.entries()) {
      const id = ids[i] as string;
      const dones = events.filter((e) => e.type === 'done');
      expect(dones, JSON.stringify(events)).toHaveLength(1);
      expect(dones[0]?.data).toMatchObject({ jobId: id, status: 'completed', result: { steps: 5 } });
      expect(events.at(-1)?.type).toBe('done');
      expectIncreasingIds(events, id);
      const progress = events.filter((e) => e.type === 'progress').map((e) => Number(e.data.progress));
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(await getJob(api1, id)).toMatchObject({ id, state: 'completed', progress: 100, result: { steps: 5 } });
    }
    const shards = new Set(await Promise.all(ids.map(async (id) => (await shardOf(id)).port)));
    figures.push(
      `submit→done: ${ids.length} jobs in ${(performance.now() - t0).toFixed(0)} ms over ${shards.size} shards`,
    );
  }, 40_000);

  it('resumes on API 2 with Last-Event-ID a stream read on API 1: nothing twice, one done', async () => {
    const id = await submit(api1, { steps: 20, stepMs: 100 });
    const first = openStream(`${url(api1)}/jobs/${id}/events`, { headers: AUTH });
    streams.push(first);
    await first.next((e) => e.type === 'progress' && Number(e.data.progress) >= 30, 15_000);
    first.close();
    const lastId = first.events.at(-1)?.id as string;
    expect(first.events.some((e) => e.type === 'done')).toBe(false);

    const t0 = performance.now();
    const second = openStream(`${url(api2)}/jobs/${id}/events`, { headers: { ...AUTH, 'last-event-id': lastId } });
    streams.push(second);
    const firstResumed = await second.next(() => true, 5_000);
    const resumeMs = performance.now() - t0;
    await second.next((e) => e.type === 'done', 15_000);
    expect(await second.ended).toBe('end');

    expect(Number(firstResumed.id)).toBeGreaterThan(Number(lastId));
    const union = [...first.events, ...second.events];
    expectIncreasingIds(union, 'API 1 then API 2');
    expect(union.filter((e) => e.type === 'done')).toHaveLength(1);
    expect(union.at(-1)?.data).toMatchObject({ jobId: id, status: 'completed', result: { steps: 20 } });
    figures.push(
      `resume: ${first.events.length} events on API 1 (to id ${lastId}), ${second.events.length} on API 2, first after ${resumeMs.toFixed(0)} ms`,
    );
  }, 40_000);

  it('carries jobs whose records live on all three shards on one multi-job stream', async () => {
    const c = cluster as RedisCluster;
    // Submit until every shard holds one (ids are random: about 5–6 tries on average).
    const byShard = new Map<number, string>();
    for (let tries = 0; byShard.size < c.nodes.length; tries++) {
      expect(tries, 'jobs submitted before every shard held one').toBeLessThan(60);
      const id = await submit(api1, { steps: 20, stepMs: 100 });
      const port = (await shardOf(id)).port;
      if (!byShard.has(port)) byShard.set(port, id);
    }
    const ids = [...byShard.values()];
    const watching = watch(`${url(api2)}/events?jobs=${ids.join(',')}`, {
      timeoutMs: 25_000,
      headers: AUTH,
      until: (() => {
        let dones = 0;
        return (e: ReceivedEvent) => e.type === 'done' && ++dones === ids.length;
      })(),
    });
    // Sharded pub/sub: while the stream is open, each job's channel is subscribed on the node
    // that holds the job (where the worker's SPUBLISH lands), not broadcast to every node.
    const channelsOnShard = async () =>
      Promise.all(c.nodes.map(async (node) => (await node.redis.pubsub('SHARDCHANNELS', `${PREFIX}:*`)) as string[]));
    let seen: string[][] = [];
    await waitFor(
      async () => {
        seen = await channelsOnShard();
        return c.nodes.every((node, i) => seen[i]?.includes(`${PREFIX}:{${byShard.get(node.port)}}:ev`));
      },
      'each job channel subscribed on its own shard',
      10_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(seen)}`);
    });
    for (const [i, node] of c.nodes.entries()) {
      expect(seen[i], `shard channels on node ${node.port}`).toEqual([`${PREFIX}:{${byShard.get(node.port)}}:ev`]);
    }
    const events = await watching;
    for (const id of ids) {
      const mine = events.filter((e) => e.data.jobId === id);
      expect(
        mine.filter((e) => e.type === 'progress' && e.data.state === 'active').length,
        `${id}: live progress`,
      ).toBeGreaterThan(0);
      const dones = mine.filter((e) => e.type === 'done');
      expect(dones, `${id}: ${JSON.stringify(mine)}`).toHaveLength(1);
      expect(dones[0]?.data).toMatchObject({ status: 'completed', result: { steps: 20 } });
    }
    // One id per event, every job's cursor in it, never going back.
    const cursors = events.map((e) => e.id.split('.').map(Number));
    for (let i = 1; i < cursors.length; i++) {
      const [before, now] = [cursors[i - 1] as number[], cursors[i] as number[]];
      expect(now).toHaveLength(ids.length);
      expect(now.every((n, k) => n >= (before[k] as number))).toBe(true);
    }
    figures.push(`multi-job stream: ${ids.length} jobs on ${byShard.size} shards, ${events.length} events`);
  }, 40_000);

  it('takes a batch whose records spread over the shards, and runs it to done on its one stream', async () => {
    const c = cluster as RedisCluster;
    const res = await fetch(`${url(api1)}/jobs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...AUTH },
      body: JSON.stringify({
        jobs: Array.from({ length: 12 }, (_, i) => ({ type: 'simulate', data: { steps: i + 1, stepMs: 20 } })),
      }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const batch = (await res.json()) as { items: { id: string }[]; links: { events: string } };
    const ids = batch.items.map((job) => job.id);
    submitted.push(...ids);
    // 12 random ids over 3 shards: at least two shards hold some, short of a 1-in-180,000 draw
    // (all three do 98.5 % of the time; the figure below says which case ran).
    const shards = new Set(await Promise.all(ids.map(async (id) => (await shardOf(id)).port)));
    const events = await watch(`${url(api2)}${batch.links.events}`, {
      timeoutMs: 25_000,
      until: (() => {
        let dones = 0;
        return (e: ReceivedEvent) => e.type === 'done' && ++dones === ids.length;
      })(),
    });
    for (const [i, id] of ids.entries()) {
      const dones = events.filter((e) => e.type === 'done' && e.data.jobId === id);
      expect(dones, id).toHaveLength(1);
      expect(dones[0]?.data).toMatchObject({ status: 'completed', result: { steps: i + 1 } });
    }
    expect(shards.size, 'shards holding records of the batch').toBeGreaterThanOrEqual(Math.min(2, c.nodes.length));
    figures.push(`batch: ${ids.length} jobs with records on ${shards.size} shards, all done on one stream`);
  }, 40_000);

  it('cancels jobs running on each worker through API 2: done cancelled, no result', async () => {
    // Two long jobs with one slot per worker: they run at the same time, so on both workers.
    const ids = [await submit(api1, { steps: 200, stepMs: 100 }), await submit(api1, { steps: 200, stepMs: 100 })];
    const ws = ids.map((id) => {
      const w = liveWatch(`${url(api2)}/jobs/${id}/events`, { headers: AUTH });
      watches.push(w);
      return w;
    });
    await Promise.all(
      ws.map((w) =>
        w.next((e) => e.type === 'progress' && e.data.state === 'active' && Number(e.data.progress) > 0, 15_000),
      ),
    );
    const t0 = performance.now();
    for (const id of ids) {
      const res = await fetch(`${url(api2)}/jobs/${id}/cancel`, { method: 'POST', headers: AUTH });
      expect(res.status).toBe(202);
    }
    const dones = await Promise.all(ws.map((w) => w.done(10_000)));
    const cancelMs = performance.now() - t0;
    for (const [i, done] of dones.entries()) {
      expect(done.data).toMatchObject({ jobId: ids[i], status: 'cancelled' });
      expect(done.data.result).toBeUndefined();
      expect(ws[i]?.events.filter((e) => e.type === 'done')).toHaveLength(1);
    }
    // It stays cancelled: no retry, no late completion.
    await sleep(500);
    for (const id of ids) expect(await getJob(api1, id)).toMatchObject({ state: 'cancelled' });
    figures.push(`cancel: 2 running jobs (one per worker) cancelled in ${cancelMs.toFixed(0)} ms`);
  }, 40_000);

  it('lists every job submitted, on either API', async () => {
    for (const api of [api1, api2]) {
      const res = await fetch(`${url(api)}/jobs?limit=100`, { headers: AUTH });
      expect(res.status).toBe(200);
      const { items } = (await res.json()) as { items: { id: string; state: string }[] };
      expect(items.map((j) => j.id).sort()).toEqual([...submitted].sort());
      expect(items.every((j) => j.state === 'completed' || j.state === 'cancelled')).toBe(true);
    }
  });

  it("streams the key's feed on API 2 for a job submitted on API 1, and reads a waiting job's place in BullMQ's slot", async () => {
    let id: string | undefined;
    const feed = readStreamUntil(
      `${url(api2)}/events/feed`,
      (text) => id !== undefined && text.includes(`"jobId":"${id}","status":"completed"`),
      { headers: AUTH, timeoutMs: 20_000 },
    );
    // The feed is open (its start frame sent) before the job exists.
    await sleep(500);
    id = await submit(api1, { steps: 2, stepMs: 20 });
    const { response, text } = await feed;
    expect(response.status).toBe(200);
    expect(text).toContain(`"jobId":"${id}","state":"queued"`);
    expect(text).toContain(`"jobId":"${id}","state":"active","progress":50`);
    // A delayed job has no place yet; when it is due comes from BullMQ's delayed set.
    const res = await fetch(`${url(api1)}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...AUTH },
      body: JSON.stringify({ type: 'simulate', options: { delayMs: 60_000 } }),
    });
    const delayed = (await res.json()) as { id: string; runAt: string };
    submitted.push(delayed.id);
    const seen = await getJob(api2, delayed.id);
    expect(seen).toMatchObject({ state: 'queued', expectedStartAt: delayed.runAt });
    expect(seen.queuePosition).toBeUndefined();
    expect((await fetch(`${url(api2)}/jobs/${delayed.id}/cancel`, { method: 'POST', headers: AUTH })).status).toBe(202);
  });

  it('spreads job records over the shards while BullMQ keys share the {prefix} hash tag', async () => {
    const c = cluster as RedisCluster;
    const perNode = await Promise.all(
      c.nodes.map(async (node) => ({
        port: node.port,
        dbsize: await node.redis.dbsize(),
        // (An API key's feed, `{feed:<owner>}`, is no job record.)
        records: (await scanKeys(node.redis, `${PREFIX}:{*}`)).filter(
          (k) => !k.endsWith(':log') && !k.includes('{feed:'),
        ),
        bull: await scanKeys(node.redis, `{${PREFIX}}:*`),
      })),
    );
    for (const node of perNode) {
      expect(node.dbsize, `DBSIZE of node ${node.port}`).toBeGreaterThan(0);
      expect(node.records.length, `job records on node ${node.port}`).toBeGreaterThan(0);
    }
    // Each job's record is where CLUSTER KEYSLOT says, and nowhere else.
    const allRecords = perNode.flatMap((n) => n.records.map((key) => ({ key, port: n.port })));
    expect(allRecords.map((r) => r.key).sort()).toEqual(submitted.map((id) => `${PREFIX}:{${id}}`).sort());
    for (const { key, port } of allRecords) {
      expect((await c.nodeOfSlot(await c.keySlot(key))).port).toBe(port);
    }
    // BullMQ: every key on one node, all in the slot of `{prefix}`.
    const bullNodes = perNode.filter((n) => n.bull.length > 0);
    expect(bullNodes).toHaveLength(1);
    const bullKeys = (bullNodes[0] as (typeof perNode)[number]).bull;
    expect(bullKeys).toContain(`{${PREFIX}}:jobs:meta`);
    const tagSlot = await c.keySlot(`{${PREFIX}}`);
    for (const key of bullKeys.slice(0, 50)) expect(await c.keySlot(key)).toBe(tagSlot);
    figures.push(
      `keys per node ${perNode.map((n) => `${n.port}: ${n.dbsize} (records ${n.records.length}, bullmq ${n.bull.length})`).join(', ')}; jobs ${submitted.length}, shards used ${perNode.filter((n) => n.records.length > 0).length}/3`,
    );
  });

  it('resyncs a stream whose shard subscription dropped while its job finished: the watcher still gets done', async () => {
    // A worker's `done` published in the instant the API's sharded subscriber connection to that
    // shard is gone is lost for pub/sub; the hub must re-read the job once the subscription is
    // back (as it does on a single Redis). Made deterministic with one MULTI on the job's shard:
    // drop the subscriber connection, then run the worker's own finish script.
    const id = await submit(api1, { steps: 30, stepMs: 100 });
    const w = liveWatch(`${url(api2)}/jobs/${id}/events`, { headers: AUTH });
    watches.push(w);
    await w.next((e) => e.type === 'progress' && e.data.state === 'active' && Number(e.data.progress) > 0, 15_000);
    const node = await shardOf(id);
    const channel = `${PREFIX}:{${id}}:ev`;
    expect(await node.redis.pubsub('SHARDCHANNELS', channel)).toEqual([channel]);
    const subscribers = String(await node.redis.client('LIST'))
      .split('\n')
      .filter((line) => /\bssub=[1-9]/.test(line))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1] as string);
    expect(subscribers.length, "sharded subscriber connections on the job's shard").toBeGreaterThan(0);

    const keys = jobKeys(PREFIX, id);
    const now = Date.now();
    const done = doneData(id, 'completed', { result: { steps: 30 } }, now);
    const tx = node.redis.multi();
    for (const clientId of subscribers) tx.client('KILL', 'ID', clientId);
    tx.eval(finishLua, 2, keys.record, keys.log, 'SPUBLISH', channel, 'completed', 100, '', now, done, 3600);
    const replies = (await tx.exec()) as [Error | null, unknown][];
    expect(
      replies.every(([error]) => error === null),
      JSON.stringify(replies),
    ).toBe(true);
    expect(await getJob(api2, id)).toMatchObject({ state: 'completed' });

    // ioredis rebuilds the shard subscriber; the hub re-reads the job then, finds it done and
    // delivers that (after which the stream ends and the channel is released).
    const t0 = performance.now();
    const received = await w.done(20_000).catch((error: Error) => {
      throw new Error(`the job is completed in Redis, but the stream never got done: ${error.message}`);
    });
    expect(received.data).toMatchObject({ jobId: id, status: 'completed' });
    expect(w.events.filter((e) => e.type === 'done')).toHaveLength(1);
    figures.push(`shard subscriber dropped: done delivered ${(performance.now() - t0).toFixed(0)} ms after`);
  }, 60_000);
});
