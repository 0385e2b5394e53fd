/**
 * Shared fixtures for the browser specs:
 * - `signedIn`: a page whose browser holds an admin session (signed in through the API, so the
 *   dashboard starts by refreshing from the cookie, as after a reload), showing the overview;
 * - `shoot(page, name)`: screenshots in both themes at 1280 and 1024 px wide, written to
 *   test-output/screenshots/<name>-<light|dark>-<1280|1024>.png;
 * - `expectNoA11yViolations(page)`: axe finds no serious or critical violation.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { test as base, expect, type APIRequestContext, type Page } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './constants';

export { expect };
export { ADMIN_EMAIL, ADMIN_PASSWORD };

const screenshots = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../test-output/screenshots',
);

/** Signs the page's browser in (admin session cookies) through the API. */
export async function signInThroughApi(page: Page): Promise<void> {
  const res = await page.request.post('/api/auth/admin/sessions', {
    data: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD },
  });
  expect(res.status(), await res.text()).toBe(200);
}

/**
 * An admin access token for API calls a test makes itself (setting up data): a server-type
 * admin session, separate from the browser's.
 */
export async function adminToken(page: Page): Promise<string> {
  const res = await page.request.post('/api/auth/admin/sessions?client_type=server', {
    data: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD },
  });
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/**
 * The server-wide state a test may change through the dashboard: every spec after it in the run
 * meets the same server. Secrets (SMTP, AI keys) are write-only and restored by their specs.
 */
interface SharedState {
  /** GET /api/settings `runtime`: CORS origins, the session policy. */
  runtime: Record<string, { value: unknown; source: string }>;
  /** GET /api/auth/config, without its row's id and times. */
  authConfig: Record<string, unknown>;
  /** The configuration paths of the configured OAuth providers, built-in and custom. */
  providers: string[];
}

/** Admin API calls for the state check, on a session of their own (signed in again when ended). */
class StateAdmin {
  private token: string | undefined;
  constructor(private readonly api: APIRequestContext) {}

  async call(method: 'get' | 'put' | 'patch' | 'delete', path: string, data?: unknown) {
    for (let attempt = 0; ; attempt++) {
      this.token ??= await this.signIn();
      const res = await this.api[method](path, {
        headers: { Authorization: `Bearer ${this.token}` },
        data,
      });
      if (res.status() === 401 && attempt === 0) {
        this.token = undefined;
        continue;
      }
      return res;
    }
  }

  private async signIn(): Promise<string> {
    const res = await this.api.post('/api/auth/admin/sessions?client_type=server', {
      data: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    });
    expect(res.status(), await res.text()).toBe(200);
    return ((await res.json()) as { accessToken: string }).accessToken;
  }

  async json<T>(path: string): Promise<T> {
    const res = await this.call('get', path);
    expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
    return (await res.json()) as T;
  }

  async read(): Promise<SharedState> {
    const settings = await this.json<{ runtime: SharedState['runtime'] }>('/api/settings');
    const {
      id: _id,
      createdAt: _c,
      updatedAt: _u,
      ...authConfig
    } = await this.json<Record<string, unknown>>('/api/auth/config');
    type Listed = { data: Array<{ key: string }> };
    const builtIn = await this.json<Listed>('/api/auth/oauth/configs');
    const custom = await this.json<Listed>('/api/auth/oauth/custom/configs');
    return {
      runtime: settings.runtime,
      authConfig,
      providers: [
        ...builtIn.data.map((c) => `/api/auth/oauth/${c.key}/config`),
        ...custom.data.map((c) => `/api/auth/oauth/custom/${c.key}/config`),
      ],
    };
  }

  /** Puts back what differs from `before`; names what it had to put back. */
  async restore(before: SharedState): Promise<string[]> {
    const now = await this.read();
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const restored: string[] = [];
    const runtime: Record<string, unknown> = {};
    for (const [name, was] of Object.entries(before.runtime)) {
      const is = now.runtime[name];
      if (is && (is.source !== was.source || !same(is.value, was.value)))
        runtime[name] = was.source === 'runtime' ? was.value : null;
    }
    if (Object.keys(runtime).length) {
      const res = await this.call('patch', '/api/settings', runtime);
      expect(res.status(), await res.text()).toBe(200);
      restored.push(...Object.keys(runtime));
    }
    const config: Record<string, unknown> = {};
    for (const [name, was] of Object.entries(before.authConfig))
      if (!same(now.authConfig[name], was)) config[name] = was;
    if (Object.keys(config).length) {
      const res = await this.call('put', '/api/auth/config', config);
      expect(res.status(), await res.text()).toBe(200);
      restored.push(...Object.keys(config));
    }
    for (const added of now.providers.filter((p) => !before.providers.includes(p))) {
      const res = await this.call('delete', added);
      expect(res.status(), await res.text()).toBeLessThan(300);
      restored.push(added);
    }
    return restored;
  }
}

export const test = base.extend<
  { signedIn: Page; pageErrors: void; sharedStateRestored: void },
  { stateAdmin: StateAdmin }
