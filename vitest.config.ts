import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Says once which checks this run leaves out (the EWS schema checks on a clone without the schema).
    globalSetup: ['test/support/global-setup.ts'],
    // Tests that start real processes or servers bind port 0 and clean up after themselves;
    // files still run in parallel workers, tests inside a file run in order.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
