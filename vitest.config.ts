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
    // Five test files at a time on two cores, each against the one shared redis-server. Until
    // 7 Dec the run kept both cores busy (vmstat idle 0–3%; `npm test` cost 409 CPU-s: test
    // processes 131, Chromium 107, the type check 54, API processes 40, worker processes 22, redis
    // 12), so a fourth file gained nothing and a timing test failed. Chromium without its unseen
    // omnibox renderer (-80 CPU-s) and service processes that start for half the CPU left the
    // cores idle 13–80% of a run at three files: the files' waiting (processes, timers, Redis)
    // became the bound, and a fourth file at a time took vitest from 146 to 108 s. Five (95 s)
    // stretched the worker-death re-run past its bound — which was BullMQ's stalled-check loop
    // skipping turns on a busy machine (fixed in workers/stalled-checks.ts). With the slow files'
    // tests side by side (faults, outages, webhooks-durable) the files summed ~380 s, and five at
    // a time took vitest from 97 to 86 s (7 Dec, quiet).
    // Files share worker processes (no per-file isolation), so the service and test modules load
    // once per process.
    maxWorkers: 5,
    isolate: false,
    // The long files first, so that none is left to end the run alone (sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    typecheck: { enabled: false },
  },
});
