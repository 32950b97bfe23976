/**
 * @module events/rotation
 * Bounded per-tick work over many watched jobs: a process watching 20,000 queued or quiet jobs
 * must not read 20,000 of them from Redis every tick. Each tick takes the `limit` jobs served
 * longest ago; the rest wait their turn, so every job is still served, once every
 * ⌈n / limit⌉ ticks, and the cost per tick stays flat however many jobs are watched.
 */

/** The `limit` items whose `servedAt` is oldest (all of them when there are no more). */
export function oldestServed<T>(items: T[], servedAt: (item: T) => number, limit: number): T[] {
  if (items.length <= limit) return items;
  return items.sort((a, b) => servedAt(a) - servedAt(b)).slice(0, limit);
}
