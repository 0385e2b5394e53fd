/**
 * User administration: the dashboard's Authentication page (mark a user verified, a user's
 * sessions and identities, email template previews), users created by an admin (password or
 * invitation), bulk import with other systems' password hashes, the session policy, and
 * several dashboard admins.
 */
import crypto from 'node:crypto';
import bcrypt from 'bcryptjs';
import { hash as argon2 } from '@node-rs/argon2';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpFor } from '../src/auth/mfa.js';
import { ADMIN_SUBJECT } from '../src/core/auth/tokens.js';
import { ADMIN_EMAIL, pgUrl, startTestApp, type TestApp } from './helpers.js';
import { linkIn, SmtpCapture } from './smtp-capture.js';

let t: TestApp;
let db: pg.Client;
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
    },
  );
  db = new pg.Client({ connectionString: pgUrl(t.database) });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await t?.stop();
  await smtp.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });
const unique = (tag: string) => `${tag}-${Math.random().toString(36).slice(2, 8)}@example.com`;
const NO_USER = '00000000-0000-4000-8000-000000000000';

describe('admin user administration', () => {
  it('marks a user verified: the password they chose keeps working and sign-in opens', async () => {
    expect(
      (await admin('PUT', '/api/auth/config', { requireEmailVerification: true })).status,
    ).toBe(200);
    try {
      const email = unique('unverified');
      const password = 'correct horse battery';
      const signUp = await t.request('POST', '/api/auth/users', { body: { email, password } });
      expect(signUp.status).toBe(201);
      expect(signUp.body.accessToken).toBeNull();
      const id = (await admin('GET', `/api/auth/users?search=${encodeURIComponent(email)}`)).body
        .data[0].id;
      const refused = await t.request('POST', '/api/auth/sessions', { body: { email, password } });
      expect(refused.status).toBe(403);

      const marked = await admin('PATCH', `/api/auth/users/${id}`, { emailVerified: true });
      expect(marked.status).toBe(200);
      expect(marked.body).toMatchObject({ id, email, emailVerified: true });
      const signIn = await t.request('POST', '/api/auth/sessions', { body: { email, password } });
      expect(signIn.status).toBe(200);
      expect(signIn.body.user.emailVerified).toBe(true);
    } finally {
      await admin('PUT', '/api/auth/config', { requireEmailVerification: false });
    }
  });

  it('answers bad input, unknown users and non-admins with the contract’s errors', async () => {
    const user = await t.signUpUser();
    const cases: Array<[string, unknown, string | null, number, string]> = [
      [user.userId, { emailVerified: 'no' }, t.apiKey, 400, 'INVALID_INPUT'],
      [user.userId, { email: 42 }, t.apiKey, 400, 'INVALID_INPUT'],
      [NO_USER, { emailVerified: true }, t.apiKey, 404, 'AUTH_USER_NOT_FOUND'],
      [user.userId, { emailVerified: true }, user.accessToken, 403, 'AUTH_FORBIDDEN'],
    ];
    for (const [id, body, token, status, code] of cases) {
      const res = await t.request('PATCH', `/api/auth/users/${id}`, { token, body });
      expect([res.status, res.body.error], JSON.stringify(body)).toEqual([status, code]);
    }
  });

  it("lists a user's live sessions and linked identities", async () => {
    const user = await t.signUpUser();
    const again = await t.request('POST', '/api/auth/sessions', {
      body: { email: user.email, password: user.password },
    });
    expect(again.status).toBe(200);
    const sessions = await admin('GET', `/api/auth/users/${user.userId}/sessions`);
    expect(sessions.status).toBe(200);
    expect(sessions.body.sessions).toHaveLength(2);
    expect(sessions.body.sessions[0]).toMatchObject({ aal: 'aal1', current: false });

    await admin('DELETE', `/api/auth/users/${user.userId}/sessions`);
    expect((await admin('GET', `/api/auth/users/${user.userId}/sessions`)).body.sessions).toEqual(
      [],
    );

    expect((await admin('GET', `/api/auth/users/${user.userId}/identities`)).body).toEqual({
      identities: [],
    });
    const linked = await admin('POST', '/api/database/advance/rawsql/unrestricted', {
      query: `INSERT INTO auth.identities (user_id, provider, provider_user_id, email, email_verified)
              VALUES ('${user.userId}', 'github', 'gh-42', '${user.email}', true)`,
    });
    expect(linked.status).toBe(200);
    const identities = await admin('GET', `/api/auth/users/${user.userId}/identities`);
    expect(identities.body.identities).toEqual([
      expect.objectContaining({
        provider: 'github',
        providerUserId: 'gh-42',
        email: user.email,
        emailVerified: true,
      }),
    ]);

    // (The user's own tokens ended with the sessions: another user asks.)
    const other = await t.signUpUser();
    for (const path of ['sessions', 'identities']) {
      const missing = await admin('GET', `/api/auth/users/${NO_USER}/${path}`);
      expect([missing.status, missing.body.error]).toEqual([404, 'AUTH_USER_NOT_FOUND']);
      const refused = await t.request('GET', `/api/auth/users/${user.userId}/${path}`, {
        token: other.accessToken,
      });
      expect(refused.status).toBe(403);
    }
  });
});

