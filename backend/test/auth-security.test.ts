/**
 * Issue 15, auth items:
 * 3. an inbox proof (one-time code, magic link, reset, OAuth, ID token) never removes or skips a
 *    second factor; a factor needs a proven inbox, so a squatter cannot enrol one either;
 * 4. a password chosen before the inbox was proven survives verification (link or code) only when
 *    the verification comes from the client that chose it;
 * 7. with sign-up disabled, no path creates an account (anonymous upgrade included).
 * Real HTTP, real PostgreSQL, real SMTP (smtp-server), @insforge/sdk in server and web mode,
 * ID tokens signed by a key served on loopback, OAuth against local stand-ins.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '@insforge/sdk';
import makeFetchCookie from 'fetch-cookie';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { JSDOM } from 'jsdom';
import { CookieJar } from 'tough-cookie';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpFor } from '../src/auth/mfa.js';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/core/logger.js';
import { FakeOAuthProviders } from './fake-oauth-providers.js';
import { codeIn, linkIn, SmtpCapture } from './smtp-capture.js';
import { expectMfaToken, expectOpaqueToken, startTestApp, type TestApp } from './helpers.js';

const GOOGLE_CLIENT = 'kiln-sec.apps.googleusercontent.com';
const APP = 'https://app.example.com/done';

let t: TestApp;
let jwks: http.Server;
let signingKey: CryptoKey;
let dom: JSDOM;
const smtp = new SmtpCapture();
const fake = new FakeOAuthProviders();

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  await smtp.start();
  await fake.start();
  t = await startTestApp(
    {},
    {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtp.port),
      SMTP_FROM_EMAIL: 'no-reply@kiln.test',
      OAUTH_TEST_BASE_URL: fake.url,
      GOOGLE_CLIENT_ID: GOOGLE_CLIENT,
      GOOGLE_CLIENT_SECRET: 'google-secret',
      GOOGLE_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`,
    },
  );
  await admin('PUT', '/api/auth/config', { allowedRedirectUrls: ['https://app.example.com/*'] });
  // The SDK in web mode keeps its CSRF token in document.cookie.
  dom = new JSDOM('<!doctype html><p>app</p>', { url: 'http://app.localhost:5173/' });
  Object.assign(globalThis, { window: dom.window, document: dom.window.document });
});
afterAll(async () => {
  delete (globalThis as Record<string, unknown>).window;
  delete (globalThis as Record<string, unknown>).document;
  dom?.window.close();
  await t?.stop();
  await smtp.stop();
  await fake.stop();
  await new Promise((r) => jwks?.close(r));
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });
const unique = (tag: string) => `${tag}-${crypto.randomBytes(4).toString('hex')}@example.com`;
const serverSdk = () =>
  createClient({ baseUrl: t.baseUrl, anonKey: t.anonKey, isServerMode: true, retryCount: 0 });
/** The SDK as a browser runs it: cookies kept by a jar (the httpOnly ones included). */
const browserSdk = () => {
  const jar = new CookieJar();
  return {
    jar,
    fetch: makeFetchCookie(fetch, jar),
    client: createClient({
      baseUrl: t.baseUrl,
      anonKey: t.anonKey,
      fetch: makeFetchCookie(fetch, jar) as typeof fetch,
      retryCount: 0,
      auth: { detectOAuthCallback: false },
    }),
  };
};
const pkce = () => {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
};
const signIn = (email: string, password: string) =>
  t.request('POST', '/api/auth/sessions?client_type=mobile', { body: { email, password } });

async function withConfig<T>(patch: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
  const before = (await admin('GET', '/api/auth/config')).body;
  expect((await admin('PUT', '/api/auth/config', patch)).status).toBe(200);
  try {
    return await fn();
  } finally {
    await admin(
      'PUT',
      '/api/auth/config',
      Object.fromEntries(Object.keys(patch).map((k) => [k, before[k]])),
    );
  }
}

