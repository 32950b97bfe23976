/**
 * @module jobs/stall
 * The stall signal: a running job that has reported nothing for longer than
 * {@link STALL_INTERVAL_MULTIPLE} × its own usual interval between reports, and at least
 * `STALL_AFTER_MS`. Before it has a usual interval (fewer than two reports since it started),
 * `STALL_AFTER_MS` alone decides.
 *
 * One function, used both by the event hub (once per watched job per tick) and by the job
 * resource (from the record), so a stream and `GET /jobs/{id}` agree. It only reads: BullMQ's
 * own stalled-job recovery (a worker that stopped renewing its lock) is another thing entirely
 * and is left alone.
 */

/** Silence, in usual intervals, after which a job that has a usual interval counts as stalled. */
export const STALL_INTERVAL_MULTIPLE = 5;

/** What the signal looks at: a job's state, when it last reported, and its usual interval. */
export interface StallFacts {
  state: string;
  /** When the job last reported (ms since the epoch): its start, or its latest progress. */
  atMs: number;
  /** Its usual interval between reports (ms), once it has one. */
  intervalMs?: number | undefined;
}

/** How long `facts`' job may stay quiet before it counts as stalled. */
export function stallThresholdMs(facts: StallFacts, stallAfterMs: number): number {
  return facts.intervalMs ? Math.max(stallAfterMs, STALL_INTERVAL_MULTIPLE * facts.intervalMs) : stallAfterMs;
}

/** True while a running job has been quiet for longer than its threshold. */
export function isStalled(facts: StallFacts, nowMs: number, stallAfterMs: number): boolean {
  return facts.state === 'active' && nowMs - facts.atMs > stallThresholdMs(facts, stallAfterMs);
}
