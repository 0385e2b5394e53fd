import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type KilnApp } from '../src/app.js';
import { createLogger } from '../src/core/logger.js';
import { describeScenarios, startTestApp, type TestApp } from './helpers.js';

/**
 * /api/settings: the project URL, the settings an admin changes at run time (CORS origins) with
 * where each value comes from, and the environment's settings with secrets masked. Instance A is
 * the test app; instance B a second app on the same database whose environment sets CORS_ORIGINS.
 */
let a: TestApp;
let b: KilnApp;
let bUrl: string;
const ENV_ORIGIN = 'https://from-env.example.com';

beforeAll(async () => {
  a = await startTestApp({}, { AI_BASE_URL: 'https://bot:hunter2-in-url@ai.example.com/v1' });
  b = await createApp(
    {
      ...a.app.config,
      corsOrigins: [ENV_ORIGIN],
      variables: {
        ...a.app.config.variables,
        CORS_ORIGINS: { value: ENV_ORIGIN, fromEnvironment: true },
      },
    },
    { logger: createLogger({ level: 'error', stdout: true }), checkResponses: true },
  );
  bUrl = `http://127.0.0.1:${(await b.listen(0, '127.0.0.1')).port}`;
});
afterAll(async () => {
  await b?.close();
  await a?.stop();
});

/** The origin a CORS preflight from `origin` is allowed with (null: refused). */
async function preflight(base: string, origin: string): Promise<string | null> {
  const res = await fetch(`${base}/api/database/records/notes`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST' },
  });
  expect(res.status).toBe(204);
  return res.headers.get('access-control-allow-origin');
}

