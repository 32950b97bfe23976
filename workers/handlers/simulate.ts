/**
 * @module workers/handlers/simulate
 * The built-in demo job: `steps` steps of `stepMs` each, progress after every step, a failure
 * at `failAtStep` if asked. Used by the demo page, the tests and the benchmarks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler } from '../handler.js';

export const simulate: Handler<'simulate'> = async ({ steps, stepMs, failAtStep }, ctx) => {
  for (let step = 1; step <= steps; step++) {
    if (stepMs > 0) await sleep(stepMs, undefined, { signal: ctx.signal });
    else ctx.signal.throwIfAborted();
    if (step === failAtStep) throw new Error(`simulated failure at step ${step} of ${steps}`);
    await ctx.progress((step / steps) * 100, `step ${step} of ${steps}`);
  }
  return { steps };
};
