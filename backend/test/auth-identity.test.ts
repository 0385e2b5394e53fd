/**
 * Identity for applications (issue 22, roles and claims; user administration): app_metadata and
 * user_metadata in the user object and the access token, application roles and auth.has_role(),
 * the custom-claims hook, and the admin's user update (email, password, metadata, roles,
 * email-verified, bans). Through @insforge/sdk, raw HTTP and real RLS policies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await t.app.db.query(`
    CREATE TABLE public.pro_docs (id serial PRIMARY KEY, title text NOT NULL);
    ALTER TABLE public.pro_docs ENABLE ROW LEVEL SECURITY;
    CREATE POLICY pro_only ON public.pro_docs FOR SELECT TO authenticated
      USING (auth.jwt() -> 'app_metadata' ->> 'plan' = 'pro');
    INSERT INTO public.pro_docs (title) VALUES ('pro handbook');

    CREATE TABLE public.articles (id serial PRIMARY KEY, title text NOT NULL);
    ALTER TABLE public.articles ENABLE ROW LEVEL SECURITY;
    CREATE POLICY editors_read ON public.articles FOR SELECT TO authenticated
      USING (auth.has_role('editor'));
    CREATE POLICY editors_write ON public.articles FOR INSERT TO authenticated
      WITH CHECK (auth.has_role('editor'));
    INSERT INTO public.articles (title) VALUES ('draft');

    CREATE FUNCTION public.my_claims() RETURNS jsonb LANGUAGE sql STABLE
      AS $$ SELECT auth.jwt() $$;
  `);
});
afterAll(async () => {
  await t?.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });
const claimsOf = (token: unknown) => decodeJwt(token as string) as Record<string, any>;

/** A signed-in SDK client and the means to refresh it. */
async function signedIn() {
  const user = await t.signUpUser();
  let refreshToken = user.refreshToken;
  return {
    ...user,
    /** Refreshes through the SDK; the client then sends the new access token. */
    async refresh() {
      const { data, error } = await user.client.auth.refreshSession({ refreshToken });
      expect(error).toBeNull();
      refreshToken = data!.refreshToken!;
      return data!;
    },
  };
}