/** Polls until `check` holds (a condition awaited, not a fixed sleep). */
async function eventually(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function settingsOf(t: TestApp) {
  const res = await t.request('GET', '/api/settings', { token: await t.adminToken() });
  expect(res.status).toBe(200);
  return res.body;
}

describe('GET /api/settings', () => {
  it('shows the project URL, run-time settings and the environment with each source', async () => {
    const body = await settingsOf(a);
    expect(body.project).toEqual({ url: a.baseUrl, version: a.app.config.version });
    expect(body.runtime.corsOrigins).toMatchObject({
      envName: 'CORS_ORIGINS',
      value: ['*'],
      source: 'default',
      baseValue: ['*'],
      baseSource: 'default',
      updatedAt: null,
    });
    const byName = new Map<string, any>(body.environment.map((v: any) => [v.name, v]));
    expect(byName.get('NODE_ENV')).toEqual({
      name: 'NODE_ENV',
      value: 'test',
      source: 'environment',
      secret: false,
      isSet: true,
    });
    expect(byName.get('PORT')).toMatchObject({ value: '7130', source: 'default', secret: false });
    expect(byName.get('SMTP_HOST')).toMatchObject({ value: null, source: 'default', isSet: false });
    // Durations whose names mention tokens or keys are not secrets.
    expect(byName.get('KEY_ROTATION_GRACE_SECONDS')).toMatchObject({ secret: false });
    // Run-time settings are listed apart, not twice.
    expect(byName.has('CORS_ORIGINS')).toBe(false);
  });

  it('never sends a secret value', async () => {
    const body = await settingsOf(a);
    const byName = new Map<string, any>(body.environment.map((v: any) => [v.name, v]));
    for (const name of ['JWT_SECRET', 'ADMIN_PASSWORD', 'ACCESS_API_KEY', 'ACCESS_ANON_KEY']) {
      expect(byName.get(name), name).toEqual({
        name,
        value: null,
        source: 'environment',
        secret: true,
        isSet: true,
      });
    }
    expect(byName.get('ENCRYPTION_KEY')).toMatchObject({ value: null, secret: true, isSet: false });
    // Credentials inside a URL are masked too.
    expect(byName.get('AI_BASE_URL')).toMatchObject({
      value: 'https://***@ai.example.com/v1',
      source: 'environment',
      secret: false,
    });
    const text = JSON.stringify(body);
    const config = a.app.config;
    for (const secret of [
      config.jwtSecret!,
      config.adminPassword!,
      a.apiKey,
      a.anonKey,
      'hunter2-in-url',
    ])
      expect(text).not.toContain(secret);
  });
});

describe('PATCH /api/settings: CORS origins at run time', () => {
  it('applies at once here, within seconds on every instance, and is removed with null', async () => {
    const admin = await a.adminToken();
    const allowed = 'https://app.example.com';
    const other = 'https://other.example.com';
    // Before: A (default "*") reflects any origin; B allows its environment's origin only.
    expect(await preflight(a.baseUrl, other)).toBe(other);
    expect(await preflight(bUrl, ENV_ORIGIN)).toBe(ENV_ORIGIN);
    expect(await preflight(bUrl, other)).toBeNull();

    const set = await a.request('PATCH', '/api/settings', {
      token: admin,
      body: { corsOrigins: [allowed] },
    });
    expect(set.status).toBe(200);
    expect(set.body.runtime.corsOrigins).toMatchObject({
      value: [allowed],
      source: 'runtime',
      baseValue: ['*'],
      baseSource: 'default',
    });
    expect(Date.parse(set.body.runtime.corsOrigins.updatedAt)).not.toBeNaN();
    // An admin action: in the audit trail, with what was set.
    await a.app.audit.settled();
    const audits = await a.request('GET', '/api/logs/audits?action=UPDATE_SETTINGS', {
      token: admin,
    });
    expect(audits.body.data[0]).toMatchObject({
      action: 'UPDATE_SETTINGS',
      module: 'settings',
      details: { method: 'PATCH', input: { corsOrigins: [allowed] }, status: 200 },
    });
    // This instance: at once.
    expect(await preflight(a.baseUrl, allowed)).toBe(allowed);
    expect(await preflight(a.baseUrl, other)).toBeNull();
    // The other instance: within its cache's lifetime, without a restart.
    await eventually(async () => (await preflight(bUrl, allowed)) === allowed);
    expect(await preflight(bUrl, ENV_ORIGIN)).toBeNull();
    const onB = await fetch(`${bUrl}/api/settings`, {
      headers: { authorization: `Bearer ${a.apiKey}` },
    });
    expect(((await onB.json()) as any).runtime.corsOrigins).toMatchObject({
      value: [allowed],
      source: 'runtime',
      baseValue: [ENV_ORIGIN],
      baseSource: 'environment',
    });

    // Removing the override: each instance goes back to its own environment (or default).
    const reset = await a.request('PATCH', '/api/settings', {
      token: admin,
      body: { corsOrigins: null },
    });
    expect(reset.status).toBe(200);
    expect(reset.body.runtime.corsOrigins).toMatchObject({
      value: ['*'],
      source: 'default',
      updatedAt: null,
    });
    expect(await preflight(a.baseUrl, other)).toBe(other);
    await eventually(async () => (await preflight(bUrl, ENV_ORIGIN)) === ENV_ORIGIN);
    expect(await preflight(bUrl, allowed)).toBeNull();
  });

  it('"*" set at run time reflects any origin; an actual request carries the header', async () => {
    const admin = await a.adminToken();
    await a.request('PATCH', '/api/settings', {
      token: admin,
      body: { corsOrigins: ['https://only.example.com'] },
    });
    const res = await fetch(`${a.baseUrl}/api/health`, {
      headers: { origin: 'https://only.example.com' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://only.example.com');
    const star = await a.request('PATCH', '/api/settings', {
      token: admin,
      body: { corsOrigins: ['*'] },
    });
    expect(star.body.runtime.corsOrigins).toMatchObject({ value: ['*'], source: 'runtime' });
    expect(await preflight(a.baseUrl, 'https://any.example.com')).toBe('https://any.example.com');
    await a.request('PATCH', '/api/settings', { token: admin, body: { corsOrigins: null } });
  });
});

describeScenarios('settings: who may call, and bad input', () => a, [
  { name: 'no credential reads', as: 'none', method: 'GET', path: '/api/settings', status: 401 },
  { name: 'the anon key reads', as: 'anon', method: 'GET', path: '/api/settings', status: 403 },
  { name: 'a user reads', as: 'user', method: 'GET', path: '/api/settings', status: 403 },
  { name: 'the API key reads', as: 'apiKey', method: 'GET', path: '/api/settings', status: 200 },
  {
    name: 'a user changes CORS',
    as: 'user',
    method: 'PATCH',
    path: '/api/settings',
    body: { corsOrigins: ['https://evil.example.com'] },
    status: 403,
  },
  ...(
    [
      ['nothing to change', {}],
      ['an unknown setting', { port: 8080 }],
      ['origins as a string', { corsOrigins: 'https://a.example.com' }],
      ['an empty list', { corsOrigins: [] }],
      ['an origin with a path', { corsOrigins: ['https://a.example.com/app'] }],
      ['an origin without a scheme', { corsOrigins: ['a.example.com'] }],
      ['a non-http scheme', { corsOrigins: ['ftp://a.example.com'] }],
      ['"*" beside an origin', { corsOrigins: ['*', 'https://a.example.com'] }],
      ['a number', { corsOrigins: [42] }],
    ] as const
  ).map(([name, body]) => ({
    name: `PATCH with ${name}`,
    as: 'admin' as const,
    method: 'PATCH' as const,
    path: '/api/settings',
    body,
    status: 400,
    error: 'INVALID_INPUT',
  })),
  {
    name: 'PATCH with JSON that does not parse',
    as: 'admin',
    method: 'PATCH',
    path: '/api/settings',
    body: '{"corsOrigins": [',
    status: 400,
  },
]);
