/**
 * @module local-redis
 * A redis-server child process managed by jobcast itself: for `npm start` when REDIS_URL is
 * unset, and for the test suite. Listens on 127.0.0.1 only, and stops with its parent.
 *
 * Its data directory is claimed while it runs (`data-dir-lock`), and {@link startManagedRedis}
 * starts it again when it exits on its own.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { claimDataDir, DataDirInUseError } from './data-dir-lock.js';
import { tryListen } from './listen.js';
import type { Logger } from './log.js';

export interface LocalRedisOptions {
  port: number;
  /** Data directory (created if missing). */
  dir: string;
  /** Append-only persistence with fsync every second (the default), or none (tests). */
  persistence?: 'appendonly' | 'none';
  /** Extra `redis-server` arguments, e.g. ['--appendfsync', 'always']. */
  extraArgs?: string[];
  /**
   * Run it in a process group of its own, out of reach of a terminal's Ctrl-C (`npm start`):
   * it is then stopped by `stop()`, last, or when this process exits — not by the SIGINT that
   * reaches every process of the terminal's foreground group, which would take Redis away
   * before the worker could hand its running jobs back.
   */
  ownProcessGroup?: boolean;
}

export interface LocalRedis {
  url: string;
  port: number;
  process: ChildProcess;
  /** What redis-server printed (its first 10,000 characters). */
  output(): string;
  stop(): Promise<void>;
}

/** Thrown when redis-server cannot be started; the message says what to do. */
export class LocalRedisError extends Error {
  override name = 'LocalRedisError';
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startLocalRedis(options: LocalRedisOptions): Promise<LocalRedis> {
  if (!redisServerAvailable()) {
    throw new LocalRedisError(
      'redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis), or set REDIS_URL to an existing Redis.',
    );
  }
  if (await portInUse(options.port)) {
    throw new LocalRedisError(
      `port ${options.port} on 127.0.0.1 is already in use. If a Redis runs there, set REDIS_URL=redis://127.0.0.1:${options.port}; otherwise choose another port with LOCAL_REDIS_PORT.`,
    );
  }
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const lock = claimOrExplain(dir, options.port);
  const persistence =
    options.persistence === 'none'
      ? ['--appendonly', 'no', '--save', '']
      : ['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''];
  const args = [
    '--bind',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    // BullMQ must never have its keys evicted.
    '--maxmemory-policy',
    'noeviction',
    '--loglevel',
    'warning',
    ...persistence,
    ...(options.extraArgs ?? []),
  ];
  const child = spawn('redis-server', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownProcessGroup ?? false,
  });
  lock.held(child.pid);
  let output = '';
  const collect = (chunk: Buffer) => {
    if (output.length < 10_000) output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // If our process exits without stopping us, take the server down too.
  const killOnExit = () => {
    child.kill('SIGTERM');
    lock.release();
  };
  process.once('exit', killOnExit);
  const exited = new Promise<void>((done) =>
    child.once('exit', () => {
      // Gone by itself (a managed Redis is then started again): nothing left to kill at exit,
      // and the directory is free again, however the server went.
      process.removeListener('exit', killOnExit);
      lock.release();
      done();
    }),
  );

  const deadline = Date.now() + 10_000;
  while (!(await portInUse(options.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new LocalRedisError(`redis-server did not start on port ${options.port}:\n${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }

  return {
    url: `redis://127.0.0.1:${options.port}`,
    port: options.port,
    process: child,
    output: () => output,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM: redis-server flushes the append-only file and exits.
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** {@link claimDataDir}, its refusal a {@link LocalRedisError} like every other reason not to start. */
function claimOrExplain(dir: string, port: number): ReturnType<typeof claimDataDir> {
  try {
    return claimDataDir(dir, port);
  } catch (error) {
    throw error instanceof DataDirInUseError ? new LocalRedisError(error.message) : error;
  }
}

/** Restarts allowed within {@link RESTART_WINDOW_MS} before a managed Redis is given up. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

/**
 * A local Redis for `npm start`: {@link startLocalRedis}, started again (same port, same data)
 * when it exits on its own — killed, or crashed. The API and the worker reconnect by themselves
 * meanwhile (503s for a moment, nothing lost that the append-only file kept). One that keeps
 * exiting (more than three times a minute: a damaged append-only file, a full disk) is given
 * up: `gaveUp` is told, with what it printed.
 */
export async function startManagedRedis(
  options: LocalRedisOptions,
  log: Logger,
  gaveUp: (why: string) => void,
): Promise<LocalRedis> {
  let current = await startLocalRedis(options);
  let stopping = false;
  const restarts: number[] = [];
  const watch = (server: LocalRedis) => {
    server.process.once('exit', (code, signal) => {
      if (stopping) return;
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
      const now = Date.now();
      restarts.push(now);
      while ((restarts[0] as number) < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS) {
        gaveUp(
          `the local redis-server ${how}, its ${restarts.length}th exit within a minute: not starting it again. It said:\n${server.output().trim()}`,
        );
        return;
      }
      log.error(`the local redis-server ${how}; starting it again on port ${options.port}`);
      startLocalRedis(options).then(
        (next) => {
          current = next;
          log.info('the local redis-server runs again', { url: next.url });
          // Stopped while it was starting: stop it too.
          if (stopping) void next.stop();
          else watch(next);
        },
        (error: unknown) =>
          gaveUp(`the local redis-server ${how}, and could not be started again: ${(error as Error).message}`),
      );
    });
  };
  watch(current);
  return {
    url: current.url,
    port: current.port,
    get process() {
      return current.process;
    },
    output: () => current.output(),
    async stop() {
      stopping = true;
      await current.stop();
    },
  };
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/**
 * A TCP port free on 127.0.0.1 right now (for local servers: tests, benchmarks), chosen outside
 * the kernel's ephemeral range where it can: a port the kernel hands out to outgoing connections
 * can be taken by any of them between being found free and being bound (a test run lost a Redis
 * Cluster node to that). Outside the range only an explicit bind can take it.
 */
export async function freePort(): Promise<number> {
  const [low, high] = ephemeralPorts();
  // Below the range if it leaves room, else above it; else any port the kernel picks.
  const [from, to] = low - FIRST_PICKED_PORT >= 1_000 ? [FIRST_PICKED_PORT, low] : [high + 1, 65_536];
  for (let tries = 0; to - from >= 1_000 && tries < 20; tries++) {
    const port = await listenable(from + Math.floor(Math.random() * (to - from)));
    if (port !== undefined) return port;
  }
  return (await listenable(0)) as number;
}

/** Below this, ports are left to services with well-known numbers. */
const FIRST_PICKED_PORT = 10_000;

/** Linux's range of ports for outgoing connections; its default where it cannot be read. */
function ephemeralPorts(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return [low, high];
  } catch {
    // Not Linux: its default.
  }
  return [32_768, 60_999];
}

/** The port if it could be listened on (0: any free one), undefined if it is taken. */
async function listenable(port: number): Promise<number | undefined> {
  const probe = await tryListen('127.0.0.1', port);
  if ('port' in probe) return probe.port;
  if (probe.error.code === 'EADDRINUSE' || probe.error.code === 'EACCES') return undefined;
  throw probe.error;
}
