/**
 * The compaction after a burst of streams (`events/heap-compaction`): it waits for the burst,
 * runs once the openings stop, never in a process that holds fewer streams than a burst, and
 * gives the old generation's emptied pages back.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { HeapCompaction } from '../src/events/heap-compaction.js';
import { waitFor } from './support/harness/harness.js';

const oldSpaceStats = () => getHeapSpaceStatistics().find((space) => space.space_name === 'old_space');
const oldSpace = () => oldSpaceStats()?.space_size ?? 0;

/** Long-lived objects interleaved with ten times as many that die old: a fragmented old generation. */
function fragmentedHeap(): object[] {
  const kept: object[] = [];
  let dying: object[] = [];
  for (let i = 0; i < 400_000; i++) {
    const item = { i, text: `item ${i}` };
    if (i % 10 === 0) kept.push(item);
    else dying.push(item);
  }
  dying = [];
  return kept;
}

describe('heap compaction', () => {
  it('waits for a burst, then runs once the openings stop', async () => {
    const compaction = new HeapCompaction({ burst: 3, quietMs: 50 });
    compaction.opened(1);
    compaction.opened(2);
    expect(compaction.pending).toBe(false);
    compaction.opened(3);
    expect(compaction.pending).toBe(true);
    await waitFor(() => compaction.runs === 1, 'the compaction');
    expect(compaction.pending).toBe(false);
    // The count starts again: one more stream is no burst.
    compaction.opened(4);
    expect(compaction.pending).toBe(false);
    compaction.stop();
  });

  it('leaves a process alone that holds fewer streams than a burst, however many came and went', () => {
    const compaction = new HeapCompaction({ burst: 3, quietMs: 50 });
    for (let i = 0; i < 10; i++) compaction.opened(2);
    expect(compaction.pending).toBe(false);
    compaction.opened(3);
    expect(compaction.pending).toBe(true);
    compaction.stop();
  });

  it('gives back the old generation that dead objects left half empty', async () => {
    const kept = fragmentedHeap();
    const before = oldSpace();
    const compaction = new HeapCompaction({ burst: 1, quietMs: 1 });
    compaction.opened(1);
    await waitFor(() => compaction.runs === 1, 'the compaction');
    expect(oldSpace()).toBeLessThan(before);
    // Compacted, not only collected: the pages left hold live objects, not holes (a plain full
    // collection of such a heap leaves the old generation several times its live size).
    const after = oldSpaceStats();
    expect(after?.space_size).toBeLessThan((after?.space_used_size ?? 0) * 1.25);
    expect(kept).toHaveLength(40_000);
  });

  it('stop() cancels a pending compaction', () => {
    const compaction = new HeapCompaction({ burst: 1, quietMs: 10_000 });
    compaction.opened(1);
    expect(compaction.pending).toBe(true);
    compaction.stop();
    expect(compaction.pending).toBe(false);
  });
});
