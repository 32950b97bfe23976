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
 * Files of more than a few seconds, longest first: their wall time in a clean-clone `.ci/run`
 * (three at a time, beside the type check; 7 Dec 00:26, with a benchmark running beside it, so
 * a little longer than on a quiet machine) and the CPU they cost in it (`JOBCAST_TEST_CPU_LOG`;
 * Chromium's not counted). Files that mostly wait (web-auth, web-progress, docs-ui,
 * queue-position) come a little earlier than their length says and the heaviest in CPU
 * (readme-job-types, api-processes, stream-leaks) a little later, so they do not all start at
 * once. A file missing from the list only starts later: keep the long ones here.
 */
export const LONGEST_FIRST = [
  'faults', // 55 s, CPU 17 s
  'web', // 41 s, CPU 5 s (alone; 56 s before its jobs were cut to what its assertions need)
  'install', // 33 s, CPU 11 s
  'webhooks-durable', // 33 s, CPU 10 s
  'readme-job-types', // 31 s, CPU 19 s
  'api-processes', // 30 s, CPU 14 s
  'web-auth', // 19 s, CPU 3 s (alone; 26 s before)
  'cluster', // 25 s, CPU 9 s
  'worker-death', // 21–24 s, CPU 7 s (alone; 46 s before its two tests ran side by side)
  'web-progress', // 19 s, CPU 3 s (alone; 22 s before)
  'outages', // 24 s, CPU 11 s
  'stream-leaks', // 23 s, CPU 13 s
  'queue-position', // 19–20 s, CPU 3 s (alone)
  'shutdown', // 21 s, CPU 10 s
  'ctrl-c', // 21 s, CPU 10 s
  'docs-ui', // 23 s, CPU 1 s (14 s on a quiet machine)
  'webhooks', // 18 s, CPU 5 s
  'startup', // 15 s, CPU 8 s
  'slow-client', // 22 s, CPU 9 s (5 s on a quiet machine)
  'cli', // 11 s, CPU 5 s
  'scale', // 10 s, CPU 6 s
  'webhooks-load', // 10 s, CPU 9 s
  'openapi-examples', // 10 s, CPU 2 s
  'resume', // 9 s, CPU 1 s
  'eta', // 9 s, CPU 1 s
  'stream-tokens', // 8 s, CPU 1 s
  'openapi-prism', // 8 s, CPU 8 s
  'sentinel', // 7 s, CPU 1 s
  'http2', // 7 s, CPU 2 s
  'client', // 7 s, CPU 1 s
  'stall', // 7 s, CPU 0 s
  'idempotency', // 7 s, CPU 1 s
  'feed', // 6 s, CPU 1 s
  'heap-compaction', // 5 s, CPU 4 s
  'validation', // 5 s, CPU 2 s
  'job-types', // 5 s, CPU 5 s
  'openapi-clients', // 5 s, CPU 5 s
  'jobs-batch', // 5 s, CPU 3 s
  'jobs-cancel', // 4 s, CPU 2 s
  'auth', // 4 s, CPU 3 s
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
