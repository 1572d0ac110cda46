import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Integration tests mount overlays and start servers: keep files from fighting over 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
