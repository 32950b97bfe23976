/**
 * A stream's first read of its job, and which connection it takes: over RESP3 the read goes on
 * the subscriber connection right behind the SUBSCRIBE (Redis answers it after the subscription
 * took effect: one write, one round trip); a RESP2 subscriber cannot run it, so the read waits
 * for the confirmation and goes on the command connection. Either way the watcher gets the
 * job's record and then its live events, and nothing stays subscribed once it stops watching.
 * The read comes back as one JSON string, and gives the record and log lines as stored.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Channels } from '../src/events/channels.js';
import { EventHub } from '../src/events/hub.js';
import type { SharedEvent } from '../src/events/shared-event.js';
import type { HubWatcher } from '../src/events/topic.js';
import { snapshotReader } from '../src/jobs/snapshot.js';
import { JobStore } from '../src/jobs/store.js';
import { createLogger } from '../src/log.js';
import { waitFor } from './support/harness/harness.js';

const log = createLogger('error');
const open: Redis[] = [];

afterEach(async () => {
  for (const redis of open.splice(0)) await redis.quit();
});

/** The last command Redis saw from the connection named `name` (CLIENT LIST's `cmd`). */
async function lastCommand(inspector: Redis, name: string): Promise<string | undefined> {
  const line = String(await inspector.client('LIST'))
    .split('\n')
    .find((l) => l.includes(`name=${name} `));
  return /\bcmd=(\S+)/.exec(line ?? '')?.[1];
}

describe.each([
  // EVAL the first time a connection runs the script (NOSCRIPT), EVALSHA after.
  { protocol: 3 as const, readsOn: 'the subscriber connection', lastOnSubscriber: /^eval(sha)?$/ },
  { protocol: 2 as const, readsOn: 'the command connection', lastOnSubscriber: /^subscribe$/ },
])('a subscriber speaking RESP$protocol', ({ protocol, lastOnSubscriber, readsOn }) => {
  it(`reads the job on ${readsOn}, then delivers its live events, and unsubscribes after`, async () => {
    const url = inject('redisUrl');
    const name = `subread${randomBytes(3).toString('hex')}`;
    const command = new Redis(url, { connectionName: `${name}-command` });
    const subscriber = new Redis(url, { protocol, connectionName: `${name}-subscriber` });
    const inspector = new Redis(url);
    open.push(command, subscriber, inspector);
    await Promise.all([command, subscriber].map((r) => new Promise((resolve) => r.once('ready', resolve))));

    const store = new JobStore(command, { prefix: name, logMaxLines: 100, retentionSeconds: 60 });
    const channels = new Channels(subscriber, { log });
    expect(channels.takesCommands).toBe(protocol === 3);
    const hub = new EventHub(channels, {
      keys: (id) => store.keys(id),
      snapshot: (id) => store.snapshot(id),
      snapshotOnSubscriber: snapshotReader(subscriber, (id) => store.keys(id)),
      log,
    });

    const id = randomUUID();
    await store.create([{ id, type: 'simulate', maxAttempts: 1 }], undefined, Date.now()).written;
    const events: SharedEvent[] = [];
    const watcher: HubWatcher = { event: (e) => events.push(e), snapshot: () => {}, gone: () => {} };
    const { unwatch, snapshot } = await hub.watch(id, watcher);

    expect(snapshot?.record).toMatchObject({ id, state: 'queued', seq: '1' });
    expect(await lastCommand(inspector, `${name}-subscriber`)).toMatch(lastOnSubscriber);
    // A job nobody wrote reads as missing, on either path.
    const missing = await hub.watch(randomUUID(), watcher);
    expect(missing.snapshot).toBeUndefined();
    missing.unwatch();

    await store.report(id, { state: 'active', progress: 50, attempt: 1 });
    await waitFor(() => events.length === 1, 'the live event after the read');
    expect(events[0]).toMatchObject({ jobId: id, seq: 2, event: 'progress' });

    unwatch();
    await waitFor(async () => {
      const [, n] = (await inspector.pubsub('NUMSUB', store.keys(id).channel)) as [string, number];
      return Number(n) === 0;
    }, 'the channel unsubscribed');
  });
});

describe('the snapshot read (one JSON string from Redis)', () => {
  it('gives the record and log lines exactly as stored, whatever they hold; none for a job without a record', async () => {
    const url = inject('redisUrl');
    const command = new Redis(url);
    open.push(command);
    const name = `snap${randomBytes(3).toString('hex')}`;
    const store = new JobStore(command, { prefix: name, logMaxLines: 100, retentionSeconds: 60 });
    const read = snapshotReader(command, (id) => store.keys(id));
    const id = randomUUID();
    await store.create([{ id, type: 'simulate', maxAttempts: 1, tags: ['a/b', 'ü "q"'] }], undefined, Date.now())
      .written;
    // No log yet: cjson writes the empty list as `{}`.
    expect((await read(id))?.logs).toEqual([]);
    const lines = ['a/b "q" \\ ü 中 😀', 'tab\tand\nnewline', '\u0001\u007f', ''];
    for (const line of lines) await store.log(id, line);
    await store.report(id, { state: 'active', progress: 12.5, message: 'x/y "z"', attempt: 1, details: '{"k":"/"}' });
    const snapshot = await read(id);
    expect(snapshot?.record).toEqual(await command.hgetall(store.keys(id).record));
    expect(snapshot?.logs.map((log) => JSON.parse(log.data).line)).toEqual(lines);
    expect(await read(randomUUID())).toBeUndefined();
  });
});