describe('app_metadata and user_metadata', () => {
  it('travel in the user object and the token, and a policy on app_metadata works', async () => {
    const user = await signedIn();
    const before = await user.client.database.from('pro_docs').select('title');
    expect(before.error).toBeNull();
    expect(before.data).toEqual([]);
    expect(claimsOf(user.accessToken)).toMatchObject({
      app_metadata: {},
      user_metadata: {},
      app_roles: [],
    });

    const patched = await admin('PATCH', `/api/auth/users/${user.userId}`, {
      appMetadata: { plan: 'pro', seats: 3 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ appMetadata: { plan: 'pro', seats: 3 }, appRoles: [] });

    const refreshed = await user.refresh();
    // The SDK's user type predates these fields; they arrive all the same.
    expect((refreshed.user as Record<string, unknown>).appMetadata).toEqual({
      plan: 'pro',
      seats: 3,
    });
    expect(claimsOf(refreshed.accessToken).app_metadata).toEqual({ plan: 'pro', seats: 3 });
    const after = await user.client.database.from('pro_docs').select('title');
    expect(after.error).toBeNull();
    expect(after.data).toEqual([{ title: 'pro handbook' }]);

    // Keys merge; null removes one.
    const merged = await admin('PATCH', `/api/auth/users/${user.userId}`, {
      appMetadata: { seats: null, region: 'eu' },
    });
    expect(merged.body.appMetadata).toEqual({ plan: 'pro', region: 'eu' });
  });

  it('the user sets user_metadata (not app_metadata); auth.jwt() reads it after a refresh', async () => {
    const user = await signedIn();
    const set = await t.request('PATCH', '/api/auth/profiles/current', {
      token: user.accessToken,
      body: { userMetadata: { theme: 'dark', lang: 'fr' } },
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({
      id: user.userId,
      profile: expect.any(Object),
      userMetadata: { theme: 'dark', lang: 'fr' },
    });
    // The SDK's own profile update keeps working, and leaves user_metadata alone.
    const profile = await user.client.auth.setProfile({ name: 'Ada' });
    expect(profile.error).toBeNull();
    expect(profile.data).toMatchObject({ profile: { name: 'Ada' } });

    const refused = await t.request('PATCH', '/api/auth/profiles/current', {
      token: user.accessToken,
      body: { userMetadata: { lang: null }, appMetadata: { plan: 'pro' } },
    });
    expect([refused.status, refused.body.error]).toEqual([400, 'INVALID_INPUT']);

    // Both objects travel in every token: each is bounded after merging, not only per request.
    const half = 'x'.repeat(2500);
    const first = await t.request('PATCH', '/api/auth/profiles/current', {
      token: user.accessToken,
      body: { userMetadata: { a: half } },
    });
    expect(first.status).toBe(200);
    const grown = await t.request('PATCH', '/api/auth/profiles/current', {
      token: user.accessToken,
      body: { userMetadata: { b: half } },
    });
    expect([grown.status, grown.body.error]).toEqual([400, 'INVALID_INPUT']);
    expect(grown.body.message).toMatch(
      /^userMetadata: would hold \d+ characters of JSON; at most 4096/,
    );
    const tooBig = await admin('PATCH', `/api/auth/users/${user.userId}`, {
      appMetadata: { blob: 'y'.repeat(5000) },
    });
    expect([tooBig.status, tooBig.body.error]).toEqual([400, 'INVALID_INPUT']);
    const grownByAdmin = await admin('PATCH', `/api/auth/users/${user.userId}`, {
      userMetadata: { c: half },
    });
    expect([grownByAdmin.status, grownByAdmin.body.error]).toEqual([400, 'INVALID_INPUT']);
    const cleared = await t.request('PATCH', '/api/auth/profiles/current', {
      token: user.accessToken,
      body: { userMetadata: { a: null } },
    });
    expect(cleared.body.userMetadata).toEqual({ theme: 'dark', lang: 'fr' });

    await user.refresh();
    const rpc = await user.client.database.rpc('my_claims');
    expect(rpc.error).toBeNull();
    expect(rpc.data).toMatchObject({
      sub: user.userId,
      role: 'authenticated',
      user_metadata: { theme: 'dark', lang: 'fr' },
      app_metadata: {},
    });
    const current = await t.request('GET', '/api/auth/sessions/current', {
      token: (await user.refresh()).accessToken,
    });
    expect(current.body.user).toMatchObject({
      userMetadata: { theme: 'dark', lang: 'fr' },
      appMetadata: {},
      profile: { name: 'Ada' },
    });
  });
});

describe('application roles', () => {
  it('admins define roles and assign them; they reach the next token and auth.has_role()', async () => {
    expect((await admin('POST', '/api/auth/roles', { name: 'editor' })).status).toBe(201);
    const created = await admin('POST', '/api/auth/roles', {
      name: 'billing_admin',
      description: 'Sees invoices',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'billing_admin', description: 'Sees invoices' });

    const user = await signedIn();
    const denied = await user.client.database.from('articles').insert({ title: 'mine' });
    expect(denied.error).not.toBeNull();
    expect((await user.client.database.from('articles').select('title')).data).toEqual([]);

    const assigned = await admin('PATCH', `/api/auth/users/${user.userId}`, {
      appRoles: ['editor', 'billing_admin', 'editor'],
    });
    expect(assigned.status).toBe(200);
    expect(assigned.body.appRoles).toEqual(['billing_admin', 'editor']);
    const refreshed = await user.refresh();
    expect(claimsOf(refreshed.accessToken).app_roles).toEqual(['billing_admin', 'editor']);
    const written = await user.client.database.from('articles').insert({ title: 'mine' });
    expect(written.error).toBeNull();
    const read = await user.client.database.from('articles').select('title').order('id');
    expect(read.data).toEqual([{ title: 'draft' }, { title: 'mine' }]);

    const roles = await admin('GET', '/api/auth/roles');
    expect(roles.body.roles).toEqual([
      expect.objectContaining({ name: 'billing_admin', userCount: 1 }),
      expect.objectContaining({ name: 'editor', userCount: 1 }),
    ]);

    // Taken away: the next refreshed token no longer carries it.
    await admin('PATCH', `/api/auth/users/${user.userId}`, { appRoles: ['billing_admin'] });
    await user.refresh();
    expect((await user.client.database.from('articles').select('title')).data).toEqual([]);

    // Deleting a role takes it from its users.
    expect((await admin('DELETE', '/api/auth/roles/billing_admin')).status).toBe(200);
    expect((await admin('GET', `/api/auth/users/${user.userId}`)).body.appRoles).toEqual([]);
  });

  it('answers bad role input and non-admins with 4xx', async () => {
    const user = await t.signUpUser();
    const cases: Array<[string, string, unknown, string | null, number, string]> = [
      ['POST', '/api/auth/roles', { name: 'editor' }, t.apiKey, 409, 'AUTH_ROLE_EXISTS'],
      ['POST', '/api/auth/roles', { name: 'Editor!' }, t.apiKey, 400, 'INVALID_INPUT'],
      ['POST', '/api/auth/roles', { name: 'x', extra: 1 }, t.apiKey, 400, 'INVALID_INPUT'],
      ['DELETE', '/api/auth/roles/ghost', undefined, t.apiKey, 404, 'AUTH_ROLE_NOT_FOUND'],
      ['POST', '/api/auth/roles', { name: 'mine' }, user.accessToken, 403, 'AUTH_FORBIDDEN'],
      ['GET', '/api/auth/roles', undefined, user.accessToken, 403, 'AUTH_FORBIDDEN'],
      [
        'PATCH',
        `/api/auth/users/${user.userId}`,
        { appRoles: ['editor', 'ghost'] },
        t.apiKey,
        400,
        'AUTH_UNKNOWN_ROLE',
      ],
      [
        'PATCH',
        `/api/auth/users/${user.userId}`,
        { appRoles: ['NOT A ROLE'] },
        t.apiKey,
        400,
        'INVALID_INPUT',
      ],
      [
        'PATCH',
        `/api/auth/users/${user.userId}`,
        { appRoles: ['editor'] },
        user.accessToken,
        403,
        'AUTH_FORBIDDEN',
      ],
    ];
    for (const [method, path, body, token, status, code] of cases) {
      const res = await t.request(method, path, { token, body });
      expect([res.status, res.body.error], `${method} ${path} ${JSON.stringify(body)}`).toEqual([
        status,
        code,
      ]);
    }
    // The refused assignment changed nothing.
    expect((await admin('GET', `/api/auth/users/${user.userId}`)).body.appRoles).toEqual([]);
  });
});

describe('custom-claims hook', () => {
  it('adds claims at sign-in and refresh, keeps Kiln’s own, and refuses with a clear error', async () => {
    await t.app.db.query(`
      CREATE TABLE public.tenant_members (user_id uuid NOT NULL, tenant text NOT NULL);
      CREATE FUNCTION public.tenant_claims(user_id uuid, claims jsonb) RETURNS jsonb
        LANGUAGE plpgsql AS $$
      BEGIN
        IF claims -> 'user_metadata' ->> 'suspended' = 'yes' THEN
          RAISE EXCEPTION 'the tenant of this account is suspended';
        END IF;
        IF claims -> 'user_metadata' ->> 'broken' = 'yes' THEN
          RETURN to_jsonb(1 / 0);
        END IF;
        RETURN claims || jsonb_build_object(
          'tenant_ids', coalesce((SELECT jsonb_agg(tenant ORDER BY tenant) FROM public.tenant_members m
                                   WHERE m.user_id = tenant_claims.user_id), '[]'::jsonb),
          'seen_uid', auth.uid(),
          'role', 'project_admin');
      END $$;
    `);
    const missing = await admin('PUT', '/api/auth/config', { customClaimsHook: 'public.nope' });
    expect([missing.status, missing.body.error]).toEqual([400, 'AUTH_INVALID_CLAIMS_HOOK']);
    const bad = await admin('PUT', '/api/auth/config', { customClaimsHook: 'x; DROP TABLE y' });
    expect([bad.status, bad.body.error]).toEqual([400, 'INVALID_INPUT']);

    const user = await signedIn();
    await t.app.db.query(`INSERT INTO public.tenant_members VALUES ($1, 'acme'), ($1, 'globex')`, [
      user.userId,
    ]);
    const set = await admin('PUT', '/api/auth/config', {
      customClaimsHook: 'public.tenant_claims',
    });
    expect(set.status).toBe(200);
    expect(set.body.customClaimsHook).toBe('public.tenant_claims');
    // Not shown to the public.
    expect((await t.request('GET', '/api/auth/public-config')).body).not.toHaveProperty(
      'customClaimsHook',
    );
    try {
      const signIn = await t.sdk().auth.signInWithPassword({
        email: user.email,
        password: user.password,
      });
      expect(signIn.error).toBeNull();
      const claims = claimsOf(signIn.data!.accessToken);
      expect(claims).toMatchObject({
        sub: user.userId,
        role: 'authenticated',
        tenant_ids: ['acme', 'globex'],
        seen_uid: user.userId,
        app_metadata: {},
      });
      const refreshed = await user.refresh();
      expect(claimsOf(refreshed.accessToken).tenant_ids).toEqual(['acme', 'globex']);
      const rpc = await user.client.database.rpc('my_claims');
      expect(rpc.data).toMatchObject({ role: 'authenticated', tenant_ids: ['acme', 'globex'] });

      // A refusal raised on purpose: 403 with the function's message; no session is left.
      await admin('PATCH', `/api/auth/users/${user.userId}`, {
        userMetadata: { suspended: 'yes' },
      });
      const refused = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
        body: { email: user.email, password: user.password },
      });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({
        error: 'AUTH_CLAIMS_HOOK_REFUSED',
        message: expect.stringContaining('the tenant of this account is suspended'),
        statusCode: 403,
      });
      const viaSdk = await t.sdk().auth.signInWithPassword({
        email: user.email,
        password: user.password,
      });
      expect(viaSdk.error?.error).toBe('AUTH_CLAIMS_HOOK_REFUSED');
      const refreshRefused = await user.client.auth.refreshSession({
        refreshToken: refreshed.refreshToken!,
      });
      expect(refreshRefused.error?.statusCode).toBe(403);

      // A failing hook: 500 naming the hook and the SQLSTATE, never a token.
      await admin('PATCH', `/api/auth/users/${user.userId}`, {
        userMetadata: { suspended: null, broken: 'yes' },
      });
      const failed = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
        body: { email: user.email, password: user.password },
      });
      expect(failed.status).toBe(500);
      expect(failed.body).toMatchObject({
        error: 'AUTH_CLAIMS_HOOK_FAILED',
        message: expect.stringContaining('public.tenant_claims failed (SQLSTATE 22012)'),
      });
      const live = await admin('GET', `/api/auth/users/${user.userId}/sessions`);
      // Only the sign-in made before the refusals: refused sign-ins left no session, and the
      // session whose refresh was refused ended.
      expect(live.body.sessions).toHaveLength(1);
      expect(live.body.sessions[0].id).toBe(claimsOf(signIn.data!.accessToken).sid);
    } finally {
      await admin('PUT', '/api/auth/config', { customClaimsHook: null });
    }
    const again = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { email: user.email, password: user.password },
    });
    expect(again.status).toBe(200);
    expect(claimsOf(again.body.accessToken)).not.toHaveProperty('tenant_ids');

    // Checked when it changes only: saving every setting with the stored hook goes through even
    // once the function is gone; sign-ins then fail (500) until it is fixed or turned off.
    await t.app.db.query(
      'CREATE FUNCTION public.gone_claims(user_id uuid, claims jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT claims $$',
    );
    expect(
      (await admin('PUT', '/api/auth/config', { customClaimsHook: 'gone_claims' })).status,
    ).toBe(200);
    try {
      await t.app.db.query('DROP FUNCTION public.gone_claims(uuid, jsonb)');
      const resaved = await admin('PUT', '/api/auth/config', {
        customClaimsHook: 'gone_claims',
        passwordMinLength: 6,
      });
      expect(resaved.status).toBe(200);
      const broken = await t.request('POST', '/api/auth/sessions', {
        body: { email: user.email, password: user.password },
      });
      expect([broken.status, broken.body.error]).toEqual([500, 'AUTH_CLAIMS_HOOK_FAILED']);
      expect(broken.body.message).toContain('gone_claims failed (SQLSTATE 42883)');
    } finally {
      await admin('PUT', '/api/auth/config', { customClaimsHook: null });
    }
  });
});

