/**
 * Real processes for shutdown and start-up tests: spawn an entry point with an exact
 * environment, collect its output, and look at the processes and ports it leaves behind
 * (Linux `/proc`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ProcStat, procStat, procStats } from '../../../bench/lib/proc.js';
import { heldProcesses } from '../runner/held-open.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The compiled entry points, as production runs them (`npm start`, `start:api`, `start:worker`,
 * the image). The run's global setup builds `dist/` when it is missing or stale.
 */
export const ENTRIES = { all: 'dist/start-all.js', api: 'dist/main.js', worker: 'dist/worker.js' } as const;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** performance.now() when the process exited. */
  at: number;
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<Exit>;
  running(): boolean;
}

const OUTPUT_LIMIT = 200_000;

/**
 * Spawns `command` in the repository root with exactly `env` (plus PATH and HOME, so `node`
 * and `npm` are found): nothing of the test runner's environment, such as a REDIS_URL, leaks in.
 * `stdin: true` gives it a pipe to write to (`child.stdin`).
 */
export function spawnProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  options: { stdin?: boolean } = {},
): Spawned {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    if (out.length < OUTPUT_LIMIT) out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (err.length < OUTPUT_LIMIT) err += chunk;
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
    child.once('error', () => resolve({ code: null, signal: null, at: performance.now() }));
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${command}`);
  return {
    child,
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Whether a process still runs: not a zombie (ended, not reaped yet) or dead. */
const running = (stat: ProcStat) => stat.state !== 'Z' && stat.state !== 'X';

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && running(stat);
}

/** Every live descendant of `pid` (children, their children, …) with its command name. */
export function descendants(pid: number): { pid: number; comm: string }[] {
  const all = procStats().filter(running);
  const found: { pid: number; comm: string }[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const stat of all) {
      if (stat.ppid === parent) {
        found.push({ pid: stat.pid, comm: stat.comm });
        queue.push(stat.pid);
      }
    }
  }
  return found;
}

/**
 * The processes this test process started that still run, less those test support keeps running
 * across test files on purpose (`held-open.ts`: the shared Chromium) and their descendants.
 */
export function childrenLeftBehind(): { pid: number; comm: string }[] {
  const held = new Set(heldProcesses());
  for (const pid of [...held]) for (const d of descendants(pid)) held.add(d.pid);
  return descendants(process.pid).filter((d) => !held.has(d.pid));
}

/** Kills a process if it still runs (cleanup only). */
export function killIfAlive(pid: number): void {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone meanwhile.
  }
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
