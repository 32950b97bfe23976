/**
 * @module bench/lib/proc
 * Server processes of the bench and what Linux says about them: CPU time (`/proc/<pid>/task/
 * * /schedstat`, nanoseconds, every thread), resident memory, and the TCP connections a process
 * holds to a given port (its Redis connections).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServerProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** The last lines it wrote to stderr/stdout. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns `node [nodeArgs] <script>` in the repository root: compiled JavaScript (`dist/…`) as
 * it is, TypeScript (the bench's own processes) through tsx.
 */
export function spawnNode(
  name: string,
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): ServerProcess {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...loader, script], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid === undefined) throw new Error(`could not spawn ${script}`);
  return {
    name,
    child,
    pid: child.pid,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `check` every 50 ms until it returns true; throws after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `url` answers 200, or the process dies. */
export async function waitForHttp(proc: ServerProcess, url: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited early:\n${proc.output()}`);
      return fetch(url).then(
        (res) => res.ok,
        () => false,
      );
    },
    `${proc.name} at ${url}`,
    timeoutMs,
  );
}

export { freePort } from '../../src/local-redis.js';

/** CPU time of every thread of `pid`, in milliseconds (nanosecond source). */
export function cpuMs(pid: number): number {
  const { main, background } = cpuMsByThread(pid);
  return main + background;
}

/**
 * CPU time of `pid`'s main thread (JavaScript, and the system calls it makes) and of its other
 * threads (V8's workers: concurrent garbage collection and optimizing compilation; libuv's
 * pool), in milliseconds. A CPU profile samples only the main thread; this shows the rest.
 */
export function cpuMsByThread(pid: number): { main: number; background: number } {
  const out = { main: 0, background: 0 };
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      out[task === String(pid) ? 'main' : 'background'] += ns / 1e6;
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return out;
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ: 100 on Linux). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** What the bench and the tests read of a process's /proc/<pid>/stat line. */
export interface ProcStat {
  pid: number;
  /** The command name, which may hold spaces and parentheses. */
  comm: string;
  /** R, S, D, Z (zombie), X (dead)… */
  state: string;
  ppid: number;
  /** CPU in clock ticks: its own in user and kernel mode, and that of its children it reaped. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

/** `pid`'s /proc/<pid>/stat, or undefined once the process is gone (and reaped). */
export function procStat(pid: number | 'self'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name sits in parentheses and may hold spaces or parentheses: the fields after
  // the last ')' start at the state (the 3rd field overall); utime is the 14th.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    comm: text.slice(text.indexOf('(') + 1, close),
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    utime: Number(fields[11]),
    stime: Number(fields[12]),
    cutime: Number(fields[13]),
    cstime: Number(fields[14]),
  };
}

/** The child processes of `pid` (of its main thread: Node starts children from it). */
export function childPids(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Every process's /proc/<pid>/stat (those that end while it reads are left out). */
export function procStats(): ProcStat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => procStat(Number(name)))
    .filter((stat): stat is ProcStat => stat !== undefined);
}

/**
 * System calls and time of `pid` so far: read- and write-family calls (`read`, `write`, `writev`…
 * on sockets too; /proc/<pid>/io's syscr and syscw) and CPU time in user and kernel mode (ms, from
 * /proc/<pid>/stat, at the clock tick's resolution). Tells two servers' system-call work from
 * their JavaScript: on loopback a socket write also pays the receiving side's TCP processing.
 */
export function syscalls(pid: number): { reads: number; writes: number; userMs: number; systemMs: number } {
  const io = Object.fromEntries(
    readFileSync(`/proc/${pid}/io`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(': ') as [string, string]),
  );
  const stat = procStat(pid);
  if (!stat) throw new Error(`process ${pid} is gone`);
  const tickMs = 1000 / CLOCK_TICKS_PER_SECOND;
  return {
    reads: Number(io.syscr),
    writes: Number(io.syscw),
    userMs: stat.utime * tickMs,
    systemMs: stat.stime * tickMs,
  };
}

/** Resident set size of `pid`, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Open file descriptors of `pid`. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** One TCP socket of a process, from Linux's connection table. */
export interface TcpSocket {
  localPort: number;
  remotePort: number;
  /** The kernel's state code: `01` ESTABLISHED, `0A` LISTEN… */
  state: string;
}

/**
 * The TCP sockets (IPv4 and IPv6) process `pid` holds open: its socket inodes under
 * /proc/<pid>/fd matched against /proc/<pid>/net/tcp{,6}. Empty if the process is gone.
 */
export function tcpSockets(pid: number): TcpSocket[] {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // Closed meanwhile.
    }
  }
  const sockets: TcpSocket[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    // "  sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt   uid  timeout inode"
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [local, remote, state, inode] = [cols[1], cols[2], cols[3], cols[9]];
      if (!local || !remote || !state || !inode || !inodes.has(inode)) continue;
      const port = (address: string) => Number.parseInt(address.split(':')[1] ?? '', 16);
      sockets.push({ localPort: port(local), remotePort: port(remote), state });
    }
  }
  return sockets;
}

/** Local ports of the TCP sockets `pid` holds open (its side of each connection). */
export function localPorts(pid: number): Set<number> {
  return new Set(tcpSockets(pid).map((s) => s.localPort));
}

/** Established TCP connections of `pid` whose remote port is `port` (e.g. its Redis connections). */
export function connectionsTo(pid: number, port: number): number {
  return tcpSockets(pid).filter((s) => s.state === '01' && s.remotePort === port).length;
}

export const MiB = 1024 * 1024;

/**
 * How long a process is left alone before its RSS is read as it left itself: long enough for
 * what a process does once its load has stopped (jobcast compacts its heap 2 s after a burst of
 * streams, `src/events/heap-compaction.ts`), the same for every server measured.
 */
const AS_LEFT_QUIET_MS = 5000;

/**
 * RSS of a process after it has settled, in MiB: the median of five samples after 5 s of quiet
 * ({@link AS_LEFT_QUIET_MS}). With `gc`, the process is first asked to collect garbage (the
 * bench's SIGUSR2 preload), and read 1.5 s later.
 */
export async function settledRss(pid: number, gc = false): Promise<number> {
  if (gc) process.kill(pid, 'SIGUSR2');
  await sleep(gc ? 1500 : AS_LEFT_QUIET_MS);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssBytes(pid));
    await sleep(200);
  }
  return (samples.sort((a, b) => a - b)[2] as number) / MiB;
}
