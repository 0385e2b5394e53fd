import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@insforge/sdk';
import { SignJWT } from 'jose';
import { sha256 } from '../src/core/crypto.js';
import {
  describeScenarios,
  expectAccessToken,
  expectOpaqueToken,
  startTestApp,
  type Scenario,
  type TestApp,
} from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

const uniqueEmail = () => `u-${crypto.randomBytes(5).toString('hex')}@example.com`;

describe('sign-up and sign-in through @insforge/sdk', () => {
  it('signs up, returns the user and a working session', async () => {
    const email = uniqueEmail();
    const client = t.sdk();
    const { data, error } = await client.auth.signUp({
      email,
      password: 'secret-pass-1',
      name: 'Ada',
    });
    expect(error).toBeNull();
    expect(data?.user).toMatchObject({
      email,
      emailVerified: true,
      providers: ['email'],
      profile: { name: 'Ada' },
    });
    expect(data?.user?.id).toMatch(/^[0-9a-f-]{36}$/);
    expectAccessToken(data?.accessToken, {
      sub: data!.user!.id,
      role: 'authenticated',
      email,
      aal: 'aal1',
      is_anonymous: false,
    });
    expectOpaqueToken(data?.refreshToken);

    const me = createClient({ baseUrl: t.baseUrl, accessToken: data!.accessToken! });
    const current = await me.auth.getCurrentUser();
    expect(current.error).toBeNull();
    expect(current.data.user).toMatchObject({ id: data!.user!.id, email });
  });

  it('signs in with the password and rejects a wrong one', async () => {
    const { email, password, userId } = await t.signUpUser();
    const ok = await t.sdk().auth.signInWithPassword({ email: email.toUpperCase(), password });
    expect(ok.error).toBeNull();
    expect(ok.data?.user.id).toBe(userId);

    const bad = await t.sdk().auth.signInWithPassword({ email, password: 'wrong-password' });
    expect(bad.data).toBeNull();
    expect(bad.error).toMatchObject({ statusCode: 401, error: 'AUTH_INVALID_CREDENTIALS' });

    const unknown = await t.sdk().auth.signInWithPassword({ email: uniqueEmail(), password });
    expect(unknown.error).toMatchObject({ statusCode: 401, error: 'AUTH_INVALID_CREDENTIALS' });
  });

  it('refuses a duplicate email with 409 AUTH_EMAIL_EXISTS, whatever its case', async () => {
    const { email } = await t.signUpUser();
    const dup = await t
      .sdk()
      .auth.signUp({ email: email.toUpperCase(), password: 'another-pass-1' });
    expect(dup.error).toMatchObject({ statusCode: 409, error: 'AUTH_EMAIL_EXISTS' });
  });

  it('refuses invalid emails and weak passwords with clear 400s', async () => {
    const badEmail = await t
      .sdk()
      .auth.signUp({ email: 'not-an-email', password: 'long-enough-1' });
    expect(badEmail.error).toMatchObject({ statusCode: 400, error: 'AUTH_INVALID_EMAIL' });

    const short = await t.sdk().auth.signUp({ email: uniqueEmail(), password: 'abc' });
    expect(short.error).toMatchObject({ statusCode: 400, error: 'AUTH_WEAK_PASSWORD' });
    expect(short.error?.message).toMatch(/at least 6 characters/);
  });

  it('applies the password policy from the auth config', async () => {
    const admin = await t.adminToken();
    const put = await t.request('PUT', '/api/auth/config', {
      token: admin,
      body: { passwordMinLength: 10, requireNumber: true, requireUppercase: true },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      passwordMinLength: 10,
      requireNumber: true,
      requireUppercase: true,
    });
    try {
      const weak = await t.sdk().auth.signUp({ email: uniqueEmail(), password: 'alllowercase' });
      expect(weak.error).toMatchObject({ statusCode: 400, error: 'AUTH_WEAK_PASSWORD' });
      expect(weak.error?.message).toMatch(/a number/);
      expect(weak.error?.message).toMatch(/an uppercase letter/);
      const strong = await t
        .sdk()
        .auth.signUp({ email: uniqueEmail(), password: 'Strong-pass-42' });
      expect(strong.error).toBeNull();

      const config = await t.sdk().auth.getPublicAuthConfig();
      expect(config.data).toMatchObject({
        passwordMinLength: 10,
        requireNumber: true,
        oAuthProviders: [],
      });
      expect(config.data).not.toHaveProperty('allowedRedirectUrls');
    } finally {
      await t.request('PUT', '/api/auth/config', {
        token: admin,
        body: { passwordMinLength: 6, requireNumber: false, requireUppercase: false },
      });
    }
  });

  it('refuses sign-up when disabled, except for admins', async () => {
    const admin = await t.adminToken();
    await t.request('PUT', '/api/auth/config', { token: admin, body: { disableSignup: true } });
    try {
      const refused = await t
        .sdk()
        .auth.signUp({ email: uniqueEmail(), password: 'secret-pass-1' });
      expect(refused.error).toMatchObject({ statusCode: 403, error: 'AUTH_SIGNUP_DISABLED' });
      const email = uniqueEmail();
      const byAdmin = await t.request('POST', '/api/auth/users', {
        token: t.apiKey,
        body: { email, password: 'secret-pass-1' },
      });
      expect(byAdmin.status).toBe(201);
      expect(byAdmin.body).toMatchObject({
        accessToken: null,
        user: { email, emailVerified: true },
      });
    } finally {
      await t.request('PUT', '/api/auth/config', { token: admin, body: { disableSignup: false } });
    }
  });

  it('asks for verification when the config requires it and refuses unverified sign-in', async () => {
    const admin = await t.adminToken();
    await t.request('PUT', '/api/auth/config', {
      token: admin,
      body: { requireEmailVerification: true },
    });
    try {
      const email = uniqueEmail();
      const res = await t.sdk().auth.signUp({ email, password: 'secret-pass-1' });
      expect(res.error).toBeNull();
      expect(res.data).toEqual({ accessToken: null, requireEmailVerification: true });
      const signIn = await t.sdk().auth.signInWithPassword({ email, password: 'secret-pass-1' });
      expect(signIn.error).toMatchObject({ statusCode: 403, error: 'AUTH_NEED_VERIFICATION' });
    } finally {
      await t.request('PUT', '/api/auth/config', {
        token: admin,
        body: { requireEmailVerification: false },
      });
    }
  });
});

