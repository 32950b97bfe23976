/**
 * @module jobs/builtin/simulate
 * The built-in demo job: `steps` steps of `stepMs` each, progress after every step (and a log
 * line too, with `logSteps`), a failure at `failAtStep` if asked. Used by the demo page, the
 * tests and the benchmarks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineJobType } from '../job-type.js';

export const simulate = defineJobType({
  name: 'simulate',
  description:
    'Demo job: runs `steps` steps of `stepMs` each, reporting progress after every step (and logging a line, with `logSteps`); fails at `failAtStep` if given.',
  input: z
    .object({
      steps: z.int().min(1).max(10_000).default(10).describe('Number of steps to run.'),
      stepMs: z.int().min(0).max(60_000).default(200).describe('Milliseconds each step takes.'),
      failAtStep: z.int().min(1).optional().describe('Fail (throw) when this step is reached.'),
      logSteps: z.boolean().optional().describe('Log a line (`event: log`) at every step.'),
    })
    .strict(),
  result: z.object({ steps: z.int() }),
  async handler({ steps, stepMs, failAtStep, logSteps }, ctx) {
    for (let step = 1; step <= steps; step++) {
      if (stepMs > 0) await sleep(stepMs, undefined, { signal: ctx.signal });
      else ctx.signal.throwIfAborted();
      if (step === failAtStep) throw new Error(`simulated failure at step ${step} of ${steps}`);
      if (logSteps) await ctx.log(`step ${step} of ${steps} done after ${step * stepMs} ms`);
      await ctx.progress((step / steps) * 100, `step ${step} of ${steps}`);
    }
    return { steps };
  },
});
