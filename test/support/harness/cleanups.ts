/**
 * @module test/support/harness/cleanups
 * Cleanups that belong to one test, for tests that run side by side (`describe.concurrent`),
 * where a file-wide list emptied in `afterEach` would mix one test's cleanups with another's.
 *
 * @example
 * it('…', ({ expect }) =>
 *   withCleanups(async (cleanups) => {
 *     const redis = await startPrivateRedis();
 *     cleanups.push(() => redis.stop());
 *     …
 *   }));
 */

export type Cleanups = Array<() => Promise<void> | void>;

/**
 * Runs `test` with a list of cleanups, run last to first when it ends, however it ends (every
 * one of them); the test's own failure is the one reported, else the first cleanup's.
 */
export async function withCleanups(test: (cleanups: Cleanups) => Promise<void>): Promise<void> {
  const cleanups: Cleanups = [];
  const errors: unknown[] = [];
  await test(cleanups).catch((error: unknown) => errors.push(error));
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
}