describe('profiles', () => {
  it('reads and updates the profile through the SDK', async () => {
    const { client, userId } = await t.signUpUser({ name: 'Grace' });
    const updated = await client.auth.setProfile({
      bio: 'compiler writer',
      avatar_url: 'https://example.com/a.png',
    });
    expect(updated.error).toBeNull();
    expect(updated.data).toMatchObject({
      id: userId,
      profile: { name: 'Grace', bio: 'compiler writer', avatar_url: 'https://example.com/a.png' },
    });

    const other = await t.signUpUser();
    const read = await other.client.auth.getProfile(userId);
    expect(read.error).toBeNull();
    expect(read.data).toEqual({
      id: userId,
      profile: { name: 'Grace', bio: 'compiler writer', avatar_url: 'https://example.com/a.png' },
    });

    const removed = await client.auth.setProfile({ bio: null });
    expect(removed.data?.profile).not.toHaveProperty('bio');
  });

  it('answers 404 for an unknown user through the SDK', async () => {
    const { client } = await t.signUpUser();
    const missing = await client.auth.getProfile(crypto.randomUUID());
    expect(missing.error).toMatchObject({ statusCode: 404, error: 'AUTH_USER_NOT_FOUND' });
    const malformed = await client.auth.getProfile('not-a-uuid');
    expect(malformed.error).toMatchObject({ statusCode: 400, error: 'INVALID_INPUT' });
  });
});

const profile = (as: Scenario['as']): Scenario => ({
  name: `${typeof as === 'string' ? as : 'a token'} updates the current profile`,
  as,
  method: 'PATCH',
  path: '/api/auth/profiles/current',
  body: { profile: { a: 1 } },
  status: 401,
  error: 'AUTH_INVALID_CREDENTIALS',
});

