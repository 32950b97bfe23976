/**
 * The API as its own process (compiled `src/main.ts`: `dist/main.js`), for tests that read what it logs: the logger
 * writes straight to file descriptor 2, which only a parent process can capture whole.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { waitFor } from '../harness/harness.js';
import { freePort } from '../runner/global-setup.js';
import { ENTRIES, killIfAlive, type Spawned, spawnProcess } from './processes.js';

export interface ApiProcess {
  url: string;
  process: Spawned;
  /** Everything the process wrote to stderr and stdout so far. */
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 8 s). */
  stop(): Promise<void>;
}

/** Starts the API (`dist/main.js`) against the run's Redis with `env` (plus a free port, a host and a key prefix of its own). */
export async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const p = spawnProcess(process.execPath, [ENTRIES.api], {
    REDIS_URL: inject('redisUrl'),
    PORT: String(port),
    HOST: '127.0.0.1',
    KEY_PREFIX: `t${randomBytes(4).toString('hex')}`,
    LOG_FORMAT: 'json',
    ...env,
  });
  const output = () => `${p.stderr()}${p.stdout()}`;
  try {
    await waitFor(
      async () => {
        if (!p.running()) throw new Error(`the API exited early:\n${output()}`);
        return fetch(`${url}/healthz`).then(
          (res) => res.ok,
          () => false,
        );
      },
      'the API process to listen',
      // Starting node with tsx takes seconds, and many times that on a busy machine.
      60_000,
    );
  } catch (error) {
    killIfAlive(p.pid);
    throw error;
  }
  return {
    url,
    process: p,
    output,
    async stop() {
      if (!p.running()) return;
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => killIfAlive(p.pid), 8_000);
      await p.exited;
      clearTimeout(timer);
    },
  };
}
