/**
 * InsForge's documented paths that Kiln serves beside its own (issue 16): the deprecated
 * anon-token read, the OAuth create, and the secrets-area key rotations, with InsForge's shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@insforge/sdk';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

describe('POST /api/auth/tokens/anon', () => {
  it('answers the anon key as accessToken to admins (JWT, API key, SDK), and to no one else', async () => {
    const admin = await t.adminToken();
    for (const token of [admin, t.apiKey]) {
      const res = await t.request('POST', '/api/auth/tokens/anon', { token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ accessToken: t.anonKey, message: expect.any(String) });
    }
    const sdkAdmin = createClient({ baseUrl: t.baseUrl, accessToken: t.apiKey });
    const viaSdk = await sdkAdmin
      .getHttpClient()
      .post<{ accessToken: string }>('/api/auth/tokens/anon');
    expect(viaSdk.accessToken).toBe(t.anonKey);

    const { accessToken: userToken } = await t.signUpUser();
    for (const token of [t.anonKey, userToken]) {
      const res = await t.request('POST', '/api/auth/tokens/anon', { token });
      expect(res.status).toBe(403);
      expect(JSON.stringify(res.body)).not.toContain(t.apiKey);
    }
    expect((await t.request('POST', '/api/auth/tokens/anon')).status).toBe(401);
  });

  it('leaves unknown /api/auth paths a 404, not a 401', async () => {
    expect((await t.request('GET', '/api/auth/no-such-path')).status).toBe(404);
  });
});

describe('POST /api/auth/oauth/configs', () => {
  it('configures the built-in provider named in the body, as PUT does', async () => {
    const admin = await t.adminToken();
    const created = await t.request('POST', '/api/auth/oauth/configs', {
      token: admin,
      body: { provider: 'github', clientId: 'gh-client', clientSecret: 'shh', scopes: ['user'] },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      key: 'github',
      custom: false,
      clientId: 'gh-client',
      hasClientSecret: true,
      scopes: ['user'],
    });
    expect(JSON.stringify(created.body)).not.toContain('shh');
    const read = await t.request('GET', '/api/auth/oauth/github/config', { token: admin });
    expect(read.body).toMatchObject({ key: 'github', clientId: 'gh-client' });
    const listed = await t.request('GET', '/api/auth/oauth/configs', { token: admin });
    expect(listed.body.configs.map((c: { key: string }) => c.key)).toContain('github');
  });

  it('refuses unknown providers, a missing clientId and non-admins', async () => {
    const admin = await t.adminToken();
    const unknown = await t.request('POST', '/api/auth/oauth/configs', {
      token: admin,
      body: { provider: 'myspace', clientId: 'x' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('INVALID_INPUT');
    const noClient = await t.request('POST', '/api/auth/oauth/configs', {
      token: admin,
      body: { provider: 'google' },
    });
    expect(noClient.status).toBe(400);
    expect(noClient.body.message).toMatch(/clientId/);
    const asAnon = await t.request('POST', '/api/auth/oauth/configs', {
      token: t.anonKey,
      body: { provider: 'google', clientId: 'x' },
    });
    expect(asAnon.status).toBe(403);
  });
});

describe('POST /api/secrets/{api,anon}-key/rotate', () => {
  it('rotate with the grace given in hours and answer when the old key stops working', async () => {
    const oldAnon = t.anonKey;
    const anon = await t.request('POST', '/api/secrets/anon-key/rotate', {
      token: t.apiKey,
      body: { gracePeriodHours: 2 },
    });
    expect(anon.status).toBe(200);
    expect(anon.body).toEqual({
      success: true,
      message: expect.any(String),
      anonKey: expect.stringMatching(/^anon_[0-9a-f]{64}$/),
      oldKeyExpiresAt: expect.any(String),
    });
    const left = Date.parse(anon.body.oldKeyExpiresAt) - Date.now();
    expect(left).toBeGreaterThan(7000_000);
    expect(left).toBeLessThanOrEqual(7200_000);
    const meta = await t.request('GET', '/api/metadata/anon-key', { token: t.apiKey });
    expect(meta.body.anonKey).toBe(anon.body.anonKey);
    expect(anon.body.anonKey).not.toBe(oldAnon);
    t.anonKey = anon.body.anonKey;

    const oldApi = t.apiKey;
    const api = await t.request('POST', '/api/secrets/api-key/rotate', {
      token: oldApi,
      body: { gracePeriodHours: 0 },
    });
    expect(api.status).toBe(200);
    expect(api.body.apiKey).toMatch(/^ik_[0-9a-f]{64}$/);
    const denied = await t.request('GET', '/api/auth/users', { token: oldApi });
    expect(denied.status).toBe(401);
    expect((await t.request('GET', '/api/auth/users', { token: api.body.apiKey })).status).toBe(
      200,
    );
    t.apiKey = api.body.apiKey;
  });

  it("keep InsForge's limits and admin-only access", async () => {
    const tooLong = await t.request('POST', '/api/secrets/api-key/rotate', {
      token: t.apiKey,
      body: { gracePeriodHours: 169 },
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.message).toMatch(/gracePeriodHours/);
    const { accessToken } = await t.signUpUser();
    for (const token of [t.anonKey, accessToken]) {
      const res = await t.request('POST', '/api/secrets/anon-key/rotate', { token, body: {} });
      expect(res.status).toBe(403);
    }
  });
});

describe('GET /api/docs/:type', () => {
  it("answers each area's Markdown, generated from the declarations, as {type, content}", async () => {
    const auth = await t.request('GET', '/api/docs/auth-sdk');
    expect(auth.status).toBe(200);
    expect(auth.body.type).toBe('auth-sdk');
    const md = auth.body.content as string;
    expect(md).toMatch(/^# Auth\n/);
    // Routes declared in this change show up with their declared shapes.
    expect(md).toContain('### `POST /api/auth/tokens/anon`');
    expect(md).toContain('### `POST /api/auth/oauth/configs`');
    expect(md).toContain('"accessToken"');
    expect(md).not.toContain('/api/storage/');

    const db = await t.request('GET', '/api/docs/db-sdk');
    expect(db.body.content).toContain('/api/database/');
    const overview = await t.request('GET', '/api/docs/instructions');
    for (const area of ['auth', 'storage', 'functions', 'realtime', 'ai', 'records'])
      expect(overview.body.content).toContain(`## ${area}\n`);
    expect(overview.body.content).toContain('`GET /api/docs/{type}`');
  });

  it('answers the Markdown itself when asked, and 404 for types Kiln has not', async () => {
    const res = await fetch(`${t.baseUrl}/api/docs/storage-sdk`, {
      headers: { accept: 'text/markdown' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(await res.text()).toMatch(/^# Storage\n[\s\S]*### `POST \/api\/storage\/buckets`/);
    for (const type of ['payments', 'deployment', 'nope']) {
      const missing = await t.request('GET', `/api/docs/${type}`);
      expect(missing.status).toBe(404);
      expect(missing.body.error).toBe('DOCS_NOT_FOUND');
    }
    expect((await t.request('GET', '/api/docs/reference')).status).toBe(200);
  });
});
