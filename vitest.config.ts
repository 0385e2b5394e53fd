import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Only the backend's tests (backend/test/**/*.test.ts). The dashboard's browser specs
    // (frontend/e2e/*.spec.ts) run under Playwright (`pnpm test:e2e`), never under vitest.
    projects: ['backend'],
    reporters: ['default', './test-support/summary-reporter.ts'],
  },
});
