/**
 * A worker in a process of its own (`node dist/worker.js`, compiled from `workers/main.ts`), as it runs in
 * production beside the API: for tests that must prove something crosses processes (a cancel
 * request reaching the worker that runs the job).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../../src/config.js';
import { ENTRIES } from './processes.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the process wrote to stderr (its JSON log lines). */
  stderr(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a worker process on the harness's Redis, key prefix and queue, and resolves once
 * it logs that it started (or rejects after `timeoutMs`, killing it).
 */
export async function startWorkerProcess(
  config: Config,
  redisUrl: string,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [ENTRIES.worker], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      REDIS_URL: redisUrl,
      KEY_PREFIX: config.KEY_PREFIX,
      QUEUE_NAME: config.QUEUE_NAME,
      JOB_RETENTION_SECONDS: String(config.JOB_RETENTION_SECONDS),
      JOB_LOG_MAX_LINES: String(config.JOB_LOG_MAX_LINES),
      // info: the "worker started" line is how we know it is ready.
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      // No metrics listener: a fixed port would collide with other worker processes.
      WORKER_METRICS_PORT: '0',
      SHUTDOWN_TIMEOUT_MS: '1000',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  const stop = async (graceMs = 5_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  while (!stderr.includes('worker started')) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop(500);
      throw new Error(`worker process did not start within ${timeoutMs} ms; stderr:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { child, stderr: () => stderr, stop };
}
