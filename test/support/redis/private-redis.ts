/**
 * A redis-server of a test file's own, for tests that count Redis clients or pub/sub
 * channels: on the run's shared server, test files running in parallel would move the count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalRedis, startLocalRedis } from '../../../src/local-redis.js';
import { freePort } from '../runner/global-setup.js';

export interface PrivateRedis {
  url: string;
  server: LocalRedis;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  return startPrivateRedisOn(await freePort());
}

/** The same on a given port (one a process was told about before Redis existed). */
export async function startPrivateRedisOn(port: number): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'jobcast-test-private-redis-'));
  const server = await startLocalRedis({ port, dir, persistence: 'none' });
  return {
    url: server.url,
    server,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
