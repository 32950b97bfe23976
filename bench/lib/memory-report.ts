/**
 * @module bench/lib/memory-report
 * What the gc hook (lib/gc-on-signal.mjs) writes after each collection when its process was
 * started with `BENCH_MEMORY_REPORT`: `process.memoryUsage()` and V8's heap spaces, so that V8's
 * share of RSS can be told from the rest (malloc, code, stacks).
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MemoryReport {
  usage: NodeJS.MemoryUsage;
  spaces: Record<string, { size: number; used: number; physical: number }>;
}

/** One process's report file. */
export class MemoryReports {
  readonly file: string;

  constructor(name: string) {
    this.file = join(tmpdir(), `jobcast-${name}-${process.pid}.json`);
  }

  /** The environment of the process to report: which collection its hook runs, and the file. */
  env(gc: 'low-memory' | 'plain'): Record<string, string> {
    return { BENCH_GC: gc, BENCH_MEMORY_REPORT: this.file };
  }

  /** The latest report: read after `settledRss(pid, true)`, whose collection writes a fresh one. */
  read(): MemoryReport {
    return JSON.parse(readFileSync(this.file, 'utf8')) as MemoryReport;
  }

  remove(): void {
    rmSync(this.file, { force: true });
  }
}

/** The pages V8's heap has resident, all spaces together. */
export function v8ResidentBytes(report: MemoryReport): number {
  return Object.values(report.spaces).reduce((n, s) => n + s.physical, 0);
}