describe('admin user update', () => {
  it('changes email, password and email-verified; a new password ends the sessions', async () => {
    const user = await signedIn();
    const other = await t.signUpUser();
    const email = `moved-${user.userId.slice(0, 8)}@example.com`;
    const moved = await admin('PATCH', `/api/auth/users/${user.userId}`, { email });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ email, emailVerified: false });
    const verified = await admin('PATCH', `/api/auth/users/${user.userId}`, {
      emailVerified: true,
    });
    expect(verified.body.emailVerified).toBe(true);
    const unverified = await admin('PATCH', `/api/auth/users/${user.userId}`, {
      emailVerified: false,
    });
    expect(unverified.body.emailVerified).toBe(false);
    const signIn = await t.sdk().auth.signInWithPassword({ email, password: user.password });
    expect(signIn.error).toBeNull();

    const changed = await admin('PATCH', `/api/auth/users/${user.userId}`, {
      password: 'a brand new secret',
    });
    expect(changed.status).toBe(200);
    const oldRefresh = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken: user.refreshToken },
    });
    expect(oldRefresh.status).toBe(401);
    await expect
      .poll(
        async () =>
          (await t.request('GET', '/api/auth/sessions/current', { token: user.accessToken }))
            .status,
      )
      .toBe(401);
    const oldPassword = await t.request('POST', '/api/auth/sessions', {
      body: { email, password: user.password },
    });
    expect(oldPassword.status).toBe(401);
    const newPassword = await t.request('POST', '/api/auth/sessions', {
      body: { email, password: 'a brand new secret' },
    });
    expect(newPassword.status).toBe(200);

    const cases: Array<[unknown, number, string]> = [
      [{ email: other.email }, 409, 'AUTH_EMAIL_EXISTS'],
      [{ email: 'not an address' }, 400, 'AUTH_INVALID_EMAIL'],
      [{ password: 'abc' }, 400, 'AUTH_WEAK_PASSWORD'],
      [{}, 400, 'INVALID_INPUT'],
      [{ nickname: 'x' }, 400, 'INVALID_INPUT'],
      [{ appMetadata: 'pro' }, 400, 'INVALID_INPUT'],
      [{ bannedUntil: 'tomorrow' }, 400, 'INVALID_INPUT'],
      [{ emailVerified: 'yes' }, 400, 'INVALID_INPUT'],
    ];
    for (const [body, status, code] of cases) {
      const res = await admin('PATCH', `/api/auth/users/${user.userId}`, body);
      expect([res.status, res.body.error], JSON.stringify(body)).toEqual([status, code]);
    }
    const missing = await admin('PATCH', '/api/auth/users/00000000-0000-4000-8000-000000000000', {
      appMetadata: { plan: 'pro' },
    });
    expect([missing.status, missing.body.error]).toEqual([404, 'AUTH_USER_NOT_FOUND']);
  });

  it('bans until a time: sessions end, sign-in and refresh are refused, lifting restores', async () => {
    const user = await signedIn();
    const until = new Date(Date.now() + 3600_000).toISOString();
    const banned = await admin('PATCH', `/api/auth/users/${user.userId}`, { bannedUntil: until });
    expect(banned.status).toBe(200);
    expect(banned.body.bannedUntil).toBe(until);

    await expect
      .poll(
        async () =>
          (await t.request('GET', '/api/auth/sessions/current', { token: user.accessToken }))
            .status,
      )
      .toBe(401);
    const refresh = await user.client.auth.refreshSession({ refreshToken: user.refreshToken });
    expect(refresh.error?.statusCode).toBe(401);
    const signIn = await t.request('POST', '/api/auth/sessions', {
      body: { email: user.email, password: user.password },
    });
    expect(signIn.status).toBe(403);
    expect(signIn.body).toMatchObject({
      error: 'AUTH_USER_BANNED',
      message: `This account is banned until ${until}`,
    });
    const wrongPassword = await t.request('POST', '/api/auth/sessions', {
      body: { email: user.email, password: 'not the password' },
    });
    expect(wrongPassword.status).toBe(401);
    expect((await admin('GET', `/api/auth/users/${user.userId}/sessions`)).body.sessions).toEqual(
      [],
    );

    // A ban set straight in SQL still stops a refresh of a session that outlived it.
    const lifted = await admin('PATCH', `/api/auth/users/${user.userId}`, { bannedUntil: null });
    expect(lifted.body.bannedUntil).toBeNull();
    const back = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { email: user.email, password: user.password },
    });
    expect(back.status).toBe(200);
    await t.app.db.query(
      `UPDATE auth.users SET banned_until = now() + interval '1 day' WHERE id = $1`,
      [user.userId],
    );
    const refused = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken: back.body.refreshToken },
    });
    expect([refused.status, refused.body.error]).toEqual([403, 'AUTH_USER_BANNED']);

    // A ban in the past is no ban.
    const past = await admin('PATCH', `/api/auth/users/${user.userId}`, {
      bannedUntil: '2020-01-01T00:00:00Z',
    });
    expect(past.status).toBe(200);
    const afterPast = await t.request('POST', '/api/auth/sessions', {
      body: { email: user.email, password: user.password },
    });
    expect(afterPast.status).toBe(200);
  });
});