describeScenarios('auth: sign-up input and profiles, who may call', () => t, [
  {
    name: 'sign-up without a password',
    as: 'anon',
    method: 'POST',
    path: '/api/auth/users',
    body: { email: 'no-password@example.com' },
    status: 400,
    error: 'INVALID_INPUT',
    expect: { message: expect.stringMatching(/password/) },
  },
  {
    name: 'sign-up with an array body',
    as: 'anon',
    method: 'POST',
    path: '/api/auth/users',
    body: [1, 2],
    status: 400,
    error: 'INVALID_INPUT',
  },
  {
    name: 'a profile of an unknown user',
    as: 'user',
    method: 'GET',
    path: `/api/auth/profiles/${crypto.randomUUID()}`,
    status: 404,
    error: 'AUTH_USER_NOT_FOUND',
  },
  {
    name: 'a profile by a malformed id',
    as: 'user',
    method: 'GET',
    path: '/api/auth/profiles/not-a-uuid',
    status: 400,
    error: 'INVALID_INPUT',
  },
  profile('anon'),
  profile('none'),
  {
    name: 'a user updates the current profile',
    as: 'user',
    method: 'PATCH',
    path: '/api/auth/profiles/current',
    body: { profile: { a: 1 } },
    status: 200,
    expect: async (res, ctx) =>
      expect(res.body).toMatchObject({
        id: (await ctx.account('user')).userId,
        profile: { a: 1 },
      }),
  },
]);

describe('refresh tokens (mobile / server clients)', () => {
  it('rotates on every refresh and the SDK refreshSession uses it', async () => {
    const { refreshToken, userId } = await t.signUpUser();
    const client = t.sdk();
    const first = await client.auth.refreshSession({ refreshToken });
    expect(first.error).toBeNull();
    expect(first.data?.user.id).toBe(userId);
    expectOpaqueToken(first.data?.refreshToken);
    expect(first.data?.refreshToken).not.toBe(refreshToken);
    expectAccessToken(first.data?.accessToken, { sub: userId, role: 'authenticated' });

    const second = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refresh_token: first.data!.refreshToken },
    });
    expect(second.status).toBe(200);
    expectAccessToken(second.body.accessToken, { sub: userId, role: 'authenticated', aal: 'aal1' });
    expectOpaqueToken(second.body.refreshToken);
  });

  it('revokes the whole session when a rotated token is reused after the grace window', async () => {
    const { refreshToken } = await t.signUpUser();
    const rotated = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken },
    });
    expect(rotated.status).toBe(200);
    // The token's reuse window ends (its rotation moved back past REFRESH_TOKEN_REUSE_GRACE_SECONDS).
    const moved = await t.app.db.query(
      `UPDATE auth.refresh_tokens SET rotated_at = rotated_at - pg_catalog.make_interval(secs => $2)
        WHERE token_hash = $1 AND rotated_at IS NOT NULL`,
      [sha256(refreshToken), t.app.config.refreshTokenReuseGraceSeconds + 1],
    );
    expect(moved.rowCount).toBe(1);
    const replay = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken },
    });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: 'AUTH_UNAUTHORIZED' });
    expect(replay.body.message).toMatch(/already used/);
    // The legitimate successor dies with the family.
    const successor = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken: rotated.body.refreshToken },
    });
    expect(successor.status).toBe(401);
  });

  it('a token presented twice at once (within the grace window) gets two successors; the session stays live', async () => {
    expect(t.app.config.refreshTokenReuseGraceSeconds).toBe(10);
    const { refreshToken, userId } = await t.signUpUser();
    const refresh = (token: string) =>
      t.request('POST', '/api/auth/refresh?client_type=mobile', { body: { refreshToken: token } });
    const [one, two] = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
    expect([one.status, two.status]).toEqual([200, 200]);
    for (const res of [one, two]) {
      expectOpaqueToken(res.body.refreshToken);
      expectAccessToken(res.body.accessToken, { sub: userId, role: 'authenticated' });
    }
    expect(one.body.refreshToken).not.toBe(two.body.refreshToken);
    expect(one.body.refreshToken).not.toBe(refreshToken);
    // Both branches stay valid, and a late third presentation (a lost answer) is served too.
    const [again1, again2, late] = await Promise.all([
      refresh(one.body.refreshToken),
      refresh(two.body.refreshToken),
      refresh(refreshToken),
    ]);
    expect([again1.status, again2.status, late.status]).toEqual([200, 200, 200]);
    const me = await t.request('GET', '/api/auth/sessions/current', {
      token: again1.body.accessToken,
    });
    expect(me.status).toBe(200);
  });

  it('logout revokes the refresh token', async () => {
    const { refreshToken, accessToken } = await t.signUpUser();
    const out = await t.request('POST', '/api/auth/logout?client_type=mobile', {
      body: { refreshToken },
      token: accessToken,
    });
    expect(out.status).toBe(200);
    const after = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken },
    });
    expect(after.status).toBe(401);
    expect(after.body.message).toMatch(/signed out/);
  });

  it('SDK signOut in server mode revokes the session via the access token', async () => {
    const { accessToken, refreshToken } = await t.signUpUser();
    const client = createClient({ baseUrl: t.baseUrl, accessToken });
    const { error } = await client.auth.signOut();
    expect(error).toBeNull();
    const after = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken },
    });
    expect(after.status).toBe(401);
  });
});

