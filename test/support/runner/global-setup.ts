/**
 * Starts one real redis-server for the whole run (on a free port, no persistence, in a
 * temporary directory) and hands its URL to the tests. Tests isolate themselves by key prefix.
 * Before that, builds the service (`dist/`, which process tests run) when it is missing or
 * older than the code: once per run, and only then.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { ensureBuilt } from '../../../scripts/build-state.mjs';
import { freePort, startLocalRedis } from '../../../src/local-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export { freePort };

export default async function setup(project: TestProject) {
  if (ensureBuilt(fileURLToPath(new URL('../../..', import.meta.url))) !== 0) throw new Error('npm run build failed');
  const dir = mkdtempSync(join(tmpdir(), 'jobcast-test-redis-'));
  const redis = await startLocalRedis({ port: await freePort(), dir, persistence: 'none' });
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