/** Mails something to `email` by calling `send`, and answers the mail. */
async function mailed(email: string, send: () => Promise<unknown>) {
  const before = smtp.messages.length;
  await send();
  return smtp.next(email, before);
}
const otpCode = async (email: string) =>
  codeIn(
    await mailed(email, () => t.request('POST', '/api/auth/email/send-otp', { body: { email } })),
  )!;

function googleIdToken(claims: Record<string, unknown>) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer('https://accounts.google.com')
    .setAudience(GOOGLE_CLIENT)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(signingKey);
}

/** An OAuth sign-in with Google (the stand-in answers `profile`); the app's landing URL. */
async function googleOAuth(profile: Record<string, unknown>, challenge: string, token?: string) {
  fake.overrides.set('google/v1/userinfo', profile);
  try {
    const start = await t.request(
      'GET',
      `/api/auth/oauth/google?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}`,
      token ? { token } : {},
    );
    expect(start.status, JSON.stringify(start.body)).toBe(200);
    const atProvider = await fetch(start.body.authUrl, { redirect: 'manual' });
    const callback = await fetch(atProvider.headers.get('location')!, { redirect: 'manual' });
    expect(callback.status).toBe(302);
    return new URL(callback.headers.get('location')!);
  } finally {
    fake.overrides.clear();
  }
}

/** Proves the inbox of a signed-in user through the verification code, in their own client. */
async function proveInbox(user: Awaited<ReturnType<TestApp['signUpUser']>>) {
  const mail = await mailed(user.email, () =>
    user.client.auth.resendVerificationEmail({ email: user.email }),
  );
  const verified = await user.client.auth.verifyEmail({ email: user.email, otp: codeIn(mail)! });
  expect(verified.error).toBeNull();
  return verified.data as unknown as Record<string, unknown>;
}