const refresh = (
  name: string,
  query: Record<string, string>,
  body: unknown,
  status: number,
  error: string,
): Scenario => ({
  name,
  as: 'none',
  method: 'POST',
  path: '/api/auth/refresh',
  query,
  body,
  status,
  error,
});

describe('refresh tokens with REFRESH_TOKEN_REUSE_GRACE_SECONDS=0 (strict)', () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await startTestApp({}, { REFRESH_TOKEN_REUSE_GRACE_SECONDS: '0' });
  });
  afterAll(async () => {
    await strict?.stop();
  });
  const refresh = (token: string) =>
    strict.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken: token },
    });

  it('an immediate replay of a rotated token revokes the whole session', async () => {
    expect(strict.app.config.refreshTokenReuseGraceSeconds).toBe(0);
    const { refreshToken } = await strict.signUpUser();
    const rotated = await refresh(refreshToken);
    expect(rotated.status).toBe(200);
    const replay = await refresh(refreshToken);
    expect(replay.status).toBe(401);
    expect(replay.body.message).toMatch(/already used/);
    expect((await refresh(rotated.body.refreshToken)).status).toBe(401);
  });

  it('of two refreshes at once with one token, one wins and the other revokes the session', async () => {
    const { refreshToken } = await strict.signUpUser();
    const answers = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    const won = answers.find((r) => r.status === 200)!;
    const lost = answers.find((r) => r.status === 401)!;
    expect(lost.body.message).toMatch(/already used/);
    expect((await refresh(won.body.refreshToken)).status).toBe(401);
  });
});

describeScenarios('refresh tokens: bad input', () => t, [
  refresh(
    'a garbage refresh token',
    { client_type: 'mobile' },
    { refreshToken: 'nope' },
    401,
    'AUTH_UNAUTHORIZED',
  ),
  refresh('no refresh token', { client_type: 'mobile' }, {}, 400, 'INVALID_INPUT'),
  refresh('an unknown client type', { client_type: 'fridge' }, {}, 400, 'INVALID_INPUT'),
]);

describe('refresh tokens (web clients: httpOnly cookie + CSRF)', () => {
  async function webSignIn() {
    const { email, password } = await t.signUpUser();
    const res = await fetch(`${t.baseUrl}/api/auth/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { csrfToken: string; refreshToken?: string };
    const cookies = res.headers.getSetCookie();
    const refreshCookie = cookies.find((c) => c.startsWith('insforge_refresh_token='))!;
    return { body, cookies, refreshCookie, cookieHeader: refreshCookie.split(';')[0]! };
  }

  it('sets an httpOnly refresh cookie scoped to /api/auth and a readable CSRF cookie', async () => {
    const { body, cookies, refreshCookie } = await webSignIn();
    expect(body.refreshToken).toBeUndefined();
    expectOpaqueToken(body.csrfToken);
    expect(refreshCookie).toMatch(/HttpOnly/i);
    expect(refreshCookie).toMatch(/Path=\/api\/auth/);
    expect(refreshCookie).toMatch(/SameSite=Lax/i);
    const csrfCookie = cookies.find((c) => c.startsWith('insforge_csrf_token='))!;
    expect(csrfCookie).not.toMatch(/HttpOnly/i);
  });

  it('refreshes with the cookie and the matching X-CSRF-Token only', async () => {
    const { body, cookieHeader } = await webSignIn();
    const noCsrf = await t.request('POST', '/api/auth/refresh', {
      headers: { cookie: cookieHeader },
    });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error).toBe('AUTH_CSRF_INVALID');
    const wrongCsrf = await t.request('POST', '/api/auth/refresh', {
      headers: { cookie: cookieHeader, 'x-csrf-token': 'x'.repeat(43) },
    });
    expect(wrongCsrf.status).toBe(403);
    const ok = await t.request('POST', '/api/auth/refresh', {
      headers: { cookie: cookieHeader, 'x-csrf-token': body.csrfToken },
    });
    expect(ok.status).toBe(200);
    expectAccessToken(ok.body.accessToken, { role: 'authenticated', aal: 'aal1' });
    expectOpaqueToken(ok.body.csrfToken);
    expect(ok.body.csrfToken).not.toBe(body.csrfToken);
    const noCookie = await t.request('POST', '/api/auth/refresh', {});
    expect(noCookie.status).toBe(401);
    expect(noCookie.body.error).toBe('AUTH_UNAUTHORIZED');
  });

  it('logout clears the cookies and revokes the session', async () => {
    const { body, cookieHeader } = await webSignIn();
    const out = await fetch(`${t.baseUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie: cookieHeader, 'x-csrf-token': body.csrfToken },
    });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().some((c) => /^insforge_refresh_token=;/.test(c))).toBe(true);
    const after = await t.request('POST', '/api/auth/refresh', {
      headers: { cookie: cookieHeader, 'x-csrf-token': body.csrfToken },
    });
    expect(after.status).toBe(401);
  });
});