describe('email template preview', () => {
  it('renders the saved template with sample values, and a draft with given ones, saving nothing', async () => {
    const saved = await admin('POST', '/api/auth/email-templates/verify-email-code/preview', {});
    expect(saved.status).toBe(200);
    expect(saved.body.subject).toBe('Your My App verification code: 123456');
    expect(saved.body.text).toContain('15 minutes');
    expect(saved.body.variables).toMatchObject({ code: '123456', email: 'ada@example.com' });

    const draft = await admin('POST', '/api/auth/email-templates/verify-email-code/preview', {
      subject: 'Code for {{email}}',
      html: '<p>{{code}}</p>',
      variables: { code: '<b>9</b>', email: 'me@example.com' },
    });
    expect(draft.status).toBe(200);
    expect(draft.body).toMatchObject({
      subject: 'Code for me@example.com',
      html: '<p>&lt;b&gt;9&lt;/b&gt;</p>',
    });
    // The text part was not in the draft: the saved one, filled.
    expect(draft.body.text).toContain('<b>9</b>');

    const templates = await admin('GET', '/api/auth/email-templates');
    const current = templates.body.templates.find(
      (x: { type: string }) => x.type === 'verify-email-code',
    );
    expect(current).toMatchObject({ isDefault: true });
    expect(current.subject).not.toContain('Code for');
  });

  it('refuses unknown variables and types', async () => {
    const badVar = await admin('POST', '/api/auth/email-templates/welcome/preview', {
      html: '{{code}}',
    });
    expect([badVar.status, badVar.body.error]).toEqual([400, 'EMAIL_TEMPLATE_INVALID']);
    const badType = await admin('POST', '/api/auth/email-templates/nope/preview', {});
    expect([badType.status, badType.body.error]).toEqual([404, 'EMAIL_TEMPLATE_NOT_FOUND']);
    const extra = await admin('POST', '/api/auth/email-templates/welcome/preview', { x: 1 });
    expect(extra.status).toBe(400);
  });
});

/** Polls until `check` holds (a revocation reaches the verifier through NOTIFY). */
async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const storedHash = async (email: string) =>
  (
    await db.query<{ password_hash: string | null }>(
      'SELECT password_hash FROM auth.users WHERE lower(email) = lower($1)',
      [email],
    )
  ).rows[0]?.password_hash;

const refused = async (token: string) =>
  (await t.request('GET', '/api/auth/sessions/current', { token })).status === 401;

const signInMobile = (email: string, password: string) =>
  t.request('POST', '/api/auth/sessions?client_type=mobile', { body: { email, password } });
const refreshMobile = (refreshToken: string) =>
  t.request('POST', '/api/auth/refresh?client_type=mobile', { body: { refreshToken } });

