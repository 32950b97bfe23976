/**
 * @module workers/handlers/simulate
 * The built-in demo job: `steps` steps of `stepMs` each (uneven with `jitter`), progress after
 * every step, a failure at `failAtStep` if asked. Used by the demo page, the tests and the
 * benchmarks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler } from '../handler.js';

/**
 * A fixed pseudo-random number in [-1, 1) for each step (the classic GLSL hash): uneven steps
 * that are the same on every run, so runs with `jitter` can be compared.
 */
export function stepNoise(step: number): number {
  const x = Math.sin(step * 12.9898) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

export const simulate: Handler<'simulate'> = async ({ steps, stepMs, failAtStep, jitter }, ctx) => {
  for (let step = 1; step <= steps; step++) {
    const ms = Math.round(stepMs * (1 + (jitter ?? 0) * stepNoise(step)));
    if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal });
    else ctx.signal.throwIfAborted();
    if (step === failAtStep) throw new Error(`simulated failure at step ${step} of ${steps}`);
    await ctx.progress((step / steps) * 100, `step ${step} of ${steps}`);
  }
  return { steps };
};
