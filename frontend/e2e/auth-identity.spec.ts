/**
 * The user sheet's roles, ban and metadata (issue 22) against the real API: a role defined and
 * given in place, app_metadata shown as it travels in the token, a ban that refuses sign-in and
 * is lifted again.
 */
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

test.describe.configure({ timeout: 60_000 });

test('user sheet: roles, metadata and ban', async ({ signedIn: page }) => {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const email = `access-${id}@example.com`;
  const role = `editor-${id}`;
  const token = await adminToken(page);
  const headers = { Authorization: `Bearer ${token}` };
  const created = await page.request.post('/api/auth/users', {
    headers,
    data: { email, password: 'Password-123456', name: 'Grace Access' },
  });
  expect(created.status(), await created.text()).toBe(201);
  const userId = ((await created.json()) as { user: { id: string } }).user.id;
  const patched = await page.request.patch(`/api/auth/users/${userId}`, {
    headers,
    data: { appMetadata: { plan: 'pro', tenant: 'acme-corporation-with-a-long-name' } },
  });
  expect(patched.status(), await patched.text()).toBe(200);

  try {
    await page.goto(`/dashboard/auth?user=${userId}`);
    const sheet = page.getByRole('dialog', { name: 'Grace Access' });
    await expect(sheet.getByRole('region', { name: 'app_metadata' })).toContainText(
      '"plan": "pro"',
    );
    await expect(sheet.getByRole('region', { name: 'user_metadata' })).toHaveText('{}');

    // A new role, defined and given in one step; the API agrees.
    await sheet.getByLabel('New role').fill(role);
    await sheet.getByRole('button', { name: 'Add role' }).click();
    await expect(page.getByText(`Roles of ${email} saved`)).toBeVisible();
    await expect(sheet.getByRole('checkbox', { name: role })).toBeChecked();
    const withRole = await page.request.get(`/api/auth/users/${userId}`, { headers });
    expect(((await withRole.json()) as { appRoles: string[] }).appRoles).toEqual([role]);
    await expectNoA11yViolations(page);
    await shoot(page, 'auth-user-access');

    // Unticked: taken away.
    await sheet.getByRole('checkbox', { name: role }).click();
    await expect(sheet.getByRole('checkbox', { name: role })).not.toBeChecked();
    await expect
      .poll(async () => {
        const res = await page.request.get(`/api/auth/users/${userId}`, { headers });
        return ((await res.json()) as { appRoles: string[] }).appRoles;
      })
      .toEqual([]);

    // Ban for a day (confirmed): sign-in is refused until the ban is lifted.
    await sheet.getByRole('button', { name: 'Ban', exact: true }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Ban this user?' });
    await expect(confirm).toContainText('1 day');
    await confirm.getByRole('button', { name: 'Ban user' }).click();
    await expect(page.getByText(new RegExp(`${email} is banned until`))).toBeVisible();
    await expect(sheet.getByText('banned', { exact: true }).first()).toBeVisible();
    const refused = await page.request.post('/api/auth/sessions?client_type=server', {
      data: { email, password: 'Password-123456' },
    });
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe('AUTH_USER_BANNED');
    await expectNoA11yViolations(page);
    await shoot(page, 'auth-user-banned');

    await sheet.getByRole('button', { name: 'Lift ban' }).click();
    await expect(page.getByText(`${email} may sign in again`)).toBeVisible();
    const back = await page.request.post('/api/auth/sessions?client_type=server', {
      data: { email, password: 'Password-123456' },
    });
    expect(back.status()).toBe(200);
  } finally {
    await page.request.delete('/api/auth/users', { headers, data: { userIds: [userId] } });
    await page.request.delete(`/api/auth/roles/${role}`, { headers });
  }
});

test('settings: the custom claims hook is checked and saved', async ({ signedIn: page }) => {
  const token = await adminToken(page);
  const headers = { Authorization: `Bearer ${token}` };
  const fn = `e2e_claims_${Date.now().toString(36)}`;
  const created = await page.request.post('/api/database/advance/rawsql/unrestricted', {
    headers,
    data: {
      query: `CREATE FUNCTION public.${fn}(user_id uuid, claims jsonb) RETURNS jsonb
                LANGUAGE sql AS $$ SELECT claims || '{"tier": "gold"}'::jsonb $$`,
    },
  });
  expect(created.status(), await created.text()).toBe(200);
  try {
    await page.goto('/dashboard/auth?tab=settings');
    const field = page.getByLabel('Custom claims hook');
    await expect(field).toHaveValue('');

    // Not a function name: the shared schema says so before any request.
    await field.fill('x; drop table users');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('must be a function name')).toBeVisible();

    // No such function: the server says so.
    await field.fill('public.no_such_claims');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(
      page.getByText('no SQL function public.no_such_claims(uuid, jsonb)'),
    ).toBeVisible();

    // (Enter submits: the error toast may cover the save button.)
    await field.fill(`public.${fn}`);
    await field.press('Enter');
    await expect(page.getByText('Auth settings saved')).toBeVisible();
    await expect(page.getByText('All changes saved.')).toBeVisible();
    await expectNoA11yViolations(page);
    await page.getByRole('heading', { name: 'Access tokens' }).scrollIntoViewIfNeeded();
    await shoot(page, 'auth-settings-claims-hook');
    const config = await page.request.get('/api/auth/config', { headers });
    expect(((await config.json()) as { customClaimsHook: string }).customClaimsHook).toBe(
      `public.${fn}`,
    );
  } finally {
    await page.request.put('/api/auth/config', { headers, data: { customClaimsHook: null } });
    await page.request.post('/api/database/advance/rawsql/unrestricted', {
      headers,
      data: { query: `DROP FUNCTION IF EXISTS public.${fn}(uuid, jsonb)` },
    });
  }
});