async function defineRole(name: string) {
  const res = await admin('POST', '/api/auth/roles', { name });
  expect([201, 409]).toContain(res.status);
}

describe('users created by an admin', () => {
  it('with a password, metadata, roles and email-verified: the user signs in through the SDK', async () => {
    await defineRole('editor');
    const email = unique('made');
    const created = await admin('POST', '/api/auth/users', {
      email,
      password: 'made by admin 1',
      name: 'Made',
      emailVerified: false,
      appMetadata: { plan: 'pro', drop: null },
      userMetadata: { theme: 'dark' },
      appRoles: ['editor'],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      accessToken: null,
      user: {
        email,
        emailVerified: false,
        appMetadata: { plan: 'pro' },
        userMetadata: { theme: 'dark' },
        appRoles: ['editor'],
        profile: { name: 'Made' },
        providers: ['email'],
      },
    });
    const { data, error } = await t
      .sdk()
      .auth.signInWithPassword({ email, password: 'made by admin 1' });
    expect(error).toBeNull();
    const claims = decodeJwt(data!.accessToken!) as Record<string, unknown>;
    expect(claims).toMatchObject({ app_roles: ['editor'], app_metadata: { plan: 'pro' } });
  });

  it('refuses unknown roles, both or neither of password and invite, and admin fields from others', async () => {
    const email = unique('norole');
    const unknownRole = await admin('POST', '/api/auth/users', {
      email,
      password: 'a fine password',
      appRoles: ['no-such-role'],
    });
    expect([unknownRole.status, unknownRole.body.error]).toEqual([400, 'AUTH_UNKNOWN_ROLE']);
    expect(unknownRole.body.message).toContain('"no-such-role"');
    // Nothing was created.
    expect(await storedHash(email)).toBeUndefined();

    const both = await admin('POST', '/api/auth/users', {
      email,
      password: 'a fine password',
      invite: true,
    });
    expect([both.status, both.body.error]).toEqual([400, 'INVALID_INPUT']);
    const neither = await admin('POST', '/api/auth/users', { email });
    expect([neither.status, neither.body.error]).toEqual([400, 'INVALID_INPUT']);
    const badRoleName = await admin('POST', '/api/auth/users', {
      email,
      invite: true,
      appRoles: ['Not A Role'],
    });
    expect([badRoleName.status, badRoleName.body.error]).toEqual([400, 'INVALID_INPUT']);

    // Sign-up (no admin credential) may not set what only an admin sets.
    const selfMade = await t.request('POST', '/api/auth/users', {
      body: { email, password: 'a fine password', appRoles: ['editor'] },
    });
    expect([selfMade.status, selfMade.body.error]).toEqual([403, 'AUTH_FORBIDDEN']);
    const noPassword = await t.request('POST', '/api/auth/users', { body: { email } });
    expect([noPassword.status, noPassword.body.error]).toEqual([400, 'INVALID_INPUT']);
  });

  it('with an invitation: the mailed link sets the password once, proves the inbox and signs in', async () => {
    const email = unique('invited');
    const sent = smtp.messages.length;
    const created = await admin('POST', '/api/auth/users', {
      email,
      invite: true,
      appMetadata: { team: 'a' },
    });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ email, emailVerified: false, providers: [] });
    const mail = await smtp.next(email, sent);
    expect(mail.subject).toContain('You are invited');
    const link = new URL(linkIn(mail)!);
    expect(link.pathname).toBe('/auth/reset-password');
    expect(link.searchParams.get('insforge_type')).toBe('invite');
    const token = link.searchParams.get('token')!;

    // No password yet.
    expect((await signInMobile(email, 'my own password')).status).toBe(401);
    // A password the policy refuses does not spend the link.
    const weak = await t.request('POST', '/api/auth/invites/accept', {
      body: { token, password: 'x' },
    });
    expect([weak.status, weak.body.error]).toEqual([400, 'AUTH_WEAK_PASSWORD']);

    const accepted = await t.request('POST', '/api/auth/invites/accept?client_type=mobile', {
      body: { token, password: 'my own password' },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body.user).toMatchObject({ email, emailVerified: true });
    expect(accepted.body.refreshToken).toEqual(expect.any(String));

    const again = await t.request('POST', '/api/auth/invites/accept', {
      body: { token, password: 'another password' },
    });
    expect([again.status, again.body.error]).toEqual([400, 'AUTH_INVALID_TOKEN']);
    const { error } = await t.sdk().auth.signInWithPassword({ email, password: 'my own password' });
    expect(error).toBeNull();

    // Sent again on request, to the page the admin names (an allowed redirect only).
    const id = created.body.user.id as string;
    const notAllowed = await admin('POST', `/api/auth/users/${id}/invite`, {
      redirectTo: 'https://evil.example/x',
    });
    expect([notAllowed.status, notAllowed.body.error]).toEqual([400, 'AUTH_REDIRECT_NOT_ALLOWED']);
    const before = smtp.messages.length;
    const resent = await admin('POST', `/api/auth/users/${id}/invite`);
    expect(resent.status).toBe(200);
    expect(Date.parse(resent.body.expiresAt)).toBeGreaterThan(Date.now() + 6 * 24 * 3600_000);
    expect(linkIn(await smtp.next(email, before))).toContain('insforge_type=invite');
    const missing = await admin('POST', `/api/auth/users/${NO_USER}/invite`);
    expect(missing.status).toBe(404);
  });
});

