/**
 * The hosted auth pages (/auth, the `auth/` app) in Chromium against the real backend, with mail
 * caught by an SMTP server and an OpenID provider on loopback: every way in ends with the app's
 * URL carrying `insforge_code`, which the app exchanges with its PKCE verifier for a session.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { AxeBuilder } from '@axe-core/playwright';
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../constants';
import { SmtpCapture, codeIn, linkIn, pkce, startOidcProvider, totp } from './servers';

const APP = 'https://app.example.com/callback';
const PASSWORD = 'Correct-horse-42';
const screenshots = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../test-output/screenshots',
);

test.describe.configure({ mode: 'serial' });

let smtp: SmtpCapture;
let oidc: Awaited<ReturnType<typeof startOidcProvider>>;
let adminToken: string;
/** The settings this file changes, as they were: restored at the end (other specs share the backend). */
let savedConfig: Record<string, unknown>;
let savedSmtp: Record<string, unknown>;

async function admin(
  request: APIRequestContext,
  method: 'put' | 'post',
  url: string,
  data: object,
) {
  const res = await request.fetch(url, {
    method,
    data,
    headers: { authorization: `Bearer ${adminToken}` },
  });
  expect(res.status(), await res.text()).toBeLessThan(300);
  return res.json();
}

test.beforeAll(async ({ request }) => {
  smtp = new SmtpCapture();
  await smtp.start();
  const session = await request.post('/api/auth/admin/sessions?client_type=server', {
    data: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD },
  });
  adminToken = (await session.json()).accessToken;
  const baseUrl = process.env.KILN_E2E_BASE_URL!;
  const headers = { authorization: `Bearer ${adminToken}` };
  savedConfig = await (await request.get('/api/auth/config', { headers })).json();
  savedSmtp = await (await request.get('/api/auth/smtp-config', { headers })).json();
  oidc = await startOidcProvider(baseUrl, 'acme');
  await admin(request, 'put', '/api/auth/smtp-config', {
    enabled: true,
    host: '127.0.0.1',
    port: smtp.port,
    fromEmail: 'auth@kiln.test',
    fromName: 'Kiln',
  });
  await admin(request, 'put', '/api/auth/oauth/custom/acme/config', {
    name: 'Acme SSO',
    clientId: 'kiln-pages',
    clientSecret: 'kiln-pages-secret',
    discoveryUrl: oidc.discoveryUrl,
  });
  await admin(request, 'put', '/api/auth/config', {
    allowedRedirectUrls: [APP],
    requireEmailVerification: true,
    verifyEmailMethod: 'code',
    resetPasswordMethod: 'code',
    passwordMinLength: 10,
    requireNumber: true,
    appName: 'Acme Notes',
    primaryColor: '#0f5fa8',
    termsUrl: 'https://app.example.com/terms',
    privacyUrl: 'https://app.example.com/privacy',
  });
});
test.afterAll(async ({ request }) => {
  const headers = { authorization: `Bearer ${adminToken}` };
  const changed = [
    'allowedRedirectUrls',
    'requireEmailVerification',
    'verifyEmailMethod',
    'resetPasswordMethod',
    'passwordMinLength',
    'requireNumber',
    'appName',
    'primaryColor',
    'termsUrl',
    'privacyUrl',
    'allowAnonymousSignIn',
  ];
  await admin(
    request,
    'put',
    '/api/auth/config',
    Object.fromEntries(changed.map((k) => [k, savedConfig[k]])),
  );
  await admin(request, 'put', '/api/auth/smtp-config', {
    enabled: savedSmtp.enabled,
    host: savedSmtp.host || null,
    port: savedSmtp.port || null,
    username: savedSmtp.username || null,
    fromEmail: savedSmtp.fromEmail || null,
    fromName: savedSmtp.fromName || null,
  });
  await request.delete('/api/auth/oauth/custom/acme/config', { headers });
  await request.delete('/api/storage/buckets/avatars?force=true', { headers });
  await smtp?.stop();
  await oidc?.stop();
});

