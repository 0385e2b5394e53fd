#!/usr/bin/env node
// Table editor benchmark (issue 17 budget: the first page of a 1,000,000-row table renders within
// 500 ms of navigation; scrolling through 10 pages stays smooth). Starts the built server (fresh
// DATA_DIR, known admin), fills a table with 1,000,000 rows through the admin SQL endpoint
// (generate_series, then ANALYZE so the planner knows its size), and drives Debian's Chromium
// (Playwright from frontend/):
//   - cold: a fresh browser context opens /dashboard/database/tables/bench_rows directly (the
//     app, the session refresh, the route's lazy chunks and the grid's chunk all load);
//   - warm: from the table list, a click on the table (the way an admin gets there), 5 times;
//   time = from navigation start (cold) or the click (warm) to the first row of the first page
//     in the grid (a MutationObserver in the page stamps performance.now());
//   - scrolling: each of 10 pages (100 rows) is scrolled top to bottom by 60 px a frame, then
//     "Next page" is clicked; requestAnimationFrame deltas while scrolling give the frame times
//     (p50/p95/max), and each page change is timed from the click to its first row.
//
// Usage: node bench/dashboard-grid.mjs [--no-build]
/* global window, document, MutationObserver, requestAnimationFrame -- page.evaluate runs in the browser */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, spawnBuiltServer } from './lib.mjs';

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const ADMIN_EMAIL = 'bench@kiln.test';
const ADMIN_PASSWORD = 'bench-admin-password';
const ROWS = 1_000_000;
const FIRST_PAGE_BUDGET_MS = 500;
const FRAME_MS = 1000 / 60;
const TABLE = 'bench_rows';

if (!process.argv.includes('--no-build')) {
  execFileSync('pnpm', ['build'], { cwd: repo, stdio: 'inherit' });
}

const { baseUrl, stop } = await spawnBuiltServer({
  name: 'grid',
  env: { ADMIN_EMAIL, ADMIN_PASSWORD },
});

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs) => quantile(xs, 0.5);
const ms = (n) => `${n.toFixed(1)} ms`;