describe('bulk import with password hashes', () => {
  const password = 'imported pass 1';
  const b64 = (b: Buffer) => b.toString('base64');
  /** passlib's base64: `.` for `+`, no padding. */
  const ab64 = (b: Buffer) => b.toString('base64').replace(/\+/g, '.').replace(/=+$/, '');

  async function hashes() {
    const salt = crypto.randomBytes(16);
    const scrypt = crypto.scryptSync(password, salt, 32, { N: 2 ** 12, r: 8, p: 1 });
    const djangoSalt = 'Zt7nF3sQ9w';
    const django = crypto.pbkdf2Sync(password, djangoSalt, 1000, 32, 'sha256');
    const phc = crypto.pbkdf2Sync(password, salt, 2000, 32, 'sha256');
    const bcryptHash = bcrypt.hashSync(password, 4);
    return {
      bcrypt: bcryptHash,
      'bcrypt-2y': bcryptHash.replace(/^\$2b\$/, '$2y$'),
      argon2i: await argon2(password, {
        algorithm: 1 /* Algorithm.Argon2i (a const enum) */,
        memoryCost: 4096,
      }),
      argon2id: await argon2(password, { memoryCost: 8192, timeCost: 3 }),
      scrypt: `$scrypt$ln=12,r=8,p=1$${b64(salt)}$${b64(scrypt)}`,
      'pbkdf2-django': `pbkdf2_sha256$1000$${djangoSalt}$${b64(django)}`,
      'pbkdf2-phc': `$pbkdf2-sha256$2000$${ab64(salt)}$${ab64(phc)}`,
    };
  }

  it('imports every format; each user signs in through the SDK and is rehashed to argon2id', async () => {
    await defineRole('imported');
    const formats = await hashes();
    const rows = Object.entries(formats).map(([name, passwordHash]) => ({
      email: unique(`imp-${name}`),
      passwordHash,
      emailVerified: true,
      appRoles: ['imported'],
      appMetadata: { from: name },
    }));
    const res = await admin('POST', '/api/auth/users/import', { users: rows });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ imported: rows.length, failed: 0 });
    expect(res.body.results.map((r: { algorithm: string }) => r.algorithm)).toEqual([
      'bcrypt',
      'bcrypt',
      'argon2i',
      'argon2id',
      'scrypt',
      'pbkdf2-sha256',
      'pbkdf2-sha256',
    ]);

    for (const row of rows) {
      expect(await storedHash(row.email)).toBe(row.passwordHash);
      // A wrong password is refused and leaves the hash as it was.
      const wrong = await t.sdk().auth.signInWithPassword({ email: row.email, password: 'nope' });
      expect(wrong.error, row.email).not.toBeNull();
      expect(await storedHash(row.email)).toBe(row.passwordHash);

      const { data, error } = await t.sdk().auth.signInWithPassword({ email: row.email, password });
      expect(error, row.email).toBeNull();
      expect(data!.user).toMatchObject({ email: row.email, appRoles: ['imported'] });
      const now = await storedHash(row.email);
      expect(now, row.email).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      // The new hash verifies the same password: the next sign-in works too.
      expect((await signInMobile(row.email, password)).status).toBe(200);
      expect(await storedHash(row.email)).toBe(now);
    }
  });

  it('answers each row: invalid hashes, bad emails, unknown roles and duplicates are reported, the rest imported', async () => {
    const { bcrypt: good } = await hashes();
    const existing = await t.signUpUser();
    const dup = unique('dup');
    const rows = [
      { email: unique('ok'), passwordHash: good },
      { email: unique('bad-bcrypt'), passwordHash: '$2b$04$tooshort' },
      { email: unique('bcrypt-cost'), passwordHash: good.replace(/^\$2b\$04\$/, '$2b$31$') },
      {
        email: unique('bad-argon'),
        passwordHash: '$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaA',
      },
      {
        email: unique('scrypt-ln'),
        passwordHash: '$scrypt$ln=30,r=8,p=1$c2FsdA==$' + 'A'.repeat(43) + '=',
      },
      {
        email: unique('pbkdf2-iter'),
        passwordHash: `pbkdf2_sha256$99999999$salt$${'A'.repeat(43)}=`,
      },
      { email: unique('md5'), passwordHash: '5f4dcc3b5aa765d61d8327deb882cf99' },
      { email: 'not an email', passwordHash: good },
      { email: unique('role'), passwordHash: good, appRoles: ['never-defined'] },
      { email: existing.email.toUpperCase(), passwordHash: good },
      { email: dup, passwordHash: good },
      { email: dup.toUpperCase() },
      { email: unique('no-password') },
    ];
    const res = await admin('POST', '/api/auth/users/import', { users: rows });
    expect(res.status).toBe(200);
    const summary = res.body.results.map((r: { status: number; error?: { code: string } }) => [
      r.status,
      r.error?.code ?? null,
    ]);
    expect(summary).toEqual([
      [201, null],
      [400, 'AUTH_INVALID_PASSWORD_HASH'],
      [400, 'AUTH_INVALID_PASSWORD_HASH'],
      [400, 'AUTH_INVALID_PASSWORD_HASH'],
      [400, 'AUTH_INVALID_PASSWORD_HASH'],
      [400, 'AUTH_INVALID_PASSWORD_HASH'],
      [400, 'AUTH_INVALID_PASSWORD_HASH'],
      [400, 'AUTH_INVALID_EMAIL'],
      [400, 'AUTH_UNKNOWN_ROLE'],
      [409, 'AUTH_EMAIL_EXISTS'],
      [201, null],
      [409, 'AUTH_DUPLICATE_IN_REQUEST'],
      [201, null],
    ]);
    expect(res.body).toMatchObject({ imported: 3, failed: 10 });
    expect(res.body.results[2].error.message).toMatch(/bcrypt cost 31/);
    expect(res.body.results[4].error.message).toMatch(/scrypt ln=30/);
    expect(res.body.results[6].error.message).toMatch(/not a bcrypt, argon2id/);
    expect(res.body.results.map((r: { index: number }) => r.index)).toEqual(rows.map((_, i) => i));
    // The refused rows left nothing behind; the existing user keeps their password.
    expect(await storedHash(rows[1]!.email)).toBeUndefined();
    expect((await signInMobile(existing.email, existing.password)).status).toBe(200);
    expect(await storedHash(rows[12]!.email)).toBeNull();
  });

  it('limits a request to 1000 users and refuses malformed rows as a whole', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ email: `many-${i}@example.com` }));
    const tooMany = await admin('POST', '/api/auth/users/import', { users: many });
    expect([tooMany.status, tooMany.body.error]).toEqual([400, 'INVALID_INPUT']);
    expect(tooMany.body.message).toMatch(/1000/);
    for (const body of [{ users: [] }, { users: [{ email: 'a@example.com', extra: 1 }] }, {}]) {
      const res = await admin('POST', '/api/auth/users/import', body);
      expect([res.status, res.body.error], JSON.stringify(body)).toEqual([400, 'INVALID_INPUT']);
    }
    const user = await t.signUpUser();
    const notAdmin = await t.request('POST', '/api/auth/users/import', {
      token: user.accessToken,
      body: { users: [{ email: unique('x') }] },
    });
    expect(notAdmin.status).toBe(403);
  });
});