/** The app's side: a page at APP (stubbed), and the exchange of the code with its verifier. */
async function serveApp(page: Page) {
  await page.route('https://app.example.com/**', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><title>App</title><h1>App</h1>',
    }),
  );
}
async function expectBackInApp(page: Page, verifier: string, email: string) {
  await page.waitForURL((u) => u.href.startsWith(APP));
  const url = new URL(page.url());
  // Only the one-time code travels in the URL: no token.
  expect([...url.searchParams.keys()]).toEqual(['insforge_code']);
  const res = await page.request.post('/api/auth/oauth/exchange?client_type=mobile', {
    data: { code: url.searchParams.get('insforge_code'), code_verifier: verifier },
  });
  expect(res.status(), await res.text()).toBe(200);
  const body = await res.json();
  expect(body.user.email).toBe(email);
  expect(body.accessToken).toEqual(expect.any(String));
  return body;
}
const signInUrl = (challenge: string, extra = '') =>
  `/auth/sign-in?redirect=${encodeURIComponent(APP)}&code_challenge=${challenge}${extra}`;
const unique = (what: string) =>
  `${what}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;

async function signUpThroughPages(page: Page, email: string, challenge: string) {
  await page.goto(signInUrl(challenge));
  await page.getByRole('link', { name: 'Sign up' }).click();
  await page.getByLabel('Name').fill('Ada');
  await page.getByLabel('Email').fill(email);
  const password = page.getByLabel('Password', { exact: true });
  await password.fill('short');
  // The policy, live: the length rule is unmet, the number rule too.
  await expect(page.getByText('at least 10 characters (missing)')).toBeAttached();
  await password.fill(PASSWORD);
  await expect(page.getByText('at least 10 characters (done)')).toBeAttached();
  await expect(page.getByText('a number (done)')).toBeAttached();
  await expect(page.getByRole('link', { name: 'terms of service' })).toHaveAttribute(
    'href',
    'https://app.example.com/terms',
  );
  const before = smtp.messages.length;
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: 'Verify your email' })).toBeVisible();
  return smtp.next(email, before);
}

test('sign up, the mailed code, verified, back in the app with a code the app exchanges', async ({
  page,
}) => {
  await serveApp(page);
  const { verifier, challenge } = pkce();
  const email = unique('signup');
  const mail = await signUpThroughPages(page, email, challenge);
  await expect(page.getByText(/You can ask for a new one in \d+ s/)).toBeVisible();
  // Pasted with a space, as mail clients copy it.
  const code = codeIn(mail)!;
  const field = page.getByLabel('Code');
  await field.focus();
  await page.evaluate(
    (text) => {
      const data = new DataTransfer();
      data.setData('text/plain', text);
      document.activeElement!.dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
      );
    },
    `${code.slice(0, 3)} ${code.slice(3)}`,
  );
  await expect(field).toHaveValue(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expectBackInApp(page, verifier, email);
});

test("a wrong password shows the API's message by the password field", async ({
  page,
  request,
}) => {
  const email = unique('wrong');
  await admin(request, 'post', '/api/auth/users', { email, password: PASSWORD });
  const api = await request.post('/api/auth/sessions', {
    data: { email, password: 'Not-the-password-1' },
  });
  const { message } = await api.json();
  await page.goto('/auth/sign-in');
  await page.getByLabel('Email').fill(email);
  const password = page.getByLabel('Password', { exact: true });
  await password.fill('Not-the-password-1');
  const box = await page.getByRole('button', { name: 'Sign in' }).boundingBox();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(password).toHaveAttribute('aria-invalid', 'true');
  await expect(password).toHaveAccessibleDescription(
    new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
  );
  // No layout shift: the button did not move when the error appeared.
  expect(await page.getByRole('button', { name: 'Sign in' }).boundingBox()).toEqual(box);
  await shoot(page, 'sign-in-error');
});

test('reset by code, then by link, end to end', async ({ page, request }) => {
  const email = unique('reset');
  await admin(request, 'post', '/api/auth/users', { email, password: PASSWORD });
  await page.goto('/auth/sign-in');
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await page.getByLabel('Email').fill(email);
  let before = smtp.messages.length;
  await page.getByRole('button', { name: 'Send' }).click();
  const mail = await smtp.next(email, before);
  await page.getByLabel('Code').fill(codeIn(mail)!);
  await page.getByLabel('New password').fill('Brand-new-pass-7');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Your password was changed')).toBeVisible();
  expect(
    (
      await request.post('/api/auth/sessions', { data: { email, password: 'Brand-new-pass-7' } })
    ).status(),
  ).toBe(200);

  await admin(request, 'put', '/api/auth/config', { resetPasswordMethod: 'link' });
  try {
    await page.goto('/auth/forgot-password');
    await page.getByLabel('Email').fill(email);
    before = smtp.messages.length;
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.getByText('a reset link is on its way')).toBeVisible();
    const link = linkIn(await smtp.next(email, before))!;
    expect(link).toContain('/auth/reset-password?');
    await page.goto(link);
    await page.getByLabel('New password').fill('Third-pass-word-9');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.getByText('Your password was changed')).toBeVisible();
    expect(
      (
        await request.post('/api/auth/sessions', { data: { email, password: 'Third-pass-word-9' } })
      ).status(),
    ).toBe(200);
  } finally {
    await admin(request, 'put', '/api/auth/config', { resetPasswordMethod: 'code' });
  }
});

test('sign in with a one-time code by email', async ({ page, request }) => {
  await serveApp(page);
  const email = unique('otp');
  await admin(request, 'post', '/api/auth/users', { email, password: PASSWORD });
  const { verifier, challenge } = pkce();
  await page.goto(signInUrl(challenge));
  await page.getByRole('radio', { name: 'Email code' }).click();
  await page.getByLabel('Email').fill(email);
  const before = smtp.messages.length;
  await page.getByRole('button', { name: 'Email me a code' }).click();
  const mail = await smtp.next(email, before);
  await page.getByLabel('Code').fill(codeIn(mail)!);
  await page.getByRole('button', { name: 'Sign in with the code' }).click();
  await expectBackInApp(page, verifier, email);
});

test('sign in with a magic link, opened in the same browser', async ({ page, request }) => {
  await serveApp(page);
  const email = unique('magic');
  await admin(request, 'post', '/api/auth/users', { email, password: PASSWORD });
  const { verifier, challenge } = pkce();
  await page.goto(signInUrl(challenge));
  await page.getByRole('radio', { name: 'Email link' }).click();
  await page.getByLabel('Email').fill(email);
  const before = smtp.messages.length;
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await expect(page.getByText('a sign-in link is on its way')).toBeVisible();
  const link = linkIn(await smtp.next(email, before))!;
  expect(link).toContain('/auth/callback?');
  await page.goto(link);
  await expectBackInApp(page, verifier, email);
});

test('verification by link: the landing page, then sign-in, then the app', async ({
  page,
  request,
}) => {
  await serveApp(page);
  await admin(request, 'put', '/api/auth/config', { verifyEmailMethod: 'link' });
  try {
    const { verifier, challenge } = pkce();
    const email = unique('link-verify');
    const mail = await signUpThroughPages(page, email, challenge);
    await expect(page.getByText(`We sent a verification link to ${email}`)).toBeVisible();
    await page.goto(linkIn(mail)!);
    await expect(
      page.getByRole('heading', { name: 'Your email address is verified.' }),
    ).toBeVisible();
    await page.getByRole('link', { name: 'Go to sign-in' }).click();
    await expect(
      page.getByText('Your email address is verified. Sign in to continue.'),
    ).toBeVisible();
    await expect(page.getByLabel('Email')).toHaveValue(email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectBackInApp(page, verifier, email);
  } finally {
    await admin(request, 'put', '/api/auth/config', { verifyEmailMethod: 'code' });
  }
});

test('already signed in on the pages: one click continues to the app, or another account is used', async ({
  page,
  request,
}) => {
  await serveApp(page);
  const email = unique('again');
  await admin(request, 'post', '/api/auth/users', { email, password: PASSWORD });
  await page.goto('/auth/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  const { verifier, challenge } = pkce();
  await page.goto(signInUrl(challenge));
  // Nothing happens without the user's click (a link from elsewhere cannot sign them in to an app).
  await expect(page.getByRole('button', { name: `Continue as ${email}` })).toBeVisible();
  expect(page.url()).toContain('/auth/sign-in');
  await page.getByRole('button', { name: `Continue as ${email}` }).click();
  await expectBackInApp(page, verifier, email);
  await page.goto(signInUrl(pkce().challenge));
  await page.getByRole('button', { name: 'Use another account' }).click();
  await expect(page.getByLabel('Email')).toBeVisible();
});

test('continue without an account, when the project allows it', async ({ page, request }) => {
  await serveApp(page);
  await page.goto('/auth/sign-in');
  await expect(page.getByRole('button', { name: 'Continue without an account' })).toHaveCount(0);
  await admin(request, 'put', '/api/auth/config', { allowAnonymousSignIn: true });
  try {
    const { verifier, challenge } = pkce();
    await page.goto(signInUrl(challenge));
    await page.getByRole('button', { name: 'Continue without an account' }).click();
    await page.waitForURL((u) => u.href.startsWith(APP));
    const code = new URL(page.url()).searchParams.get('insforge_code');
    const res = await page.request.post('/api/auth/oauth/exchange?client_type=mobile', {
      data: { code, code_verifier: verifier },
    });
    expect(res.status()).toBe(200);
    expect((await res.json()).user.isAnonymous).toBe(true);
  } finally {
    await admin(request, 'put', '/api/auth/config', { allowAnonymousSignIn: false });
  }
});

test('sign in through an OpenID provider (oidc-provider on loopback)', async ({ page }) => {
  await serveApp(page);
  const { verifier, challenge } = pkce();
  await page.goto(signInUrl(challenge));
  await page.getByRole('button', { name: 'Continue with Acme' }).click();
  // oidc-provider's development login and consent pages.
  await page.locator('input[name="login"]').fill('oidc-user');
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click();
  await expectBackInApp(page, verifier, 'oidc-user@acme.test');
});

test('MFA enrolled on the account page, then a sign-in that asks for it (recovery code)', async ({
  page,
  request,
}) => {
  await serveApp(page);
  const email = unique('mfa');
  await admin(request, 'post', '/api/auth/users', { email, password: PASSWORD });
  await page.goto('/auth/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await expect(page.getByRole('img', { name: 'QR code' })).toBeVisible();
  const secret = (await page.getByTestId('totp-secret').textContent())!;
  await page.getByLabel('Code').fill(totp(secret));
  await page.getByRole('button', { name: 'Confirm' }).click();
  const codes = page.getByTestId('recovery-codes').locator('li');
  await expect(codes.first()).toBeVisible();
  const recovery = (await codes.first().textContent())!;
  await expect(page.getByText('An authenticator app protects your account.')).toBeVisible();
  await shoot(page, 'account');
  await expectNoSeriousViolations(page);
  await page.getByRole('button', { name: 'I saved them' }).click();
  await page.getByRole('button', { name: 'Sign out' }).last().click();
  await expect(page.getByRole('heading', { name: /Sign in to/ })).toBeVisible();

  const { verifier, challenge } = pkce();
  await page.goto(signInUrl(challenge));
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Two-step verification' })).toBeVisible();
  await page.getByLabel('Code').fill('000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByLabel('Code')).toHaveAttribute('aria-invalid', 'true');
  await shoot(page, 'mfa');
  await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
  await page.getByLabel('Recovery code').fill(recovery);
  await page.getByRole('button', { name: 'Verify' }).click();
  const session = await expectBackInApp(page, verifier, email);
  const claims = JSON.parse(Buffer.from(session.accessToken.split('.')[1], 'base64url').toString());
  expect(claims.aal).toBe('aal2');
});

test('account page: password, email address with the mailed code, a provider linked and unlinked', async ({
  page,
  request,
}) => {
  const email = unique('account');
  await admin(request, 'post', '/api/auth/users', { email, password: PASSWORD });
  await page.goto('/auth/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();

  // A profile picture, uploaded to the project's public `avatars` bucket.
  await admin(request, 'post', '/api/storage/buckets', {
    bucketName: 'avatars',
    isPublic: true,
    allowUserUploads: true,
  });
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
    'base64',
  );
  await page
    .getByLabel('Upload a picture')
    .setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
  await expect(page.getByText('Picture updated')).toBeVisible();
  const picture = page.getByRole('img', { name: 'Profile picture' });
  await expect(picture).toHaveAttribute('src', /\/api\/storage\/buckets\/avatars\/objects\//);
  expect(await picture.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(
    1,
  );
  await page.getByLabel('Name', { exact: true }).fill('Grace');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Saved', { exact: true })).toBeVisible();

  // Password: the current one is checked, and the API's message shows by that field.
  const current = page.getByLabel('Current password', { exact: true });
  await current.fill('Not-the-password-1');
  await page.getByLabel('New password', { exact: true }).fill('Another-pass-word-3');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(current).toHaveAttribute('aria-invalid', 'true');
  await expect(current).toHaveAccessibleDescription(/is not your current password/);
  await current.fill(PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Password changed.')).toBeVisible();
  expect(
    (
      await request.post('/api/auth/sessions', { data: { email, password: 'Another-pass-word-3' } })
    ).status(),
  ).toBe(200);

  // Email: a code to the new address, then the account moves there.
  const moved = unique('moved');
  await page.getByLabel('New email address').fill(moved);
  const before = smtp.messages.length;
  await page.getByRole('button', { name: 'Change email address' }).click();
  const code = codeIn(await smtp.next(moved, before))!;
  await page.getByLabel('Code').fill(code);
  await page.getByRole('button', { name: 'Confirm the new address' }).click();
  await expect(page.getByText('Your email address was changed.')).toBeVisible();
  await expect(page.getByText(`${moved} (verified)`)).toBeVisible();

  // A provider linked through oidc-provider, then unlinked.
  await page.getByRole('button', { name: 'Link Acme' }).click();
  await page.locator('input[name="login"]').fill('linked-user');
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click();
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  const unlink = page.getByRole('button', { name: 'Unlink Acme' });
  await expect(unlink).toBeVisible();
  await expect(page.getByText('linked-user@acme.test')).toBeVisible();
  await shoot(page, 'account-linked');
  await unlink.click();
  await expect(unlink).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Link Acme' })).toBeVisible();
});

test('a redirect the project does not allow is refused, with no link onward', async ({ page }) => {
  await page.goto(
    `/auth/sign-in?redirect=${encodeURIComponent('https://evil.example.com/cb')}&code_challenge=${pkce().challenge}`,
  );
  await expect(
    page.getByRole('heading', { name: 'This sign-in link cannot be used' }),
  ).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('does not allow');
  await expect(page.locator('main a')).toHaveCount(0);
  await expect(page.getByRole('textbox')).toHaveCount(0);
  // Without a PKCE challenge the app could not receive the sign-in safely either.
  await page.goto(`/auth/sign-in?redirect=${encodeURIComponent(APP)}`);
  await expect(page.getByRole('alert')).toContainText('code challenge');
  await shoot(page, 'redirect-refused');
});

test('the pages in French (lang parameter and the browser language)', async ({ page, browser }) => {
  await page.goto('/auth/sign-in?lang=fr');
  await expect(page.getByRole('heading', { name: 'Connexion à Acme Notes' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
  await shoot(page, 'sign-in-fr');
  const context = await browser.newContext({
    locale: 'fr-FR',
    baseURL: process.env.KILN_E2E_BASE_URL,
  });
  const fr = await context.newPage();
  await fr.goto('/auth/sign-up');
  await expect(fr.getByRole('button', { name: 'Créer le compte' })).toBeVisible();
  await context.close();
});

test('no serious accessibility violation; screenshots at 360 and 1280 px in both themes', async ({
  page,
}) => {
  for (const [name, url] of [
    ['sign-in', '/auth/sign-in'],
    ['sign-up', '/auth/sign-up'],
    ['forgot-password', '/auth/forgot-password'],
    ['verify-email', '/auth/verify-email?email=ada%40example.com'],
  ] as const) {
    await page.goto(url);
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await expectNoSeriousViolations(page);
    await shoot(page, name);
  }
});

test('the sign-in page loads at most 100 KiB of gzipped JavaScript', async ({ page }) => {
  const scripts = new Map<string, Buffer>();
  page.on('response', async (res) => {
    if (res.request().resourceType() === 'script') scripts.set(res.url(), await res.body());
  });
  await page.goto('/auth/sign-in');
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await page.waitForLoadState('networkidle');
  const gzipped = [...scripts.values()].reduce(
    (n, body) => n + gzipSync(body, { level: 9 }).length,
    0,
  );
  console.log(`sign-in page: ${scripts.size} scripts, ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
  expect(scripts.size).toBeGreaterThan(0);
  expect(gzipped).toBeLessThanOrEqual(100 * 1024);
});

