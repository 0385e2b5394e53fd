/**
 * InsForge's documented paths that Kiln serves beside its own (issue 16): the deprecated
 * anon-token read, the OAuth creates and lists, the secrets-area key rotations, the docs
 * paths, the realtime permissions and the database metadata, with InsForge's shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@insforge/sdk';
import pg from 'pg';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

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
    expect(listed.body.data.map((c: { provider: string }) => c.provider)).toContain('github');
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

describe('GET|POST /api/auth/oauth/custom/configs', () => {
  it("creates a custom OIDC provider from InsForge's body and lists it as InsForge does", async () => {
    const admin = await t.adminToken();
    const created = await t.request('POST', '/api/auth/oauth/custom/configs', {
      token: admin,
      body: {
        key: 'corp-sso',
        name: 'Corp SSO',
        discoveryEndpoint: 'https://sso.corp.test/.well-known/openid-configuration',
        clientId: 'corp',
        clientSecret: 'hush',
      },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-5/),
      key: 'corp-sso',
      name: 'Corp SSO',
      custom: true,
      discoveryEndpoint: 'https://sso.corp.test/.well-known/openid-configuration',
      discoveryUrl: 'https://sso.corp.test/.well-known/openid-configuration',
      hasClientSecret: true,
    });
    expect(JSON.stringify(created.body)).not.toContain('hush');
    const listed = await t.request('GET', '/api/auth/oauth/custom/configs', { token: admin });
    expect(listed.body.data).toContainEqual(created.body);
    expect(listed.body.count).toBe(listed.body.data.length);
    // Built-in and custom providers are listed apart, as InsForge lists them.
    const builtIn = await t.request('GET', '/api/auth/oauth/configs', { token: admin });
    expect(builtIn.body.data.map((c: { key: string }) => c.key)).not.toContain('corp-sso');
    const publicConfig = await t.request('GET', '/api/auth/public-config');
    expect(publicConfig.body.customOAuthProviders).toContain('corp-sso');
  });

  it('refuses a missing discovery URL, a bad key and non-admins', async () => {
    const admin = await t.adminToken();
    const noDiscovery = await t.request('POST', '/api/auth/oauth/custom/configs', {
      token: admin,
      body: { key: 'nodisc', clientId: 'x' },
    });
    expect(noDiscovery.status).toBe(400);
    expect(noDiscovery.body.message).toMatch(/discoveryUrl/);
    const badKey = await t.request('POST', '/api/auth/oauth/custom/configs', {
      token: admin,
      body: { key: 'Bad Key', clientId: 'x', discoveryEndpoint: 'https://x.test/.well-known' },
    });
    expect(badKey.status).toBe(400);
    expect(badKey.body.error).toBe('INVALID_INPUT');
    const { accessToken } = await t.signUpUser();
    for (const [method, token] of [
      ['GET', accessToken],
      ['POST', t.anonKey],
    ] as const) {
      const res = await t.request(method, '/api/auth/oauth/custom/configs', {
        token,
        body: method === 'POST' ? { key: 'x', clientId: 'x' } : undefined,
      });
      expect(res.status).toBe(403);
    }
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

describe('GET /api/docs/:feature/:language', () => {
  it("answers a TypeScript guide per area with InsForge's type names, and the endpoints behind it", async () => {
    const features = ['db', 'storage', 'functions', 'auth', 'ai', 'realtime'];
    for (const feature of features) {
      const res = await t.request('GET', `/api/docs/${feature}/typescript`);
      expect(res.status, feature).toBe(200);
      expect(res.body.type).toBe(`${feature}-sdk-typescript`);
      const md = res.body.content as string;
      expect(md, feature).toMatch(/^# .+: TypeScript \(@insforge\/sdk\)\n/);
      expect(md, feature).toContain("import { createClient } from '@insforge/sdk';");
      expect(md, feature).toContain('```ts');
      expect(md, feature).toMatch(/## Endpoints\n\n[\s\S]*- `(GET|POST) \/api\//);
    }
    const db = (await t.request('GET', '/api/docs/db/typescript')).body.content as string;
    expect(db).toContain(".from('posts')");
    expect(db).toContain('- `GET /api/database/records/{table}`');
    expect(db).not.toContain('/api/storage/');
    const storage = (await t.request('GET', '/api/docs/storage/typescript')).body.content;
    expect(storage).toContain("kiln.storage.from('photos')");
    expect(storage).toContain('- `POST /api/storage/buckets`');
    // The overview points at these paths.
    expect((await t.request('GET', '/api/docs/instructions')).body.content).toContain(
      '`GET /api/docs/{feature}/{language}`',
    );
  });

  it('answers the generated REST reference for rest-api, and Markdown when asked', async () => {
    const rest = await t.request('GET', '/api/docs/auth/rest-api');
    expect(rest.status).toBe(200);
    expect(rest.body.type).toBe('auth-rest-api');
    expect(rest.body.content).toBe((await t.request('GET', '/api/docs/auth-sdk')).body.content);
    const md = await fetch(`${t.baseUrl}/api/docs/realtime/typescript`, {
      headers: { accept: 'text/markdown' },
    });
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(await md.text()).toContain('kiln.realtime.subscribe(');
  });

  it('answers 404 naming the features and languages Kiln has', async () => {
    for (const path of ['payments/typescript', 'db/swift', 'db/kotlin', 'nope/typescript']) {
      const res = await t.request('GET', `/api/docs/${path}`);
      expect(res.status, path).toBe(404);
      expect(res.body.error).toBe('DOCS_NOT_FOUND');
      expect(res.body.nextActions).toBe(
        'Features: db, storage, functions, auth, ai, realtime; languages: typescript, rest-api.',
      );
    }
  });
});

describe('GET /api/realtime/permissions', () => {
  it('answers the RLS policies deciding who subscribes and publishes, as GET /api/metadata does', async () => {
    // As the database owner (the realtime tables are not the API's to change).
    const owner = new pg.Client({ connectionString: pgUrl(t.database) });
    await owner.connect();
    await owner.query(`CREATE POLICY insforge_paths_publish ON realtime.messages
                         FOR INSERT TO authenticated WITH CHECK (true)`);
    try {
      const res = await t.request('GET', '/api/realtime/permissions', { token: t.apiKey });
      expect(res.status).toBe(200);
      expect(res.body.publish.policies).toContainEqual({
        policyName: 'insforge_paths_publish',
        tableName: 'messages',
        command: 'INSERT',
        roles: ['authenticated'],
        using: null,
        withCheck: 'true',
      });
      for (const p of res.body.subscribe.policies) {
        expect(p.tableName).toBe('channels');
        expect(['SELECT', 'ALL']).toContain(p.command);
      }
      const metadata = await t.request('GET', '/api/metadata', { token: t.apiKey });
      expect(metadata.body.realtime.permissions).toEqual(res.body);
    } finally {
      await owner.query('DROP POLICY insforge_paths_publish ON realtime.messages');
      await owner.end();
    }
  });

  it('is for admins only', async () => {
    const { accessToken } = await t.signUpUser();
    for (const [token, status] of [
      [t.anonKey, 403],
      [accessToken, 403],
      [undefined, 401],
    ] as const) {
      const res = await t.request('GET', '/api/realtime/permissions', { token });
      expect(res.status).toBe(status);
    }
  });
});

describe('GET /api/metadata/database', () => {
  it("answers the project description's database part: tables with estimated rows, functions, size", async () => {
    const sql = (query: string) =>
      t.request('POST', '/api/database/advance/rawsql', { token: t.apiKey, body: { query } });
    expect(
      (await sql('CREATE TABLE public.insforge_paths_notes (id int PRIMARY KEY, body text)'))
        .status,
    ).toBe(200);
    try {
      const res = await t.request('GET', '/api/metadata/database', { token: t.apiKey });
      expect(res.status).toBe(200);
      expect(res.body.exposedSchemas).toContain('public');
      expect(res.body.totalSizeInGB).toBeGreaterThan(0);
      expect(res.body.tables).toContainEqual(
        expect.objectContaining({
          schemaName: 'public',
          tableName: 'insforge_paths_notes',
          recordCount: expect.any(Number),
          primaryKey: ['id'],
        }),
      );
      const metadata = await t.request('GET', '/api/metadata', { token: t.apiKey });
      expect(metadata.body.database).toEqual(res.body);
      const { accessToken } = await t.signUpUser();
      expect(
        (await t.request('GET', '/api/metadata/database', { token: accessToken })).status,
      ).toBe(403);
    } finally {
      await sql('DROP TABLE public.insforge_paths_notes');
    }
  });
});