describe('item 3: proving the inbox never removes or skips a second factor', () => {
  it('a factor needs a proven inbox: enrolment on an account signed up without verification is refused with what to do', async () => {
    const user = await t.signUpUser({ email: unique('enrol') });
    const refused = await t.request('POST', '/api/auth/mfa/totp/enroll', {
      token: user.accessToken,
      body: {},
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      error: 'AUTH_NEED_VERIFICATION',
      statusCode: 403,
      nextActions: expect.stringContaining('/api/auth/email/send-verification'),
    });
    expect(
      (await t.app.db.query('SELECT 1 FROM auth.mfa_factors WHERE user_id = $1', [user.userId]))
        .rowCount,
    ).toBe(0);

    // The user proves it in their signed-in app (the SDK sends their session along): the
    // password they chose stays, and a factor can be added.
    const proven = await proveInbox(user);
    expect(proven.passwordCleared).toBeUndefined();
    expect((await signIn(user.email, user.password)).status).toBe(200);
    const enroll = await t.request('POST', '/api/auth/mfa/totp/enroll', {
      token: user.accessToken,
      body: {},
    });
    expect(enroll.status).toBe(201);

    // The database holds the same rule, whatever code path would add a factor.
    const squat = await t.signUpUser({ email: unique('squat-db') });
    await expect(
      t.app.db.query(
        `INSERT INTO auth.mfa_factors (user_id, secret_encrypted, status) VALUES ($1, 'x', 'verified')`,
        [squat.userId],
      ),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('one-time code, magic link, OAuth, ID token and reset all stop at the second factor, which stays', async () => {
    const user = await t.signUpUser({ email: unique('mfa-owner') });
    await proveInbox(user);
    const enroll = await t.request('POST', '/api/auth/mfa/totp/enroll', {
      token: user.accessToken,
      body: {},
    });
    const totp = totpFor(enroll.body.secret);
    const activated = await t.request('POST', '/api/auth/mfa/totp/verify', {
      token: user.accessToken,
      body: { factorId: enroll.body.factorId, code: totp.generate() },
    });
    expect(activated.status).toBe(200);
    const mfaStep = (body: Record<string, unknown>, flow: string) => {
      expect(body, flow).toMatchObject({ requireMfa: true, accessToken: null });
      expectMfaToken(body.mfaToken, user.userId);
      expect(body.refreshToken, flow).toBeUndefined();
    };

    // Someone who reads the mailbox: a one-time code...
    const byCode = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { method: 'otp', email: user.email, otp: await otpCode(user.email) },
    });
    mfaStep(byCode.body, 'one-time code');
    // ...a magic link...
    const magic = new URL(
      linkIn(
        await mailed(user.email, () =>
          t.request('POST', '/api/auth/email/send-magic-link', {
            body: { email: user.email, redirectTo: 'https://app.example.com/magic' },
          }),
        ),
      )!,
    );
    const byLink = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { method: 'otp', email: user.email, otp: magic.searchParams.get('token') },
    });
    mfaStep(byLink.body, 'magic link');
    // ...a provider that vouches for the address (OAuth, then a native ID token)...
    const { verifier, challenge } = pkce();
    const landed = await googleOAuth(
      { sub: `g-${crypto.randomUUID()}`, email: user.email, email_verified: true },
      challenge,
    );
    const byOAuth = await t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
      body: { code: landed.searchParams.get('insforge_code'), code_verifier: verifier },
    });
    mfaStep(byOAuth.body, 'OAuth');
    const byIdToken = await t.request('POST', '/api/auth/id-token?client_type=mobile', {
      body: {
        provider: 'google',
        token: await googleIdToken({
          sub: `g-${crypto.randomUUID()}`,
          email: user.email,
          email_verified: true,
        }),
      },
    });
    mfaStep(byIdToken.body, 'ID token');
    // ...and a password reset by mail: the new password is a first factor like the old one.
    const resetCode = codeIn(
      await mailed(user.email, () =>
        t.request('POST', '/api/auth/email/send-reset-password', { body: { email: user.email } }),
      ),
    )!;
    const exchanged = await t.request('POST', '/api/auth/email/exchange-reset-password-token', {
      body: { email: user.email, code: resetCode },
    });
    expect(
      (
        await t.request('POST', '/api/auth/email/reset-password', {
          body: { newPassword: 'taken over by mail', otp: exchanged.body.token },
        })
      ).status,
    ).toBe(200);
    const afterReset = await signIn(user.email, 'taken over by mail');
    mfaStep(afterReset.body, 'reset');

    // The factor is still there and still the only way in.
    const done = await t.request('POST', '/api/auth/mfa/challenge?client_type=mobile', {
      body: {
        mfaToken: afterReset.body.mfaToken,
        code: totp.generate({ timestamp: Date.now() + 30_000 }),
      },
    });
    expect(done.status).toBe(200);
    const factors = await t.request('GET', '/api/auth/mfa/factors', {
      token: done.body.accessToken,
    });
    expect(factors.body.factors).toEqual([
      expect.objectContaining({ id: enroll.body.factorId, status: 'verified' }),
    ]);
  });
});

describe('the first proof of the inbox leaves the squatter nothing', () => {
  it('a provider sign-in the squatter started but has not finished (its OAuth code) is void', async () => {
    const victim = unique('oauth-squat');
    // The squatter signs the address up through a provider that does not vouch for it, and keeps
    // a finished provider round trip in hand (its code, valid for two minutes) without using it.
    const { verifier, challenge } = pkce();
    const landed = await googleOAuth(
      { sub: `g-${crypto.randomUUID()}`, email: victim, email_verified: false },
      challenge,
    );
    const code = expectOpaqueToken(landed.searchParams.get('insforge_code'));
    // The owner of the address proves it with a one-time code: the account is theirs now.
    const owner = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { method: 'otp', email: victim, otp: await otpCode(victim) },
    });
    expect(owner.status).toBe(200);
    // The squatter's code no longer opens it.
    const late = await t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
      body: { code, code_verifier: verifier },
    });
    expect(late.status).toBe(400);
    expect(late.body.error).toBe('AUTH_OAUTH_INVALID_CODE');
  });
});