/** axe, light and dark: no serious or critical violation. */
async function expectNoSeriousViolations(page: Page) {
  const found: string[] = [];
  for (const dark of [false, true]) {
    await page.evaluate((d) => document.documentElement.classList.toggle('dark', d), dark);
    const results = await new AxeBuilder({ page }).analyze();
    for (const v of results.violations) {
      if (v.impact !== 'serious' && v.impact !== 'critical') continue;
      found.push(
        `${dark ? 'dark' : 'light'} ${v.id}: ${v.help} ${v.nodes.map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`).join('\n')}`,
      );
    }
  }
  expect(found, found.join('\n')).toEqual([]);
}

/** test-output/screenshots/auth-<name>-<light|dark>-<360|1280>.png */
async function shoot(page: Page, name: string) {
  const original = page.viewportSize()!;
  for (const dark of [false, true]) {
    await page.evaluate((d) => document.documentElement.classList.toggle('dark', d), dark);
    for (const width of [360, 1280]) {
      await page.setViewportSize({ width, height: width === 360 ? 740 : 800 });
      await page.evaluate(() => document.fonts.ready);
      await page.screenshot({
        path: path.join(screenshots, `auth-${name}-${dark ? 'dark' : 'light'}-${width}.png`),
        fullPage: true,
        animations: 'disabled',
      });
    }
  }
  await page.setViewportSize(original);
}
