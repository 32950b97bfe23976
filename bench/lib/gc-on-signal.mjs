/**
 * Bench-only preload (`node --expose-gc --import ./bench/lib/gc-on-signal.mjs …`), given to the
 * jobcast API and the bare server alike: on SIGUSR2 the process runs full garbage collections,
 * so that resident memory can be read without the garbage a collection would free anyway.
 * Production code is not touched.
 *
 * `BENCH_GC=low-memory` in its environment makes it a memory-reducing collection instead: the
 * one V8 runs when told memory is low (`Isolate::LowMemoryNotification`, reached through the
 * inspector's `HeapProfiler.collectGarbage`; `gc()` cannot ask for it in Node 20). Beside what
 * `gc()` does, it compacts the old generation and shrinks the young one to its initial size.
 * `gc()` leaves the young generation (two semi-spaces, up to 16 MiB each) at whatever size a
 * heuristic on recent allocation picked — 1 MiB after some bursts, 32 MiB after others, the
 * same process and load — so RSS after `gc()` moves by ~30 MiB without a byte leaked. A leak
 * check reads memory this way: what the reducing collection cannot give back is what is held.
 *
 * With `BENCH_MEMORY_REPORT=<file>`, the process then also writes what its memory is made of to
 * that file (one JSON object, replaced each time): `process.memoryUsage()` and V8's heap
 * spaces, so the bench can tell V8's share of RSS from the rest (malloc, code, stacks).
 */

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics } from 'node:v8';

const reportFile = process.env.BENCH_MEMORY_REPORT;
// Connected now, not at the first signal, so that what the session costs is in every reading.
const inspector = process.env.BENCH_GC === 'low-memory' ? new Session() : undefined;
inspector?.connect();

process.on('SIGUSR2', () => {
  if (inspector) {
    inspector.post('HeapProfiler.collectGarbage', () => report());
    return;
  }
  // Twice: the first collection can leave objects that only die once their finalizers ran.
  globalThis.gc?.();
  setTimeout(() => {
    globalThis.gc?.();
    report();
  }, 50);
});

function report() {
  if (!reportFile) return;
  const spaces = {};
  for (const s of getHeapSpaceStatistics()) {
    spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size };
  }
  writeFileSync(reportFile, JSON.stringify({ at: Date.now(), usage: process.memoryUsage(), spaces }));
}
