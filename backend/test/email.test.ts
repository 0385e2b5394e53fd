import crypto from 'node:crypto';
import { createClient } from '@insforge/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeIn, linkIn, SmtpCapture } from './smtp-capture.js';
import { expectAccessToken, expectOpaqueToken, startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
const smtp = new SmtpCapture();
beforeAll(async () => {
  await smtp.start();
  t = await startTestApp(
    {},
    {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtp.port),
      SMTP_FROM_EMAIL: 'no-reply@kiln.test',
      SMTP_FROM_NAME: 'Kiln Test',
      // Users' send-raw is off by default (safe-defaults.test.ts); these tests exercise it on.
      EMAIL_SEND_RAW_USERS: 'true',
    },
  );
});
afterAll(async () => {
  await t?.stop();
  await smtp.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });
const sdk = () =>
  createClient({ baseUrl: t.baseUrl, anonKey: t.anonKey, isServerMode: true, retryCount: 0 });
const unique = (tag: string) => `${tag}-${Math.random().toString(36).slice(2, 8)}@example.com`;

async function withConfig<T>(patch: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
  const before = (await admin('GET', '/api/auth/config')).body;
  expect((await admin('PUT', '/api/auth/config', patch)).status).toBe(200);
  try {
    return await fn();
  } finally {
    const restore = Object.fromEntries(Object.keys(patch).map((k) => [k, before[k]]));
    await admin('PUT', '/api/auth/config', restore);
  }
}

