import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['control/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts', 'chains/**/*.test.ts', 'manifests/**/*.test.ts'],
    // Tests share one kernel's BPF pins and spawn processes: run files one
    // after another on this 2-core machine.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
