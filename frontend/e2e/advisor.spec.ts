/**
 * The Advisor against the real API: a table created without RLS (through the admin SQL API) is a
 * finding; its one-click fix (SQL shown and confirmed) turns RLS on, checked through the API.
 */
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

test('advisor: a table without RLS is found, fixed in one click, and gone', async ({
  signedIn: page,
}) => {
  const table = `advisor_${Date.now().toString(36)}`;
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const sql = async (query: string) => {
    const res = await page.request.post('/api/database/advance/rawsql', {
      headers,
      data: { query },
    });
    expect(res.status(), await res.text()).toBe(200);
    return (await res.json()) as { rows: Record<string, unknown>[] };
  };
  await sql(`CREATE TABLE public.${table} (id bigint PRIMARY KEY, note text)`);
  const findingId = `rls_disabled:public.${table}`;

  await page.goto('/dashboard/advisor');
  const finding = page.locator(`[data-finding-id="${findingId}"]`);
  await expect(finding).toBeVisible();
  await expect(finding).toContainText('Critical');
  await expect(finding).toContainText('Why it matters');
  await expect(finding.getByRole('link', { name: `Open table ${table}` })).toHaveAttribute(
    'href',
    new RegExp(`/dashboard/database/tables/${table}\\?tab=policies$`),
  );
  await expect(finding.getByLabel(`The fix for ${table}`)).toContainText(
    `ENABLE ROW LEVEL SECURITY`,
  );
  await expectNoA11yViolations(page);
  await shoot(page, 'advisor');

  // The category filter is URL state.
  await page
    .getByRole('navigation', { name: 'Categories' })
    .getByRole('link', { name: /^Security/ })
    .click();
  await expect(page).toHaveURL(/[?&]category=security/);
  await expect(page.getByRole('heading', { name: 'Performance', level: 2 })).toBeHidden();
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Security', level: 2 })).toBeVisible();
  await expect(finding).toBeVisible();
  await shoot(page, 'advisor-security');

  // Fix: the confirm dialog shows the SQL; after it runs the finding is gone and RLS is on.
  await finding.getByRole('button', { name: /^Fix:/ }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Apply this fix?' });
  await expect(confirm.getByLabel('The SQL the fix runs')).toHaveText(
    new RegExp(`^ALTER TABLE .*${table}.* ENABLE ROW LEVEL SECURITY;$`),
  );
  await expectNoA11yViolations(page);
  await shoot(page, 'advisor-fix-confirm');
  await confirm.getByRole('button', { name: 'Run the fix' }).click();
  await expect(confirm).toBeHidden();
  await expect(page.locator('[data-sonner-toast][data-type="success"]')).toBeVisible();
  await expect(finding).toBeHidden();
  const { rows } = await sql(
    `SELECT relrowsecurity FROM pg_class WHERE oid = 'public.${table}'::regclass`,
  );
  expect(rows).toEqual([{ relrowsecurity: true }]);
  // RLS with no policy is the next finding about this table, and it needs a decision (no Fix).
  const next = page.locator(`[data-finding-id="rls_no_policy:public.${table}"]`);
  await expect(next).toBeVisible();
  await expect(next).toContainText('Your decision');
  await expect(next.getByRole('button', { name: /^Fix:/ })).toHaveCount(0);

  await sql(`DROP TABLE public.${table}`);
  await page.getByRole('button', { name: 'Re-run checks' }).click();
  await expect(next).toBeHidden();
});

test('advisor: an auth-setting finding links to the Authentication settings, not to a table', async ({
  signedIn: page,
}) => {
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const before = await page.request.get('/api/auth/config', { headers });
  expect(before.status()).toBe(200);
  const { passwordMinLength } = (await before.json()) as { passwordMinLength: number };
  const put = (n: number) =>
    page.request.put('/api/auth/config', { headers, data: { passwordMinLength: n } });
  expect((await put(6)).status()).toBe(200);
  try {
    await page.goto('/dashboard/advisor?category=security');
    const finding = page.locator('[data-finding-id^="auth_password_min_length:"]');
    await expect(finding).toContainText(/auth setting\s*passwordMinLength/);
    await expect(finding.getByRole('link', { name: /^Open table/ })).toHaveCount(0);
    const link = finding.getByRole('link', { name: 'Open Authentication settings' });
    await expect(link).toHaveAttribute('href', /\/dashboard\/auth\?tab=settings$/);
    await link.click();
    await expect(page).toHaveURL(/\/dashboard\/auth\?tab=settings$/);
  } finally {
    expect((await put(passwordMinLength)).status()).toBe(200);
  }
});
