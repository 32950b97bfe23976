/**
 * @module bench/lib/stats
 * Percentiles and the few numbers every scenario reports.
 */

/** The p-quantile (0–1) of `values` (sorted in place), nearest-rank. */
export function percentile(values: Float64Array | number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values instanceof Float64Array ? values.sort() : values.sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))] as number;
}

export function concat(arrays: Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

export const median = (values: number[]) => percentile([...values], 0.5);

/** jobcast ÷ baseline, or NaN. */
export const ratio = (ours: number, theirs: number) =>
  theirs > 0 && Number.isFinite(ours) ? ours / theirs : Number.NaN;

/**
 * The ratio of each round of ours to the round of theirs run next to it (paired rounds, see
 * bench/run's pairedRounds): what a median of them judges, which one disturbed pair cannot swing.
 */
export const pairedRatios = (ours: number[], theirs: number[]) =>
  ours.map((value, i) => ratio(value, theirs[i] ?? Number.NaN));

export const round = (x: number, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
