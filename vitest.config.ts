import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['backend'],
    reporters: ['default', './test-support/summary-reporter.ts'],
  },
});
