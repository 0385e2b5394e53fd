/**
 * Compatibility: an app built on InsForge's own React auth components (`@insforge/react`,
 * auth/compat/insforge-react) pointed at Kiln signs a user in and out. The app is built here with
 * Vite and served from another port of the loopback address (another origin, as an app is).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { build } from 'vite';
import { expect, test } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../constants';

const appRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../auth/compat/insforge-react',
);
let server: http.Server;
let appUrl: string;
let outDir: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-insforge-react-'));
  await build({
    configFile: false,
    root: appRoot,
    logLevel: 'warn',
    plugins: [react()],
    define: { __KILN_URL__: JSON.stringify(process.env.KILN_E2E_BASE_URL) },
    build: { outDir, emptyOutDir: true },
  });
  const index = fs.readFileSync(path.join(outDir, 'index.html'));
  server = http.createServer((req, res) => {
    const file = path.join(outDir, new URL(req.url ?? '/', 'http://x').pathname);
    if (file.startsWith(outDir) && fs.existsSync(file) && fs.statSync(file).isFile()) {
      res.setHeader('content-type', file.endsWith('.js') ? 'text/javascript' : 'text/css');
      res.end(fs.readFileSync(file));
      return;
    }
    res.setHeader('content-type', 'text/html');
    res.end(index);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
test.afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

test('@insforge/react components sign a user in and out against Kiln', async ({
  page,
  request,
}) => {
  const session = await request.post('/api/auth/admin/sessions?client_type=server', {
    data: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD },
  });
  const adminToken = (await session.json()).accessToken;
  const email = `insforge-react-${Date.now()}@example.com`;
  const password = 'Compat-password-42';
  const created = await request.post('/api/auth/users', {
    data: { email, password },
    headers: { authorization: `Bearer ${adminToken}` },
  });
  expect(created.status(), await created.text()).toBe(201);

  await page.goto(appUrl);
  await page.locator('input[type="email"]').fill(email);
  await page.locator('input[type="password"]').fill('Not-the-password-1');
  await page.locator('button[type="submit"]').click();
  // Kiln's error message reaches InsForge's form.
  await expect(page.getByText('Invalid email or password')).toBeVisible();

  await page.locator('input[type="password"]').fill(password);
  // Once signed in, InsForge's SignIn sends the browser to afterSignInUrl ("/") with a full
  // navigation, which may start after the signed-in view first shows: wait for it, or the
  // reload below races it (Chromium: "Not attached to an active page").
  const afterSignIn = page.waitForEvent('framenavigated', (f) => f === page.mainFrame());
  await page.locator('button[type="submit"]').click();
  await afterSignIn;
  await page.waitForLoadState('load');
  await expect(page.getByRole('heading', { name: `Signed in as ${email}` })).toBeVisible();
  // Still signed in after a reload (the session is restored from Kiln).
  await page.reload();
  await expect(page.getByRole('heading', { name: `Signed in as ${email}` })).toBeVisible();

  // InsForge's user menu signs out through Kiln.
  await page
    .locator('.insforge-user-button, [class*="UserButton"], button[aria-haspopup]')
    .first()
    .click();
  // Sign-out also navigates (to afterSignOutUrl, "/"): wait for it before reloading.
  const afterSignOut = page.waitForEvent('framenavigated', (f) => f === page.mainFrame());
  await page.getByText('Sign out').click();
  await afterSignOut;
  await page.waitForLoadState('load');
  await expect(page.locator('input[type="email"]')).toBeVisible();
  await page.reload();
  await expect(page.locator('input[type="email"]')).toBeVisible();
});
