/**
 * @module workers/record-writes
 * How a worker writes a job's record: a write that fails is logged, never thrown. The job goes
 * on, and the reconciler (API side) brings the record in line once Redis takes writes again.
 */
import type { Logger } from '../src/log.js';
import type { RedisFaultLog } from '../src/redis-faults.js';

/** Awaits a record write (`what`, for the log) of job `jobId`; resolves whatever it did. */
export type RecordWrite = (promise: Promise<unknown>, what: string, jobId: string) => Promise<void>;

/**
 * A {@link RecordWrite} that reports Redis faults to `faults` (one line of advice per outage)
 * and logs anything else as a warning.
 *
 * @example
 * const write = recordWrites(faults, log);
 * await write(store.log(id, 'hello'), 'log line', id);
 */
export function recordWrites(faults: RedisFaultLog, log: Logger): RecordWrite {
  return (promise, what, jobId) =>
    promise.then(
      () => {},
      (error: unknown) => {
        if (!faults.report(error)) log.warn(`could not record ${what}`, { jobId, error });
      },
    );
}
