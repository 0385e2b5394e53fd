import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@insforge/sdk';
import { totpFor } from '../src/auth/mfa.js';
import pg from 'pg';
import { expectAccessToken, expectMfaToken, pgUrl, startTestApp, type TestApp } from './helpers.js';
import { SmtpCapture, codeIn } from './smtp-capture.js';

/**
 * What the hosted auth pages (/auth) rely on: the public config (providers, flows, branding),
 * the redirect check, the code the pages hand the app after a sign-in (PKCE, redeemed with
 * POST /api/auth/oauth/exchange), the flow switches and a user deleting their own account.
 */
let t: TestApp;
const APP = 'https://app.example.com/callback';

beforeAll(async () => {
  // Google is configured from the environment only (no row): public-config must list it too.
  t = await startTestApp({}, { GOOGLE_CLIENT_ID: 'google-client', GOOGLE_CLIENT_SECRET: 'x' });
  const put = await admin('PUT', '/api/auth/config', { allowedRedirectUrls: [APP] });
  expect(put.status).toBe(200);
});
afterAll(async () => {
  await t?.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });
const pkce = () => {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
};
const codeOf = (url: string) => new URL(url).searchParams.get('insforge_code')!;

describe('public config', () => {
  it('lists every enabled built-in and custom OIDC provider, and not the disabled ones', async () => {
    for (const [path, body] of [
      ['/api/auth/oauth/github/config', { clientId: 'gh', clientSecret: 's' }],
      ['/api/auth/oauth/discord/config', { clientId: 'dc', clientSecret: 's', enabled: false }],
      [
        '/api/auth/oauth/custom/acme/config',
        { name: 'Acme', clientId: 'k', discoveryUrl: 'https://sso.acme.test/.well-known/x' },
      ],
      [
        '/api/auth/oauth/custom/off/config',
        {
          clientId: 'k',
          discoveryUrl: 'https://off.acme.test/.well-known/x',
          enabled: false,
        },
      ],
    ] as const)
      expect((await admin('PUT', path, body)).status).toBe(200);
    const res = await t.request('GET', '/api/auth/public-config');
    expect(res.status).toBe(200);
    expect(res.body.oAuthProviders).toEqual(['github', 'google']);
    expect(res.body.customOAuthProviders).toEqual(['acme']);
    expect(res.body).not.toHaveProperty('allowedRedirectUrls');
  });

  it('answers the flows the pages offer and the branding, which admins set through the auth config', async () => {
    const before = (await t.request('GET', '/api/auth/public-config')).body;
    expect(before).toMatchObject({
      appName: null,
      logoUrl: null,
      primaryColor: null,
      defaultTheme: 'system',
      termsUrl: null,
      privacyUrl: null,
      allowEmailOtp: true,
      allowMagicLink: true,
      allowAnonymousSignIn: false,
      allowAccountDeletion: false,
      resetPasswordMethod: 'code',
      verifyEmailMethod: 'code',
      passwordMinLength: expect.any(Number),
    });
    const branding = {
      appName: 'Acme Notes',
      logoUrl: 'https://cdn.acme.test/logo.svg',
      primaryColor: '#0a7d5a',
      defaultTheme: 'dark',
      termsUrl: 'https://acme.test/terms',
      privacyUrl: 'https://acme.test/privacy',
    };
    const put = await admin('PUT', '/api/auth/config', branding);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject(branding);
    expect((await admin('GET', '/api/auth/config')).body).toMatchObject(branding);
    expect((await t.request('GET', '/api/auth/public-config')).body).toMatchObject(branding);
    // Only admins change it.
    const user = await t.signUpUser();
    const byUser = await t.request('PUT', '/api/auth/config', {
      token: user.accessToken,
      body: { appName: 'Mine' },
    });
    expect(byUser.status).toBe(403);
  });

  it.each([
    [{ primaryColor: 'red' }, 'primaryColor'],
    [{ logoUrl: 'javascript:alert(1)' }, 'logoUrl'],
    [{ termsUrl: 'ftp://acme.test/terms' }, 'termsUrl'],
    [{ defaultTheme: 'sepia' }, 'defaultTheme'],
    [{ appName: '' }, 'appName'],
  ])('refuses bad branding %j with 400 naming the field', async (body, field) => {
    const res = await admin('PUT', '/api/auth/config', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('INVALID_INPUT');
    expect(res.body.message).toContain(field);
  });
});

describe('redirect check', () => {
  it.each([
    [APP, true],
    [`${APP}?state=1`, true],
    ['https://evil.example.com/callback', false],
    ['https://app.example.com/other', false],
    ['javascript:alert(1)', false],
    ['not a url', false],
  ])('%s → allowed: %s', async (url, allowed) => {
    const res = await t.request(
      'GET',
      `/api/auth/redirects/check?redirect_uri=${encodeURIComponent(url)}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ allowed });
  });

  it('needs redirect_uri', async () => {
    const res = await t.request('GET', '/api/auth/redirects/check');
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('redirect_uri');
  });
});

describe("the app's code after a sign-in on the pages", () => {
  it('is bound to the challenge, redeemed once with the verifier through the SDK, and gives the same user a session', async () => {
    const user = await t.signUpUser();
    const { verifier, challenge } = pkce();
    const res = await t.request('POST', '/api/auth/oauth/codes', {
      token: user.accessToken,
      body: { redirect_uri: `${APP}?from=pages`, code_challenge: challenge },
    });
    expect(res.status).toBe(200);
    const target = new URL(res.body.redirectTo);
    expect(`${target.origin}${target.pathname}`).toBe(APP);
    expect(target.searchParams.get('from')).toBe('pages');
    // Nothing but the code in the URL: no token.
    expect([...target.searchParams.keys()].sort()).toEqual(['from', 'insforge_code']);
    const code = codeOf(res.body.redirectTo);

    // A wrong verifier burns nothing useful: the code stays single-use either way.
    const wrong = await t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
      body: { code, code_verifier: pkce().verifier },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('AUTH_OAUTH_INVALID_CODE');

    // A fresh code, exchanged the way an app does it with the SDK.
    const again = await t.request('POST', '/api/auth/oauth/codes', {
      token: user.accessToken,
      body: { redirect_uri: APP, code_challenge: challenge },
    });
    const app = createClient({ baseUrl: t.baseUrl, anonKey: t.anonKey, isServerMode: true });
    const { data, error } = await app.auth.exchangeOAuthCode(
      codeOf(again.body.redirectTo),
      verifier,
    );
    expect(error).toBeNull();
    expect(data?.user?.id).toBe(user.userId);
    const me = await t.request('GET', '/api/auth/sessions/current', {
      token: data!.accessToken!,
    });
    expect(me.body.user.email).toBe(user.email);

    const replay = await t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
      body: { code: codeOf(again.body.redirectTo), code_verifier: verifier },
    });
    expect(replay.status).toBe(400);
  });

  it.each([
    [
      'a disallowed redirect',
      { redirect_uri: 'https://evil.example.com/cb' },
      'AUTH_REDIRECT_NOT_ALLOWED',
    ],
    ['a plain challenge', { code_challenge: 'plain' }, 'INVALID_INPUT'],
    ['no challenge', { code_challenge: undefined }, 'INVALID_INPUT'],
  ])('refuses %s', async (_what, override, code) => {
    const user = await t.signUpUser();
    const res = await t.request('POST', '/api/auth/oauth/codes', {
      token: user.accessToken,
      body: { redirect_uri: APP, code_challenge: pkce().challenge, ...override },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(code);
  });

  it('needs a user session: not the anon key, an admin or nothing', async () => {
    const body = { redirect_uri: APP, code_challenge: pkce().challenge };
    for (const token of [null, t.anonKey, t.apiKey]) {
      const res = await t.request('POST', '/api/auth/oauth/codes', { token, body });
      expect(res.status).toBe(401);
    }
  });

  it('carries the second factor: a code from an aal2 session gives the app an aal2 session, an aal1 one asks for the factor', async () => {
    const email = `pages-mfa-${Date.now()}@example.com`;
    const password = 'correct horse battery';
    await admin('POST', '/api/auth/users', { email, password });
    const first = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { email, password },
    });
    const aal1Token = first.body.accessToken as string;
    const enroll = await t.request('POST', '/api/auth/mfa/totp/enroll', { token: aal1Token });
    const verified = await t.request('POST', '/api/auth/mfa/totp/verify', {
      token: aal1Token,
      body: { factorId: enroll.body.factorId, code: totpFor(enroll.body.secret).generate() },
    });
    expect(verified.status).toBe(200);
    const signIn = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { email, password },
    });
    expect(signIn.body.requireMfa).toBe(true);
    const { sub: userId } = expectAccessToken(aal1Token, {
      role: 'authenticated',
      email,
      aal: 'aal1',
    });
    expectMfaToken(signIn.body.mfaToken, userId);
    const challenged = await t.request('POST', '/api/auth/mfa/challenge?client_type=mobile', {
      body: { mfaToken: signIn.body.mfaToken, code: verified.body.recoveryCodes[0] },
    });
    expect(challenged.status).toBe(200);

    const { verifier, challenge } = pkce();
    const issued = await t.request('POST', '/api/auth/oauth/codes', {
      token: challenged.body.accessToken,
      body: { redirect_uri: APP, code_challenge: challenge },
    });
    const exchanged = await t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
      body: { code: codeOf(issued.body.redirectTo), code_verifier: verifier },
    });
    expect(exchanged.status).toBe(200);
    expectAccessToken(exchanged.body.accessToken, {
      sub: userId,
      role: 'authenticated',
      email,
      aal: 'aal2',
    });

    // The session from before the factor was enrolled is aal1: its code does not skip it.
    const pair = pkce();
    const weak = await t.request('POST', '/api/auth/oauth/codes', {
      token: aal1Token,
      body: { redirect_uri: APP, code_challenge: pair.challenge },
    });
    expect(weak.status).toBe(200);
    const asked = await t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
      body: { code: codeOf(weak.body.redirectTo), code_verifier: pair.verifier },
    });
    expect(asked.status).toBe(200);
    expect(asked.body).toMatchObject({ requireMfa: true, accessToken: null });
  });
});

describe('flow switches', () => {
  it('turns sign-in by mailed code and by mailed link off and on', async () => {
    await admin('PUT', '/api/auth/config', { allowEmailOtp: false, allowMagicLink: false });
    const otp = await t.request('POST', '/api/auth/email/send-otp', {
      body: { email: 'someone@example.com' },
    });
    expect(otp.status).toBe(403);
    expect(otp.body.error).toBe('AUTH_METHOD_DISABLED');
    const link = await t.request('POST', '/api/auth/email/send-magic-link', {
      body: { email: 'someone@example.com', redirectTo: APP },
    });
    expect(link.status).toBe(403);
    expect(link.body.error).toBe('AUTH_METHOD_DISABLED');
    const config = (await t.request('GET', '/api/auth/public-config')).body;
    expect(config).toMatchObject({ allowEmailOtp: false, allowMagicLink: false });

    await admin('PUT', '/api/auth/config', { allowEmailOtp: true });
    // Email is not configured in this app: past the switch, the send itself is what fails.
    const on = await t.request('POST', '/api/auth/email/send-otp', {
      body: { email: 'someone@example.com' },
    });
    expect(on.body.error).not.toBe('AUTH_METHOD_DISABLED');
    const stillOff = await t.request('POST', '/api/auth/email/send-otp', {
      body: { email: 'someone@example.com', redirectTo: APP },
    });
    expect(stillOff.body.error).toBe('AUTH_METHOD_DISABLED');
    await admin('PUT', '/api/auth/config', { allowMagicLink: true });
  });
});

describe('deleting your own account', () => {
  it('is refused until the project allows it, then ends the sessions and removes the user', async () => {
    const user = await t.signUpUser();
    const refused = await t.request('DELETE', '/api/auth/users/current', {
      token: user.accessToken,
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('AUTH_ACCOUNT_DELETION_DISABLED');

    await admin('PUT', '/api/auth/config', { allowAccountDeletion: true });
    const done = await t.request('DELETE', '/api/auth/users/current', {
      token: user.accessToken,
    });
    expect(done.status).toBe(200);
    // Ended sessions reach every instance's revocation list through a notification, so "within
    // seconds" (SECURITY.md), not before the DELETE's answer: wait for the token's refusal.
    await expect
      .poll(
        async () =>
          (await t.request('GET', '/api/auth/sessions/current', { token: user.accessToken }))
            .status,
        { timeout: 20_000 },
      )
      .toBe(401);
    expect((await admin('GET', `/api/auth/users/${user.userId}`)).status).toBe(404);
    const signIn = await t.request('POST', '/api/auth/sessions', {
      body: { email: user.email, password: user.password },
    });
    expect(signIn.status).toBe(401);
    // The API key is not a user: nothing to delete.
    expect((await admin('DELETE', '/api/auth/users/current')).status).toBe(401);
    await admin('PUT', '/api/auth/config', { allowAccountDeletion: false });
  });
});

describe('the pages themselves', () => {
  it("are served with a CSP that lets the project's logo come from any https URL, and scripts only from Kiln", async () => {
    const res = await fetch(`${t.baseUrl}/auth/sign-in`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/img-src 'self' data: https:/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    // The dashboard keeps images to its own origin.
    const dashboard = await fetch(`${t.baseUrl}/dashboard/`);
    expect(dashboard.headers.get('content-security-policy')).toMatch(/img-src 'self' data:(;|$)/);
  });
});

describe('changing your password on the account page', () => {
  it('needs the current password, applies the policy, and signs out the other sessions only', async () => {
    const user = await t.signUpUser();
    const other = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { email: user.email, password: user.password },
    });
    const change = (body: object, token: string | null = user.accessToken) =>
      t.request('POST', '/api/auth/users/current/password', { token, body });

    const wrong = await change({ currentPassword: 'not it', newPassword: 'A-new-password-1' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: 'AUTH_INVALID_CREDENTIALS' });
    expect(wrong.body.message).toMatch(/^currentPassword: /);
    const missing = await change({ newPassword: 'A-new-password-1' });
    expect(missing.status).toBe(401);
    const weak = await change({ currentPassword: user.password, newPassword: 'x' });
    expect(weak.status).toBe(400);
    expect(weak.body.error).toBe('AUTH_WEAK_PASSWORD');
    expect((await change({ newPassword: 'A-new-password-1' }, t.anonKey)).status).toBe(401);

    const ok = await change({ currentPassword: user.password, newPassword: 'A-new-password-1' });
    expect(ok.status).toBe(200);
    // This session goes on; the other one ended.
    const me = await t.request('GET', '/api/auth/sessions/current', { token: user.accessToken });
    expect(me.status).toBe(200);
    const gone = await t.request('GET', '/api/auth/sessions/current', {
      token: other.body.accessToken,
    });
    expect(gone.status).toBe(401);
    const oldPassword = await t.request('POST', '/api/auth/sessions', {
      body: { email: user.email, password: user.password },
    });
    expect(oldPassword.status).toBe(401);
    const newPassword = await t.request('POST', '/api/auth/sessions', {
      body: { email: user.email, password: 'A-new-password-1' },
    });
    expect(newPassword.status).toBe(200);
  });
});

describe('changing your address on the account page', () => {
  const smtp = new SmtpCapture();
  beforeAll(async () => {
    await smtp.start();
    const put = await admin('PUT', '/api/auth/smtp-config', {
      enabled: true,
      host: '127.0.0.1',
      port: smtp.port,
      fromEmail: 'auth@kiln.test',
    });
    expect(put.status).toBe(200);
  });
  afterAll(() => smtp.stop());

  it('mails a code to the new address; only that user, with that code, moves to it', async () => {
    const user = await t.signUpUser();
    const other = await t.signUpUser();
    const next = `moved-${crypto.randomBytes(4).toString('hex')}@example.com`;
    const ask = (token: string, email: string) =>
      t.request('POST', '/api/auth/users/current/email', { token, body: { email } });
    const confirm = (token: string, email: string, code: string) =>
      t.request('POST', '/api/auth/users/current/email/verify', { token, body: { email, code } });

    expect((await ask(user.accessToken, other.email)).body.error).toBe('AUTH_EMAIL_EXISTS');
    expect((await ask(user.accessToken, user.email)).status).toBe(400);
    expect((await ask(user.accessToken, 'not-an-address')).body.error).toBe('AUTH_INVALID_EMAIL');
    expect((await ask(t.anonKey, next)).status).toBe(401);

    const before = smtp.messages.length;
    const asked = await ask(user.accessToken, next);
    expect(asked.status).toBe(202);
    const code = codeIn(await smtp.next(next, before))!;
    expect(code).toMatch(/^\d{6}$/);
    // Nothing went to the old address.
    expect(smtp.count(user.email)).toBe(0);

    // Another user cannot use it, nor can it move the account to another address.
    expect((await confirm(other.accessToken, next, code)).body.error).toBe('AUTH_INVALID_OTP');
    const third = `third-${crypto.randomBytes(4).toString('hex')}@example.com`;
    expect((await confirm(user.accessToken, third, code)).body.error).toBe('AUTH_INVALID_OTP');
    const wrong = code === '000000' ? '111111' : '000000';
    expect((await confirm(user.accessToken, next, wrong)).body.error).toBe('AUTH_INVALID_OTP');

    const done = await confirm(user.accessToken, next, code);
    expect(done.status).toBe(200);
    expect(done.body.user).toMatchObject({ id: user.userId, email: next, emailVerified: true });
    expect((await confirm(user.accessToken, next, code)).status).toBe(400);
    const signIn = (email: string) =>
      t.request('POST', '/api/auth/sessions', { body: { email, password: user.password } });
    expect((await signIn(next)).status).toBe(200);
    expect((await signIn(user.email)).status).toBe(401);
  });
});

describe('linked identities on the account page', () => {
  const sql = async (text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: pgUrl(t.database) });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  const link = (userId: string, provider: string) =>
    sql(
      `WITH i AS (INSERT INTO auth.identities (user_id, provider, provider_user_id)
                  VALUES ($1, $2, gen_random_uuid()::text) RETURNING id)
       UPDATE auth.users SET identity_providers = array_append(identity_providers, $2)
        WHERE id = $1 RETURNING (SELECT id FROM i)`,
      [userId, provider],
    ).then((rows) => rows[0].id as string);

  it('lists them, starts a link with PKCE for an allowed redirect, and unlinks all but the last way in', async () => {
    const user = await t.signUpUser();
    const list = () =>
      t.request('GET', '/api/auth/users/current/identities', { token: user.accessToken });
    expect((await list()).body).toEqual({ identities: [] });

    const start = (body: object) =>
      t.request('POST', '/api/auth/users/current/identities', {
        token: user.accessToken,
        body: { provider: 'github', redirect_uri: APP, code_challenge: pkce().challenge, ...body },
      });
    const started = await start({});
    expect(started.status).toBe(200);
    const authUrl = new URL(started.body.authUrl);
    expect(authUrl.searchParams.get('client_id')).toBe('gh');
    const [state] = await sql('SELECT link_user_id FROM auth.oauth_states WHERE id = $1', [
      authUrl.searchParams.get('state'),
    ]);
    expect(state.link_user_id).toBe(user.userId);
    expect((await start({ redirect_uri: 'https://evil.example.com/cb' })).body.error).toBe(
      'AUTH_REDIRECT_NOT_ALLOWED',
    );
    expect((await start({ provider: 'nobody' })).body.error).toBe('AUTH_OAUTH_PROVIDER_NOT_FOUND');
    expect(
      (
        await t.request('POST', '/api/auth/users/current/identities', {
          token: t.anonKey,
          body: { provider: 'github', redirect_uri: APP, code_challenge: pkce().challenge },
        })
      ).status,
    ).toBe(401);

    const github = await link(user.userId, 'github');
    const google = await link(user.userId, 'google');
    expect((await list()).body.identities.map((i: { provider: string }) => i.provider)).toEqual([
      'github',
      'google',
    ]);
    const unlink = (id: string, token = user.accessToken) =>
      t.request('DELETE', `/api/auth/users/current/identities/${id}`, { token });
    const other = await t.signUpUser();
    expect((await unlink(github, other.accessToken)).body.error).toBe('AUTH_IDENTITY_NOT_FOUND');
    const done = await unlink(github);
    expect(done.status).toBe(200);
    expect(done.body.user.providers).toEqual(['email', 'google']);
    // With a password, the last identity may go too; without one, it may not.
    await sql('UPDATE auth.users SET password_hash = NULL WHERE id = $1', [user.userId]);
    const last = await unlink(google);
    expect(last.status).toBe(400);
    expect(last.body.error).toBe('AUTH_LAST_SIGN_IN_METHOD');
    expect((await list()).body.identities).toHaveLength(1);
  });
});