>({
  stateAdmin: [
    async ({ playwright }, use) => {
      const api = await playwright.request.newContext({ baseURL: process.env.KILN_E2E_BASE_URL });
      await use(new StateAdmin(api));
      await api.dispose();
    },
    { scope: 'worker' },
  ],
  // The specs run one after another against one server: a test that stops halfway (or forgets)
  // must not leave the next spec a changed server (it once met another spec's settings and
  // failed too). After every test, passed or failed, the shared state is put back as it was.
  sharedStateRestored: [
    async ({ stateAdmin }, use, testInfo) => {
      const before = await stateAdmin.read();
      await use();
      const restored = await stateAdmin.restore(before);
      if (restored.length)
        testInfo.annotations.push({
          type: 'restored shared state',
          description: restored.join(', '),
        });
    },
    { auto: true },
  ],
  // Every test fails on an uncaught exception in the page or a Content-Security-Policy refusal
  // on a dashboard or API reference page (a refusal means the page tried to reach outside hosts).
  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
      page.on('console', (msg) => {
        if (
          msg.type() === 'error' &&
          /Content.Security.Policy/i.test(msg.text()) &&
          /^\/(dashboard|api\/docs)/.test(new URL(page.url()).pathname)
        ) {
          errors.push(`CSP: ${msg.text()}`);
        }
      });
      await use();
      expect(errors, errors.join('\n')).toEqual([]);
    },
    { auto: true },
  ],
  signedIn: async ({ page }, use) => {
    await signInThroughApi(page);
    await page.goto('/dashboard/');
    await expect(page.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
    await use(page);
  },
});

type Theme = 'light' | 'dark';

async function applyTheme(page: Page, theme: Theme): Promise<void> {
  await page.evaluate((t) => {
    localStorage.setItem('kiln.theme', t);
    document.documentElement.classList.toggle('dark', t === 'dark');
    document.documentElement.style.colorScheme = t;
  }, theme);
}

/**
 * Screenshots of the page as it is now, in both themes and at both widths: the whole page, or
 * the viewport while a dialog is open (an overlay covers the viewport only).
 */
export async function shoot(page: Page, name: string): Promise<void> {
  const original = page.viewportSize() ?? { width: 1280, height: 800 };
  const fullPage = (await page.locator('[role=dialog],[role=alertdialog]').count()) === 0;
  // A whole-page shot of a scrolled page draws the fixed shell (sidebar, top bar) where the
  // viewport was, over the content: shoot from the top.
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  const saved = await page.evaluate(() => localStorage.getItem('kiln.theme'));
  for (const theme of ['light', 'dark'] as const) {
    await applyTheme(page, theme);
    for (const width of [1280, 1024]) {
      await page.setViewportSize({ width, height: 800 });
      await page.evaluate(() => document.fonts.ready);
      await page.screenshot({
        path: path.join(screenshots, `${name}-${theme}-${width}.png`),
        fullPage,
        animations: 'disabled',
      });
    }
  }
  await page.setViewportSize(original);
  await page.evaluate((t) => {
    if (t === null) localStorage.removeItem('kiln.theme');
    else localStorage.setItem('kiln.theme', t);
  }, saved);
  await applyTheme(
    page,
    (await page.evaluate(() => window.matchMedia('(prefers-color-scheme: dark)').matches))
      ? 'dark'
      : 'light',
  );
}

/**
 * Fails on any serious or critical axe violation, in the light and the dark theme, listing each
 * with its nodes.
 */
export async function expectNoA11yViolations(page: Page): Promise<void> {
  const wasDark = await page.evaluate(() => document.documentElement.classList.contains('dark'));
  // A transition that starts while axe runs (a toast's timer dismissing it, fading out) would be
  // measured halfway: while checking, every transition ends at once.
  await page.evaluate(() => {
    const style = document.createElement('style');
    style.id = 'kiln-axe-no-transitions';
    style.textContent =
      '*, *::before, *::after { transition-duration: 0s !important; transition-delay: 0s !important; }';
    document.head.append(style);
  });
  const found: string[] = [];
  for (const theme of ['light', 'dark'] as const) {
    // Colours transition (transition-colors) after the switch: let them settle, or axe measures
    // contrast halfway between the two themes.
    await page.evaluate(async (t) => {
      document.documentElement.classList.toggle('dark', t === 'dark');
      document.documentElement.style.colorScheme = t;
      // Only the theme's colour transitions: endless animations (a blinking editor cursor, a
      // spinner, skeletons) never finish.
      const transitions = document.getAnimations().filter((a) => a instanceof CSSTransition);
      await Promise.all(transitions.map((a) => a.finished.catch(() => undefined)));
    }, theme);
    // A frame sandboxed without scripts (sandbox="": rendered email previews) cannot run axe:
    // its timers never fire and the run would hang. Its content is not the dashboard's markup.
    const results = await new AxeBuilder({ page }).exclude('iframe[sandbox=""]').analyze();
    for (const v of results.violations) {
      if (v.impact !== 'serious' && v.impact !== 'critical') continue;
      const nodes = v.nodes.map((n) => `    ${n.target.join(' ')} ${n.failureSummary ?? ''}`);
      found.push(`${theme}: ${v.impact} ${v.id}: ${v.help}\n${nodes.join('\n')}`);
    }
  }
  await page.evaluate((dark) => {
    document.documentElement.classList.toggle('dark', dark);
    document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
    document.getElementById('kiln-axe-no-transitions')?.remove();
  }, wasDark);
  expect(found, found.join('\n')).toEqual([]);
}
