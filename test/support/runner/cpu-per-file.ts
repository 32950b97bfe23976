/**
 * @module test/support/runner/cpu-per-file
 * A setup file that measures what each test file costs in CPU, when asked:
 * `JOBCAST_TEST_CPU_LOG=/tmp/cpu.log npm test` appends one line per file — its name, its wall
 * time and the CPU seconds of its test process over that time, the processes it started and
 * waited for included (Linux `/proc/self/stat`: utime, stime, cutime, cstime). Files share test
 * processes but never at the same time, so each line is that file's alone; a process that
 * outlives its file (the shared Chromium) is counted by none.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';

const log = process.env.JOBCAST_TEST_CPU_LOG;

/** CPU seconds of this process and of its children that ended. */
function cpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name (which may hold spaces): utime is the 14th field overall.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks / 100;
}

if (log) {
  let startCpu = 0;
  let startAt = 0;
  beforeAll(() => {
    startCpu = cpuSeconds();
    startAt = performance.now();
  });
  afterAll(() => {
    const file = basename(expect.getState().testPath ?? '?');
    const wall = (performance.now() - startAt) / 1000;
    appendFileSync(log, `${file} wall ${wall.toFixed(1)} s cpu ${(cpuSeconds() - startCpu).toFixed(1)} s\n`);
  });
}
