import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  expect,
  expectNoA11yViolations,
  shoot,
  test,
} from './fixtures';

test('sign-in: a wrong password shows the API error, the right one opens the page asked for', async ({
  page,
}) => {
  await page.goto('/dashboard/sql');
  await expect(page).toHaveURL(/\/dashboard\/sign-in\?redirect=/);
  await expect(page.getByRole('heading', { name: 'Sign in to the dashboard' })).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'sign-in');

  // The form's own check first: an empty form names both fields.
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Enter the admin email (ADMIN_EMAIL)')).toBeVisible();

  await page.getByLabel('Email').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const failure = page.getByRole('alert').filter({ hasText: 'Sign-in failed' });
  await expect(failure).toBeVisible();
  await expect(failure).toContainText('AUTH_INVALID_CREDENTIALS');
  await expect(failure).toContainText(/request [0-9a-f-]{8,}/);
  await shoot(page, 'sign-in-error');

  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/dashboard\/sql$/);
  await expect(page.getByRole('heading', { name: 'SQL editor', level: 1 })).toBeVisible();

  // A reload keeps the session (the refresh cookie and its CSRF token, no password).
  await page.reload();
  await expect(page.getByRole('heading', { name: 'SQL editor', level: 1 })).toBeVisible();
});

test('a revoked session sends the admin back to sign-in, then back to the page', async ({
  signedIn: page,
}) => {
  await page.getByRole('link', { name: 'Database' }).click();
  await expect(page.getByRole('heading', { name: 'Database', level: 1 })).toBeVisible();
  // Sign out through the API with the same browser cookies: the in-memory access token dies too.
  const csrf = (await page.context().cookies()).find((c) => c.name === 'insforge_admin_csrf_token');
  const out = await page.request.post('/api/auth/admin/logout', {
    headers: { 'X-CSRF-Token': csrf!.value },
  });
  expect(out.status()).toBe(200);
  // The next API call is refused, the refresh too: back to sign-in, then back to this page.
  await page.getByRole('button', { name: 'Admin menu' }).click();
  await page.getByRole('menuitem', { name: 'Admin sessions…' }).click();
  await expect(page).toHaveURL(/\/dashboard\/sign-in\?/);
  await expect(page.getByText('Your session ended')).toBeVisible();
  await page.getByLabel('Email').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/dashboard\/database$/);
});

test('admin menu: lists this session and signs out', async ({ signedIn: page }) => {
  await page.getByRole('button', { name: 'Admin menu' }).click();
  await page.getByRole('menuitem', { name: 'Admin sessions…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Admin sessions' });
  await expect(dialog.getByText('This browser')).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'admin-sessions');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Admin menu' }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/dashboard\/sign-in/);
  await page.goto('/dashboard/');
  await expect(page).toHaveURL(/\/dashboard\/sign-in\?redirect=/);
});

test('API unreachable: a clear page, and retry goes on once the API answers', async ({ page }) => {
  await page.route('**/api/health', (route) => route.abort('connectionrefused'));
  await page.goto('/dashboard/');
  await expect(page.getByRole('heading', { name: 'The Kiln API is not answering' })).toBeVisible();
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByText('Still unreachable.')).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'unreachable');
  await page.unroute('**/api/health');
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to the dashboard' })).toBeVisible();
});

test('the API going away while signed in shows the unreachable page, and Retry comes back', async ({
  signedIn: page,
}) => {
  await page
    .getByRole('navigation', { name: 'Areas' })
    .getByRole('link', { name: 'Database' })
    .click();
  await expect(page.getByRole('heading', { name: 'Database', level: 1 })).toBeVisible();
  await page.route('**/api/**', (route) => route.abort('connectionrefused'));
  // Any API call now fails: opening the admin sessions makes one.
  await page.getByRole('button', { name: 'Admin menu' }).click();
  await page.getByRole('menuitem', { name: 'Admin sessions…' }).click();
  await expect(page.getByRole('heading', { name: 'The Kiln API is not answering' })).toBeVisible();
  await page.unroute('**/api/**');
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(page).toHaveURL(/\/dashboard\/database$/);
  await expect(page.getByRole('heading', { name: 'Database', level: 1 })).toBeVisible();
});
