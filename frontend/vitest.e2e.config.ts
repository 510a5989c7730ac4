import { defineConfig } from 'vitest/config';

// The browser test drives Chromium against the running suite; one file, one browser, in order.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
