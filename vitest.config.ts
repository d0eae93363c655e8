import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores in CI: run test files two at a time.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
