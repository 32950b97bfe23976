/**
 * A setup file for every test file: a test fails if it leaves behind what it opened — active
 * handles and timers (`process.getActiveResourcesInfo()`: sockets, servers, child processes,
 * timers…) or `jobcast:*` Redis clients of this process (CLIENT LIST on the run's Redis, each
 * client matched to this process by the local port of one of its sockets).
 *
 * Counted per test: what exists when the test starts (a harness of the file's `beforeAll`
 * included) is the baseline; after the test, the counts must come back down to it. Things that
 * close asynchronously get time to do so (the check waits for the condition, never a fixed time).
 *
 * A leaked timer is named by the stack that made it; an ioredis client left reconnecting (to a
 * Redis a test stopped) by the file and line that made the client.
 *
 * Idle keep-alive sockets of `fetch`'s connection pool are not a leak: the pool is recycled
 * after each test (its idle sockets closed) before counting. A file whose harness legitimately
 * holds more after a test than before (documented in a comment) opts out with
 * `allowLeaks('why')` in its module scope; the whole-file check below still applies to it.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, inject } from 'vitest';
import { heldResources } from './held-open.js';

/**
 * How long closing things get to finish after a test before what is left counts as a leak. Only
 * a test that leaks waits this long; generous, for sockets shutting down on a busy machine.
 */
const SETTLE_MS = 15_000;

let allowed: string | undefined;
let knownFileLeak: string | undefined;

/**
 * Turns the leak check off for the rest of this test file. `why` is required: say what stays
 * open and why it may.
 */
export function allowLeaks(why: string): void {
  if (!why) throw new Error('allowLeaks needs a reason');
  allowed = why;
}

/**
 * A leak this file is known to find in the code under test and that is not fixed yet: the
 * whole-file check reports it as a warning instead of failing. `why` names it; remove the call
 * when it is fixed.
 */
export function knownLeak(why: string): void {
  if (!why) throw new Error('knownLeak needs a reason');
  allowed = why;
  knownFileLeak = why;
}

type Counts = Record<string, number>;

/** What is open, less what test support holds across files on purpose (`held-open.ts`). */
function resourceCounts(): Counts {
  const counts: Counts = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  for (const [type, n] of Object.entries(heldResources())) counts[type] = (counts[type] ?? 0) - n;
  return counts;
}

/** The types whose count is above the baseline, e.g. `2 × Timeout`. */
function grown(before: Counts, after: Counts): string[] {
  return Object.entries(after)
    .filter(([type, n]) => n > (before[type] ?? 0))
    .map(([type, n]) => `${n - (before[type] ?? 0)} × ${type}`);
}

/**
 * Where the timers still running were created: `setTimeout`/`setInterval` are wrapped so each
 * timer made during a test keeps the stack that made it (one Error per timer, read only when a
 * leak is reported). A leaked `Timeout` then names its maker instead of only its type.
 */
const shared = globalThis as { [key: symbol]: Map<NodeJS.Timeout, Error> | undefined };
const ORIGINS = Symbol.for('jobcast.test.timerOrigins');
shared[ORIGINS] ??= new Map();
const timerOrigins = shared[ORIGINS];
type TimerMaker = ((...args: never[]) => NodeJS.Timeout) & { __leakWrapped?: true };
for (const name of ['setTimeout', 'setInterval'] as const) {
  // Setup files run again for every test file of a shared process: wrap once.
  const real = globalThis[name] as unknown as TimerMaker;
  if (real.__leakWrapped) continue;
  const wrapped: TimerMaker = (...args) => {
    const timer = real(...args);
    if (timerOrigins.size >= 10_000) forgetFinishedTimers();
    timerOrigins.set(timer, new Error(`${name} called`));
    return timer;
  };
  Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(real));
  wrapped.__leakWrapped = true;
  (globalThis as Record<string, unknown>)[name] = wrapped;
}

function isRunning(timer: NodeJS.Timeout): boolean {
  const state = timer as unknown as { _destroyed?: boolean };
  return !state._destroyed && timer.hasRef();
}

function forgetFinishedTimers(): void {
  for (const timer of timerOrigins.keys()) if (!isRunning(timer)) timerOrigins.delete(timer);
}

/** Stacks of the timers made since the baseline that still hold the process open. */
function liveTimerOrigins(): string[] {
  const live: string[] = [];
  for (const [timer, origin] of timerOrigins) {
    if (!isRunning(timer)) continue;
    live.push((origin.stack ?? '').split('\n').slice(2, 8).join('\n'));
  }
  return live.slice(0, 5);
}