describe('item 4: a password chosen before the inbox was proven', () => {
  it('a link opened outside the browser that signed up (a scanner, the victim) verifies but discards the password; in that browser it keeps it', async () => {
    await withConfig({ requireEmailVerification: true, verifyEmailMethod: 'link' }, async () => {
      const victim = unique('prehijack-link');
      // The attacker signs the victim's address up with a password of their own.
      const mail = await mailed(victim, () =>
        t.request('POST', '/api/auth/users?client_type=mobile', {
          body: {
            email: victim,
            password: 'attacker password 1',
            redirectTo: 'https://app.example.com/verified',
          },
        }),
      );
      // A mail scanner (or the victim) opens the link.
      const opened = await fetch(linkIn(mail)!, { redirect: 'manual' });
      expect(opened.status).toBe(302);
      const attacker = await signIn(victim, 'attacker password 1');
      expect(attacker.status).toBe(401);
      expect(attacker.body.error).toBe('AUTH_INVALID_CREDENTIALS');
      // The app learns the address is verified and that the password must be set.
      const landing = new URL(opened.headers.get('location')!);
      expect(landing.searchParams.get('insforge_status')).toBe('success');
      expect(landing.searchParams.get('insforge_password')).toBe('reset_required');
      // The owner sets a password through the reset flow.
      const code = codeIn(
        await mailed(victim, () =>
          t.request('POST', '/api/auth/email/send-reset-password', { body: { email: victim } }),
        ),
      )!;
      const sdk = serverSdk();
      const token = (await sdk.auth.exchangeResetPasswordToken({ email: victim, code })).data!
        .token;
      expect(
        (await sdk.auth.resetPassword({ newPassword: 'owner password 1', otp: token })).error,
      ).toBeNull();
      expect((await signIn(victim, 'owner password 1')).status).toBe(200);

      // Without a redirect, the landing page says the same.
      const other = unique('prehijack-page');
      const mail2 = await mailed(other, () =>
        t.request('POST', '/api/auth/users?client_type=mobile', {
          body: { email: other, password: 'attacker password 1' },
        }),
      );
      const page = await fetch(linkIn(mail2)!);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/Forgot password/);
      expect((await signIn(other, 'attacker password 1')).status).toBe(401);

      // A password an admin set is nobody's squat: it survives the link wherever it is opened.
      const invited = unique('invited');
      const created = await admin('POST', '/api/auth/users', {
        email: invited,
        password: 'set by the admin 1',
        autoConfirm: false,
      });
      expect(created.body.user.emailVerified).toBe(false);
      const mail3 = await mailed(invited, () =>
        t.request('POST', '/api/auth/email/send-verification', { body: { email: invited } }),
      );
      expect(await (await fetch(linkIn(mail3)!)).text()).toMatch(/close this page and sign in/);
      expect((await signIn(invited, 'set by the admin 1')).status).toBe(200);

      // Opened in the browser that signed up (the SDK's cookies), the link keeps the password.
      const own = unique('own-link');
      const browser = browserSdk();
      const ownMail = await mailed(own, () =>
        browser.client.auth.signUp({ email: own, password: 'my own password 1' }),
      );
      const ownPage = await browser.fetch(linkIn(ownMail)!);
      expect(ownPage.status).toBe(200);
      expect(await ownPage.text()).toMatch(/close this page and sign in/);
      expect((await signIn(own, 'my own password 1')).status).toBe(200);
    });
  });

  it('another site cannot plant its binding in the victim’s browser: over HTTPS the binding cookie is SameSite=Lax', async () => {
    // An HTTPS deployment (session cookies SameSite=None; CORS reflecting any origin by default).
    const secure = await createApp(
      { ...t.app.config, apiBaseUrl: 'https://kiln.example.com' },
      { logger: createLogger({ level: 'error', stdout: true }) },
    );
    const local = `http://127.0.0.1:${(await secure.listen(0, '127.0.0.1')).port}`;
    const origin = 'https://kiln.example.com';
    /** The victim's browser: tough-cookie applies the SameSite rules to what it stores and sends. */
    const browser = new CookieJar();
    const signUpFrom = async (context: 'none' | 'strict', email: string, password: string) => {
      const res = await fetch(`${local}/api/auth/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example.net' },
        body: JSON.stringify({ email, password }),
      });
      expect(res.status).toBe(201);
      for (const c of res.headers.getSetCookie())
        await browser.setCookie(c, `${origin}/api/auth/users`, {
          sameSiteContext: context,
          ignoreError: true,
        });
    };
    /** The victim opens the mailed link: a top-level navigation from the mail client. */
    const openLink = async (mail: Awaited<ReturnType<typeof smtp.next>>) => {
      const link = new URL(linkIn(mail)!);
      const cookie = await browser.getCookieString(link.toString(), { sameSiteContext: 'lax' });
      return fetch(`${local}${link.pathname}${link.search}`, { headers: { cookie } });
    };
    try {
      await withConfig({ requireEmailVerification: true, verifyEmailMethod: 'link' }, async () => {
        // A page the victim visits signs their address up, from their browser, with its password.
        const victim = unique('planted');
        const mail = await mailed(victim, () => signUpFrom('none', victim, 'attacker password 1'));
        const page = await openLink(mail);
        expect(await page.text()).toMatch(/Forgot password/);
        expect((await signIn(victim, 'attacker password 1')).status).toBe(401);

        // The app's own pages (same site) still bind the password to the browser that chose it.
        const own = unique('same-site');
        const ownMail = await mailed(own, () => signUpFrom('strict', own, 'my own password 1'));
        expect(await (await openLink(ownMail)).text()).toMatch(/close this page and sign in/);
        expect((await signIn(own, 'my own password 1')).status).toBe(200);
      });
    } finally {
      await secure.close();
    }
  });

  it('code used in another client discards the password; in the client that chose it (cookie, codeVerifier) it stays', async () => {
    await withConfig({ requireEmailVerification: true, verifyEmailMethod: 'code' }, async () => {
      // The attacker's client signs up; the victim types the code into their own client.
      const victim = unique('prehijack-code');
      await mailed(victim, () =>
        serverSdk().auth.signUp({ email: victim, password: 'attacker password 1' }),
      );
      const code = codeIn(
        await mailed(victim, () => serverSdk().auth.resendVerificationEmail({ email: victim })),
      )!;
      const verified = await serverSdk().auth.verifyEmail({ email: victim, otp: code });
      expect(verified.error).toBeNull();
      expect((await signIn(victim, 'attacker password 1')).status).toBe(401);
      expect(verified.data).toMatchObject({ passwordCleared: true, user: { email: victim } });
      expect(verified.data?.user?.providers).not.toContain('email');

      // A browser app: the SDK's own cookies carry the binding.
      const own = unique('own-code');
      const browser = browserSdk();
      const mail = await mailed(own, () =>
        browser.client.auth.signUp({ email: own, password: 'my own password 1' }),
      );
      const mine = await browser.client.auth.verifyEmail({ email: own, otp: codeIn(mail)! });
      expect(mine.error).toBeNull();
      expect((mine.data as Record<string, unknown>).passwordCleared).toBeUndefined();
      expect((await signIn(own, 'my own password 1')).status).toBe(200);

      // A server or mobile app: its own verifier, sent through the SDK.
      const { verifier, challenge } = pkce();
      const client = serverSdk();
      // Signs up `email` with the app's challenge and verifies it with `codeVerifier`.
      const signUpAndVerify = async (email: string, codeVerifier: string) => {
        const mail = await mailed(email, () =>
          client.auth.signUp({
            email,
            password: 'my own password 1',
            codeChallenge: challenge,
          } as Parameters<typeof client.auth.signUp>[0]),
        );
        return client.auth.verifyEmail({
          email,
          otp: codeIn(mail)!,
          codeVerifier,
        } as Parameters<typeof client.auth.verifyEmail>[0]);
      };
      const app = unique('own-pkce');
      const wrong = await signUpAndVerify(app, pkce().verifier);
      // A verifier that does not match binds nothing: the code proved the inbox, the password went.
      expect((wrong.data as Record<string, unknown>).passwordCleared).toBe(true);
      expect((await signIn(app, 'my own password 1')).status).toBe(401);

      const app2 = unique('own-pkce2');
      const right = await signUpAndVerify(app2, verifier);
      expect(right.error).toBeNull();
      expect((right.data as Record<string, unknown>).passwordCleared).toBeUndefined();
      expect((await signIn(app2, 'my own password 1')).status).toBe(200);

      // A malformed challenge is a 400, not a silent downgrade.
      const bad = await t.request('POST', '/api/auth/users', {
        body: { email: unique('bad'), password: 'my own password 1', codeChallenge: 'short' },
      });
      expect(bad.status).toBe(400);
    });
  });
});

describe('item 7: with sign-up disabled no path creates an account', () => {
  it('refuses the anonymous upgrade (password and provider), first sign-ins by code, magic link, OAuth and ID token', async () => {
    const existing = await t.signUpUser({ email: unique('existing') });
    // A code mailed while sign-up was open does not create the account once it is closed.
    const early = unique('early');
    const earlyCode = await otpCode(early);
    await withConfig({ disableSignup: true, allowAnonymousSignIn: true }, async () => {
      const late = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
        body: { method: 'otp', email: early, otp: earlyCode },
      });
      expect(late.status).toBe(403);
      expect(late.body.error).toBe('AUTH_SIGNUP_DISABLED');

      const anon = await t.request('POST', '/api/auth/anonymous?client_type=mobile');
      expect(anon.status).toBe(201);
      const upgrade = await t.request('POST', '/api/auth/anonymous/upgrade?client_type=mobile', {
        token: anon.body.accessToken,
        body: { email: unique('upgrade'), password: 'correct horse battery' },
      });
      expect(upgrade.status).toBe(403);
      expect(upgrade.body.error).toBe('AUTH_SIGNUP_DISABLED');
      const still = await t.request('GET', '/api/auth/sessions/current', {
        token: anon.body.accessToken,
      });
      expect(still.body.user.isAnonymous).toBe(true);

      // Upgrading through a provider: refused when the provider answers, back to the app.
      const { challenge } = pkce();
      const viaProvider = await googleOAuth(
        { sub: `g-${crypto.randomUUID()}`, email: unique('anon-google'), email_verified: true },
        challenge,
        anon.body.accessToken,
      );
      expect(viaProvider.searchParams.get('insforge_code')).toBeNull();
      expect(viaProvider.searchParams.get('error')).toBe('AUTH_SIGNUP_DISABLED');

      // A first OAuth sign-in and a first ID-token sign-in.
      const fresh = await googleOAuth(
        { sub: `g-${crypto.randomUUID()}`, email: unique('new-google'), email_verified: true },
        challenge,
      );
      expect(fresh.searchParams.get('error')).toBe('AUTH_SIGNUP_DISABLED');
      const idToken = await t.request('POST', '/api/auth/id-token?client_type=mobile', {
        body: {
          provider: 'google',
          token: await googleIdToken({
            sub: `g-${crypto.randomUUID()}`,
            email: unique('new-id'),
            email_verified: true,
          }),
        },
      });
      expect(idToken.status).toBe(403);
      expect(idToken.body.error).toBe('AUTH_SIGNUP_DISABLED');

      // A one-time code or magic link for an unknown address sends nothing and creates nobody.
      const stranger = unique('stranger');
      for (const path of ['/api/auth/email/send-otp', '/api/auth/email/send-magic-link'])
        expect(
          (
            await t.request('POST', path, {
              body: { email: stranger, redirectTo: 'https://app.example.com/magic' },
            })
          ).status,
        ).toBe(202);
      // Existing users still sign in with a code (that is not a sign-up). Their mail was asked
      // for after the stranger's, so by the time it arrives the stranger's had its turn.
      const byCode = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
        body: { method: 'otp', email: existing.email, otp: await otpCode(existing.email) },
      });
      expect(byCode.status).toBe(200);
      expect(byCode.body.user.id).toBe(existing.userId);
      expect(smtp.count(stranger)).toBe(0);
      const codes = await t.app.db.query('SELECT 1 FROM auth.email_codes WHERE email = $1', [
        stranger,
      ]);
      expect(codes.rowCount).toBe(0);
      const users = await admin('GET', `/api/auth/users?search=${encodeURIComponent(stranger)}`);
      expect(users.body.pagination.total).toBe(0);
    });
  });
});
