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
 * Files of more than a few seconds, longest first (their wall time in a clean-clone run, as
 * `npm test` prints it). A file missing from the list only starts later; keep the long ones here.
 */
export const LONGEST_FIRST = [
  'web', // 66 s
  'webhooks-durable', // 54 s
  'faults', // 45 s
  'install', // 45 s
  'worker-death', // 39 s
  'web-progress', // 32 s
  'web-auth', // 32 s
  'queue-position', // 30 s
  'cluster', // 26 s
  'outages', // 25 s
  'shutdown', // 22 s
  'readme-job-types', // 21 s
  'webhooks', // 19 s
  'startup', // 17 s
  'ctrl-c', // 14 s
  'resume', // 13 s
  'slow-client', // 12 s
  'api-processes', // 12 s
  'docs-ui', // 11 s
  'stream-leaks', // 10 s
  'webhooks-parts', // 10 s
  'openapi-examples', // 10 s
  'eta', // 9 s
  'webhooks-load', // 9 s
  'cli', // 8 s
  'scale', // 8 s
  'stream-tokens', // 8 s
  'job-types', // 8 s
  'jobs-batch', // 7 s
  'auth', // 7 s
  'stall', // 7 s
  'sentinel', // 7 s
  'idempotency', // 7 s
  'client', // 7 s
  'http2', // 7 s
  'openapi', // 6 s
  'feed', // 5 s
  'jobs-cancel', // 5 s
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
