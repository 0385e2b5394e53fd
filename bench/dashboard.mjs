#!/usr/bin/env node
// Dashboard first-load benchmark (issue 17 budget: at most 200 KiB of gzipped JS before a lazy
// chunk). Builds, starts the built server (fresh DATA_DIR, known admin), then loads /dashboard/ in
// Debian's Chromium (Playwright from frontend/) twice: signed out (it lands on sign-in) and
// signed in (it lands on the overview). Every JS response is recorded and gzipped here (level 9,
// as a compressing proxy would send it; Kiln itself serves files uncompressed). Vite's manifest
// tells the initial chunks (the entry and its static imports, which load before anything lazy)
// from the lazy ones (route pages, and later CodeMirror, the grid, the diagram).
//
// Usage: node bench/dashboard.mjs [--no-build]
// Prints the initial JS (gzip) against the 200 KiB budget as a ratio, and what each first view
// loads in all.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, spawnBuiltServer } from './lib.mjs';
import zlib from 'node:zlib';

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const BUDGET = 200 * 1024;
const ADMIN_EMAIL = 'bench@kiln.test';
const ADMIN_PASSWORD = 'bench-admin-password';

if (!process.argv.includes('--no-build')) {
  execFileSync('pnpm', ['build'], { cwd: repo, stdio: 'inherit' });
}

const manifest = JSON.parse(
  fs.readFileSync(path.join(repo, 'frontend/dist/.vite/manifest.json'), 'utf8'),
);
/** The entry chunk and everything it imports statically: what loads before any lazy chunk. */
function initialFiles() {
  const files = new Set();
  const visit = (key) => {
    const chunk = manifest[key];
    if (!chunk || files.has(chunk.file)) return;
    files.add(chunk.file);
    for (const dep of chunk.imports ?? []) visit(dep);
  };
  for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry) visit(key);
  return files;
}
const initial = initialFiles();

const { baseUrl, stop } = await spawnBuiltServer({
  name: 'dashboard',
  env: { ADMIN_EMAIL, ADMIN_PASSWORD },
});

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

try {
  const browser = await launchChromium();

  /** Loads /dashboard/ in a new context; returns the JS files it fetched with their gzip size. */
  async function firstLoad(signedIn, waitFor) {
    const context = await browser.newContext({ baseURL: baseUrl });
    if (signedIn) {
      const res = await context.request.post('/api/auth/admin/sessions', {
        data: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD },
      });
      if (!res.ok()) throw new Error(`sign-in failed: ${res.status()}`);
    }
    const page = await context.newPage();
    const pending = [];
    page.on('response', (res) => {
      const url = new URL(res.url());
      if (!url.pathname.startsWith('/dashboard/assets/') || !url.pathname.endsWith('.js')) return;
      pending.push(
        res.body().then((body) => ({
          file: url.pathname.replace('/dashboard/', ''),
          raw: body.length,
          gzip: zlib.gzipSync(body, { level: 9 }).length,
        })),
      );
    });
    const started = performance.now();
    await page.goto('/dashboard/');
    await page.getByRole('heading', { name: waitFor, level: 1 }).waitFor();
    const ms = performance.now() - started;
    const files = await Promise.all(pending);
    await context.close();
    return { files, ms };
  }

  const views = [
    ['signed out → sign-in', await firstLoad(false, 'Sign in to the dashboard')],
    ['signed in → overview', await firstLoad(true, 'Overview')],
  ];
  await browser.close();

  const missing = [...initial].filter((f) => !views[0][1].files.some((x) => x.file === f));
  if (missing.length)
    throw new Error(`initial chunks not loaded by the page: ${missing.join(', ')}`);
  const initialGzip = views[0][1].files
    .filter((f) => initial.has(f.file))
    .reduce((sum, f) => sum + f.gzip, 0);
  const initialRaw = views[0][1].files
    .filter((f) => initial.has(f.file))
    .reduce((sum, f) => sum + f.raw, 0);

  console.log(
    `\ninitial JS (entry + static imports, ${initial.size} files), measured in Chromium:`,
  );
  console.log(
    `  ${kib(initialGzip)} gzip (${kib(initialRaw)} raw) of a ${kib(BUDGET)} budget: ratio ${(initialGzip / BUDGET).toFixed(2)} ${initialGzip <= BUDGET ? '(met)' : '(OVER BUDGET)'}`,
  );
  for (const [name, { files, ms }] of views) {
    const lazy = files.filter((f) => !initial.has(f.file));
    const lazyGzip = lazy.reduce((s, f) => s + f.gzip, 0);
    const total = files.reduce((s, f) => s + f.gzip, 0);
    console.log(
      `${name}: ${files.length} JS files, ${kib(total)} gzip in all (lazy: ${lazy.length} files, ${kib(lazyGzip)}), heading shown after ${Math.round(ms)} ms`,
    );
  }
  if (initialGzip > BUDGET) process.exitCode = 1;
} finally {
  await stop();
}
