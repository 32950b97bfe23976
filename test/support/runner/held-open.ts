/**
 * @module test/support/runner/held-open
 * What test support keeps open across test files on purpose (a test process runs many files:
 * `isolate: false`), so that the checks for leaks and for processes left behind do not count it.
 * Each holder says, when asked, what it holds right now: handles by type (as
 * `process.getActiveResourcesInfo()` names them) and the process it keeps running, if any.
 */

export type ResourceCounts = Record<string, number>;

export interface Held {
  resources: ResourceCounts;
  /** A child process kept running, with all its descendants. */
  pid?: number;
}

const holders = new Set<() => Held>();

/** Registers a holder; `held` is asked at every check (it returns no resources once it holds nothing). */
export function holdOpen(held: () => Held): void {
  holders.add(held);
}

/** The handles the holders hold right now, summed by type. */
export function heldResources(): ResourceCounts {
  const counts: ResourceCounts = {};
  for (const held of holders) {
    for (const [type, n] of Object.entries(held().resources)) counts[type] = (counts[type] ?? 0) + n;
  }
  return counts;
}

/** The child processes the holders keep running. */
export function heldProcesses(): number[] {
  return [...holders].flatMap((held) => held().pid ?? []);
}
