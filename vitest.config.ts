import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start sandboxes (and later redis-server processes) of their own on ephemeral ports.
    pool: 'forks',
  },
});
