import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/support/runner/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/runner/global-setup.ts'],
    // Every response from a test server is checked against openapi.yaml, and a test that leaves
    // handles, timers or jobcast Redis clients open fails (test/support/runner/leak-check.ts).
    // (And, asked with JOBCAST_TEST_CPU_LOG, what each file costs in CPU: cpu-per-file.ts.)
    setupFiles: [
      'test/support/runner/cpu-per-file.ts',
      'test/support/contract/contract-everywhere.ts',
      'test/support/runner/leak-check.ts',
    ],
    reporters: ['default', './test/support/runner/summary-reporter.ts'],
    // Three test files at a time on two cores, each against the one shared redis-server: most of a
    // file's time is spent waiting on processes, timers and Redis. Four saved ~10 s in a clean
    // clone, but with two CPU burners beside the suite a timing test (the ETA at 50% of an even
    // job) saw its steps stretched by the load; five ran tests past 30 s on a busy machine.
    // Files share worker processes (no per-file isolation), so the service and test modules load
    // once per process.
    // The whole run keeps both cores busy (vmstat idle 0–3% but for ~25 s of 230): only less CPU
    // makes it shorter, not less waiting, nor a fourth file at a time (222 against 220 s, and a
    // timing test failed). Where the CPU of `npm test` went (7 Dec, every process sampled from
    // /proc): test processes 131 s, Chromium 107 (~1.2 s per page opened, four renderer
    // processes each), the type check 54, API processes 40, worker processes 22, redis 12.
    maxWorkers: 3,
    isolate: false,
    // The long files first, so that none is left to end the run alone (sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    typecheck: { enabled: false },
  },
});