/**
 * ioredis clients waiting to reconnect, each with the test file and the line that made it: a
 * reconnect timer's own stack says only that some client lost its connection. (A client that
 * loops reconnecting to a Redis a file has stopped holds the process open, and in a process
 * shared by several files it is reported in whichever file comes next.) ioredis sets a client's
 * status as it is constructed, which is where its maker is read.
 */
interface ClientOrigin {
  file: string;
  madeAt: string;
}
const ORIGIN = Symbol.for('jobcast.test.redisOrigin');
/** Each client's one WeakRef, so that the set holds a client once however often it reconnects. */
const REF = Symbol.for('jobcast.test.redisRef');
const RECONNECTING = Symbol.for('jobcast.test.reconnectingClients');
const sharedClients = globalThis as { [key: symbol]: Set<WeakRef<Redis>> | undefined };
sharedClients[RECONNECTING] ??= new Set();
const reconnecting = sharedClients[RECONNECTING];
type StatusSetter = ((status: string, arg?: unknown) => void) & { __leakWrapped?: true };
const redisPrototype = Redis.prototype as unknown as { setStatus: StatusSetter };
if (!redisPrototype.setStatus.__leakWrapped) {
  const setStatus = redisPrototype.setStatus;
  const wrapped: StatusSetter = function (
    this: Redis & { [ORIGIN]?: ClientOrigin; [REF]?: WeakRef<Redis> },
    status,
    arg,
  ) {
    if (!this[ORIGIN]) {
      const maker = (new Error().stack ?? '')
        .split('\n')
        .find((line) => line.includes('/test/') && !line.includes('/support/runner/'));
      this[ORIGIN] = { file: expect.getState().testPath ?? 'outside a test file', madeAt: maker?.trim() ?? 'unknown' };
    }
    if (status === 'reconnecting') {
      this[REF] ??= new WeakRef(this);
      reconnecting.add(this[REF]);
    }
    setStatus.call(this, status, arg);
  };
  wrapped.__leakWrapped = true;
  redisPrototype.setStatus = wrapped;
}

/** The clients waiting to reconnect now, named by where they were made. */
function reconnectingClients(): string[] {
  const found: string[] = [];
  for (const ref of reconnecting) {
    const client = ref.deref() as (Redis & { [ORIGIN]?: ClientOrigin }) | undefined;
    if (client?.status !== 'reconnecting') {
      if (!client || client.status === 'end') reconnecting.delete(ref);
      continue;
    }
    const { host, port, connectionName } = client.options;
    const origin = client[ORIGIN];
    found.push(
      `a Redis client reconnecting: ${connectionName ?? '(unnamed)'} to ${host}:${port}, made in ${origin?.file.replace(/.*\/test\//, 'test/') ?? '?'} ${origin?.madeAt ?? ''}`,
    );
  }
  return found;
}

let inspector: Redis | undefined;

/**
 * Local ports of this process's TCP sockets, from its own handles: not from /proc/<pid>/net/tcp,
 * which lists every socket of the machine's network namespace (100,000 lines and seconds to
 * read while benchmarks run beside the tests).
 */
function ownLocalPorts(): Set<number> {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const ports = new Set<number>();
  for (const handle of handles) {
    const port = (handle as { localPort?: unknown }).localPort;
    if (typeof port === 'number') ports.add(port);
  }
  return ports;
}

/**
 * This process's connections on the run's Redis, by local port, with their client names (empty
 * until ioredis has sent CLIENT SETNAME: a client is known by its port from the moment it
 * connects, so one that is named late is not taken for a new one).
 */
async function ownRedisClients(): Promise<Map<number, string>> {
  inspector ??= new Redis(inject('redisUrl'), { connectionName: 'leak-check' });
  const list = (await inspector.client('LIST')) as string;
  const mine = ownLocalPorts();
  const found = new Map<number, string>();
  for (const line of list.split('\n')) {
    const fields = Object.fromEntries(line.split(' ').map((kv) => kv.split('=', 2) as [string, string]));
    const port = Number(fields.addr?.split(':').at(-1));
    if (mine.has(port)) found.set(port, fields.name ?? '');
  }
  return found;
}

/** Closes the idle sockets of `fetch`'s pool: swaps in a fresh pool and closes the old one. */
async function recycleFetchPool(): Promise<void> {
  const key = Symbol.for('undici.globalDispatcher.1');
  const holder = globalThis as unknown as Record<symbol, { close(): Promise<void>; constructor: new () => unknown }>;
  const old = holder[key];
  if (!old) return;
  holder[key] = new old.constructor() as never;
  // close() waits for requests still in flight: a test that left one open leaks it, and the
  // count below reports it, so this does not wait for it.
  void old.close().catch(() => {});
  await new Promise((resolve) => setImmediate(resolve));
}

