/**
 * User administration in the dashboard against the real API: a user created with an invitation
 * (the mailed link caught on loopback and used on the hosted page), made a dashboard admin (who
 * then signs in with their own password and second factor), bulk import with per-row results,
 * and the session policy on the Settings page.
 */
import type { APIRequestContext, Page } from '@playwright/test';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';
import { SmtpCapture, linkIn, totp } from './auth/servers';

test.describe.configure({ timeout: 60_000 });

const suffix = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function api<T = unknown>(
  page: Page,
  method: 'get' | 'put' | 'post' | 'patch' | 'delete',
  path: string,
  data?: unknown,
  token?: string,
): Promise<T> {
  const res = await (page.request as APIRequestContext)[method](path, {
    headers: { Authorization: `Bearer ${token ?? (await adminToken(page))}` },
    data,
  });
  expect(res.status(), await res.text()).toBeLessThan(300);
  return (await res.json()) as T;
}

/** bcrypt (cost 4) of `imported-Password-1`, as another system would have stored it. */
const BCRYPT = '$2b$04$nmrIg6epLY0m3.jNFCJ71uZm3THLK.Swluar47icgXtqpUZtADJLe';

test('users: an invitation, a dashboard admin, and an import answered row by row', async ({
  signedIn: page,
}) => {
  const id = suffix();
  const invited = `invited-${id}@example.com`;
  const smtp = new SmtpCapture();
  await smtp.start();
  await api(page, 'put', '/api/auth/smtp-config', {
    enabled: true,
    host: '127.0.0.1',
    port: smtp.port,
    fromEmail: 'no-reply@kiln.test',
  });
  try {
    await invite(page, smtp, invited, id);
  } finally {
    // Later specs must not send through a capture that is gone.
    await api(page, 'put', '/api/auth/smtp-config', { enabled: false });
    await smtp.stop();
  }
});

