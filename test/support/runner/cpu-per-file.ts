/**
 * @module test/support/runner/cpu-per-file
 * A setup file that measures what each test file costs in CPU, when asked:
 * `JOBCAST_TEST_CPU_LOG=/tmp/cpu.log npm test` appends one line per file — its name, its wall
 * time, the CPU seconds of its test process over that time, the processes it started and
 * waited for included (Linux `/proc/self/stat`: utime, stime, cutime, cstime), and the CPU
 * seconds of the shared Chromium over that time. Files share test processes but never at the
 * same time, so each line is that file's alone.
 *
 * Chromium outlives the files (one per test process, `sharedChromium()`) and is nobody's reaped
 * child until the process ends, so it is counted apart: every live process descended from this
 * one whose command is `chromium`, with the descendants each has reaped (the renderers a zygote
 * reaped land in its cutime/cstime), summed. A renderer that ended but is not reaped yet still
 * has its own /proc entry: nothing is counted twice or lost.
 */
import { appendFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { CLOCK_TICKS_PER_SECOND, type ProcStat, procStat, procStats } from '../../../bench/lib/proc.js';

const log = process.env.JOBCAST_TEST_CPU_LOG;
/** CPU seconds of a process and of its children it reaped. */
const cpuSeconds = (stat: ProcStat) => (stat.utime + stat.stime + stat.cutime + stat.cstime) / CLOCK_TICKS_PER_SECOND;

/** CPU seconds of this process and of its children that ended. */
export function ownCpuSeconds(): number {
  const stat = procStat('self');
  return stat ? cpuSeconds(stat) : 0;
}

/** CPU seconds of the Chromium processes this process started, alive or reaped by them. */
export function chromiumCpuSeconds(root = process.pid): number {
  const children = new Map<number, ProcStat[]>();
  for (const stat of procStats()) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  let sum = 0;
  const visit = (pid: number, inChromium: boolean) => {
    for (const child of children.get(pid) ?? []) {
      const chromium = inChromium || child.comm.startsWith('chromium');
      // A Chromium process's cpu already holds its reaped children; its live ones are added here.
      if (chromium) sum += cpuSeconds(child);
      visit(child.pid, chromium);
    }
  };
  visit(root, false);
  return sum;
}

if (log) {
  let startCpu = 0;
  let startChromium = 0;
  let startAt = 0;
  beforeAll(() => {
    startCpu = ownCpuSeconds();
    startChromium = chromiumCpuSeconds();
    startAt = performance.now();
  });
  afterAll(() => {
    const file = basename(expect.getState().testPath ?? '?');
    const wall = (performance.now() - startAt) / 1000;
    const cpu = ownCpuSeconds() - startCpu;
    const chromium = chromiumCpuSeconds() - startChromium;
    appendFileSync(
      log,
      `${file} wall ${wall.toFixed(1)} s cpu ${cpu.toFixed(1)} s chromium ${chromium.toFixed(1)} s\n`,
    );
  });
}
