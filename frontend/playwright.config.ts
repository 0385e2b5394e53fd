/**
 * Browser tests: Debian's Chromium (never a downloaded browser) against the real built backend,
 * which e2e/global-setup.ts starts once per run with a fresh embedded PostgreSQL.
 */
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  globalSetup: './e2e/global-setup.ts',
  outputDir: '../test-output/playwright',
  // One backend, and tests that change shared state (keys, theme storage) are short: one worker
  // keeps the run predictable on 2 cores.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  // Budgets for a loaded 2-core CI machine (a Deno cold start, a job through the worker, a
  // PostgreSQL round trip behind other work): they only run out when something is late, so a
  // passing run takes no longer; a spec whose steps need more sets its own.
  timeout: 60_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env.KILN_E2E_BASE_URL,
    headless: true,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
    trace: 'retain-on-failure',
  },
});
