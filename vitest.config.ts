import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/runner/global-setup.ts'],
    // Every response from a test server is checked against openapi.yaml, and a test that leaves
    // handles, timers or jobcast Redis clients open fails (test/support/runner/leak-check.ts).
    setupFiles: ['test/support/contract/contract-everywhere.ts', 'test/support/runner/leak-check.ts'],
    reporters: ['default', './test/support/runner/summary-reporter.ts'],
    // Two cores: two test files at a time, each against the one shared redis-server.
    maxWorkers: 4,
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    typecheck: { enabled: false },
  },
});