async function sign(
  claims: Record<string, unknown>,
  key: string,
  exp: number | string = '5m',
  alg = 'HS256',
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg })
    .setSubject(String(claims.sub ?? crypto.randomUUID()))
    .setIssuer('kiln')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(key));
}

/** Tokens Kiln must refuse, each made for the user's claims (the session id of its token). */
const forgedTokens = {
  expired: (claims: Record<string, unknown>, secret: string) =>
    sign(claims, secret, Math.floor(Date.now() / 1000) - 10),
  'wrongly signed': (claims: Record<string, unknown>) =>
    sign(claims, 'another-secret-that-is-long-enough-32'),
  'alg:none': (claims: Record<string, unknown>) => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(
      JSON.stringify({ ...claims, iss: 'kiln', iat: now, exp: now + 300 }),
    ).toString('base64url');
    return `${header}.${payload}.`;
  },
  HS512: (claims: Record<string, unknown>, secret: string) => sign(claims, secret, '5m', 'HS512'),
  'a postgres role': (claims: Record<string, unknown>, secret: string) =>
    sign({ ...claims, role: 'postgres' }, secret),
  'no session': (claims: Record<string, unknown>, secret: string) =>
    sign({ ...claims, sid: undefined }, secret),
  garbage: () => 'abc.def.ghi',
};
type Forged = keyof typeof forgedTokens;

describeScenarios<Forged>(
  'access tokens: forged and broken ones are refused',
  () => t,
  Object.keys(forgedTokens).map((as): Scenario<Forged> => ({
    name: `a token ${as === 'garbage' ? 'that is garbage' : `with ${as}`}`,
    as: as as Forged,
    method: 'GET',
    path: '/api/auth/sessions/current',
    status: 401,
    error: 'AUTH_UNAUTHORIZED',
    ...(as === 'expired' ? { expect: { message: expect.stringMatching(/expired/) } } : {}),
  })),
  Object.fromEntries(
    Object.entries(forgedTokens).map(([name, make]) => [
      name,
      async (ctx) => {
        const { accessToken } = await ctx.account('user');
        const { sub, sid, email } = expectAccessToken(accessToken);
        return make({ sub, sid, email, role: 'authenticated' }, ctx.t.app.config.jwtSecret!);
      },
    ]),
  ),
);

describe('access tokens', () => {
  it('still lets a client with a stale token sign in', async () => {
    const { email, password } = await t.signUpUser();
    const res = await t.request('POST', '/api/auth/sessions', {
      token: 'stale.token.value',
      body: { email, password },
    });
    expect(res.status).toBe(200);
  });
});

