/**
 * @module test/support/runner/sequencer
 * The order test files start in: the longest first, so that the run does not end with one slow
 * file running alone while the other workers sit idle (longest-first is what a scheduler of
 * jobs of known lengths does). Vitest orders by the durations of the last run it remembers
 * (`node_modules/.vite`), but a fresh clone has none, and then it orders by file size, which
 * put a 40 s file of waiting last. So the files known to be long are named here, longest
 * first, from a clean-clone CI run; every other file follows, in Vitest's own order.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files of more than a few seconds, longest first: their wall time in a full run (four at a
 * time, 7 Dec 08:24, quiet machine, after faults, webhooks-durable and outages began running
 * their tests side by side and install stopped waiting on a job it left running) and the CPU
 * they cost in it (`JOBCAST_TEST_CPU_LOG`; Chromium's not counted). Files that mostly wait
 * come a little earlier than their length says and the heaviest in CPU (readme-job-types,
 * outages, install) a little later, so they do not all start at once. A file missing from the
 * list only starts later: keep the long ones here.
 */
export const LONGEST_FIRST = [
  'web', // 28 s, CPU 3 s (+ Chromium 10 s)
  'queue-position', // 17 s, CPU 2 s
  'cluster', // 17 s, CPU 3 s
  'install', // 17 s, CPU 8 s (27 s before the React test cancelled the job it left running)
  'worker-death', // 16 s, CPU 3 s (its two tests side by side)
  'web-auth', // 12 s, CPU 1 s (+ Chromium 5 s)
  'outages', // 15 s, CPU 8 s (24 s before its two tests ran side by side)
  'webhooks', // 12 s, CPU 2 s
  'ctrl-c', // 12 s, CPU 2 s
  'readme-job-types', // 12 s, CPU 9 s
  'faults', // 11 s, CPU 5 s (37 s before its five tests ran side by side)
  'web-progress', // 10 s, CPU 1 s (+ Chromium 3 s)
  'shutdown', // 10 s, CPU 2 s
  'sentinel', // 9 s, CPU 0 s
  'startup', // 9 s, CPU 1 s
  'resume', // 8 s, CPU 0 s
  'api-processes', // 8 s, CPU 3 s
  'webhooks-durable', // 8 s, CPU 2 s (20 s before its four tests ran side by side)
  'stream-leaks', // 8 s, CPU 5 s
  'openapi-examples', // 7 s, CPU 1 s
  'eta', // 7 s, CPU 0 s
  'http2', // 7 s, CPU 1 s
  'stall', // 7 s, CPU 0 s
  'client', // 6 s, CPU 0 s
  'cli', // 6 s, CPU 1 s
  'scale', // 5 s, CPU 2 s
  'docs-ui', // 5 s, CPU 0 s (+ Chromium 4 s)
  'feed', // 5 s, CPU 0 s
  'stream-tokens', // 5 s, CPU 0 s
  'webhooks-load', // 5 s, CPU 3 s
  'idempotency', // 4 s, CPU 0 s
  'validation', // 4 s, CPU 1 s
  'slow-client', // 4 s, CPU 3 s
  'jobs-batch', // 4 s, CPU 1 s
  'retention', // 3 s, CPU 0 s
  'jobs-cancel', // 3 s, CPU 0 s
  'heap-compaction', // 3 s, CPU 1 s
  'openapi-prism', // 3 s, CPU 4 s
  'openapi-clients', // 3 s, CPU 2 s
];

const rank = (spec: TestSpecification): number => {
  const name = /([^/]+)\.test\.ts$/.exec(spec.moduleId)?.[1] ?? '';
  const index = LONGEST_FIRST.indexOf(name);
  return index === -1 ? LONGEST_FIRST.length : index;
};

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const known = await super.sort(files);
    // Array.prototype.sort is stable: unlisted files keep Vitest's order among themselves.
    return [...known].sort((a, b) => rank(a) - rank(b));
  }
}
