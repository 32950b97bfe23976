/**
 * API_PROCESSES=N (`src/cluster/`): the compiled API (`dist/main.js`) as a primary and N API
 * processes on one port, as production runs it.
 * - Streams opened on the one port are served by several processes (their sockets, read from
 *   /proc, belong to distinct pids). One of them is killed with SIGKILL: the primary starts
 *   another, and the killed process's clients (real EventSources) resume on the others with
 *   their Last-Event-ID: every client gets every later event and one `done`, nothing twice.
 *   /metrics, asked of any process, counts every process's streams and the resumed requests.
 * - One Ctrl-C in a real terminal stops the primary and every API process once, cleanly.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import type { RunningWorker } from '../workers/runner.js';
import { waitFor } from './support/harness/harness.js';
import { ScriptedJobs, startScriptedWorker } from './support/harness/scripted.js';
import { descendants, ENTRIES, killIfAlive, type Spawned, spawnProcess } from './support/processes/processes.js';
import { runInTerminal, type Terminal } from './support/processes/terminal.js';
import { freePort } from './support/runner/global-setup.js';
import { type LiveWatch, liveWatch } from './support/sse/live-watch.js';

const started: Spawned[] = [];
const terminals: Terminal[] = [];
const watchers: LiveWatch[] = [];
let worker: RunningWorker | undefined;
const scripts = new ScriptedJobs();

afterEach(async () => {
  for (const w of watchers.splice(0)) w.close();
  scripts.openAll();
  await worker?.close();
  worker = undefined;
  for (const pid of [...started.splice(0).map((p) => p.pid), ...terminals.splice(0).map((t) => t.process.pid)]) {
    for (const d of descendants(pid)) killIfAlive(d.pid);
    killIfAlive(pid);
  }
});

/** The pids of `pids` that hold a TCP connection accepted on `port`, with how many each. */
function connectionsOn(port: number, pids: number[]): Map<number, number> {
  const accepted = new Map<string, true>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // Local address is ours:port, state 01 = ESTABLISHED; column 9 is the socket's inode.
      if (cols[3] === '01' && Number.parseInt(cols[1]?.split(':')[1] ?? '', 16) === port && cols[9]) {
        accepted.set(cols[9], true);
      }
    }
  }
  const counts = new Map<number, number>();
  for (const pid of pids) {
    let n = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const inode = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode && accepted.has(inode)) n++;
    }
    if (n > 0) counts.set(pid, n);
  }
  return counts;
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/**
 * A sample of the (summed) /metrics text: the value of the first line starting with `prefix`.
 * On a connection of its own, closed after the answer, so that only streams hold connections.
 */
function metric(url: string, prefix: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(`${url}/metrics`, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        const line = text.split('\n').find((l) => l.startsWith(prefix));
        resolve(line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0);
      });
    }).on('error', reject);
  });
}

const apiPids = (primary: number) => descendants(primary).map((d) => d.pid);

