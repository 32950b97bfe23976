/**
 * The compaction after a burst of streams (`events/heap-compaction`): it waits for enough
 * streams opened (a share of those open), runs once the openings stop, never in a process that
 * holds fewer than its minimum, and gives the old generation's emptied pages back.
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
    const compaction = new HeapCompaction({ minOpen: 3, share: 0.5, quietMs: 50 });
    compaction.opened(1);
    compaction.opened(2);
    expect(compaction.pending).toBe(false);
    compaction.opened(3);
    expect(compaction.pending).toBe(true);
    await waitFor(() => compaction.runs === 1, 'the compaction');
    expect(compaction.pending).toBe(false);
    // The count starts again: a few more streams among many are not worth a pause…
    compaction.opened(4);
    compaction.opened(5);
    expect(compaction.pending).toBe(false);
    // …half as many as are open are.
    compaction.opened(6);
    expect(compaction.pending).toBe(true);
    await waitFor(() => compaction.runs === 2, 'the second compaction');
  });

  it('leaves a process alone that holds fewer streams than its minimum, however many came and went', () => {
    const compaction = new HeapCompaction({ minOpen: 3, share: 0.5, quietMs: 50 });
    for (let i = 0; i < 10; i++) compaction.opened(2);
    expect(compaction.pending).toBe(false);
    compaction.opened(3);
    expect(compaction.pending).toBe(true);
    compaction.stop();
  });

  it('waits while streams keep opening', async () => {
    const compaction = new HeapCompaction({ minOpen: 1, share: 0.1, quietMs: 1000 });
    // One opening every 50 ms for 1.5 s, longer than the quiet period: each pushes it back.
    for (let open = 1; open <= 30; open++) {
      compaction.opened(open);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(compaction.runs).toBe(0);
    expect(compaction.pending).toBe(true);
    await waitFor(() => compaction.runs === 1, 'the compaction');
  });

  it('gives back the old generation that dead objects left half empty', async () => {
    const kept = fragmentedHeap();
    const before = oldSpace();
    const compaction = new HeapCompaction({ minOpen: 1, share: 0.1, quietMs: 1 });
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
    const compaction = new HeapCompaction({ minOpen: 1, share: 0.1, quietMs: 10_000 });
    compaction.opened(1);
    expect(compaction.pending).toBe(true);
    compaction.stop();
    expect(compaction.pending).toBe(false);
  });
});
