/**
 * The dashboard's Authentication page: mark a user verified, see a user's sessions and
 * identities, preview an email template without saving it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
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