try {
  // ---- the table -------------------------------------------------------------------------------
  const session = await fetch(`${baseUrl}/api/auth/admin/sessions?client_type=server`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  });
  if (!session.ok) throw new Error(`sign-in failed: ${session.status}`);
  const { accessToken } = await session.json();
  const filled = performance.now();
  const res = await fetch(`${baseUrl}/api/database/advance/rawsql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({
      query: `create table ${TABLE} (
                id bigint primary key,
                title text not null,
                n int not null,
                payload jsonb,
                created_at timestamptz not null default now()
              );
              insert into ${TABLE} (id, title, n, payload)
                select g, 'row ' || g, g % 1000, jsonb_build_object('g', g, 'even', g % 2 = 0)
                from generate_series(1, ${ROWS}) g;
              analyze ${TABLE};`,
    }),
  });
  if (!res.ok) throw new Error(`filling the table failed: ${res.status} ${await res.text()}`);
  console.log(
    `${ROWS.toLocaleString('en-US')} rows written in ${((performance.now() - filled) / 1000).toFixed(1)} s`,
  );

  // ---- the browser -----------------------------------------------------------------------------
  const browser = await launchChromium();

  // Stamps performance.now() when a grid cell shows `window.__want` (set before navigating).
  const observer = () => {
    window.__seen = undefined;
    const check = () => {
      if (window.__seen !== undefined || !window.__want) return;
      for (const cell of document.querySelectorAll('[role=gridcell]')) {
        if (cell.textContent === window.__want) {
          window.__seen = performance.now();
          return;
        }
      }
    };
    new MutationObserver(check).observe(document, { subtree: true, childList: true });
  };

  async function newPage() {
    const context = await browser.newContext({
      baseURL: baseUrl,
      viewport: { width: 1280, height: 800 },
    });
    const r = await context.request.post('/api/auth/admin/sessions', {
      data: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    });
    if (!r.ok()) throw new Error(`sign-in failed: ${r.status()}`);
    const page = await context.newPage();
    await page.addInitScript(observer);
    await page.addInitScript(() => {
      window.__want = 'row 1';
    });
    return { context, page };
  }

  const waitSeen = async (page) => {
    try {
      await page.waitForFunction(() => window.__seen !== undefined, null, { timeout: 30_000 });
    } catch (err) {
      await page.screenshot({ path: path.join(os.tmpdir(), 'kiln-bench-grid-failure.png') });
      throw new Error(`no row shown at ${page.url()} (screenshot in ${os.tmpdir()})`, {
        cause: err,
      });
    }
  };

  /**
   * Runs a measurement again (up to 3 times) when the built dashboard was being rebuilt under it
   * (a shared working tree: another `pnpm build` empties frontend/dist for a few seconds).
   */
  async function retrying(name, fn) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const built = (await fetch(`${baseUrl}/dashboard/`)).ok;
        if (built && attempt > 1) throw err;
        if (attempt >= 3) throw err;
        console.log(`(${name}: the dashboard was being rebuilt, measuring again)`);
        await new Promise((r) => setTimeout(r, 15_000));
      }
    }
  }

  // Cold: the first visit straight to the table (every chunk fetched, nothing cached).
  const cold = [];
  for (let i = 0; i < 3; i++) {
    cold.push(
      await retrying('cold', async () => {
        const { context, page } = await newPage();
        try {
          await page.goto(`/dashboard/database/tables/${TABLE}`);
          await waitSeen(page);
          return await page.evaluate(() => window.__seen);
        } finally {
          await context.close();
        }
      }),
    );
  }

  const { warm, frames, pageChanges, total } = await retrying('warm and scrolling', async () => {
    const { context, page } = await newPage();
    try {
      return await warmAndScroll(page);
    } finally {
      await context.close();
    }
  });
  await browser.close();

  async function warmAndScroll(page) {
    // Warm: the app is loaded (table list shown); a click on the table opens its editor.
    const warm = [];
    for (let i = 0; i < 6; i++) {
      await page.goto(`/dashboard/database?q=${TABLE}`);
      await page
        .getByRole('row', { name: new RegExp(TABLE) })
        .waitFor()
        .catch(async (err) => {
          await page.screenshot({ path: path.join(os.tmpdir(), 'kiln-bench-grid-failure.png') });
          throw err;
        });
      const started = await page.evaluate(() => {
        window.__seen = undefined;
        window.__want = 'row 1';
        return performance.now();
      });
      await page.getByRole('row', { name: new RegExp(TABLE) }).click();
      await waitSeen(page);
      const t = (await page.evaluate(() => window.__seen)) - started;
      if (i > 0)
        warm.push(t); // the first click also fetches the editor's chunks once
      else warm.firstClick = t;
    }

    // Scrolling through 10 pages of 100 rows, and the page changes between them.
    const frames = [];
    const pageChanges = [];
    await page.goto(`/dashboard/database/tables/${TABLE}?size=100`);
    await waitSeen(page);
    for (let p = 1; p <= 10; p++) {
      const deltas = await page.evaluate(
        () =>
          new Promise((resolve) => {
            const grid = document.querySelector('[role=grid]');
            const out = [];
            let last = performance.now();
            const step = (now) => {
              out.push(now - last);
              last = now;
              grid.scrollTop += 60;
              if (grid.scrollTop + grid.clientHeight >= grid.scrollHeight - 1) resolve(out);
              else requestAnimationFrame(step);
            };
            requestAnimationFrame(step);
          }),
      );
      frames.push(...deltas.slice(1)); // the first delta waits for the first frame
      if (p === 10) break;
      const want = `row ${p * 100 + 1}`;
      const started = await page.evaluate((w) => {
        window.__seen = undefined;
        window.__want = w;
        return performance.now();
      }, want);
      await page.getByRole('button', { name: 'Next page' }).click();
      await waitSeen(page);
      pageChanges.push((await page.evaluate(() => window.__seen)) - started);
    }
    const total = await page.getByTestId('row-total').textContent();
    return { warm, frames, pageChanges, total };
  }

  // ---- report ----------------------------------------------------------------------------------
  const ratio = (v) => (v / FIRST_PAGE_BUDGET_MS).toFixed(2);
  const verdict = (v) => (v <= FIRST_PAGE_BUDGET_MS ? 'met' : 'OVER BUDGET');
  console.log(`\nfirst page of ${TABLE} (${total} rows shown as the total) in the table editor:`);
  console.log(
    `  cold (direct URL, nothing cached), median of ${cold.length}: ${ms(median(cold))} (${cold.map((v) => Math.round(v)).join(', ')}) — ratio ${ratio(median(cold))} of ${FIRST_PAGE_BUDGET_MS} ms, ${verdict(median(cold))}`,
  );
  console.log(
    `  warm (click in the table list), median of ${warm.length}: ${ms(median(warm))} (max ${ms(Math.max(...warm))}; first click, chunks fetched: ${ms(warm.firstClick)}) — ratio ${ratio(median(warm))}, ${verdict(median(warm))}`,
  );
  console.log(
    `scrolling 10 pages (${frames.length} frames): frame time p50 ${ms(quantile(frames, 0.5))}, p95 ${ms(quantile(frames, 0.95))}, max ${ms(Math.max(...frames))}; ratio p95 / 16.7 ms: ${(quantile(frames, 0.95) / FRAME_MS).toFixed(2)}; frames over 50 ms: ${frames.filter((f) => f > 50).length}`,
  );
  console.log(
    `page changes (Next → first row), ${pageChanges.length}: median ${ms(median(pageChanges))}, max ${ms(Math.max(...pageChanges))}`,
  );
  if (median(cold) > FIRST_PAGE_BUDGET_MS || median(warm) > FIRST_PAGE_BUDGET_MS) {
    process.exitCode = 1;
  }
} finally {
  await stop();
}
