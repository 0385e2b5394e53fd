import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.js';

// A window far longer than any run, however loaded the machine: a short one (it was 2 s) could
// pass between two of a test's requests when a sign-in's password check took long, so a request
// meant to be the one over the limit opened a new window and got 401 instead of 429. The window's
// end is tested by moving the counters' window back in the database (the limits count with
// PostgreSQL's clock), not by waiting for it.
const WINDOW_SECONDS = 600;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    {},
    {
      AUTH_RATE_LIMIT_SIGN_IN: '3',
      AUTH_RATE_LIMIT_SIGN_UP: '2',
      AUTH_RATE_LIMIT_EMAIL: '2',
      AUTH_RATE_LIMIT_VERIFY: '2',
      AUTH_RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
    },
  );
});
afterAll(async () => {
  await t?.stop();
});
// Every test starts with no counters (they are per address, and all tests come from 127.0.0.1).
beforeEach(async () => {
  await t.app.db.query('DELETE FROM system.rate_limits');
});

/** As if `seconds` had passed on PostgreSQL's clock for every counter. */
async function passTime(seconds: number): Promise<void> {
  await t.app.db.query(
    'UPDATE system.rate_limits SET reset_at = reset_at - pg_catalog.make_interval(secs => $1)',
    [seconds],
  );
}

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
    // The window is the configured one: Retry-After counts down from it (less this test's time).
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(WINDOW_SECONDS - 120);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
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

    // A minute before the window ends: still limited. Once it has passed: allowed again.
    await passTime(WINDOW_SECONDS - 60);
    expect((await post('/api/auth/sessions', wrong)).status).toBe(429);
    await passTime(60);
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
