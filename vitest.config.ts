import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/runner/global-setup.ts'],
    // Every response from a test server is checked against openapi.yaml.
    setupFiles: ['test/support/contract/contract-everywhere.ts'],
    reporters: ['default', './test/support/runner/summary-reporter.ts'],
    // Two cores: two test files at a time, each against the one shared redis-server.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    typecheck: { enabled: false },
  },
});
