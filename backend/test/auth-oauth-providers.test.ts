import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOAuthProviders } from './fake-oauth-providers.js';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
const fake = new FakeOAuthProviders();
const APP = 'https://app.example.com/oauth/done';

beforeAll(async () => {
  await fake.start();
  t = await startTestApp(
    {},
    {
      OAUTH_TEST_BASE_URL: fake.url,
      // GitHub from the environment; the others from the admin API.
      GITHUB_CLIENT_ID: 'github-client',
      GITHUB_CLIENT_SECRET: 'github-secret',
    },
  );
  await t.request('PUT', '/api/auth/config', {
    token: t.apiKey,
    body: { allowedRedirectUrls: [APP] },
  });
  for (const p of ['google', 'microsoft', 'discord', 'linkedin', 'x', 'apple', 'facebook']) {
    const put = await t.request('PUT', `/api/auth/oauth/${p}/config`, {
      token: t.apiKey,
      body: { clientId: `${p}-client`, clientSecret: `${p}-secret` },
    });
    expect(put.status, p).toBe(200);
  }
});
afterAll(async () => {
  await t?.stop();
  await fake.stop();
});

const pkce = () => {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
};

/** Start, consent at the stand-in, come back through Kiln's callback; the app's landing URL. */
async function signIn(provider: string, challenge: string): Promise<URL> {
  const start = await t.request(
    'GET',
    `/api/auth/oauth/${provider}?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}`,
  );
  expect(start.status, JSON.stringify(start.body)).toBe(200);
  const atProvider = await fetch(start.body.authUrl, { redirect: 'manual' });
  let callback: Response;
  if (atProvider.status === 302) {
    callback = await fetch(atProvider.headers.get('location')!, { redirect: 'manual' });
  } else {
    const html = await atProvider.text();
    const action = /action="([^"]+)"/.exec(html)![1]!;
    const form = new URLSearchParams();
    for (const m of html.matchAll(/name="([^"]+)" value=(?:"([^"]*)"|'([^']*)')/g))
      form.set(m[1]!, m[2] ?? m[3]!);
    callback = await fetch(action, { method: 'POST', body: form, redirect: 'manual' });
  }
  expect(callback.status).toBe(302);
  return new URL(callback.headers.get('location')!);
}

const expected: Record<string, Record<string, unknown>> = {
  google: {
    email: 'gina@gmail.test',
    emailVerified: true,
    profile: { name: 'Gina G', avatar_url: 'https://img.test/g.png' },
  },
  github: {
    email: 'octo@gh.test',
    emailVerified: true,
    profile: { name: 'Octo Cat', avatar_url: 'https://img.test/o.png' },
  },
  microsoft: { email: 'mia@outlook.test', emailVerified: false, profile: { name: 'Mia M' } },
  discord: {
    email: 'nelly@discord.test',
    emailVerified: true,
    profile: {
      name: 'Nelly',
      avatar_url:
        'https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png',
    },
  },
  linkedin: {
    email: 'lin@linkedin.test',
    emailVerified: true,
    profile: { name: 'Lin K', avatar_url: 'https://img.test/l.png' },
  },
  x: {
    email: 'xav@x.test',
    emailVerified: true,
    profile: { name: 'Xavier', avatar_url: 'https://img.test/x.png' },
  },
  apple: { email: 'ada@icloud.test', emailVerified: true, profile: { name: 'Ada Apple' } },
  facebook: {
    email: 'fay@fb.test',
    emailVerified: true,
    profile: { name: 'Fay B', avatar_url: 'https://img.test/f.png' },
  },
};