/**
 * The jobcast clients of `now` beyond `before`, by name: clients on new connections, less as many
 * of that name whose connections closed — a test that restarts a part (closes its clients, opens
 * new ones) leaves as many as it found. A connection seen before is never new, even if it got its
 * name since (clients name themselves just after they connect).
 */
function moreClients(before: Map<number, string>, now: Map<number, string>): string[] {
  const opened = new Map<string, number[]>();
  for (const [port, name] of now) {
    if (name.startsWith('jobcast:') && !before.has(port)) opened.set(name, [...(opened.get(name) ?? []), port]);
  }
  const closed: Counts = {};
  for (const [port, name] of before) if (!now.has(port)) closed[name] = (closed[name] ?? 0) + 1;
  return [...opened]
    .filter(([name, ports]) => ports.length > (closed[name] ?? 0))
    .map(([name, ports]) => `${ports.length - (closed[name] ?? 0)} × ${name} (new ports ${ports.join(', ')})`);
}

let before: Counts = {};
let clientsBefore = new Map<number, string>();

const BASELINE_SAMPLES = 8;

/**
 * The baseline: the most of each type seen over a few milliseconds. A loop of the file's harness
 * that re-arms its timer once its Redis round trip is back (a worker's stalled-job check, BullMQ's
 * lock renewal and its wait for jobs) has no timer for that moment; a baseline read just then is
 * one short, and the test that follows "leaks" the timer that loop sets again (seen once in CI).
 */
async function baselineCounts(): Promise<Counts> {
  const most = resourceCounts();
  for (let sample = 0; sample < BASELINE_SAMPLES; sample++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    for (const [type, n] of Object.entries(resourceCounts())) most[type] = Math.max(most[type] ?? 0, n);
  }
  return most;
}

beforeEach(async () => {
  if (allowed) return;
  clientsBefore = await ownRedisClients();
  before = await baselineCounts();
  timerOrigins.clear();
});

/**
 * Waits until what is open is back down to `counts` and `clients` (or `SETTLE_MS` passed), then
 * names what is left: empty when nothing leaked.
 */
async function leftOpen(counts: Counts, clients: Map<number, string>): Promise<string[]> {
  await recycleFetchPool();
  let resources: string[] = [];
  let extraClients: string[] = [];
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const now = await ownRedisClients();
    extraClients = moreClients(clients, now);
    resources = grown(counts, resourceCounts());
    if ((resources.length === 0 && extraClients.length === 0) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const timers = resources.some((r) => r.endsWith('Timeout'));
  const origins = timers ? liveTimerOrigins() : [];
  return [
    ...(resources.length ? [`handles/timers still open: ${resources.join(', ')}`] : []),
    ...origins.map((stack) => `a timer still running:\n${stack}`),
    ...(timers ? reconnectingClients() : []),
    ...(extraClients.length ? [`Redis clients still connected: ${extraClients.join(', ')}`] : []),
  ];
}

afterEach(async (context) => {
  if (allowed || context.task.result?.state === 'fail') return;
  const leaks = await leftOpen(before, clientsBefore);
  if (leaks.length) throw new Error(`this test leaked (${SETTLE_MS} ms after it ended):\n  ${leaks.join('\n  ')}`);
});

// The whole file, hooks included: whatever its beforeAll opened, its afterAll must close. This
// runs after the file's own afterAll hooks (after-hooks run in reverse order of registration),
// and also covers a file that opted out of the per-test check.
let fileBefore: Counts = {};
let fileClientsBefore = new Map<number, string>();

beforeAll(async () => {
  fileClientsBefore = await ownRedisClients();
  fileBefore = resourceCounts();
  timerOrigins.clear();
});

afterAll(async () => {
  // esbuild's service (the page bundled from source by a harness, or a test's own bundle) is a
  // child process that would outlive this file in a test process shared with the next file.
  await (await import('esbuild')).stop();
  const leaks = await leftOpen(fileBefore, fileClientsBefore);
  await inspector?.quit();
  inspector = undefined;
  if (leaks.length && knownFileLeak) {
    console.warn(`known leak (${knownFileLeak}):\n  ${leaks.join('\n  ')}`);
    return;
  }
  if (leaks.length)
    throw new Error(`this test file leaked (${SETTLE_MS} ms after its last hook):\n  ${leaks.join('\n  ')}`);
});
