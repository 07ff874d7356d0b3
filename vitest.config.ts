import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// One suite, run once per database backend by scripts/test.mjs (WICKET_TEST_DB=pglite|postgres).
export default defineConfig({
  // graphql 16 has no "exports" map: Vite would pick index.mjs while libraries loaded by Node get
  // index.js, and two copies of graphql refuse each other's types. One copy for everyone.
  resolve: { alias: { graphql: require.resolve('graphql') } },
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
