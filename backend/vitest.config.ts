import os from 'node:os';
import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'backend',
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    // Each test file gets its own database cloned from a migrated template, so files run in
    // parallel safely. Most time is spent waiting on PostgreSQL, so use more workers than cores.
    pool: 'forks',
    maxWorkers: Math.max(2, Math.min(4, os.availableParallelism() * 2)),
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
});