describe('admin', () => {
  it('signs the admin in and refuses wrong credentials', async () => {
    const token = await t.adminToken();
    const me = await t.request('GET', '/api/auth/admin/sessions/current', { token });
    expect(me.status).toBe(200);
    expect(me.body.admin.email).toBe('admin@kiln.test');
    const wrong = await t.request('POST', '/api/auth/admin/sessions', {
      body: { username: 'admin@kiln.test', password: 'nope' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('AUTH_INVALID_CREDENTIALS');
  });

  it('lists users with search and pagination, gets and deletes them', async () => {
    const tag = crypto.randomBytes(4).toString('hex');
    const made = [];
    for (let i = 0; i < 3; i++)
      made.push(await t.signUpUser({ email: `list-${tag}-${i}@example.com` }));
    const token = await t.adminToken();

    const page1 = await t.request('GET', `/api/auth/users?search=list-${tag}&limit=2&offset=0`, {
      token,
    });
    expect(page1.status).toBe(200);
    expect(page1.body.pagination).toEqual({ offset: 0, limit: 2, total: 3 });
    expect(page1.body.data).toHaveLength(2);
    const page2 = await t.request('GET', `/api/auth/users?search=list-${tag}&limit=2&offset=2`, {
      token: t.apiKey,
    });
    expect(page2.body.data).toHaveLength(1);
    const ids = new Set([...page1.body.data, ...page2.body.data].map((u: { id: string }) => u.id));
    expect(ids).toEqual(new Set(made.map((m) => m.userId)));

    const one = await t.request('GET', `/api/auth/users/${made[0]!.userId}`, { token });
    expect(one.body).toMatchObject({ id: made[0]!.userId, email: made[0]!.email });

    const del = await t.request('DELETE', '/api/auth/users', {
      token,
      body: { userIds: [made[0]!.userId, made[1]!.userId] },
    });
    expect(del.status).toBe(200);
    expect(del.body.deletedCount).toBe(2);
    const gone = await t.request('GET', `/api/auth/users/${made[0]!.userId}`, { token });
    expect(gone.status).toBe(404);
    // A deleted user's refresh token no longer works.
    const refresh = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken: made[0]!.refreshToken },
    });
    expect(refresh.status).toBe(401);
  });
});

const listUsers = (as: Scenario['as'], status: number, error?: string): Scenario => ({
  name: `${typeof as === 'string' ? as : 'a token'} lists users`,
  as,
  method: 'GET',
  path: '/api/auth/users',
  query: { limit: 1 },
  status,
  ...(error ? { error } : { expect: { pagination: { offset: 0, limit: 1 } } }),
});

describeScenarios('auth admin: who may call, and bad input', () => t, [
  listUsers('user', 403, 'AUTH_FORBIDDEN'),
  listUsers('otherUser', 403, 'AUTH_FORBIDDEN'),
  listUsers('anon', 403, 'AUTH_FORBIDDEN'),
  listUsers('none', 401, 'AUTH_INVALID_CREDENTIALS'),
  listUsers({ token: 'stale.token.value' }, 401, 'AUTH_UNAUTHORIZED'),
  listUsers('apiKey', 200),
  listUsers('admin', 200),
  {
    name: 'a user reads the auth config',
    as: 'user',
    method: 'GET',
    path: '/api/auth/config',
    status: 403,
    error: 'AUTH_FORBIDDEN',
  },
  {
    name: 'a user deletes users',
    as: 'user',
    method: 'DELETE',
    path: '/api/auth/users',
    body: { userIds: [crypto.randomUUID()] },
    status: 403,
    error: 'AUTH_FORBIDDEN',
  },
  {
    name: 'a negative limit',
    as: 'apiKey',
    method: 'GET',
    path: '/api/auth/users',
    query: { limit: -5 },
    status: 400,
    error: 'INVALID_INPUT',
  },
  {
    name: 'deleting a malformed user id',
    as: 'apiKey',
    method: 'DELETE',
    path: '/api/auth/users',
    body: { userIds: ['x'] },
    status: 400,
    error: 'INVALID_INPUT',
  },
  {
    name: 'a password minimum below the floor',
    as: 'apiKey',
    method: 'PUT',
    path: '/api/auth/config',
    body: { passwordMinLength: 2 },
    status: 400,
    error: 'INVALID_INPUT',
    expect: { message: expect.stringMatching(/passwordMinLength/) },
  },
  {
    name: 'an unknown auth config field',
    as: 'apiKey',
    method: 'PUT',
    path: '/api/auth/config',
    body: { bogus: true },
    status: 400,
    error: 'INVALID_INPUT',
  },
  {
    name: 'wrong admin credentials',
    as: 'none',
    method: 'POST',
    path: '/api/auth/admin/sessions',
    body: { username: 'admin@kiln.test', password: 'nope' },
    status: 401,
    error: 'AUTH_INVALID_CREDENTIALS',
  },
]);
