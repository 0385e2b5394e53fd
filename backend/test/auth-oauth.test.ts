import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessToken, expectOpaqueToken, startTestApp, type TestApp } from './helpers.js';

/**
 * End to end against a real OpenID provider on loopback (`oidc-provider`, its development login
 * and consent pages driven over HTTP), through Kiln's custom-OIDC path and @insforge/sdk.
 */
let t: TestApp;
let issuer: string;
let oidcServer: http.Server;
const APP = 'https://app.example.com/oauth/done';

beforeAll(async () => {
  t = await startTestApp();
  oidcServer = http.createServer();
  await new Promise<void>((r) => oidcServer.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(oidcServer.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'kiln',
        client_secret: 'kiln-secret',
        redirect_uris: [`${t.baseUrl}/api/auth/oauth/custom/acme/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: true } },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        email: `${id}@acme.test`,
        email_verified: !id.startsWith('unverified'),
        name: `User ${id}`,
      }),
    }),
  });
  oidcServer.on('request', provider.callback());
  await t.request('PUT', '/api/auth/config', {
    token: t.apiKey,
    body: { allowedRedirectUrls: [APP] },
  });
  const put = await t.request('PUT', '/api/auth/oauth/custom/acme/config', {
    token: t.apiKey,
    body: {
      name: 'Acme SSO',
      clientId: 'kiln',
      clientSecret: 'kiln-secret',
      discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    },
  });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ key: 'acme', custom: true, hasClientSecret: true });
});
afterAll(async () => {
  await t?.stop();
  oidcServer?.closeAllConnections();
  await new Promise((r) => oidcServer?.close(r));
});

/** A browser, minimal: follows redirects, keeps cookies, submits the provider's forms. */
async function browse(authUrl: string, login: string): Promise<URL> {
  const cookies = new Map<string, string>();
  let url = authUrl;
  let method = 'GET';
  let body: string | undefined;
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body,
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, ...v] = pair!.split('=');
      cookies.set(k!.trim(), v.join('='));
    }
    const location = res.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.toString().startsWith(APP)) return next;
      url = next.toString();
      method = 'GET';
      body = undefined;
      continue;
    }
    // A login or consent page: submit its form.
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no form at ${url}: ${res.status} ${html.slice(0, 300)}`);
    const fields = new URLSearchParams();
    for (const m of html.matchAll(
      /<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g,
    ))
      fields.set(m[1]!, m[2]!);
    if (/name="login"/.test(html)) {
      fields.set('login', login);
      fields.set('password', 'any');
    }
    url = new URL(action.replace(/&amp;/g, '&'), url).toString();
    method = 'POST';
    body = fields.toString();
  }
  throw new Error('too many hops');
}

const pkce = () => {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
};

describe('OAuth with PKCE against a real OpenID provider', () => {
  it('signs in through @insforge/sdk: authorize, login, consent, callback, exchange', async () => {
    const client = t.sdk();
    const started = await client.auth.signInWithOAuth({
      provider: 'acme',
      redirectTo: APP,
      skipBrowserRedirect: true,
    });
    expect(started.error).toBeNull();
    const authUrl = new URL(started.data.url!);
    expect(authUrl.origin).toBe(issuer);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    const back = await browse(authUrl.toString(), 'alice');
    const code = expectOpaqueToken(back.searchParams.get('insforge_code'));
    const exchanged = await client.auth.exchangeOAuthCode(code, started.data.codeVerifier);
    expect(exchanged.error).toBeNull();
    expectAccessToken(exchanged.data?.accessToken, {
      sub: exchanged.data!.user!.id,
      role: 'authenticated',
      email: 'alice@acme.test',
      aal: 'aal1',
    });
    expect(exchanged.data?.user).toMatchObject({
      email: 'alice@acme.test',
      emailVerified: true,
      providers: ['acme'],
      profile: { name: 'User alice' },
    });
    // The code works once.
    const again = await client.auth.exchangeOAuthCode(code, started.data.codeVerifier);
    expect(again.error?.statusCode).toBe(400);
  });

  it('refuses a wrong code_verifier, a replayed or missing state, and a redirect URI not allowed', async () => {
    const { verifier, challenge } = pkce();
    const start = await t.request(
      'GET',
      `/api/auth/oauth/custom/acme?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}`,
    );
    expect(start.status).toBe(200);
    const back = await browse(start.body.authUrl, 'bob');
    const code = back.searchParams.get('insforge_code')!;
    const wrong = await t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
      body: { code, code_verifier: pkce().verifier },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.accessToken).toBeUndefined();
    // The failed attempt used the code up.
    const late = await t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
      body: { code, code_verifier: verifier },
    });
    expect(late.status).toBe(400);

    const state = new URL(start.body.authUrl).searchParams.get('state');
    const replay = await fetch(
      `${t.baseUrl}/api/auth/oauth/custom/acme/callback?code=abc&state=${state}`,
      { redirect: 'manual' },
    );
    expect(replay.status).toBe(400);
    expect((await replay.json()).error).toBe('AUTH_OAUTH_INVALID_STATE');
    const missing = await fetch(`${t.baseUrl}/api/auth/oauth/custom/acme/callback?code=abc`, {
      redirect: 'manual',
    });
    expect(missing.status).toBe(400);

    const evil = await t.request(
      'GET',
      `/api/auth/oauth/custom/acme?redirect_uri=${encodeURIComponent('https://evil.example/steal')}&code_challenge=${challenge}`,
    );
    expect(evil.status).toBe(400);
    expect(evil.body.error).toBe('AUTH_REDIRECT_NOT_ALLOWED');
    const plain = await t.request(
      'GET',
      `/api/auth/oauth/custom/acme?redirect_uri=${encodeURIComponent(APP)}&code_challenge=plain`,
    );
    expect(plain.status).toBe(400);
    expect(
      (
        await t.request(
          'GET',
          `/api/auth/oauth/custom/nobody?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}`,
        )
      ).status,
    ).toBe(404);
  });

  it('links a verified provider email to an existing account, never an unverified one', async () => {
    const signIn = async (name: string) => {
      const { verifier, challenge } = pkce();
      const start = await t.request(
        'GET',
        `/api/auth/oauth/custom/acme?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}`,
      );
      const back = await browse(start.body.authUrl, name);
      return t.request('POST', '/api/auth/oauth/exchange?client_type=mobile', {
        body: { code: back.searchParams.get('insforge_code'), code_verifier: verifier },
      });
    };
    // An account whose address was proven (here: created by an admin) keeps its password.
    const erin = await t.request('POST', '/api/auth/users', {
      token: t.apiKey,
      body: { email: 'erin@acme.test', password: 'correct horse battery' },
    });
    expect(erin.status).toBe(201);
    const erinDone = await signIn('erin');
    expect(erinDone.body.user.id).toBe(erin.body.user.id);
    expect(erinDone.body.user.providers).toEqual(['email', 'acme']);

    // A password sign-up nobody verified may be someone else's squat on the address: the
    // provider's proof of the inbox ends it (password and sessions gone).
    const existing = await t.signUpUser({ email: 'carol@acme.test' });
    const done = await signIn('carol');
    expect(done.body.user.id).toBe(existing.userId);
    expect(done.body.user.providers).toEqual(['acme']);
    const squatter = await t.request('POST', '/api/auth/sessions', {
      body: { email: 'carol@acme.test', password: existing.password },
    });
    expect(squatter.status).toBe(401);
    const oldSession = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken: existing.refreshToken },
    });
    expect(oldSession.status).toBe(401);

    await t.signUpUser({ email: 'unverified-dave@acme.test' });
    const second = pkce();
    const start2 = await t.request(
      'GET',
      `/api/auth/oauth/custom/acme?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${second.challenge}`,
    );
    const refused = await browse(start2.body.authUrl, 'unverified-dave');
    expect(refused.searchParams.get('insforge_code')).toBeNull();
    expect(refused.searchParams.get('error')).toBe('AUTH_OAUTH_EMAIL_UNVERIFIED');
  });

  it('lists provider configs to admins without secrets', async () => {
    const list = await t.request('GET', '/api/auth/oauth/custom/configs', { token: t.apiKey });
    expect(list.body).toEqual({
      data: [
        expect.objectContaining({
          key: 'acme',
          clientId: 'kiln',
          hasClientSecret: true,
          discoveryEndpoint: expect.stringMatching(/^http/),
        }),
      ],
      count: 1,
    });
    const builtIn = await t.request('GET', '/api/auth/oauth/configs', { token: t.apiKey });
    expect(builtIn.body).toEqual({ data: [], count: 0 });
    expect(JSON.stringify(list.body)).not.toContain('kiln-secret');
    const stored = await t.app.db.query(`SELECT client_secret_encrypted FROM auth.oauth_providers`);
    expect(stored.rows[0]!.client_secret_encrypted).toMatch(/^v1:/);
    const user = await t.signUpUser();
    expect(
      (await t.request('GET', '/api/auth/oauth/configs', { token: user.accessToken })).status,
    ).toBe(403);
  });
});