describe('email verification', () => {
  it('by code: sign-up asks for verification, sign-in is refused until the mailed code is used', async () => {
    await withConfig({ requireEmailVerification: true, verifyEmailMethod: 'code' }, async () => {
      const client = sdk();
      const email = unique('verify');
      const sent = smtp.messages.length;
      // A server-mode client binds its password to itself with a PKCE-style challenge (without
      // it, a code used with no session of the account would discard the password).
      const codeVerifier = 'v'.repeat(43);
      const codeChallenge = crypto.createHash('sha256').update(codeVerifier).digest('base64url');
      const { data } = await client.auth.signUp({
        email,
        password: 'correct horse battery',
        codeChallenge,
      } as Parameters<typeof client.auth.signUp>[0]);
      expect(data).toMatchObject({ accessToken: null, requireEmailVerification: true });
      const mail = await smtp.next(email, sent);
      expect(mail.from).toBe('no-reply@kiln.test');
      expect(mail.subject).toMatch(/verification code/);
      const code = codeIn(mail)!;
      expect(code).toMatch(/^\d{6}$/);
      expect(mail.html).toContain(code);

      const refused = await client.auth.signInWithPassword({
        email,
        password: 'correct horse battery',
      });
      expect(refused.error?.error).toBe('AUTH_NEED_VERIFICATION');
      const wrong = await client.auth.verifyEmail({
        email,
        otp: code === '000000' ? '111111' : '000000',
      });
      expect(wrong.error?.error).toBe('AUTH_INVALID_OTP');
      const verified = await client.auth.verifyEmail({
        email,
        otp: code,
        codeVerifier,
      } as Parameters<typeof client.auth.verifyEmail>[0]);
      expect(verified.error).toBeNull();
      expect(verified.data?.user).toMatchObject({ email, emailVerified: true });
      expectAccessToken(verified.data?.accessToken, {
        sub: verified.data!.user!.id,
        role: 'authenticated',
        email,
        aal: 'aal1',
      });
      // Single use.
      expect((await client.auth.verifyEmail({ email, otp: code })).error?.error).toBe(
        'AUTH_INVALID_OTP',
      );
      const signedIn = await client.auth.signInWithPassword({
        email,
        password: 'correct horse battery',
      });
      expect(signedIn.error).toBeNull();
    });
  });

  it('burns a code after 5 wrong attempts', async () => {
    await withConfig({ requireEmailVerification: true, verifyEmailMethod: 'code' }, async () => {
      const client = sdk();
      const email = unique('burn');
      const sent = smtp.messages.length;
      await client.auth.signUp({ email, password: 'correct horse battery' });
      const code = codeIn(await smtp.next(email, sent))!;
      const wrong = code === '123456' ? '654321' : '123456';
      for (let i = 0; i < 5; i++)
        expect((await client.auth.verifyEmail({ email, otp: wrong })).error?.error).toBe(
          'AUTH_INVALID_OTP',
        );
      expect((await client.auth.verifyEmail({ email, otp: code })).error?.error).toBe(
        'AUTH_INVALID_OTP',
      );
      // A new code works.
      const again = smtp.messages.length;
      expect((await client.auth.resendVerificationEmail({ email })).error).toBeNull();
      const fresh = codeIn(await smtp.next(email, again))!;
      expect((await client.auth.verifyEmail({ email, otp: fresh })).error).toBeNull();
    });
  });

  it('a one-time code proves the inbox: a squatted password sign-up loses its password', async () => {
    const squat = await t.signUpUser({ email: unique('squat') });
    // The squatter cannot add a second factor to lock the owner out: that needs a proven inbox.
    const enroll = await t.request('POST', '/api/auth/mfa/totp/enroll', {
      token: squat.accessToken,
      body: {},
    });
    expect(enroll.body.error).toBe('AUTH_NEED_VERIFICATION');
    // A password sign-in of the squatter that checked the password just before the claim...
    const checked = await t.app.auth.authenticate(squat.email, squat.password);
    const sent = smtp.messages.length;
    await t.request('POST', '/api/auth/email/send-otp', { body: { email: squat.email } });
    const code = codeIn(await smtp.next(squat.email, sent))!;
    const owner = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { method: 'otp', email: squat.email, otp: code },
    });
    expect(owner.status).toBe(200);
    expect(owner.body.user.id).toBe(squat.userId);
    expect(owner.body.requireMfa ?? false).toBe(false);
    expectAccessToken(owner.body.accessToken, {
      sub: squat.userId,
      role: 'authenticated',
      aal: 'aal1',
    });
    expectOpaqueToken(owner.body.refreshToken);
    // ...cannot get its session once the claim is through.
    await expect(t.app.auth.startSession(checked, { clientType: 'mobile' })).rejects.toMatchObject({
      code: 'AUTH_INVALID_CREDENTIALS',
    });
    const byPassword = await t.request('POST', '/api/auth/sessions', {
      body: { email: squat.email, password: squat.password },
    });
    expect(byPassword.status).toBe(401);
    const oldSession = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken: squat.refreshToken },
    });
    expect(oldSession.status).toBe(401);
  });

  it('counts parallel guesses against one budget and lets a code work once', async () => {
    // A one-time sign-in code, raced by wrong guesses and by itself.
    const email = unique('race');
    const sent = smtp.messages.length;
    expect((await t.request('POST', '/api/auth/email/send-otp', { body: { email } })).status).toBe(
      202,
    );
    const code = codeIn(await smtp.next(email, sent))!;
    const wrong = code === '123456' ? '654321' : '123456';
    const signIn = (otp: string) =>
      t.request('POST', '/api/auth/sessions?client_type=mobile', {
        body: { method: 'otp', email, otp },
      });
    const results = await Promise.all([
      signIn(code),
      signIn(wrong),
      signIn(wrong),
      signIn(wrong),
      signIn(code),
    ]);
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    expect((await signIn(code)).body).toMatchObject({ statusCode: 400, error: 'AUTH_INVALID_OTP' });
    // Ten parallel wrong guesses at a fresh code burn it: the right one comes too late.
    const sent2 = smtp.messages.length;
    await t.request('POST', '/api/auth/email/send-otp', { body: { email } });
    const code2 = codeIn(await smtp.next(email, sent2))!;
    const wrong2 = code2 === '123456' ? '654321' : '123456';
    await Promise.all(Array.from({ length: 10 }, () => signIn(wrong2)));
    expect((await signIn(code2)).body).toMatchObject({
      statusCode: 400,
      error: 'AUTH_INVALID_OTP',
    });
  });

  it('by link: redirects to an allowed URL with the status; refuses others', async () => {
    await withConfig(
      {
        requireEmailVerification: true,
        verifyEmailMethod: 'link',
        allowedRedirectUrls: ['https://app.example.com/*'],
      },
      async () => {
        const email = unique('link');
        const sent = smtp.messages.length;
        const signUp = await t.request('POST', '/api/auth/users', {
          body: {
            email,
            password: 'correct horse battery',
            redirectTo: 'https://app.example.com/welcome',
          },
        });
        expect(signUp.body).toMatchObject({ requireEmailVerification: true });
        const link = linkIn(await smtp.next(email, sent))!;
        expect(link).toContain('/api/auth/email/verify-link?token=');
        const res = await fetch(link, { redirect: 'manual' });
        expect(res.status).toBe(302);
        const location = new URL(res.headers.get('location')!);
        expect(location.origin + location.pathname).toBe('https://app.example.com/welcome');
        expect(location.searchParams.get('insforge_status')).toBe('success');
        expect(location.searchParams.get('insforge_type')).toBe('verify_email');
        const again = await fetch(link, { redirect: 'manual' });
        expect(again.status).toBe(400);
        const user = (await admin('GET', `/api/auth/users?search=${encodeURIComponent(email)}`))
          .body.data[0];
        expect(user.emailVerified).toBe(true);

        const evil = await t.request('POST', '/api/auth/email/send-verification', {
          body: { email, redirectTo: 'https://evil.example.net/steal' },
        });
        expect(evil.status).toBe(400);
        expect(evil.body.error).toBe('AUTH_REDIRECT_NOT_ALLOWED');
      },
    );
  });

  it('answers sending requests the same for unknown addresses, and throttles them', async () => {
    const known = unique('known');
    await t.signUpUser({ email: known });
    const a = await t.request('POST', '/api/auth/email/send-reset-password', {
      body: { email: known },
    });
    const b = await t.request('POST', '/api/auth/email/send-reset-password', {
      body: { email: unique('nobody') },
    });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(a.body).toEqual(b.body);
    const target = unique('flood');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push(
        (await t.request('POST', '/api/auth/email/send-otp', { body: { email: target } })).status,
      );
    expect(statuses.slice(0, 5)).toEqual([202, 202, 202, 202, 202]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect(
      (await t.request('POST', '/api/auth/email/send-otp', { body: { email: 'not-an-email' } }))
        .status,
    ).toBe(400);
  });
});

