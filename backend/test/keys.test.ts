import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { createClient } from '@insforge/sdk';
import {
  describeScenarios,
  pgUrl,
  startTestApp,
  type Principal,
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

describe('project keys', () => {
  // Seeded from ACCESS_API_KEY / ACCESS_ANON_KEY, readable by admins only.
  const readKey = (key: 'api-key' | 'anon-key', as: Principal): Scenario => {
    const path = `/api/metadata/${key}`;
    const name = `${as} reads the ${key}`;
    if (as === 'admin' || as === 'apiKey') {
      return {
        name,
        as,
        method: 'GET',
        path,
        status: 200,
        expect: (res, ctx) =>
          expect(res.body).toEqual(
            key === 'api-key' ? { apiKey: ctx.t.apiKey } : { anonKey: ctx.t.anonKey },
          ),
      };
    }
    return as === 'none'
      ? { name, as, method: 'GET', path, status: 401, error: 'AUTH_INVALID_CREDENTIALS' }
      : { name, as, method: 'GET', path, status: 403, error: 'AUTH_FORBIDDEN' };
  };
  describeScenarios(
    'are seeded from ACCESS_API_KEY / ACCESS_ANON_KEY and readable by admins only',
    () => t,
    (['api-key', 'anon-key'] as const).flatMap((key) =>
      (['admin', 'apiKey', 'user', 'anon', 'none'] as const).map((as) => readKey(key, as)),
    ),
  );

  it('are stored encrypted, never in plain text', async () => {
    const client = new pg.Client({ connectionString: pgUrl(t.database) });
    await client.connect();
    try {
      const { rows } = await client.query(
        'SELECT kind, key_hash, encrypted_key FROM system.api_keys',
      );
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain(t.apiKey.slice(3));
      expect(dump).not.toContain(t.anonKey.slice(5));
      for (const r of rows) expect(r.encrypted_key).toMatch(/^v1:/);
    } finally {
      await client.end();
    }
  });

  it('accepts the API key as Bearer or x-api-key, with the SDK admin client too', async () => {
    const viaHeader = await t.request('GET', '/api/auth/users', {
      headers: { 'x-api-key': t.apiKey },
    });
    expect(viaHeader.status).toBe(200);
    const viaBearer = await t.request('GET', '/api/auth/users', { token: t.apiKey });
    expect(viaBearer.status).toBe(200);
    const sdkAdmin = createClient({ baseUrl: t.baseUrl, accessToken: t.apiKey });
    const users = await sdkAdmin
      .getHttpClient()
      .get<{ pagination: { total: number } }>('/api/auth/users');
    expect(users.pagination.total).toBeGreaterThanOrEqual(0);
  });

  it('rotates with a grace period for the old key', async () => {
    const admin = await t.adminToken();
    const oldKey = t.apiKey;
    const rotated = await t.request('POST', '/api/metadata/api-key/rotate', {
      token: admin,
      body: { graceSeconds: 3600 },
    });
    expect(rotated.status).toBe(200);
    const newKey = rotated.body.apiKey as string;
    expect(newKey).toMatch(/^ik_[0-9a-f]{64}$/);
    expect(newKey).not.toBe(oldKey);
    expect(Date.parse(rotated.body.previousKeyValidUntil) - Date.now()).toBeGreaterThan(3500_000);

    expect((await t.request('GET', '/api/auth/users', { token: newKey })).status).toBe(200);
    expect((await t.request('GET', '/api/auth/users', { token: oldKey })).status).toBe(200);
    expect((await t.request('GET', '/api/metadata/api-key', { token: newKey })).body).toEqual({
      apiKey: newKey,
    });

    // Rotating again with no grace revokes the previous key at once.
    const again = await t.request('POST', '/api/metadata/api-key/rotate', {
      token: newKey,
      body: { graceSeconds: 0 },
    });
    expect(again.status).toBe(200);
    const denied = await t.request('GET', '/api/auth/users', { token: newKey });
    expect(denied.status).toBe(401);
    expect(denied.body.error).toBe('AUTH_INVALID_API_KEY');
    expect((await t.request('GET', '/api/auth/users', { token: again.body.apiKey })).status).toBe(
      200,
    );
    t.apiKey = again.body.apiKey;
  });

  it('rotates the anon key; the old one answers 401 once its grace is over', async () => {
    const oldAnon = t.anonKey;
    const rotated = await t.request('POST', '/api/metadata/anon-key/rotate', {
      token: t.apiKey,
      body: { graceSeconds: 60 },
    });
    expect(rotated.status).toBe(200);
    const newAnon = rotated.body.anonKey as string;
    expect(newAnon).toMatch(/^anon_[0-9a-f]{64}$/);
    const probe = (key: string) =>
      t.request('GET', '/api/auth/profiles/00000000-0000-0000-0000-000000000001', { token: key });
    expect((await probe(newAnon)).status).toBe(404);
    expect((await probe(oldAnon)).status).toBe(404);
    // The clock moves (not waited for: a 1 s grace could end before a slow first probe): ten
    // seconds before the grace ends the old key still works, a second after it it does not.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 50_000);
      expect((await probe(oldAnon)).status).toBe(404);
      vi.setSystemTime(Date.now() + 11_000);
      const expired = await probe(oldAnon);
      expect(expired.status).toBe(401);
      expect(expired.body.error).toBe('AUTH_INVALID_API_KEY');
      expect((await probe(newAnon)).status).toBe(404);
    } finally {
      vi.useRealTimers();
      // The keys were read under the moved clock: read them again on the real one, or the cache
      // would count itself fresh for another minute (the next test relies on its re-reading).
      t.app.keys.invalidate();
    }
    t.anonKey = newAnon;
  });

  it('validates the rotation body', async () => {
    const bad = await t.request('POST', '/api/metadata/api-key/rotate', {
      token: t.apiKey,
      body: { graceSeconds: -1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/graceSeconds/);
  });

  it('recognises a key rotated by another instance on the same database', async () => {
    const other = await import('../src/core/auth/keys.js');
    const { Database } = await import('../src/core/db.js');
    const { SecretBox } = await import('../src/core/crypto.js');
    const db = new Database({ connectionString: pgUrl(t.database), max: 1, statementTimeoutMs: 0 });
    try {
      const store = new other.KeyStore(db, new SecretBox(t.app.config.jwtSecret!));
      const { key } = await store.rotate('api', 60);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await t.request('GET', '/api/auth/users', { token: key })).status).toBe(200);
      t.apiKey = key;
    } finally {
      await db.close();
    }
  });
});

