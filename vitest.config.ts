import { defineConfig } from 'vitest/config';

// One suite, run once per database backend by scripts/test.mjs (WICKET_TEST_DB=pglite|postgres).
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/server/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/bench/**', ...(process.env.WICKET_BROWSER_TESTS === '1' ? [] : ['test/browser/**'])],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
