import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, dropTestDatabase, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ jsonBodyLimit: '1kb', corsOrigins: ['https://app.example.com'] });
});
afterAll(async () => {
  await t?.stop();
});

describe('health', () => {
  it('answers /api/health in the contract shape', async () => {
    const res = await t.request('GET', '/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      version: expect.any(String),
      service: 'Kiln',
      timestamp: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(res.body.timestamp))).toBe(false);
  });

  it('answers liveness and readiness', async () => {
    expect((await t.request('GET', '/health/live')).body).toEqual({ status: 'ok' });
    const ready = await t.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', database: 'ok' });
  });
});

describe('errors', () => {
  it('answers unknown routes with 404 NOT_FOUND in the envelope', async () => {
    const res = await t.request('GET', '/api/no/such/thing');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: 'NOT_FOUND',
      message: 'No route for GET /api/no/such/thing',
      statusCode: 404,
    });
  });

  it('answers malformed JSON with 400 INVALID_JSON, no stack trace', async () => {
    const res = await t.request('POST', '/api/auth/sessions', { body: '{"email": "a@b.c", ' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'INVALID_JSON',
      message: 'The request body is not valid JSON',
      statusCode: 400,
    });
  });

  it('answers an oversized body with 413', async () => {
    const res = await t.request('POST', '/api/auth/sessions', {
      body: { email: 'a@b.c', password: 'x'.repeat(4000) },
    });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('PAYLOAD_TOO_LARGE');
  });

  it('names the bad field of a validation error', async () => {
    const res = await t.request('POST', '/api/auth/sessions', {
      body: { email: 'a@b.c', password: 42 },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('INVALID_INPUT');
    expect(res.body.message).toMatch(/^password: /);
  });

  it('rejects invalid API and anon keys with 401 AUTH_INVALID_API_KEY', async () => {
    const api = await t.request('GET', '/api/auth/users', { token: 'ik_' + '0'.repeat(64) });
    expect(api.status).toBe(401);
    expect(api.body.error).toBe('AUTH_INVALID_API_KEY');
    const anon = await t.request('GET', '/api/auth/profiles/current', { token: 'anon_nope' });
    expect(anon.status).toBe(401);
    expect(anon.body.error).toBe('AUTH_INVALID_API_KEY');
  });
});

describe('request ids, CORS, security headers, access log', () => {
  it('echoes a sane X-Request-Id and makes one otherwise', async () => {
    const given = await t.request('GET', '/api/health', {
      headers: { 'x-request-id': 'req-123.abc' },
    });
    expect(given.headers.get('x-request-id')).toBe('req-123.abc');
    const hostile = await t.request('GET', '/api/health', {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('allows configured origins with credentials and exposes the PostgREST headers', async () => {
    const res = await fetch(`${t.baseUrl}/api/health`, {
      headers: { origin: 'https://app.example.com' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    const exposed = res.headers.get('access-control-expose-headers') ?? '';
    for (const h of ['Content-Range', 'Preference-Applied', 'X-Request-Id'])
      expect(exposed).toContain(h);
    const preflight = await fetch(`${t.baseUrl}/api/auth/sessions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    const other = await fetch(`${t.baseUrl}/api/health`, {
      headers: { origin: 'https://evil.example.com' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends helmet security headers', async () => {
    const res = await fetch(`${t.baseUrl}/api/health`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('writes one JSON access line per request with id, role, status and duration', async () => {
    await t.request('GET', '/api/auth/profiles/00000000-0000-0000-0000-000000000000', {
      token: t.anonKey,
      headers: { 'x-request-id': 'access-log-probe' },
    });
    const file = path.join(t.dataDir, 'logs', 'kiln.log');
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 400 && !line; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (!fs.existsSync(file)) continue;
      line = fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.requestId === 'access-log-probe');
    }
    expect(line).toMatchObject({
      kind: 'access',
      method: 'GET',
      path: '/api/auth/profiles/00000000-0000-0000-0000-000000000000',
      status: 404,
      role: 'anon',
    });
    expect(typeof line!.durationMs).toBe('number');
  });
});

describe('static apps', () => {
  it('serves the dashboard and the auth pages, with client-side routes falling back to index.html', async () => {
    for (const p of ['/dashboard/', '/dashboard/tables/users', '/auth/', '/auth/sign-in']) {
      const res = await fetch(t.baseUrl + p);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type'), p).toMatch(/text\/html/);
      expect(await res.text(), p).toContain('<div id="root">');
      expect(res.headers.get('content-security-policy'), p).toContain("default-src 'self'");
    }
    const root = await fetch(t.baseUrl + '/', { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/dashboard/');
  });
});

describe('readiness when PostgreSQL is gone', () => {
  it('reports 503 from /health/ready and 503 envelopes from data endpoints', async () => {
    const doomed = await startTestApp();
    try {
      await dropTestDatabase(doomed.database);
      const ready = await doomed.request('GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.database).toBe('unreachable');
      const live = await doomed.request('GET', '/health/live');
      expect(live.status).toBe(200);
      const signIn = await doomed.request('POST', '/api/auth/sessions', {
        body: { email: 'a@b.co', password: 'whatever1' },
      });
      expect(signIn.status).toBe(503);
      expect(signIn.body.error).toBe('DATABASE_UNAVAILABLE');
    } finally {
      await doomed.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes a request already in flight, then refuses new connections', async () => {
    const app = await startTestApp();
    let closing: Promise<void> | undefined;
    // Close the moment the sign-up request reaches the server (argon2 makes it take a while).
    app.app.server.once('request', () => {
      closing = app.app.close();
    });
    const res = await app.request('POST', '/api/auth/users?client_type=mobile', {
      body: { email: 'drain@example.com', password: 'drain-pass-1' },
    });
    expect(res.status).toBe(201);
    expect(res.body.user.email).toBe('drain@example.com');
    expect(closing).toBeDefined();
    await closing;
    await expect(fetch(`${app.baseUrl}/api/health`)).rejects.toThrow();
    await app.stop();
  });
});