describe('GET /api/metadata', () => {
  it('gives admins an overview with the auth settings and tables', async () => {
    const res = await t.request('GET', '/api/metadata', { token: t.apiKey });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      auth: {
        requireEmailVerification: false,
        passwordMinLength: expect.any(Number),
        oAuthProviders: [],
      },
      database: { tables: expect.any(Array), totalSizeInGB: expect.any(Number) },
      storage: { buckets: [] },
      functions: [],
      version: expect.any(String),
    });
    expect(res.body.auth.smtpConfig).toMatchObject({ enabled: false, hasPassword: false });
    // Who may subscribe and publish: the realtime tables' policies.
    expect(
      res.body.realtime.permissions.subscribe.policies.map((p: any) => p.policyName),
    ).toContain('channels_subscribe_enabled');
    expect(res.body.realtime.permissions.publish.policies.map((p: any) => p.policyName)).toContain(
      'messages_publish_own',
    );
    // An enabled OAuth provider is listed (as public-config lists it), not always [].
    const github = await t.request('PUT', '/api/auth/oauth/github/config', {
      token: t.apiKey,
      body: { clientId: 'gh', clientSecret: 's' },
    });
    expect(github.status).toBe(200);
    const after = await t.request('GET', '/api/metadata', { token: t.apiKey });
    expect(after.body.auth.oAuthProviders).toEqual(['github']);
  });
});