describe('password reset', () => {
  it('by code: exchange for a token, set a new password, every session signed out', async () => {
    const user = await t.signUpUser();
    const client = sdk();
    const sent = smtp.messages.length;
    expect((await client.auth.sendResetPasswordEmail({ email: user.email })).error).toBeNull();
    const code = codeIn(await smtp.next(user.email, sent))!;
    const exchanged = await client.auth.exchangeResetPasswordToken({ email: user.email, code });
    expect(exchanged.error).toBeNull();
    expectOpaqueToken(exchanged.data?.token);
    expect(new Date(exchanged.data!.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const weak = await client.auth.resetPassword({ newPassword: '1', otp: exchanged.data!.token });
    expect(weak.error?.error).toBe('AUTH_WEAK_PASSWORD');
    // The weak attempt used the token.
    const again = smtp.messages.length;
    await client.auth.sendResetPasswordEmail({ email: user.email });
    const code2 = codeIn(await smtp.next(user.email, again))!;
    const token = (await client.auth.exchangeResetPasswordToken({ email: user.email, code: code2 }))
      .data!.token;
    const reset = await client.auth.resetPassword({
      newPassword: 'a brand new password',
      otp: token,
    });
    expect(reset.error).toBeNull();
    expect(reset.data?.message).toMatch(/Password changed/);
    // The old refresh token no longer works; the new password does.
    const refreshed = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken: user.refreshToken },
    });
    expect(refreshed.status).toBe(401);
    expect(
      (
        await client.auth.signInWithPassword({
          email: user.email,
          password: 'a brand new password',
        })
      ).error,
    ).toBeNull();
    expect(
      (await client.auth.resetPassword({ newPassword: 'another one please', otp: token })).error
        ?.error,
    ).toBe('AUTH_INVALID_TOKEN');
  });

  it('by link to the app', async () => {
    await withConfig(
      { resetPasswordMethod: 'link', allowedRedirectUrls: ['https://app.example.com/reset'] },
      async () => {
        const user = await t.signUpUser();
        const sent = smtp.messages.length;
        await t.request('POST', '/api/auth/email/send-reset-password', {
          body: { email: user.email, redirectTo: 'https://app.example.com/reset' },
        });
        const link = new URL(linkIn(await smtp.next(user.email, sent))!);
        expect(link.origin + link.pathname).toBe('https://app.example.com/reset');
        const token = link.searchParams.get('token')!;
        const reset = await sdk().auth.resetPassword({
          newPassword: 'reset by link 123',
          otp: token,
        });
        expect(reset.error).toBeNull();
        const signIn = await sdk().auth.signInWithPassword({
          email: user.email,
          password: 'reset by link 123',
        });
        expect(signIn.error).toBeNull();
      },
    );
  });
});

