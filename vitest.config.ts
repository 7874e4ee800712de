import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Real registries and subprocesses: two cores, keep the fan-out modest.
    maxWorkers: 3,
    reporters: ['default'],
  },
});