describe('built-in OAuth providers', () => {
  for (const provider of Object.keys(expected)) {
    it(`${provider}: authorize → token → profile mapping → session`, async () => {
      const { verifier, challenge } = pkce();
      const landed = await signIn(provider, challenge);
      expect(landed.origin + landed.pathname).toBe(APP);
      expect(landed.searchParams.get('error')).toBeNull();
      const code = landed.searchParams.get('insforge_code')!;
      const { data, error } = await t.sdk().auth.exchangeOAuthCode(code, verifier);
      expect(error).toBeNull();
      expect(data?.user).toMatchObject({ ...expected[provider], providers: [provider] });
      // What Kiln sent to the token endpoint.
      const sent = fake.tokenRequests.filter((r) => r.provider === provider).at(-1)!;
      expect(sent.form.grant_type).toBe('authorization_code');
      expect(sent.form.redirect_uri).toBe(`${t.baseUrl}/api/auth/oauth/${provider}/callback`);
      if (provider === 'x') expect(sent.basic).toBe('x-client:x-secret');
      if (['linkedin', 'facebook'].includes(provider))
        expect(sent.form.code_verifier).toBeUndefined();
      else expect(sent.form.code_verifier).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    });
  }

  it('an anonymous user who signs in with a provider keeps their id', async () => {
    await t.request('PUT', '/api/auth/config', {
      token: t.apiKey,
      body: { allowAnonymousSignIn: true },
    });
    fake.overrides.set('discord/api/users/@me', {
      id: '999',
      username: 'anon-turned',
      email: 'turned@discord.test',
      verified: true,
      avatar: null,
    });
    try {
      const anon = await t.request('POST', '/api/auth/anonymous?client_type=mobile');
      const { verifier, challenge } = pkce();
      const start = await t.request(
        'GET',
        `/api/auth/oauth/discord?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}`,
        { token: anon.body.accessToken },
      );
      const atProvider = await fetch(start.body.authUrl, { redirect: 'manual' });
      const callback = await fetch(atProvider.headers.get('location')!, { redirect: 'manual' });
      const landed = new URL(callback.headers.get('location')!);
      // Until the exchange proves the same client finished the flow, the anonymous account is
      // untouched: a victim sent the attacker's provider link lands nobody in it.
      const meanwhile = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
        body: { refreshToken: anon.body.refreshToken },
      });
      expect(meanwhile.status).toBe(200);
      expect(meanwhile.body.user.isAnonymous).toBe(true);
      const wrongVerifier = await t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
        body: { code: landed.searchParams.get('insforge_code'), code_verifier: pkce().verifier },
      });
      expect(wrongVerifier.status).toBe(400);
      const stillAnon = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
        body: { refreshToken: meanwhile.body.refreshToken },
      });
      expect(stillAnon.body.user.isAnonymous).toBe(true);

      const again = await t.request(
        'GET',
        `/api/auth/oauth/discord?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}`,
        { token: stillAnon.body.accessToken },
      );
      const atProvider2 = await fetch(again.body.authUrl, { redirect: 'manual' });
      const callback2 = await fetch(atProvider2.headers.get('location')!, { redirect: 'manual' });
      const landed2 = new URL(callback2.headers.get('location')!);
      const done = await t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
        body: { code: landed2.searchParams.get('insforge_code'), code_verifier: verifier },
      });
      // The anonymous sessions end with the upgrade.
      const afterUpgrade = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
        body: { refreshToken: stillAnon.body.refreshToken },
      });
      expect(afterUpgrade.status).toBe(401);
      expect(done.status).toBe(200);
      expect(done.body.user).toMatchObject({
        id: anon.body.user.id,
        email: 'turned@discord.test',
        emailVerified: true,
        providers: ['discord'],
      });
      expect(done.body.user.isAnonymous).toBeUndefined();
    } finally {
      fake.overrides.clear();
      await t.request('PUT', '/api/auth/config', {
        token: t.apiKey,
        body: { allowAnonymousSignIn: false },
      });
    }
  });

  it('reports a refused code back to the app as an error, and lists providers for admins', async () => {
    await t.request('PUT', '/api/auth/oauth/google/config', {
      token: t.apiKey,
      body: { clientId: 'google-client', clientSecret: 'wrong-secret' },
    });
    try {
      const landed = await signIn('google', pkce().challenge);
      expect(landed.searchParams.get('insforge_code')).toBeNull();
      expect(landed.searchParams.get('error')).toBe('AUTH_OAUTH_TOKEN_EXCHANGE_FAILED');
    } finally {
      await t.request('PUT', '/api/auth/oauth/google/config', {
        token: t.apiKey,
        body: { clientId: 'google-client', clientSecret: 'google-secret' },
      });
    }
    const unknown = await t.request(
      'GET',
      `/api/auth/oauth/myspace?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${pkce().challenge}`,
    );
    expect(unknown.status).toBe(400);
    const configs = await t.request('GET', '/api/auth/oauth/configs', { token: t.apiKey });
    expect(configs.body.data.map((c: any) => c.key)).toEqual(
      expect.arrayContaining(['google', 'apple', 'x']),
    );
  });
});
