import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) builds of itself. Node, and so graphql-yoga,
    // load the CommonJS one; Vite would give the source the ESM one, and graphql refuses a schema
    // made by the other copy. Tests load the one Node loads.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/setup/services.ts'],
    setupFiles: ['tests/setup/fast-check.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './tests/setup/tier-report.ts'],
    pool: 'forks',
  },
});