describe('one-time codes and magic links', () => {
  it('signs in (and signs up) with a mailed code through @insforge/sdk', async () => {
    const client = sdk();
    const email = unique('otp');
    const sent = smtp.messages.length;
    expect((await client.auth.signInWithOtp({ email })).error).toBeNull();
    const mail = await smtp.next(email, sent);
    expect(mail.subject).toMatch(/sign-in code/);
    const { data, error } = await client.auth.verifyOtp({ email, otp: codeIn(mail)! });
    expect(error).toBeNull();
    expect(data?.user).toMatchObject({ email, emailVerified: true });
    expectAccessToken(data?.accessToken, {
      sub: data!.user!.id,
      role: 'authenticated',
      email,
      aal: 'aal1',
    });
    expect((await client.auth.verifyOtp({ email, otp: codeIn(mail)! })).error?.error).toBe(
      'AUTH_INVALID_OTP',
    );
  });

  it('signs in with a magic link to an allowed URL', async () => {
    await withConfig({ allowedRedirectUrls: ['https://app.example.com/*'] }, async () => {
      const user = await t.signUpUser();
      const sent = smtp.messages.length;
      const res = await t.request('POST', '/api/auth/email/send-magic-link', {
        body: { email: user.email, redirectTo: 'https://app.example.com/magic' },
      });
      expect(res.status).toBe(202);
      const link = new URL(linkIn(await smtp.next(user.email, sent))!);
      expect(link.searchParams.get('insforge_type')).toBe('magic_link');
      const { data, error } = await sdk().auth.verifyOtp({
        email: link.searchParams.get('email')!,
        otp: link.searchParams.get('token')!,
      });
      expect(error).toBeNull();
      expect(data?.user?.id).toBe(user.userId);
    });
  });
});

