import { defineConfig } from 'vitest/config';

// Two projects, one `npm test`: unit tests mirror the sources (test/unit/<same path>), end-to-end
// suites are grouped by topic (test/e2e/<topic>). `vitest run --project unit` runs one of them.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Integration tests mount overlays and start servers: keep files from fighting over 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