describe('API_PROCESSES: several API processes on one port', () => {
  it('serves from distinct processes; one killed with SIGKILL is replaced and its clients resume on the others', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      REDIS_URL: inject('redisUrl'),
      PORT: String(port),
      HOST: '127.0.0.1',
      KEY_PREFIX: `ap${randomBytes(4).toString('hex')}`,
      API_PROCESSES: '3',
      // Clients cut off reconnect quickly.
      SSE_RETRY_MS: '100',
      MAX_STREAMS_PER_CLIENT: '0',
      RATE_LIMIT_PER_MINUTE: '0',
      READ_RATE_LIMIT_PER_MINUTE: '0',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
    };
    const primary = spawnProcess(process.execPath, [ENTRIES.api], env);
    started.push(primary);
    const output = () => `${primary.stderr()}${primary.stdout()}`;
    await waitFor(
      async () => {
        if (!primary.running()) throw new Error(`the primary exited:\n${output()}`);
        return output().includes('api processes listening');
      },
      'three API processes to listen',
      60_000,
    );
    const first = apiPids(primary.pid);
    expect(first).toHaveLength(3);

    worker = await startScriptedWorker(parseConfig(env), env.REDIS_URL, scripts);
    const gate = scripts.gate();
    const id = await scripts.submit(url, async (ctx) => {
      await ctx.progress(10, 'before the kill');
      await gate.wait(ctx.signal);
      for (let p = 20; p <= 90; p += 10) await ctx.progress(p, `after the kill: ${p}`);
    });

    // Nine clients; the primary hands connections to the processes in turn.
    for (let i = 0; i < 9; i++) watchers.push(liveWatch(`${url}/jobs/${id}/events`));
    await Promise.all(watchers.map((w) => w.next((e) => e.data.progress === 10, 15_000)));
    // (The submission's connection may still be open: count only what streams hold.)
    await waitFor(
      () => [...connectionsOn(port, first).values()].reduce((a, b) => a + b, 0) === 9,
      'nine connections, the streams',
      10_000,
    );
    const serving = connectionsOn(port, first);
    expect(serving.size, `streams per process: ${JSON.stringify([...serving])}`).toBeGreaterThanOrEqual(2);
    expect(await metric(url, 'jobcast_open_streams ')).toBe(9);
    // Summed over the processes but this one: 1 only when every process read Redis.
    expect(await metric(url, 'jobcast_redis_up ')).toBe(1);
    // A limit each process has for itself is the largest of them, not their sum.
    const maxFds = Number(readFileSync(`/proc/${first[0]}/limits`, 'utf8').match(/Max open files\s+(\d+)/)?.[1]);
    expect(await metric(url, 'jobcast_api_process_max_fds ')).toBe(maxFds);

    // Kill the process serving the most streams.
    const [victim, held] = [...serving].sort((a, b) => b[1] - a[1])[0] as [number, number];
    const resumedBefore = await metric(url, 'jobcast_stream_requests_total{outcome="resumed"}');
    process.kill(victim, 'SIGKILL');
    await waitFor(
      () => {
        const now = apiPids(primary.pid);
        return now.length === 3 && !now.includes(victim);
      },
      'the killed API process to be replaced',
      30_000,
    );
    expect(output()).toMatch(/an API process died; starting another/);
    // Its clients are back, on the living processes, each with its Last-Event-ID.
    await waitFor(
      async () =>
        (await metric(url, 'jobcast_stream_requests_total{outcome="resumed"}')) >= resumedBefore + held &&
        (await metric(url, 'jobcast_open_streams ')) === 9,
      `the ${held} streams of the killed process to resume`,
      20_000,
    );
    expect([...connectionsOn(port, apiPids(primary.pid)).values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(
      9,
    );

    gate.open();
    const dones = await Promise.all(watchers.map((w) => w.done(20_000)));
    for (const [i, w] of watchers.entries()) {
      const ids = w.events.map((e) => Number(e.id));
      // Nothing twice, nothing out of order, and everything after the kill arrived.
      expect(ids, JSON.stringify(w.events.map((e) => `${e.id}:${e.type}`))).toEqual(
        [...ids].sort((a, b) => a - b).filter((v, j, all) => all.indexOf(v) === j),
      );
      expect(w.events.filter((e) => e.type === 'done')).toHaveLength(1);
      expect(dones[i]?.data.status).toBe('completed');
      expect(w.events.some((e) => e.data.message === 'after the kill: 90')).toBe(true);
    }
    console.log(
      `api processes: streams per process ${JSON.stringify([...serving.values()])}; killed one with ${held}, resumed on the others`,
    );

    primary.child.kill('SIGTERM');
    const exit = await primary.exited;
    expect(exit.code).toBe(0);
    expect(descendants(primary.pid)).toEqual([]);
  }, 60_000);

  it('one Ctrl-C in a terminal stops the primary and every API process once, cleanly', async () => {
    const port = await freePort();
    const t = runInTerminal(process.execPath, [ENTRIES.api], {
      REDIS_URL: inject('redisUrl'),
      PORT: String(port),
      KEY_PREFIX: `ap${randomBytes(4).toString('hex')}`,
      API_PROCESSES: '2',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'debug',
    });
    terminals.push(t);
    await waitFor(
      () => {
        if (!t.process.running()) throw new Error(`exited early:\n${t.output()}`);
        return t.output().includes('api processes listening');
      },
      'two API processes to listen',
      60_000,
    );
    // The terminal's process is python; the primary is its child, the API processes below.
    const pids = descendants(t.process.pid).map((d) => d.pid);
    expect(pids).toHaveLength(3);
    t.ctrlC();
    // The bound's timer is stopped once the terminal has exited: left running, it outlived the
    // file's last hook on a busy machine, and the leak check counted it.
    const bound = new AbortController();
    const gaveUp = () => ({ code: -1, at: 0 });
    const exit = await Promise.race([
      t.exited,
      sleep(20_000, undefined, { signal: bound.signal }).then(gaveUp, gaveUp),
    ]);
    bound.abort();
    expect(exit.code, t.output()).toBe(0);
    const messages = t
      .output()
      .split(/\r?\n/)
      .map((line) => line.replace(/^\^C/, ''))
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.filter((m) => m.startsWith('shutting down'))).toHaveLength(1);
    expect(messages.filter((m) => m === 'api process stopping')).toHaveLength(2);
    expect(messages.filter((m) => m === 'api stopped')).toHaveLength(2);
    expect(messages.join('\n')).not.toMatch(/died|second signal|exiting now|took too long/);
    expect(descendants(t.process.pid)).toEqual([]);
  });
});