describe('templates, SMTP settings and raw mail', () => {
  it('uses an admin’s template with variables, and refuses unknown variables', async () => {
    const list = await admin('GET', '/api/auth/email-templates');
    expect(list.body.templates.map((x: any) => x.type)).toContain('one-time-code');
    // The same templates in InsForge's shape, with ids that stay the same.
    expect(list.body.data.map((x: any) => x.templateType)).toEqual(
      list.body.templates.map((x: any) => x.type),
    );
    const otc = list.body.data.find((x: any) => x.templateType === 'one-time-code');
    expect(otc.bodyHtml).toBe(
      list.body.templates.find((x: any) => x.type === 'one-time-code').html,
    );
    expect((await admin('GET', '/api/auth/email-templates')).body.data[0].id).toBe(
      list.body.data[0].id,
    );
    expect(list.body.templates.find((x: any) => x.type === 'welcome')).toMatchObject({
      enabled: false,
      isDefault: true,
    });
    const bad = await admin('PUT', '/api/auth/email-templates/one-time-code', {
      subject: 'Code {{oops}}',
      html: '<p>{{code}}</p>',
      text: '{{code}}',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/oops/);
    expect(
      (await admin('PUT', '/api/auth/email-templates/nope', { subject: 'x', html: 'x', text: 'x' }))
        .status,
    ).toBe(404);
    const put = await admin('PUT', '/api/auth/email-templates/one-time-code', {
      subject: 'Hello {{email}}, your code',
      html: '<p>Code: <b>{{code}}</b> for {{appName}}</p>',
      text: 'Code {{code}} ({{expiresInMinutes}} min)',
    });
    expect(put.status).toBe(200);
    try {
      const email = unique('tmpl');
      const sent = smtp.messages.length;
      await sdk().auth.signInWithOtp({ email });
      const mail = await smtp.next(email, sent);
      expect(mail.subject).toBe(`Hello ${email}, your code`);
      expect(mail.text).toMatch(/^Code \d{6} \(10 min\)/);
      expect(mail.html).toContain('for Kiln Test');
    } finally {
      expect(
        (await admin('DELETE', '/api/auth/email-templates/one-time-code')).body.isDefault,
      ).toBe(true);
    }
  });

  it('runtime SMTP settings win over the environment, with the password stored encrypted', async () => {
    const other = new SmtpCapture();
    await other.start();
    try {
      const put = await admin('PUT', '/api/auth/smtp-config', {
        enabled: true,
        host: '127.0.0.1',
        port: other.port,
        username: 'mailer',
        password: 'smtp-pass-123',
        fromEmail: 'runtime@kiln.test',
        fromName: 'Runtime',
      });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ hasPassword: true, inForce: { source: 'database' } });
      // InsForge's names for the sender beside Kiln's; a stable uuid for the one settings row.
      expect(put.body).toMatchObject({
        senderEmail: 'runtime@kiln.test',
        senderName: 'Runtime',
        fromEmail: 'runtime@kiln.test',
        id: expect.stringMatching(
          /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        ),
      });
      expect((await admin('GET', '/api/auth/smtp-config')).body.id).toBe(put.body.id);
      expect(JSON.stringify(put.body)).not.toContain('smtp-pass-123');
      const stored = await t.app.db.query('SELECT password_encrypted FROM auth.smtp_config');
      expect(stored.rows[0]!.password_encrypted).toMatch(/^v1:/);
      const test = await admin('POST', '/api/auth/smtp-config/test', { to: 'admin@example.com' });
      expect(test.body).toMatchObject({ delivered: true, mode: 'smtp' });
      const mail = await other.next('admin@example.com');
      expect(mail.from).toBe('runtime@kiln.test');
      expect(other.logins).toContainEqual({ username: 'mailer', password: 'smtp-pass-123' });
      // InsForge's request names work too, and '' clears as null does.
      const renamed = await admin('PUT', '/api/auth/smtp-config', {
        senderEmail: 'insforge@kiln.test',
        senderName: '',
      });
      expect(renamed.body).toMatchObject({
        fromEmail: 'insforge@kiln.test',
        senderEmail: 'insforge@kiln.test',
        fromName: null,
        senderName: '',
      });
      const incomplete = await admin('PUT', '/api/auth/smtp-config', { host: null });
      expect(incomplete.status).toBe(400);
    } finally {
      await admin('PUT', '/api/auth/smtp-config', { enabled: false });
      await other.stop();
    }
    expect((await admin('GET', '/api/auth/smtp-config')).body.inForce.source).toBe('environment');
    // Unset fields answer as InsForge does: '' and the port Kiln would use.
    await admin('PUT', '/api/auth/smtp-config', { host: '', port: null, username: null });
    expect((await admin('GET', '/api/auth/smtp-config')).body).toMatchObject({
      enabled: false,
      host: '',
      port: 587,
      username: '',
    });
  });

  it('lets signed-in users send mail, validated; anon gets 401', async () => {
    const user = await t.signUpUser();
    const anon = await t.request('POST', '/api/email/send-raw', {
      token: t.anonKey,
      body: { to: 'a@example.com', subject: 'x', html: '<p>x</p>' },
    });
    expect(anon.status).toBe(401);
    const bad = await t.request('POST', '/api/email/send-raw', {
      token: user.accessToken,
      body: { to: ['ok@example.com', 'nope'], subject: 'x', html: '<p>x</p>' },
    });
    expect(bad.status).toBe(400);
    const spoof = await t.request('POST', '/api/email/send-raw', {
      token: user.accessToken,
      body: { to: 'a@example.com', subject: 'x', html: 'x', from: 'ceo@bank.example' },
    });
    expect(spoof.body.error).toBe('EMAIL_INVALID_FROM');
    const sent = smtp.messages.length;
    const ok = await t.request('POST', '/api/email/send-raw', {
      token: user.accessToken,
      body: {
        to: 'friend@example.com',
        cc: ['cc@example.com'],
        subject: 'Hi there',
        html: '<p>Hello <b>friend</b></p>',
        text: 'Hello friend',
        from: 'Alice',
        replyTo: user.email,
      },
    });
    expect(ok.body).toMatchObject({ success: true, delivered: true, mode: 'smtp' });
    const mail = await smtp.next('friend@example.com', sent);
    expect(mail.to).toEqual(['friend@example.com', 'cc@example.com']);
    expect(mail.subject).toBe('Hi there');
    expect(mail.raw).toMatch(/From: Alice <no-reply@kiln\.test>/);
    const sdkSend = await user.client.emails.send({
      to: 'sdk@example.com',
      subject: 'via sdk',
      html: '<p>sdk</p>',
    });
    expect(sdkSend.error).toBeNull();
  });

  it('without SMTP, mail goes to the logs and the API says so; raw mail is throttled per user', async () => {
    const bare = await startTestApp(
      {},
      { EMAIL_SEND_RAW_PER_HOUR: '2', EMAIL_SEND_RAW_USERS: 'true' },
    );
    try {
      const user = await bare.signUpUser();
      const res = await bare.request('POST', '/api/email/send-raw', {
        token: user.accessToken,
        body: { to: 'x@example.com', subject: 'dev mode', html: '<p>dev</p>' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ delivered: false, mode: 'log' });
      expect(res.body.message).toMatch(/written to the logs/);
      const send = () =>
        bare.request('POST', '/api/email/send-raw', {
          token: user.accessToken,
          body: { to: 'x@example.com', subject: 'again', html: '<p>again</p>' },
        });
      expect((await send()).status).toBe(200);
      const third = await send();
      expect(third.status).toBe(429);
      expect(third.body.error).toBe('EMAIL_RATE_LIMITED');
      // Parallel sends of a fresh user share the same allowance.
      const other = await bare.signUpUser();
      const burst = await Promise.all(
        Array.from({ length: 10 }, () =>
          bare.request('POST', '/api/email/send-raw', {
            token: other.accessToken,
            body: { to: 'x@example.com', subject: 'burst', html: '<p>burst</p>' },
          }),
        ),
      );
      expect(burst.filter((r) => r.status === 200)).toHaveLength(2);
    } finally {
      await bare.stop();
    }
  });
});
