/**
 * Settings against the real API: the API key rotated from the page (confirm, the new key shown
 * once, the old one refused by the API at once), the CORS origins changed and reset from the
 * page (a preflight's answer follows), and the environment's settings with their source, no
 * secret value in the page.
 */
import {
  ADMIN_PASSWORD,
  adminToken,
  expect,
  expectNoA11yViolations,
  shoot,
  test,
} from './fixtures';

test('settings: rotate the API key; the new one is shown once and the old one refused', async ({
  signedIn: page,
}) => {
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const before = (await (await page.request.get('/api/metadata/api-key', { headers })).json()) as {
    apiKey: string;
  };
  const asKey = (key: string) =>
    page.request.get('/api/metadata/overview', { headers: { Authorization: `Bearer ${key}` } });
  expect((await asKey(before.apiKey)).status()).toBe(200);

  await page.goto('/dashboard/settings');
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible();
  await expect(page.getByTestId('settings-project-url')).toHaveText(new URL(page.url()).origin);
  const row = page.getByTestId('settings-key-api');
  // Masked: only the last four characters show.
  await expect(row.getByTestId('settings-key-api-value')).toHaveText(
    new RegExp(`^ik_•+${before.apiKey.slice(-4)}$`),
  );
  await expectNoA11yViolations(page);
  await shoot(page, 'settings-project');

  await row.getByRole('button', { name: 'Rotate' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Rotate the API key?' });
  await confirm.getByLabel('The old key').click();
  await page.getByRole('option', { name: 'Stops working at once' }).click();
  await expectNoA11yViolations(page);
  await shoot(page, 'settings-rotate-confirm');
  await confirm.getByRole('button', { name: 'Rotate API key' }).click();

  const shown = page.getByRole('dialog', { name: 'New API key' });
  const fresh = (await shown.getByTestId('new-api-key').textContent()) ?? '';
  expect(fresh).toMatch(/^ik_[0-9a-f]{64}$/);
  expect(fresh).not.toBe(before.apiKey);
  await expect(shown).toContainText('The previous API key no longer works.');
  await expect(shown.getByRole('button', { name: 'Copy the new API key' })).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'settings-new-key');
  await shown.getByRole('button', { name: 'Done' }).click();
  await expect(shown).toBeHidden();
  // From now on masked, with the new key's last characters.
  await expect(row.getByTestId('settings-key-api-value')).toHaveText(
    new RegExp(`^ik_•+${fresh.slice(-4)}$`),
  );
  // The API: the new key works, the old one is refused.
  expect((await asKey(fresh)).status()).toBe(200);
  const refused = await asKey(before.apiKey);
  expect(refused.status()).toBe(401);
  expect(((await refused.json()) as { error: string }).error).toMatch(/^AUTH_/);
});

test('settings: CORS origins changed at run time, seen in the API’s answers, then reset', async ({
  signedIn: page,
}) => {
  const allowed = `https://app-${Date.now().toString(36)}.example.com`;
  const preflight = async (origin: string) => {
    const res = await page.request.fetch('/api/database/records/anything', {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
    });
    expect(res.status()).toBe(204);
    return res.headers()['access-control-allow-origin'] ?? null;
  };
  expect(await preflight('https://elsewhere.example.com')).toBe('https://elsewhere.example.com');

  await page.goto('/dashboard/settings?tab=runtime');
  const form = page.getByRole('form', { name: 'CORS origins' });
  await expect(form.getByTestId('cors-current')).toHaveText('any origin (*)');
  await expect(form.getByTestId('setting-source').first()).toHaveText('Default');
  const field = form.getByLabel('Allowed origins');
  // Bad input is caught before it is sent.
  await field.fill(`${allowed}\nnot a url`);
  await form.getByRole('button', { name: 'Save origins' }).click();
  await expect(form.getByRole('alert')).toContainText('Line 2: must be an origin');
  await expectNoA11yViolations(page);
  await shoot(page, 'settings-runtime-invalid');

  await field.fill(allowed);
  await form.getByRole('button', { name: 'Save origins' }).click();
  await expect(form.getByTestId('cors-current')).toHaveText(allowed);
  await expect(form.getByTestId('setting-source').first()).toHaveText('Set here');
  // The API's answers follow at once: the listed origin is allowed, any other refused.
  expect(await preflight(allowed)).toBe(allowed);
  expect(await preflight('https://elsewhere.example.com')).toBeNull();
  await expectNoA11yViolations(page);
  await shoot(page, 'settings-runtime');

  await form.getByRole('button', { name: 'Use the default' }).click();
  await expect(form.getByTestId('cors-current')).toHaveText('any origin (*)');
  await expect(form.getByTestId('setting-source').first()).toHaveText('Default');
  expect(await preflight('https://elsewhere.example.com')).toBe('https://elsewhere.example.com');
});

test('settings: the environment’s settings with their source, secrets hidden', async ({
  signedIn: page,
}) => {
  await page.goto('/dashboard/settings?tab=environment');
  const table = page.getByRole('table', { name: 'Environment variables' });
  const rowOf = (name: string) => table.getByRole('row').filter({ hasText: name });
  const filter = page.getByLabel('Filter variables');
  await expect(rowOf('ACCESS_TOKEN_TTL_SECONDS')).toContainText('900');
  await expect(page.locator('body')).not.toContainText(ADMIN_PASSWORD);
  await expectNoA11yViolations(page);
  await shoot(page, 'settings-environment');
  // Set in the environment, a default, and a secret (never sent: only whether it is set).
  await filter.fill('LOG_LEVEL');
  await expect(rowOf('LOG_LEVEL')).toContainText('info');
  await expect(rowOf('LOG_LEVEL')).toContainText('Environment');
  await filter.fill('JSON_BODY_LIMIT');
  await expect(rowOf('JSON_BODY_LIMIT')).toContainText('10mb');
  await expect(rowOf('JSON_BODY_LIMIT')).toContainText('Default');
  await filter.fill('ADMIN_PASSWORD');
  await expect(rowOf('ADMIN_PASSWORD')).toContainText('set (hidden)');
  await expect(rowOf('ADMIN_PASSWORD')).toContainText('Environment');

  // Filters are URL state.
  await filter.fill('rate_limit');
  await expect(page).toHaveURL(/[?&]q=rate_limit/);
  await page.getByLabel('Source').click();
  await page.getByRole('option', { name: 'Defaults' }).click();
  await expect(page).toHaveURL(/[?&]source=default/);
  await expect(rowOf('AUTH_RATE_LIMIT_WINDOW_SECONDS')).toContainText('900');
  await expect(rowOf('AUTH_RATE_LIMIT_SIGN_IN')).toHaveCount(0);
  await filter.fill('no_such_variable');
  await expect(page.getByText('No variable matches')).toBeVisible();
  await shoot(page, 'settings-environment-empty');
});
