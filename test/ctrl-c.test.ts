/**
 * `npm start` in a real terminal (a pseudo-terminal, test/support/processes/terminal.ts), stopped with
 * Ctrl-C as a person does: the terminal sends SIGINT to the whole foreground process group —
 * npm, scripts/bootstrap.mjs and scripts/start-all.ts each get one, and npm and bootstrap
 * forward theirs too.
 * - One Ctrl-C is one graceful stop (never "a second signal"): the running job is handed back,
 *   the managed Redis stops last, nothing is left running. The next start takes the job at
 *   once, as the same attempt (a hand-back is no attempt).
 * - A second Ctrl-C a moment later hands the job back at once instead of waiting
 *   SHUTDOWN_TIMEOUT_MS.
 * Prints the figures: stop time, time until the restarted service runs the job again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/harness/harness.js';
import { descendants, killIfAlive, portOpen } from './support/processes/processes.js';
import { runInTerminal, type Terminal } from './support/processes/terminal.js';
import { freePort } from './support/runner/global-setup.js';

const terminals: Terminal[] = [];
const dir = mkdtempSync(join(tmpdir(), 'jobcast-test-ctrl-c-'));

afterAll(() => {
  for (const t of terminals) {
    for (const d of descendants(t.process.pid)) killIfAlive(d.pid);
    killIfAlive(t.process.pid);
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The JSON log lines a terminal showed (the pty turns \n into \r\n; the banner is not JSON). */
function logLines(t: Terminal): { level: string; msg: string; [field: string]: unknown }[] {
  return t
    .output()
    .split(/\r?\n/)
    .map((line) => line.replace(/^\^C/, ''))
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { level: string; msg: string }];
      } catch {
        return [];
      }
    });
}

const messages = (t: Terminal) => logLines(t).map((l) => l.msg);

describe('npm start in a terminal, stopped with Ctrl-C', () => {
  it('one Ctrl-C stops cleanly and hands the job back; the next start runs it at once as the same attempt; a second Ctrl-C hurries', async () => {
    const [port, redisPort] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const env = (shutdownMs: number) => ({
      PORT: String(port),
      LOCAL_REDIS_PORT: String(redisPort),
      LOCAL_REDIS_DIR: join(dir, 'redis'),
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: String(shutdownMs),
      npm_config_update_notifier: 'false',
    });
    const start = async (command: string, args: string[], shutdownMs: number) => {
      const t = runInTerminal(command, args, env(shutdownMs));
      terminals.push(t);
      await waitFor(
        async () => {
          if (!t.process.running()) throw new Error(`exited early:\n${t.output()}`);
          return (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200;
        },
        'the service to be ready',
        60_000,
      );
      return { t, readyAt: performance.now() };
    };
    const job = async (id: string) => (await (await fetch(`${url}/jobs/${id}`)).json()) as Record<string, unknown>;
    const running = (id: string, timeoutMs: number) =>
      waitFor(
        async () => {
          const j = await job(id);
          return j.state === 'active' && Number(j.progress) > 0;
        },
        'the job to run',
        timeoutMs,
      );
    const stopped = async (t: Terminal, within: number) => {
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([
        t.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no exit:\n${t.output()}`)), within);
        }),
      ]).finally(() => clearTimeout(timer));
      await waitFor(async () => !(await portOpen(port)) && !(await portOpen(redisPort)), 'ports free', 5_000);
      expect(descendants(t.process.pid)).toEqual([]);
      return exit;
    };

    // 1. One Ctrl-C (npm start, as a person runs it): a graceful stop that hands the job back
    //    after SHUTDOWN_TIMEOUT_MS (1 s).
    const first = await start('npm', ['start'], 1_000);
    const submitted = await fetch(`${url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'simulate', data: { steps: 60, stepMs: 100 } }),
    });
    const { id } = (await submitted.json()) as { id: string };
    await running(id, 15_000);
    const pressed = performance.now();
    first.t.ctrlC();
    const firstExit = await stopped(first.t, 20_000);
    const stopMs = firstExit.at - pressed;
    const log1 = messages(first.t);
    expect(
      log1.filter((m) => m.startsWith('shutting down')),
      first.t.output(),
    ).toHaveLength(1);
    expect(log1.join('\n')).not.toMatch(/second signal|exiting now/);
    expect(log1).toContain('jobs still running at shutdown; handing them back to the queue');
    expect(log1).toContain('worker stopped');
    // npm itself always ends by SIGINT after a Ctrl-C (130); the service below it exited 0.
    expect([0, 130]).toContain(firstExit.code);

    // 2. The next start (bootstrap directly, to see its own exit code) runs the job at once,
    //    as attempt 1 of 1; then Ctrl-C, and again a moment later: the job is handed back now,
    //    not after SHUTDOWN_TIMEOUT_MS (30 s).
    const second = await start(process.execPath, ['scripts/bootstrap.mjs', 'start'], 30_000);
    await running(id, 10_000);
    const pickedUpMs = performance.now() - second.readyAt;
    expect(await job(id)).toMatchObject({ attempts: 1, maxAttempts: 1 });
    second.t.ctrlC();
    await waitFor(() => messages(second.t).some((m) => m.startsWith('shutting down')), 'the stop to begin', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const secondPressed = performance.now();
    second.t.ctrlC();
    const secondExit = await stopped(second.t, 10_000);
    const hurriedMs = secondExit.at - secondPressed;
    expect(messages(second.t).some((m) => m.startsWith('second signal: handing running jobs back now'))).toBe(true);
    expect(secondExit.code).toBe(0);
    expect(hurriedMs).toBeLessThan(5_000);

    // 3. And once more: taken at once, still attempt 1, and it completes as attempt 1.
    const third = await start(process.execPath, ['scripts/bootstrap.mjs', 'start'], 1_000);
    await running(id, 10_000);
    const pickedUpAgainMs = performance.now() - third.readyAt;
    await waitFor(async () => (await job(id)).state === 'completed', 'the job to complete', 30_000);
    expect(await job(id)).toMatchObject({ state: 'completed', attempts: 1, maxAttempts: 1, result: { steps: 60 } });
    third.t.ctrlC();
    expect((await stopped(third.t, 20_000)).code).toBe(0);
    expect(messages(third.t).join('\n')).not.toMatch(/second signal|exiting now/);

    console.log(
      `[ctrl-c] one Ctrl-C: stopped in ${stopMs.toFixed(0)} ms (SHUTDOWN_TIMEOUT_MS 1000), job handed back; ` +
        `restart ran it again ${pickedUpMs.toFixed(0)} ms after ready (attempt 1 of 1); ` +
        `second Ctrl-C: exited ${hurriedMs.toFixed(0)} ms after it (SHUTDOWN_TIMEOUT_MS 30000); ` +
        `next start ran it ${pickedUpAgainMs.toFixed(0)} ms after ready; completed as attempt 1`,
    );
    expect(pickedUpMs).toBeLessThan(5_000);
    expect(pickedUpAgainMs).toBeLessThan(5_000);
  }, 300_000);
});