describe('session policy', () => {
  const setPolicy = async (patch: Record<string, unknown>) => {
    const res = await admin('PATCH', '/api/settings', patch);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const reset = () =>
    setPolicy({
      sessionMaxLifetimeSeconds: null,
      sessionInactivityTimeoutSeconds: null,
      singleSessionPerUser: null,
    });

  it('an absolute lifetime: tokens never outlive it, and the session ends at it however often refreshed', async () => {
    try {
      const settings = await setPolicy({ sessionMaxLifetimeSeconds: 120 });
      expect(settings.runtime.sessionMaxLifetimeSeconds).toMatchObject({
        value: 120,
        source: 'runtime',
        envName: 'SESSION_MAX_LIFETIME_SECONDS',
      });
      const user = await t.signUpUser();
      const signIn = await signInMobile(user.email, user.password);
      const claims = decodeJwt(signIn.body.accessToken);
      expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(120);
      const refreshed = await refreshMobile(signIn.body.refreshToken);
      expect(refreshed.status).toBe(200);

      // The session began (as far as the policy can tell) two hours ago.
      await db.query(
        "UPDATE auth.sessions SET created_at = now() - interval '2 hours' WHERE id = $1",
        [decodeJwt(refreshed.body.accessToken).sid],
      );
      const late = await refreshMobile(refreshed.body.refreshToken);
      expect([late.status, late.body.error]).toEqual([401, 'AUTH_UNAUTHORIZED']);
      expect(late.body.message).toMatch(/expired/);
      // It ended: its access tokens stop too.
      await until('the access token to be refused', () => refused(refreshed.body.accessToken));
    } finally {
      await reset();
    }
  });

  it('an inactivity timeout: a session not refreshed for that long ends', async () => {
    try {
      await setPolicy({ sessionInactivityTimeoutSeconds: 600 });
      const user = await t.signUpUser();
      const active = await signInMobile(user.email, user.password);
      const idle = await signInMobile(user.email, user.password);
      await db.query(
        "UPDATE auth.sessions SET last_used_at = now() - interval '11 minutes' WHERE id = $1",
        [decodeJwt(idle.body.accessToken).sid],
      );
      expect((await refreshMobile(active.body.refreshToken)).status).toBe(200);
      const stale = await refreshMobile(idle.body.refreshToken);
      expect([stale.status, stale.body.error]).toEqual([401, 'AUTH_UNAUTHORIZED']);
      // Without the policy it would have gone on.
      await reset();
      const other = await signInMobile(user.email, user.password);
      await db.query(
        "UPDATE auth.sessions SET last_used_at = now() - interval '11 minutes' WHERE id = $1",
        [decodeJwt(other.body.accessToken).sid],
      );
      expect((await refreshMobile(other.body.refreshToken)).status).toBe(200);
    } finally {
      await reset();
    }
  });

  it('one session per user: a new sign-in ends the others (newest wins)', async () => {
    try {
      await setPolicy({ singleSessionPerUser: true });
      const user = await t.signUpUser();
      const first = await signInMobile(user.email, user.password);
      const second = await signInMobile(user.email, user.password);
      expect(second.status).toBe(200);
      await until('the first session to end', () => refused(first.body.accessToken));
      const old = await refreshMobile(first.body.refreshToken);
      expect([old.status, old.body.message]).toEqual([401, 'The session has been signed out']);
      expect(
        (
          await t.request('GET', '/api/auth/sessions/current', {
            token: second.body.accessToken,
          })
        ).status,
      ).toBe(200);
      expect((await refreshMobile(second.body.refreshToken)).status).toBe(200);
    } finally {
      await reset();
    }
  });

  it('refuses bad values', async () => {
    for (const patch of [
      { sessionMaxLifetimeSeconds: -1 },
      { sessionInactivityTimeoutSeconds: 1.5 },
      { sessionMaxLifetimeSeconds: 400 * 24 * 3600 },
      { singleSessionPerUser: 'yes' },
    ]) {
      const res = await admin('PATCH', '/api/settings', patch);
      expect([res.status, res.body.error], JSON.stringify(patch)).toEqual([400, 'INVALID_INPUT']);
    }
  });
});

describe('several dashboard admins', () => {
  const adminSignIn = (email: string, password: string) =>
    t.request('POST', '/api/auth/admin/sessions?client_type=mobile', {
      body: { username: email, password },
    });

  it('a user made admin signs in to the admin API with their own password, until it is taken away', async () => {
    const email = unique('second-admin');
    const password = 'second admin pass';
    const created = await admin('POST', '/api/auth/users', { email, password });
    const id = created.body.user.id as string;
    expect([(await adminSignIn(email, password)).status]).toEqual([401]);

    const granted = await admin('PUT', `/api/auth/admins/${id}`);
    expect(granted.status).toBe(200);
    expect(granted.body).toMatchObject({
      id,
      email,
      source: 'user',
      mfa: false,
      grantedBy: 'api_key',
    });
    const list = await admin('GET', '/api/auth/admins');
    expect(list.body.admins[0]).toMatchObject({
      id: ADMIN_SUBJECT,
      email: ADMIN_EMAIL,
      source: 'environment',
    });
    expect(list.body.admins.map((a: { id: string }) => a.id)).toContain(id);

    const session = await adminSignIn(email, password);
    expect(session.status).toBe(200);
    expect(session.body.admin).toEqual({ sub: id, email });
    const token = session.body.accessToken as string;
    expect(decodeJwt(token)).toMatchObject({ role: 'project_admin', sub: id });
    const current = await t.request('GET', '/api/auth/admin/sessions/current', { token });
    expect(current.body.admin).toMatchObject({ sub: id, email, credential: 'jwt' });
    expect((await t.request('GET', '/api/auth/users', { token })).status).toBe(200);
    expect((await t.request('GET', '/api/database/tables', { token })).status).toBe(200);
    // Wrong password: refused like any unknown admin.
    expect((await adminSignIn(email, 'not it')).status).toBe(401);
    // The refresh goes on while they are an admin.
    const refreshed = await t.request('POST', '/api/auth/admin/refresh?client_type=mobile', {
      body: { refreshToken: session.body.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.admin).toEqual({ sub: id, email });

    // Granting admin to oneself's successor, then revoking: their admin sessions end at once.
    const revoked = await admin('DELETE', `/api/auth/admins/${id}`);
    expect(revoked.status).toBe(200);
    await until(
      'the admin token to be refused',
      async () =>
        (await t.request('GET', '/api/auth/users', { token: refreshed.body.accessToken }))
          .status === 401,
    );
    const after = await t.request('POST', '/api/auth/admin/refresh?client_type=mobile', {
      body: { refreshToken: refreshed.body.refreshToken },
    });
    expect(after.status).toBe(401);
    expect((await adminSignIn(email, password)).status).toBe(401);
    const again = await admin('DELETE', `/api/auth/admins/${id}`);
    expect([again.status, again.body.error]).toEqual([404, 'AUTH_ADMIN_NOT_FOUND']);
    // Still an ordinary user.
    expect((await signInMobile(email, password)).status).toBe(200);
  });

  it('an admin with a second factor finishes the sign-in with it; a new password ends their admin sessions', async () => {
    const email = unique('mfa-admin');
    const password = 'mfa admin pass 1';
    const created = await admin('POST', '/api/auth/users', { email, password });
    const id = created.body.user.id as string;
    const userSession = await signInMobile(email, password);
    const enroll = await t.request('POST', '/api/auth/mfa/totp/enroll', {
      token: userSession.body.accessToken,
      body: {},
    });
    expect(enroll.status).toBe(201);
    const totp = totpFor(enroll.body.secret);
    const verified = await t.request('POST', '/api/auth/mfa/totp/verify', {
      token: userSession.body.accessToken,
      body: { factorId: enroll.body.factorId, code: totp.generate() },
    });
    expect(verified.status).toBe(200);

    // An admin (here: a second admin's token) grants it.
    const second = await admin('POST', '/api/auth/users', { email: unique('granter'), password });
    await admin('PUT', `/api/auth/admins/${second.body.user.id}`);
    const granterToken = (await adminSignIn(second.body.user.email, password)).body.accessToken;
    const granted = await t.request('PUT', `/api/auth/admins/${id}`, { token: granterToken });
    expect(granted.body).toMatchObject({ mfa: true, grantedBy: second.body.user.id });

    const first = await adminSignIn(email, password);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ requireMfa: true, accessToken: null });
    // A user's mfaToken does not finish an admin sign-in, nor the reverse.
    const userStep = await signInMobile(email, password);
    const crossed = await t.request('POST', '/api/auth/admin/sessions/mfa?client_type=mobile', {
      body: {
        mfaToken: userStep.body.mfaToken,
        code: totp.generate({ timestamp: Date.now() + 30_000 }),
      },
    });
    expect([crossed.status, crossed.body.error]).toEqual([401, 'AUTH_MFA_TOKEN_INVALID']);
    const wrong = await t.request('POST', '/api/auth/admin/sessions/mfa?client_type=mobile', {
      body: { mfaToken: first.body.mfaToken, code: '00000000' },
    });
    expect(wrong.status).toBe(400);
    const done = await t.request('POST', '/api/auth/admin/sessions/mfa?client_type=mobile', {
      body: {
        mfaToken: first.body.mfaToken,
        code: totp.generate({ timestamp: Date.now() + 30_000 }),
      },
    });
    expect(done.status).toBe(200);
    expect(done.body.admin).toEqual({ sub: id, email });
    const token = done.body.accessToken as string;
    expect((await t.request('GET', '/api/auth/admins', { token })).status).toBe(200);

    // An admin sets a new password for them: their admin session ends with their others.
    expect(
      (await admin('PATCH', `/api/auth/users/${id}`, { password: 'fresh admin pass 2' })).status,
    ).toBe(200);
    await until(
      'the admin session to end',
      async () => (await t.request('GET', '/api/auth/admins', { token })).status === 401,
    );
  });

  it('the ADMIN_EMAIL admin is the last one and cannot be removed; bad ids are refused', async () => {
    const last = await admin('DELETE', `/api/auth/admins/${ADMIN_SUBJECT}`);
    expect([last.status, last.body.error]).toEqual([409, 'AUTH_LAST_ADMIN']);
    expect((await admin('GET', '/api/auth/admins')).body.admins[0].id).toBe(ADMIN_SUBJECT);
    const missing = await admin('PUT', `/api/auth/admins/${NO_USER}`);
    expect([missing.status, missing.body.error]).toEqual([404, 'AUTH_USER_NOT_FOUND']);
    const malformed = await admin('PUT', '/api/auth/admins/not-a-uuid');
    expect(malformed.status).toBe(400);
    const user = await t.signUpUser();
    const byUser = await t.request('PUT', `/api/auth/admins/${user.userId}`, {
      token: user.accessToken,
    });
    expect(byUser.status).toBe(403);
    // The environment's admin signs in as before.
    expect(
      (await t.request('GET', '/api/auth/admins', { token: await t.adminToken() })).status,
    ).toBe(200);
  });
});
