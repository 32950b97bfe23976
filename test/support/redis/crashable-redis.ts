/**
 * A persistent redis-server of a test's own that can crash: append-only with
 * `appendfsync always` (every write on disk before Redis answers it), killed with SIGKILL and
 * started again on the same port and directory, as after a power cut.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalRedis, type LocalRedisOptions, startLocalRedis } from '../../../src/local-redis.js';
import { freePort } from '../runner/global-setup.js';

export interface CrashableRedis {
  url: string;
  /** SIGKILL; resolves (with Date.now() at the kill) once the process is gone. */
  kill9(): Promise<number>;
  /** Starts it again on the same port and directory; resolves (with Date.now()) once it listens. */
  restart(): Promise<number>;
  /** Stops it (if running) and removes its directory. */
  stop(): Promise<void>;
}

export async function startCrashableRedis(): Promise<CrashableRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'jobcast-test-crash-redis-'));
  const options: LocalRedisOptions = {
    port: await freePort(),
    dir,
    persistence: 'appendonly',
    // Later arguments win: `always` replaces the `everysec` that 'appendonly' sets.
    extraArgs: ['--appendfsync', 'always'],
  };
  let server: LocalRedis = await startLocalRedis(options);
  return {
    url: server.url,
    async kill9() {
      const at = Date.now();
      const child = server.process;
      const exited = new Promise<void>((resolve) =>
        child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
      );
      child.kill('SIGKILL');
      await exited;
      // Only forgets the exit hook: the process is gone already.
      await server.stop();
      return at;
    },
    async restart() {
      server = await startLocalRedis(options);
      return Date.now();
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
