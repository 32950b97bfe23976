/**
 * @module jobs/builtin/simulate
 * The built-in demo job: `steps` steps of `stepMs` each (uneven with `jitter`), progress after
 * every step (and a log line too, with `logSteps`), a failure at `failAtStep` if asked. Used by the demo page, the
 * tests and the benchmarks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineJobType } from '../job-type.js';

/**
 * A fixed pseudo-random number in [-1, 1) for each step (the classic GLSL hash): uneven steps
 * that are the same on every run, so runs with `jitter` can be compared.
 */
export function stepNoise(step: number): number {
  const x = Math.sin(step * 12.9898) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

export const simulate = defineJobType({
  name: 'simulate',
  description:
    'Demo job: runs `steps` steps of `stepMs` each, reporting progress after every step (and logging a line, with `logSteps`); fails at `failAtStep` if given.',
  input: z
    .object({
      steps: z.int().min(1).max(10_000).default(10).describe('Number of steps to run.'),
      stepMs: z.int().min(0).max(60_000).default(200).describe('Milliseconds each step takes.'),
      failAtStep: z.int().min(1).optional().describe('Fail (throw) when this step is reached.'),
      jitter: z
        .number()
        .min(0)
        .max(1)
        .optional()
        .describe(
          'Uneven steps: each step takes `stepMs` × a factor between 1 − jitter and 1 + jitter (a fixed sequence, the same on every run).',
        ),
      logSteps: z.boolean().optional().describe('Log a line (`event: log`) at every step.'),
    })
    .strict(),
  result: z.object({ steps: z.int() }),
  async handler({ steps, stepMs, failAtStep, jitter, logSteps }, ctx) {
    let elapsedMs = 0;
    for (let step = 1; step <= steps; step++) {
      const ms = Math.round(stepMs * (1 + (jitter ?? 0) * stepNoise(step)));
      elapsedMs += ms;
      if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal });
      else ctx.signal.throwIfAborted();
      if (step === failAtStep) throw new Error(`simulated failure at step ${step} of ${steps}`);
      if (logSteps) await ctx.log(`step ${step} of ${steps} done after ${elapsedMs} ms`);
      await ctx.progress((step / steps) * 100, `step ${step} of ${steps}`);
    }
    return { steps };
  },
});
