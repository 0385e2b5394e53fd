import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    {},
    {
      AUTH_RATE_LIMIT_SIGN_IN: '3',
      AUTH_RATE_LIMIT_SIGN_UP: '2',
      AUTH_RATE_LIMIT_EMAIL: '2',
      AUTH_RATE_LIMIT_VERIFY: '2',
      AUTH_RATE_LIMIT_WINDOW_SECONDS: '2',
    },
  );
});
afterAll(async () => {
  await t?.stop();
});

const post = (p: string, body: unknown, base = t.baseUrl) =>
  fetch(base + p, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('rate limits', () => {
  it('answer 429 with Retry-After on sign-in, sign-up, sending and verifying, and recover after the window', async () => {
    const wrong = { email: 'nobody@example.com', password: 'wrong password' };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post('/api/auth/sessions', wrong)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const limited = await post('/api/auth/sessions', wrong);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error: 'RATE_LIMITED', statusCode: 429 });

    const signUps: number[] = [];
    for (let i = 0; i < 3; i++)
      signUps.push(
        (
          await post('/api/auth/users', {
            email: `limited-${i}-${Date.now()}@example.com`,
            password: 'correct horse battery',
          })
        ).status,
      );
    expect(signUps).toEqual([201, 201, 429]);
    const sends: number[] = [];
    for (let i = 0; i < 3; i++)
      sends.push((await post('/api/auth/email/send-otp', { email: `s${i}@example.com` })).status);
    expect(sends).toEqual([202, 202, 429]);
    const verifies: number[] = [];
    for (let i = 0; i < 3; i++)
      verifies.push(
        (
          await post('/api/auth/email/exchange-reset-password-token', {
            email: 'x@example.com',
            code: '000000',
          })
        ).status,
      );
    expect(verifies).toEqual([400, 400, 429]);

    // The window passes: allowed again.
    await new Promise((r) => setTimeout(r, 2200));
    expect((await post('/api/auth/sessions', wrong)).status).toBe(401);
  });

  it('are shared by every instance on the database', async () => {
    const { createApp } = await import('../src/app.js');
    const { createLogger } = await import('../src/core/logger.js');
    const other = await createApp(
      { ...t.app.config },
      { logger: createLogger({ level: 'error', stdout: true }) },
    );
    const { port } = await other.listen(0, '127.0.0.1');
    try {
      await new Promise((r) => setTimeout(r, 2200));
      const wrong = { email: 'shared@example.com', password: 'nope nope' };
      const a = [];
      for (let i = 0; i < 2; i++) a.push((await post('/api/auth/sessions', wrong)).status);
      const b = [];
      for (let i = 0; i < 2; i++)
        b.push((await post('/api/auth/sessions', wrong, `http://127.0.0.1:${port}`)).status);
      expect([...a, ...b]).toEqual([401, 401, 401, 429]);
    } finally {
      await other.close();
    }
  });

  it('behind a trusted proxy, count the address the proxy saw, whatever the client forwards', async () => {
    const { createApp } = await import('../src/app.js');
    const { createLogger } = await import('../src/core/logger.js');
    const { loadConfig } = await import('../src/core/config.js');
    // TRUST_PROXY=true is one trusted hop: the proxy appends the real address on the right.
    const { trustProxy } = loadConfig({ TRUST_PROXY: 'true', JWT_SECRET: 'x'.repeat(32) });
    expect(trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
    ]);
    expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY/);
    const proxied = await createApp(
      { ...t.app.config, trustProxy },
      { logger: createLogger({ level: 'error', stdout: true }) },
    );
    const { port } = await proxied.listen(0, '127.0.0.1');
    try {
      await new Promise((r) => setTimeout(r, 2200));
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/api/auth/sessions`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-forwarded-for': `198.51.100.${i}, 203.0.113.9`,
          },
          body: JSON.stringify({ email: 'proxied@example.com', password: 'nope nope' }),
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await proxied.close();
    }
  });
});
