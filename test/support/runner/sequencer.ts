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
 * Files of more than a few seconds, longest first: their wall time in a clean-clone run with
 * three at a time, and the CPU they cost in one (`JOBCAST_TEST_CPU_LOG`; Chromium's not counted).
 * Files that mostly wait (webhooks-durable, worker-death, queue-position) come a little earlier
 * than their length says and the heaviest in CPU (install, readme-job-types) a little later, so
 * they do not all start at once. A file missing from the list only starts later: keep the long
 * ones here.
 */
export const LONGEST_FIRST = [
  'web', // 66 s, CPU 6 s
  'worker-death', // 39 s, CPU 8 s
  'faults', // 45 s, CPU 20 s
  'queue-position', // 30 s, CPU 4 s
  'install', // 45 s, CPU 15 s
  'outages', // 25 s, CPU 10 s
  'cluster', // 26 s, CPU 8 s
  'webhooks-durable', // 54 s, CPU 13 s before its retry schedule was scaled; 24 s alone after
  'web-progress', // 32 s, CPU 2 s
  'web-auth', // 32 s, CPU 2 s
  'readme-job-types', // 21 s, CPU 30 s
  'shutdown', // 22 s, CPU 8 s
  'webhooks', // 19 s, CPU 4 s
  'startup', // 17 s, CPU 12 s
  'ctrl-c', // 14 s, CPU 7 s
  'resume', // 13 s, CPU 1 s
  'slow-client', // 12 s, CPU 7 s
  'api-processes', // 12 s, CPU 11 s
  'docs-ui', // 11 s, CPU 1 s
  'stream-leaks', // 10 s, CPU 12 s
  'webhooks-parts', // 10 s, CPU 0 s
  'openapi-examples', // 10 s, CPU 2 s
  'eta', // 9 s, CPU 1 s
  'webhooks-load', // 9 s, CPU 7 s
  'cli', // 8 s, CPU 4 s
  'scale', // 8 s, CPU 4 s
  'stream-tokens', // 8 s, CPU 1 s
  'job-types', // 8 s, CPU 4 s
  'jobs-batch', // 7 s, CPU 3 s
  'auth', // 7 s, CPU 3 s
  'stall', // 7 s, CPU 0 s
  'sentinel', // 7 s, CPU 1 s
  'idempotency', // 7 s, CPU 1 s
  'client', // 7 s, CPU 1 s
  'http2', // 7 s, CPU 1 s
  'openapi', // 6 s, CPU 3 s
  'feed', // 5 s, CPU 1 s
  'jobs-cancel', // 5 s, CPU 1 s
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
