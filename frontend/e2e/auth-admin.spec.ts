/**
 * The Authentication area against the real API: users (create, search, mark verified, sessions,
 * delete), a setting saved and seen in the public config, OAuth providers, SMTP with a test send
 * caught on loopback, and a template's live preview. Settings this spec changes are put back.
 */
import type { APIRequestContext, Page } from '@playwright/test';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';
import { SmtpCapture } from './auth/servers';

// Each test walks a whole area (screenshots in two themes and widths included).
test.describe.configure({ timeout: 60_000 });

const suffix = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function api(
  page: Page,
  method: 'get' | 'put' | 'post' | 'delete',
  path: string,
  data?: unknown,
) {
  const token = await adminToken(page);
  const res = await (page.request as APIRequestContext)[method](path, {
    headers: { Authorization: `Bearer ${token}` },
    data,
  });
  expect(res.status(), await res.text()).toBeLessThan(300);
  return (await res.json()) as Record<string, unknown>;
}

test('users: create, search, mark verified, sessions, delete', async ({ signedIn: page }) => {
  const id = suffix();
  const email = `ui-${id}@example.com`;
  await page.goto('/dashboard/auth');
  await expect(page.getByRole('tab', { name: 'Users' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('table', { name: 'Users' })).toBeVisible();

  // Create (unverified, so that marking it verified has something to do).
  await page.getByRole('button', { name: 'Create user' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Create a user' });
  await dialog.getByLabel('Email').fill(email);
  await dialog.getByLabel('Password', { exact: true }).fill('Password-123456');
  await dialog.getByLabel('Name (optional)').fill('Ada Example');
  await dialog.getByRole('checkbox', { name: 'Mark the address verified' }).click();
  await expectNoA11yViolations(page);
  await shoot(page, 'auth-user-create');
  await dialog.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByText(`User ${email} created`)).toBeVisible();
  await expect(dialog).toBeHidden();

  // Server-side search, kept in the URL.
  await page.getByRole('searchbox', { name: 'Search users' }).fill(id);
  await expect(page).toHaveURL(new RegExp(`[?&]q=${id}`));
  const table = page.getByRole('table', { name: 'Users' });
  await expect(table.getByRole('row')).toHaveCount(2); // header + the one match
  const row = table.getByRole('row', { name: new RegExp(email) });
  await expect(row).toContainText('unverified');
  await expectNoA11yViolations(page);
  await shoot(page, 'auth-users');

  // Mark verified from the row menu; the API agrees.
  await row.getByRole('button', { name: `Actions for ${email}` }).click();
  await page.getByRole('menuitem', { name: 'Mark verified' }).click();
  await expect(page.getByText(`${email} is verified`)).toBeVisible();
  await expect(row).toContainText('verified');
  await expect(row).not.toContainText('unverified');
  const list = await api(page, 'get', `/api/auth/users?search=${id}`);
  const user = (list.data as { id: string; emailVerified: boolean }[])[0]!;
  expect(user.emailVerified).toBe(true);

  // The user signs in somewhere: the detail sheet lists the session, and revokes it.
  const signIn = await page.request.post('/api/auth/sessions?client_type=server', {
    data: { email, password: 'Password-123456' },
  });
  expect(signIn.status(), await signIn.text()).toBe(200);
  await row.getByRole('button', { name: `${email} Ada Example`, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`[?&]user=${user.id}`));
  const sheet = page.getByRole('dialog', { name: 'Ada Example' });
  await expect(sheet).toContainText(user.id);
  await expect(
    sheet.getByRole('list', { name: 'Live sessions' }).getByRole('listitem'),
  ).toHaveCount(1);
  await expect(sheet).toContainText('Email and password');
  await expectNoA11yViolations(page);
  await shoot(page, 'auth-user-detail');
  // A shared link reopens the sheet.
  await page.reload();
  await expect(sheet).toBeVisible();
  await sheet.getByRole('button', { name: 'Revoke all' }).click();
  const revoke = page.getByRole('alertdialog', { name: 'Sign this user out everywhere?' });
  await revoke.getByRole('button', { name: 'Revoke sessions' }).click();
  await expect(page.getByText('1 session revoked')).toBeVisible();
  await expect(sheet).toContainText('No live session');
  await sheet.getByRole('button', { name: 'Reset MFA' }).click();
  await page
    .getByRole('alertdialog', { name: "Remove this user's second factors?" })
    .getByRole('button', { name: 'Reset MFA' })
    .click();
  await expect(page.getByText('The user had no second factor')).toBeVisible();

  // Delete (confirmed): gone from the list and from the API.
  await sheet.getByRole('button', { name: 'Delete user' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Delete this user?' });
  await shoot(page, 'auth-user-delete-confirm');
  await confirm.getByRole('button', { name: 'Delete user' }).click();
  await expect(confirm).toBeHidden();
  await expect(sheet).toBeHidden();
  await expect(page).not.toHaveURL(/[?&]user=/);
  await expect(page.getByText('No user matches')).toBeVisible();
  await shoot(page, 'auth-users-empty-search');
  const after = await api(page, 'get', `/api/auth/users?search=${id}`);
  expect(after.data).toEqual([]);
});

test('users: pages come from the server, the page is in the URL', async ({ signedIn: page }) => {
  const tag = `page-${suffix()}`;
  const token = await adminToken(page);
  const created = await Promise.all(
    Array.from({ length: 21 }, async (_, i) => {
      const res = await page.request.post('/api/auth/users', {
        headers: { Authorization: `Bearer ${token}` },
        data: { email: `${tag}-${i}@example.com`, password: 'Password-123456' },
      });
      expect(res.status(), await res.text()).toBe(201);
      return ((await res.json()) as { user: { id: string } }).user.id;
    }),
  );
  try {
    await page.goto(`/dashboard/auth?q=${tag}`);
    const table = page.getByRole('table', { name: 'Users' });
    await expect(page.getByText('1–20 of 21')).toBeVisible();
    await expect(table.getByRole('row')).toHaveCount(21);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect(page).toHaveURL(/[?&]offset=20/);
    await expect(page.getByText('21–21 of 21')).toBeVisible();
    await page.reload();
    await expect(table.getByRole('row')).toHaveCount(2);
    await expect(page.getByRole('button', { name: 'Next page' })).toBeDisabled();
  } finally {
    await api(page, 'delete', '/api/auth/users', { userIds: created });
  }
});

test('settings: a changed setting persists and reaches the public config', async ({
  signedIn: page,
}) => {
  const original = await api(page, 'get', '/api/auth/config');
  const min = (original.passwordMinLength as number) === 11 ? 12 : 11;
  try {
    await page.goto('/dashboard/auth?tab=settings');
    const field = page.getByLabel('Minimum length');
    await expect(field).toHaveValue(String(original.passwordMinLength));
    await expectNoA11yViolations(page);
    await shoot(page, 'auth-settings');

    // The shared schema refuses a bad value before any request.
    await field.fill('2');
    await page.getByLabel('Primary colour').fill('orange');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('must be a colour as #rrggbb')).toBeVisible();
    await expect(page.getByText('At least 4', { exact: true })).toBeVisible();
    await shoot(page, 'auth-settings-invalid');

    // Unsaved changes: leaving asks first.
    await page.getByRole('tab', { name: 'Users' }).click();
    const guard = page.getByRole('alertdialog', { name: 'Discard unsaved changes?' });
    await expect(guard).toBeVisible();
    await guard.getByRole('button', { name: 'Cancel' }).click();
    await expect(page).toHaveURL(/tab=settings/);

    await page.getByLabel('Primary colour').fill('#0f766e');
    await field.fill(String(min));
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('Auth settings saved')).toBeVisible();
    await expect(page.getByText('All changes saved.')).toBeVisible();

    await page.reload();
    await expect(page.getByLabel('Minimum length')).toHaveValue(String(min));
    await expect(page.getByLabel('Primary colour')).toHaveValue('#0f766e');
    const pub = await page.request.get('/api/auth/public-config');
    expect(((await pub.json()) as { passwordMinLength: number }).passwordMinLength).toBe(min);
  } finally {
    await api(page, 'put', '/api/auth/config', {
      passwordMinLength: original.passwordMinLength,
      primaryColor: original.primaryColor,
    });
  }
});

test('oauth: configure a built-in provider and a custom OIDC provider', async ({
  signedIn: page,
}) => {
  const key = `acme-${suffix()}`;
  await page.goto('/dashboard/auth?tab=oauth');
  const github = page.getByTestId('provider-github');
  await expect(github).toContainText('not configured');
  await expectNoA11yViolations(page);
  await shoot(page, 'auth-oauth');

  await github.getByRole('button', { name: 'Configure GitHub' }).click();
  const dialog = page.getByRole('dialog', { name: 'Configure GitHub' });
  await expect(dialog.getByTestId('callback-url')).toHaveText(
    /\/api\/auth\/oauth\/github\/callback$/,
  );
  await dialog.getByLabel('Client ID').fill('gh-client-id');
  await dialog.getByLabel('Client secret').fill('gh-client-secret');
  await expectNoA11yViolations(page);
  await shoot(page, 'auth-oauth-dialog');
  await dialog.getByRole('button', { name: 'Save provider' }).click();
  await expect(page.getByText('GitHub saved')).toBeVisible();
  await expect(github).toContainText('enabled');
  await expect(github).toContainText('secret set');

  // Disable with the switch; the secret is kept (write-only, never sent back).
  await github.getByRole('switch', { name: 'GitHub enabled' }).click();
  await expect(page.getByText('GitHub disabled')).toBeVisible();
  await expect(github).toContainText('disabled');
  await expect(github).toContainText('secret set');

  // A custom OpenID Connect provider.
  await page.getByRole('button', { name: 'Add provider' }).click();
  const add = page.getByRole('dialog', { name: 'Add an OpenID Connect provider' });
  await add.getByLabel('Key').fill(key);
  await add.getByLabel('Display name').fill('Acme SSO');
  await add
    .getByLabel('Discovery URL')
    .fill('https://id.acme.test/.well-known/openid-configuration');
  await add.getByLabel('Client ID').fill('acme-client');
  await expect(add.getByTestId('callback-url')).toHaveText(
    new RegExp(`/api/auth/oauth/custom/${key}/callback$`),
  );
  await add.getByRole('button', { name: 'Save provider' }).click();
  await expect(page.getByText('Acme SSO saved')).toBeVisible();
  const custom = page.getByTestId(`provider-${key}`);
  await expect(custom).toContainText('id.acme.test');
  // Edit it: the key stays, the secret is kept unless a new one is typed.
  await custom.getByRole('button', { name: 'Edit Acme SSO' }).click();
  const edit = page.getByRole('dialog', { name: 'Acme SSO' });
  await expect(edit.getByLabel('Key')).toHaveValue(key);
  await edit.getByLabel('Display name').fill('Acme Login');
  await edit.getByRole('button', { name: 'Save provider' }).click();
  await expect(page.getByText('Acme Login saved')).toBeVisible();
  await expect(custom).toContainText('Acme Login');
  await shoot(page, 'auth-oauth-configured');

  // Remove both (confirmed).
  for (const [row, label] of [
    [custom, 'Acme Login'],
    [github, 'GitHub'],
  ] as const) {
    await row.getByRole('button', { name: `Remove ${label}` }).click();
    await page
      .getByRole('alertdialog', { name: `Remove ${label}?` })
      .getByRole('button', { name: 'Remove provider' })
      .click();
    await expect(page.getByText('Provider configuration removed').first()).toBeVisible();
  }
  await expect(custom).toBeHidden();
  await expect(github).toContainText('not configured');
});

test('email: SMTP saved and a test message caught; template preview follows the draft', async ({
  signedIn: page,
}) => {
  const smtp = new SmtpCapture();
  await smtp.start();
  try {
    await page.goto('/dashboard/auth?tab=email');
    const form = page.getByRole('form', { name: 'SMTP settings' });
    await form.getByRole('switch', { name: 'Send through these settings' }).click();
    await form.getByLabel('Host').fill('127.0.0.1');
    await form.getByRole('textbox', { name: 'Port' }).fill(String(smtp.port));
    await form.getByLabel('Username').fill('mailer');
    await form.getByLabel('Password').fill('smtp-password');
    await form.getByLabel('Sender address').fill('no-reply@kiln.test');
    await form.getByLabel('Sender name').fill('Kiln e2e');
    await form.getByRole('button', { name: 'Save SMTP settings' }).click();
    await expect(page.getByText('SMTP settings saved')).toBeVisible();
    await expect(page.getByText('in use', { exact: true })).toBeVisible();
    await expect(form.getByLabel('Password')).toHaveAttribute('placeholder', /unchanged/);

    const before = smtp.messages.length;
    await page.getByLabel('Send a test message to').fill('someone@example.com');
    await page.getByRole('button', { name: 'Send test' }).click();
    await expect(page.getByText('Test message sent to someone@example.com')).toBeVisible();
    await expect.poll(() => smtp.messages.length).toBe(before + 1);
    expect(smtp.messages.at(-1)!.to).toEqual(['someone@example.com']);
    expect(smtp.logins.at(-1)).toEqual({ username: 'mailer', password: 'smtp-password' });

    // Templates: the preview renders the draft (debounced) in a sandboxed frame.
    await page.getByRole('button', { name: 'Welcome' }).click();
    await expect(page).toHaveURL(/template=welcome/);
    const frame = page.getByTitle('Email preview');
    await expect(frame).toHaveAttribute('sandbox', '');
    const tag = `preview-${suffix()}`;
    await page.getByLabel('Subject').fill(`Hello from ${tag}`);
    await page.getByLabel('HTML body').fill(`<h1 id="greeting">Welcome, ${tag}</h1>`);
    await expect(page.getByTestId('preview-subject')).toContainText(`Hello from ${tag}`);
    // The frame runs nothing (empty sandbox): its document is the rendered draft.
    await expect(frame).toHaveAttribute(
      'srcdoc',
      new RegExp(`<h1 id="greeting">Welcome, ${tag}</h1>`),
    );
    await expectNoA11yViolations(page);
    await shoot(page, 'auth-email');

    await page.getByRole('button', { name: 'Save template' }).click();
    await expect(page.getByText('Template saved')).toBeVisible();
    await page.reload();
    await expect(page.getByLabel('Subject')).toHaveValue(`Hello from ${tag}`);
    await page.getByRole('button', { name: 'Restore the default' }).click();
    await page
      .getByRole('alertdialog', { name: 'Restore the default template?' })
      .getByRole('button', { name: 'Restore default' })
      .click();
    await expect(page.getByText('The default template is back')).toBeVisible();
    await expect(page.getByLabel('Subject')).not.toHaveValue(`Hello from ${tag}`);
  } finally {
    // Later specs must not send through a capture that is gone.
    await api(page, 'put', '/api/auth/smtp-config', { enabled: false });
    await smtp.stop();
  }
});
