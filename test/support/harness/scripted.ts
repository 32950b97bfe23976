/**
 * Jobs whose handler the test writes: a real worker (`startWorker` with a custom handler map)
 * runs each job through a script the test registers for its id, so a test can log lines
 * between progress reports, flood progress, or hold a job still until it opens a gate.
 *
 * Every job goes through BullMQ, the Lua scripts and Redis pub/sub exactly as in production;
 * only the handler body is the test's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../../src/config.js';
import type { HandlerOverrides } from '../../../src/jobs/builtin/index.js';
import { simulate } from '../../../src/jobs/builtin/simulate.js';
import type { JobContext } from '../../../src/jobs/job-type.js';
import { createLogger } from '../../../src/log.js';
import { type RunningWorker, startWorker } from '../../../workers/runner.js';
import { type Harness, startHarness } from './harness.js';

/** The body of one job. Its return value is ignored (the job's result is `{ steps: 0 }`). */
export type Script = (ctx: JobContext) => Promise<unknown>;

/** How long a handler waits for the test to register its job's script. */
const REGISTRATION_TIMEOUT_MS = 15_000;

/** A promise the test opens; a job waiting on it also stops when its job is aborted. */
export class Gate {
  #open!: () => void;
  #isOpen = false;
  readonly #opened = new Promise<void>((resolve) => {
    this.#open = resolve;
  });

  get isOpen(): boolean {
    return this.#isOpen;
  }

  open(): void {
    this.#isOpen = true;
    this.#open();
  }

  wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      // Never rejects (it only resolves when the gate opens): nothing to catch.
      void this.#opened.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}

export class ScriptedJobs {
  readonly #scripts = new Map<string, Script>();
  readonly #waiting = new Map<string, (script: Script) => void>();
  readonly #gates = new Set<Gate>();

  /** The worker's handler map: every `simulate` job runs the script registered for its id. */
  readonly handlers: HandlerOverrides = {
    simulate: async (_input, ctx) => {
      const script = await this.#scriptOf(ctx.jobId);
      await script(ctx);
      return { steps: 0 };
    },
  };

  /** A gate opened by {@link openAll} at the latest. */
  gate(): Gate {
    const gate = new Gate();
    this.#gates.add(gate);
    return gate;
  }

  /** Opens every gate (teardown: lets held jobs finish). */
  openAll(): void {
    for (const gate of this.#gates) gate.open();
  }

  /** Submits a job (POST /jobs on `apiUrl`) that runs `script`; returns its id. */
  async submit(apiUrl: string, script: Script): Promise<string> {
    const res = await fetch(`${apiUrl}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'simulate', data: { steps: 1, stepMs: 0 } }),
    });
    if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    this.#scripts.set(id, script);
    this.#waiting.get(id)?.(script);
    this.#waiting.delete(id);
    return id;
  }

  async #scriptOf(jobId: string): Promise<Script> {
    const known = this.#scripts.get(jobId);
    if (known) return known;
    // The worker may take the job before the POST's response reaches the test.
    return new Promise<Script>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(jobId);
        reject(new Error(`no script registered for job ${jobId}`));
      }, REGISTRATION_TIMEOUT_MS);
      this.#waiting.set(jobId, (script) => {
        clearTimeout(timer);
        resolve(script);
      });
    });
  }
}

/** The built-in `simulate` handler as a script. */
export const simulateScript =
  (steps: number, stepMs: number): Script =>
  async (ctx) =>
    simulate.handler({ steps, stepMs }, ctx);

/** A script that logs `lines` lines, each followed by a progress report, `pauseMs` apart. */
export const logAndProgressScript =
  (lines: number, pauseMs: number, from = 1): Script =>
  async (ctx) => {
    for (let i = from; i < from + lines; i++) {
      await ctx.log(`line ${i}`);
      await ctx.progress((i / (from + lines - 1)) * 100, `after line ${i}`);
      if (pauseMs > 0) await sleep(pauseMs, undefined, { signal: ctx.signal });
    }
  };

export interface ScriptedHarness {
  h: Harness;
  scripts: ScriptedJobs;
  worker: RunningWorker;
  /** Opens every gate, stops the worker, then the harness. */
  close(): Promise<void>;
}

/** The test harness's API plus a worker running {@link ScriptedJobs}. */
export async function startScriptedHarness(env: Record<string, string> = {}): Promise<ScriptedHarness> {
  const h = await startHarness({ worker: false, env });
  const scripts = new ScriptedJobs();
  let worker: RunningWorker;
  try {
    worker = await startScriptedWorker(h.config, h.redisUrl, scripts);
  } catch (error) {
    await h.close();
    throw error;
  }
  return {
    h,
    scripts,
    worker,
    async close() {
      scripts.openAll();
      await worker.close();
      await h.close();
    },
  };
}

export function startScriptedWorker(config: Config, redisUrl: string, scripts: ScriptedJobs): Promise<RunningWorker> {
  return startWorker(config, redisUrl, createLogger(config.LOG_LEVEL), { handlers: scripts.handlers });
}
