/**
 * @module local-redis
 * A redis-server child process managed by jobcast itself: for `npm start` when REDIS_URL is
 * unset, and for the test suite. Listens on 127.0.0.1 only, and stops with its parent.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { resolve } from 'node:path';

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
  let output = '';
  const collect = (chunk: Buffer) => {
    if (output.length < 10_000) output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  // If our process exits without stopping us, take the server down too.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);

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

/** A TCP port free on 127.0.0.1 right now (for local servers: tests, benchmarks). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