async function invite(page: Page, smtp: SmtpCapture, invited: string, id: string) {
  await page.goto('/dashboard/auth');

  // Created with an invitation instead of a password.
  await page.getByRole('button', { name: 'Create user' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Create a user' });
  await dialog.getByLabel('Email').fill(invited);
  await dialog.getByRole('radio', { name: 'Send an invitation' }).check();
  await expect(dialog.getByLabel('Password', { exact: true })).toBeHidden();
  await expect(dialog).toContainText('valid 7 days');
  await expectNoA11yViolations(page);
  await shoot(page, 'auth-user-invite');
  const sent = smtp.messages.length;
  await dialog.getByRole('button', { name: 'Create and invite' }).click();
  await expect(page.getByText(`User ${invited} created; invitation sent`)).toBeVisible();
  await expect.poll(() => smtp.messages.slice(sent).some((m) => m.to.includes(invited))).toBe(true);
  const mail = smtp.messages.slice(sent).find((m) => m.to.includes(invited))!;

  // Its sheet: no password yet (the invitation can go again), then made a dashboard admin.
  await page.getByRole('searchbox', { name: 'Search users' }).fill(invited);
  await page.getByRole('button', { name: invited, exact: true }).click();
  const sheet = page.getByRole('dialog', { name: invited });
  const access = sheet.getByRole('region', { name: 'Dashboard access' });
  await expect(access).toContainText('Not an admin');
  await access.getByRole('button', { name: 'Send the invitation again' }).click();
  await expect(page.getByText(`Invitation sent to ${invited}`)).toBeVisible();
  await access.getByRole('button', { name: 'Make admin' }).click();
  await page
    .getByRole('alertdialog', { name: 'Make this user a dashboard admin?' })
    .getByRole('button', { name: 'Make admin' })
    .click();
  await expect(page.getByText(`${invited} is now a dashboard admin`)).toBeVisible();
  await expect(access.getByText('admin', { exact: true })).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'auth-user-admin');
  const admins = await api<{ admins: { email: string }[] }>(page, 'get', '/api/auth/admins');
  expect(admins.admins.map((a: { email: string }) => a.email)).toContain(invited);
  await access.getByRole('button', { name: 'Remove admin' }).click();
  await page
    .getByRole('alertdialog', { name: 'Remove this admin?' })
    .getByRole('button', { name: 'Remove admin' })
    .click();
  await expect(page.getByText(`${invited} is no longer an admin`)).toBeVisible();
  // Closed with its button once the confirmation is gone (an Escape pressed while the
  // confirmation was still unmounting went to it, and the sheet stayed open: a CI flake).
  await expect(page.getByRole('alertdialog')).toHaveCount(0);
  await sheet.getByRole('button', { name: 'Close' }).click();
  await expect(sheet).toBeHidden();

  // Import: a JSON list, every row answered.
  const imported = `imported-${id}@example.com`;
  await page.getByRole('button', { name: 'Import' }).click();
  const importing = page.getByRole('dialog', { name: 'Import users' });
  await importing.getByLabel('Users (JSON)').fill('[{"email": "broken"');
  await importing.getByRole('button', { name: 'Import' }).click();
  await expect(importing.getByRole('alert')).toContainText('Not JSON');
  await importing
    .getByLabel('Users (JSON)')
    .fill(
      JSON.stringify(
        [
          { email: imported, passwordHash: BCRYPT, emailVerified: true },
          { email: `bad-hash-${id}@example.com`, passwordHash: 'md5:5f4dcc3b5aa765d61d83' },
          { email: invited },
        ],
        null,
        2,
      ),
    );
  await expectNoA11yViolations(page);
  await importing.getByRole('button', { name: 'Import' }).click();
  const results = importing.getByRole('table', { name: 'Import results' });
  await expect(results.getByRole('row')).toHaveCount(4);
  await expect(results.getByRole('row').nth(1)).toContainText('imported');
  await expect(results.getByRole('row').nth(1)).toContainText('bcrypt hash');
  await expect(results.getByRole('row').nth(2)).toContainText('refused');
  await expect(results.getByRole('row').nth(2)).toContainText('not a bcrypt, argon2id');
  await expect(results.getByRole('row').nth(3)).toContainText('duplicate');
  await expect(importing.getByRole('status')).toContainText('1 imported, 2 not');
  await expectNoA11yViolations(page);
  await shoot(page, 'auth-users-import');
  await importing.getByRole('button', { name: 'Done' }).click();
  const signIn = await page.request.post('/api/auth/sessions?client_type=server', {
    data: { email: imported, password: 'imported-Password-1' },
  });
  expect(signIn.status(), await signIn.text()).toBe(200);

  // The invitation's link opens the hosted page, which sets the password.
  const link = new URL(linkIn(mail)!);
  expect(link.searchParams.get('insforge_type')).toBe('invite');
  const landing = await page.context().newPage();
  try {
    await landing.goto(link.pathname + link.search);
    await expect(landing.getByRole('heading', { name: 'Choose your password' })).toBeVisible();
    await landing.getByLabel('New password').fill('Invited-Password-1');
    await landing.getByRole('button', { name: 'Set password' }).click();
    await expect(landing.getByText('Your password was changed')).toBeVisible();
  } finally {
    await landing.close();
  }
  const invitedSignIn = await page.request.post('/api/auth/sessions?client_type=server', {
    data: { email: invited, password: 'Invited-Password-1' },
  });
  expect(invitedSignIn.status(), await invitedSignIn.text()).toBe(200);
}

test('a second admin signs in with their own password and second factor', async ({
  signedIn: page,
  browser,
}) => {
  const email = `second-admin-${suffix()}@example.com`;
  const password = 'second-Admin-pass-1';
  const created = await api<{ user: { id: string } }>(page, 'post', '/api/auth/users', {
    email,
    password,
  });
  const userId = created.user.id;
  // Their own second factor, enrolled as the user they are.
  const session = await page.request.post('/api/auth/sessions?client_type=server', {
    data: { email, password },
  });
  const userToken = ((await session.json()) as { accessToken: string }).accessToken;
  const enroll = await api<{ factorId: string; secret: string }>(
    page,
    'post',
    '/api/auth/mfa/totp/enroll',
    {},
    userToken,
  );
  await api(
    page,
    'post',
    '/api/auth/mfa/totp/verify',
    { factorId: enroll.factorId, code: totp(enroll.secret) },
    userToken,
  );
  await api(page, 'put', `/api/auth/admins/${userId}`);

  const context = await browser.newContext({ baseURL: new URL(page.url()).origin });
  const other = await context.newPage();
  try {
    await other.goto('/dashboard/sign-in');
    await other.getByLabel('Email').fill(email);
    await other.getByLabel('Password').fill(password);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await expect(other.getByRole('heading', { name: 'Two-step verification' })).toBeVisible();
    await other.getByLabel('Authentication code').fill('000000');
    await other.getByRole('button', { name: 'Verify and sign in' }).click();
    await expect(other.getByText('Sign-in failed')).toBeVisible();
    await expectNoA11yViolations(other);
    await shoot(other, 'sign-in-mfa');
    // The enrolment used the current window's code: the next window's is fresh.
    await other.getByLabel('Authentication code').fill(totp(enroll.secret, Date.now() + 30_000));
    await other.getByRole('button', { name: 'Verify and sign in' }).click();
    await expect(other.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
  } finally {
    await context.close();
    await api(page, 'delete', `/api/auth/admins/${userId}`);
  }
});

test('settings: the session policy is saved, shown with its source, and reset', async ({
  signedIn: page,
}) => {
  await page.goto('/dashboard/settings?tab=runtime');
  const form = page.getByRole('form', { name: 'Session policy' });
  await expect(form).toBeVisible();
  try {
    await form.getByLabel('Absolute session lifetime', { exact: true }).fill('12');
    await form.getByLabel('Inactivity timeout', { exact: true }).fill('abc');
    await expect(form.getByText('A whole number (0: no limit)')).toBeVisible();
    await expect(form.getByRole('button', { name: 'Save session policy' })).toBeDisabled();
    await form.getByLabel('Inactivity timeout', { exact: true }).fill('30');
    await form.getByRole('combobox', { name: 'Inactivity timeout: unit' }).click();
    await page.getByRole('option', { name: 'minutes' }).click();
    await form.getByRole('checkbox', { name: 'One session per user' }).click();
    await form.getByRole('button', { name: 'Save session policy' }).click();
    await expect(page.getByText('Session policy saved')).toBeVisible();
    await expect(form).toContainText('Applies now: 12 hours');
    await expect(form).toContainText('Applies now: 30 minutes');
    await expect(form).toContainText('Applies now: on');
    const settings = await api<{
      runtime: Record<string, { value: unknown; source: string }>;
    }>(page, 'get', '/api/settings');
    expect(settings.runtime.sessionMaxLifetimeSeconds).toMatchObject({
      value: 43200,
      source: 'runtime',
    });
    expect(settings.runtime.sessionInactivityTimeoutSeconds?.value).toBe(1800);
    expect(settings.runtime.singleSessionPerUser?.value).toBe(true);
    await expectNoA11yViolations(page);
    await shoot(page, 'settings-session-policy');
    await form.getByRole('button', { name: "Use the environment's values" }).click();
    await expect(page.getByText('Session policy: back to the environment’s values')).toBeVisible();
    await expect(form).toContainText('Applies now: no limit');
  } finally {
    await api(page, 'patch', '/api/settings', {
      sessionMaxLifetimeSeconds: null,
      sessionInactivityTimeoutSeconds: null,
      singleSessionPerUser: null,
    });
  }
});
