/**
 * Several jobcast processes of one test file — API processes (`src/main.ts`) and worker
 * processes (`workers/main.ts`) — sharing one Redis (or Redis Cluster), key prefix and queue,
 * as they run in production. Any of them can be killed with SIGKILL (a crash: no shutdown
 * code runs); `stopAll()` ends whatever is left and checks that no process survives.
 */
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../../src/config.js';
import { waitFor } from '../harness/harness.js';
import { type ApiProcess, startApiProcess } from './api-process.js';
import { alive, killIfAlive } from './processes.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

export interface FleetMember {
  kind: 'api' | 'worker';
  /** api-1, worker-2, … in start order, for messages. */
  name: string;
  pid: number;
  /** The API's base URL (API processes only). */
  url: string | undefined;
  /** Everything the process logged so far. */
  output(): string;
  running(): boolean;
  /** SIGKILL, and wait until the process is gone. Returns performance.now() at the kill. */
  kill9(): Promise<number>;
}

export interface Fleet {
  /** The environment every process gets (REDIS_URL, KEY_PREFIX, …). */
  readonly env: Readonly<Record<string, string>>;
  readonly prefix: string;
  readonly members: FleetMember[];
  api(env?: Record<string, string>): Promise<FleetMember>;
  worker(env?: Record<string, string>): Promise<FleetMember>;
  /** SIGTERM to everything still running (SIGKILL after `graceMs`); throws if any process survives. */
  stopAll(graceMs?: number): Promise<void>;
}

/**
 * @param env shared settings; REDIS_URL is required. A fresh KEY_PREFIX and QUEUE_NAME are
 * chosen unless given, and stream, submission and read limits are off (every test client shares one
 * address) unless given.
 */
export function createFleet(env: Record<string, string> & { REDIS_URL: string }): Fleet {
  const prefix = env.KEY_PREFIX ?? `f${randomBytes(4).toString('hex')}`;
  const shared: Record<string, string> = {
    KEY_PREFIX: prefix,
    QUEUE_NAME: 'jobs',
    MAX_STREAMS_PER_CLIENT: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    READ_RATE_LIMIT_PER_MINUTE: '0',
    ...env,
  };
  const members: FleetMember[] = [];
  const stops: Array<{ member: FleetMember; stop: () => Promise<void> }> = [];
  let apis = 0;
  let workers = 0;

  const track = (
    kind: FleetMember['kind'],
    pid: number,
    url: string | undefined,
    output: () => string,
    exited: Promise<unknown>,
    stop: () => Promise<void>,
  ): FleetMember => {
    const member: FleetMember = {
      kind,
      name: `${kind}-${kind === 'api' ? ++apis : ++workers}`,
      pid,
      url,
      output,
      running: () => alive(pid),
      async kill9() {
        const at = performance.now();
        killIfAlive(pid);
        await exited;
        return at;
      },
    };
    members.push(member);
    stops.push({ member, stop });
    return member;
  };

  return {
    env: shared,
    prefix,
    members,
    async api(extra = {}) {
      const api: ApiProcess = await startApiProcess({
        LOG_LEVEL: process.env.FLEET_LOG_LEVEL ?? 'warn',
        ...shared,
        ...extra,
      });
      return track('api', api.process.pid, api.url, api.output, api.process.exited, () => api.stop());
    },
    async worker(extra = {}) {
      const all = { ...shared, ...extra };
      // startWorkerProcess forces LOG_LEVEL=info: its "worker started" line is the ready signal.
      const { LOG_LEVEL: _ignored, ...rest } = all;
      const worker: WorkerProcess = await startWorkerProcess(parseConfig(all), all.REDIS_URL as string, {
        env: rest,
        timeoutMs: 60_000,
      });
      const exited = new Promise<void>((resolve) => {
        if (worker.child.exitCode !== null || worker.child.signalCode !== null) resolve();
        else worker.child.once('exit', () => resolve());
      });
      return track('worker', worker.child.pid as number, undefined, worker.stderr, exited, () => worker.stop(3_000));
    },
    async stopAll(graceMs = 5_000) {
      await Promise.all(
        stops.map(async ({ member, stop }) => {
          if (!member.running()) return;
          const timer = setTimeout(() => killIfAlive(member.pid), graceMs);
          await stop().catch(() => killIfAlive(member.pid));
          clearTimeout(timer);
        }),
      );
      for (const member of members) killIfAlive(member.pid);
      await waitFor(() => members.every((m) => !m.running()), 'every fleet process to be gone', 5_000);
    },
  };
}
