import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { createClient } from '@insforge/sdk';
import { createApp, type KilnApp } from '../src/app.js';
import { createLogger } from '../src/core/logger.js';
import { codeIn, SmtpCapture } from './smtp-capture.js';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  expectAccessToken,
  expectOpaqueToken,
  pgUrl,
  startTestApp,
  type TestApp,
} from './helpers.js';

/**
 * Credentials that end before they expire: ended sessions (sign-out, revocation, password reset,
 * deleted users) and rotated keys stop working within moments on every instance, for HTTP
 * requests and for live realtime sockets. Instance A is the test app; instance B is a second
 * app on the same database.
 */
let a: TestApp;
let b: KilnApp;
let bUrl: string;
const smtp = new SmtpCapture();
const sockets: Socket[] = [];

beforeAll(async () => {
  await smtp.start();
  a = await startTestApp(
    {},
    {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtp.port),
      SMTP_FROM_EMAIL: 'no-reply@kiln.test',
    },
    { setupSql: 'CREATE TABLE public.notes (id serial PRIMARY KEY, body text)' },
  );
  b = await createApp(
    { ...a.app.config },
    { logger: createLogger({ level: 'error', stdout: true }) },
  );
  bUrl = `http://127.0.0.1:${(await b.listen(0, '127.0.0.1')).port}`;
  const channel = await a.request('POST', '/api/realtime/channels', {
    token: a.apiKey,
    body: { pattern: 'room:%' },
  });
  expect(channel.status).toBe(201);
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await b?.close();
  await a?.stop();
  await smtp.stop();
});

const instances = () => [a.baseUrl, bUrl];

async function get(base: string, path: string, token: string) {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as any };
}

/** Polls until `check` holds (a condition awaited, not a fixed sleep). */
// Within seconds: the change is announced; 8 s leaves room for a loaded machine and stays below
// the 10 s safety-net re-read, which would hide a lost announcement.
async function eventually(check: () => Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The token works on both instances (and is in their verified-token caches from now on). */
async function worksEverywhere(token: string, path = '/api/auth/sessions/current') {
  for (const base of instances()) expect((await get(base, path, token)).status, base).toBe(200);
}

/**
 * Within a few seconds, both instances answer 401 AUTH_UNAUTHORIZED (PGRST301 on the PostgREST
 * paths): the codes that make the SDK refresh, which then fails because the session is gone.
 */
async function refusedEverywhere(token: string, path = '/api/auth/sessions/current') {
  for (const base of instances()) {
    let last: { status: number; body: any } | undefined;
    await eventually(async () => (last = await get(base, path, token)).status === 401);
    if (path.startsWith('/api/database/records')) expect(last!.body.code, base).toBe('PGRST301');
    else expect(last!.body.error, base).toBe('AUTH_UNAUTHORIZED');
  }
}

function connect(base: string, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(base, { transports: ['websocket'], auth: { token }, reconnection: false });
    sockets.push(socket);
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}
const subscribe = (socket: Socket, channel: string) =>
  new Promise<any>((resolve) => socket.emit('realtime:subscribe', { channel }, resolve));
const next = <T = any>(socket: Socket, event: string, ms = 4000) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });

/** A subscribed socket on each instance, each watching for its cut-off. */
async function socketsOnBoth(token: string) {
  return Promise.all(
    instances().map(async (base) => {
      const socket = await connect(base, token);
      expect((await subscribe(socket, 'room:1')).ok).toBe(true);
      const error = next(socket, 'realtime:error');
      const disconnect = next<string>(socket, 'disconnect');
      // Both are awaited later; a rejection before then is not "unhandled".
      error.catch(() => undefined);
      disconnect.catch(() => undefined);
      return { socket, error, disconnect };
    }),
  );
}

async function cutOff(
  watched: Awaited<ReturnType<typeof socketsOnBoth>>,
  reason: string,
): Promise<void> {
  for (const { socket, error, disconnect } of watched) {
    expect(await error).toMatchObject({ code: 'REALTIME_UNAUTHORIZED', reason });
    expect(await disconnect).toBe('transport close');
    // Reconnecting with the same credential is refused at the handshake.
    const refused = next<Error>(socket, 'connect_error');
    socket.connect();
    expect((await refused).message).toMatch(/AUTH_/);
  }
}

const sidOf = (token: string) => decodeJwt(token).sid as string;

describe('ended sessions: access tokens stop working on every instance', () => {
  it('after sign-out', async () => {
    const user = await a.signUpUser();
    await worksEverywhere(user.accessToken);
    expect((await user.client.auth.signOut()).error).toBeNull();
    await refusedEverywhere(user.accessToken);
    const res = await get(bUrl, '/api/auth/sessions/current', user.accessToken);
    expect(res.body.message).toMatch(/ended/);
  });

  it('after the user revokes one of their sessions (the revoking one carries on)', async () => {
    const user = await a.signUpUser();
    const other = await a.sdk().auth.signInWithPassword({
      email: user.email,
      password: user.password,
    });
    const otherToken = other.data!.accessToken!;
    await worksEverywhere(otherToken);
    const revoked = await a.request('DELETE', `/api/auth/sessions/${sidOf(otherToken)}`, {
      token: user.accessToken,
    });
    expect(revoked.status).toBe(200);
    await refusedEverywhere(otherToken);
    // The revoking session itself carries on.
    await worksEverywhere(user.accessToken);
  });

  it('after an admin revokes all of a user’s sessions', async () => {
    const user = await a.signUpUser();
    const client = createClient({
      baseUrl: bUrl,
      anonKey: a.anonKey,
      isServerMode: true,
      retryCount: 0,
      accessToken: user.accessToken,
    });
    await worksEverywhere(user.accessToken);
    const res = await a.request('DELETE', `/api/auth/users/${user.userId}/sessions`, {
      token: a.apiKey,
    });
    expect(res.body.revokedCount).toBe(1);
    await refusedEverywhere(user.accessToken);
    // The SDK gets AUTH_UNAUTHORIZED, tries to refresh, and that fails too: no user.
    const current = await client.auth.getCurrentUser();
    expect(current.data?.user ?? null).toBeNull();
  });

  it('after a password reset', async () => {
    const user = await a.signUpUser();
    await worksEverywhere(user.accessToken);
    const client = a.sdk();
    const sent = smtp.messages.length;
    expect((await client.auth.sendResetPasswordEmail({ email: user.email })).error).toBeNull();
    const code = codeIn(await smtp.next(user.email, sent))!;
    const token = (await client.auth.exchangeResetPasswordToken({ email: user.email, code })).data!
      .token;
    expect(
      (await client.auth.resetPassword({ newPassword: 'a fresh password 42', otp: token })).error,
    ).toBeNull();
    await refusedEverywhere(user.accessToken);
  });

  it('after the owner of the address claims an account someone else signed up with it', async () => {
    const squatter = await a.signUpUser();
    await worksEverywhere(squatter.accessToken);
    const sent = smtp.messages.length;
    expect(
      (await a.request('POST', '/api/auth/email/send-otp', { body: { email: squatter.email } }))
        .status,
    ).toBe(202);
    const otp = codeIn(await smtp.next(squatter.email, sent))!;
    const owner = await a.request('POST', '/api/auth/sessions?client_type=server', {
      body: { method: 'otp', email: squatter.email, otp },
    });
    expect(owner.status).toBe(200);
    await refusedEverywhere(squatter.accessToken);
    await worksEverywhere(owner.body.accessToken);
  });

  it('after the user is deleted', async () => {
    const user = await a.signUpUser();
    await worksEverywhere(user.accessToken);
    const res = await a.request('DELETE', '/api/auth/users', {
      token: a.apiKey,
      body: { userIds: [user.userId] },
    });
    expect(res.body.deletedCount).toBe(1);
    await refusedEverywhere(user.accessToken);
  });

  it('even when the announcement is missed: the listener catches up when it reconnects', async () => {
    const user = await a.signUpUser();
    const watched = await socketsOnBoth(user.accessToken);
    await worksEverywhere(user.accessToken);
    const sql = new pg.Client({ connectionString: pgUrl(a.database) });
    await sql.connect();
    try {
      // Both instances lose their listening connection; the session ends while nobody listens.
      const { rowCount } = await sql.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'kiln-credentials'`,
      );
      expect(rowCount).toBe(2);
      await sql.query(`UPDATE auth.sessions SET revoked_at = now() WHERE id = $1`, [
        sidOf(user.accessToken),
      ]);
    } finally {
      await sql.end();
    }
    await refusedEverywhere(user.accessToken);
    await cutOff(watched, 'session_ended');
  });

  it('costs no database round trip per request, to accept a token or to refuse it', async () => {
    const user = await a.signUpUser();
    await worksEverywhere(user.accessToken, '/api/database/records/notes');
    const pool = a.app.db.pool;
    const query = pool.query.bind(pool);
    const connect = pool.connect.bind(pool);
    let calls = 0;
    const counted = async (fn: () => Promise<void>) => {
      calls = 0;
      pool.query = ((...args: Parameters<typeof query>) => {
        calls++;
        return query(...args);
      }) as typeof pool.query;
      pool.connect = ((...args: Parameters<typeof connect>) => {
        calls++;
        return connect(...args);
      }) as typeof pool.connect;
      const started = Date.now();
      let during = 0;
      try {
        await fn();
        during = calls;
        // The same time again with no requests: what background work alone asks in that long.
        calls = 0;
        await new Promise((r) => setTimeout(r, Date.now() - started));
      } finally {
        pool.query = query as typeof pool.query;
        pool.connect = connect as typeof pool.connect;
      }
      return Math.max(0, during - calls);
    };
    // Kiln's own pool (where sessions live) is not asked per request: only its background work
    // (the periodic re-read, key and settings reloads, presence beats, the job worker and
    // schedules) may fall into the window, which a loaded machine stretches; an idle window of
    // the same length is subtracted. A round trip per request would make at least 100.
    const accepted = await counted(async () => {
      for (let i = 0; i < 100; i++) {
        const res = await get(a.baseUrl, '/api/database/records/notes', user.accessToken);
        expect(res.status).toBe(200);
      }
    });
    expect(accepted).toBeLessThan(50);
    await a.request('DELETE', `/api/auth/sessions/${sidOf(user.accessToken)}`, {
      token: user.accessToken,
    });
    await refusedEverywhere(user.accessToken, '/api/database/records/notes');
    const refused = await counted(async () => {
      for (let i = 0; i < 100; i++) {
        const res = await get(a.baseUrl, '/api/database/records/notes', user.accessToken);
        expect(res.status).toBe(401);
      }
    });
    expect(refused).toBeLessThan(50);
  });
});

describe('how long an ended session is remembered', () => {
  it('follows its tokens, not the settings of the instance that reads or prunes it', async () => {
    // An instance issuing hour-long access tokens; the session ends.
    const long = await createApp(
      { ...a.app.config, accessTokenTtlSeconds: 3600 },
      { logger: createLogger({ level: 'error', stdout: true }) },
    );
    const longUrl = `http://127.0.0.1:${(await long.listen(0, '127.0.0.1')).port}`;
    const user = await a.signUpUser();
    let token: string;
    try {
      const res = await fetch(`${longUrl}/api/auth/sessions?client_type=server`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: user.email, password: user.password }),
      });
      token = ((await res.json()) as { accessToken: string }).accessToken;
      expect(decodeJwt(token).exp! - decodeJwt(token).iat!).toBe(3600);
      await worksEverywhere(token);
      expect((await a.request('POST', '/api/auth/logout', { token })).status).toBe(200);
      await refusedEverywhere(token);
    } finally {
      await long.close();
    }
    // 40 minutes pass (the token has 20 to go): the clocks of the tombstone move back.
    const sql = new pg.Client({ connectionString: pgUrl(a.database) });
    await sql.connect();
    try {
      await sql.query(
        `UPDATE auth.ended_sessions SET ended_at = ended_at - interval '40 minutes',
                keep_until = keep_until - interval '40 minutes'
          WHERE session_id = $1`,
        [sidOf(token)],
      );
    } finally {
      await sql.end();
    }
    // An instance with 15-minute tokens (the setting lowered, then a restart): its start re-reads
    // and prunes the tombstones, and it still refuses the hour-long token.
    const short = await createApp(
      { ...a.app.config, accessTokenTtlSeconds: 900 },
      { logger: createLogger({ level: 'error', stdout: true }) },
    );
    try {
      const shortUrl = `http://127.0.0.1:${(await short.listen(0, '127.0.0.1')).port}`;
      const res = await get(shortUrl, '/api/auth/sessions/current', token);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('AUTH_UNAUTHORIZED');
    } finally {
      await short.close();
    }
  });
});

describe('a refresh racing the revocation of its session', () => {
  it('issues nothing once the revocation commits first', async () => {
    const user = await a.signUpUser();
    const sql = new pg.Client({ connectionString: pgUrl(a.database) });
    await sql.connect();
    try {
      // The revocation holds the session row while the refresh comes in.
      await sql.query('BEGIN');
      await sql.query(`UPDATE auth.sessions SET revoked_at = now() WHERE id = $1`, [
        sidOf(user.accessToken),
      ]);
      const refresh = a.request('POST', '/api/auth/refresh?client_type=server', {
        body: { refreshToken: user.refreshToken },
      });
      await eventually(
        async () =>
          (
            await a.app.db.query(
              `SELECT 1 FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'
                  AND query LIKE '%auth.refresh_tokens%'`,
            )
          ).rowCount! > 0,
      );
      await sql.query('COMMIT');
      const res = await refresh;
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('AUTH_UNAUTHORIZED');
    } finally {
      await sql.end();
    }
  });
});

describe('admin sessions', () => {
  const signIn = (base = a.baseUrl, query = '?client_type=server') =>
    fetch(`${base}/api/auth/admin/sessions${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    });

  it('are sessions: short access tokens naming the session, refresh with rotation, sign-out', async () => {
    const res = await signIn();
    expect(res.status).toBe(200);
    const session = (await res.json()) as any;
    expect(session).toMatchObject({
      user: { id: expect.any(String), email: ADMIN_EMAIL },
      admin: { email: ADMIN_EMAIL },
    });
    expectOpaqueToken(session.refreshToken);
    const claims = expectAccessToken(session.accessToken, {
      sub: session.user.id,
      role: 'project_admin',
      email: ADMIN_EMAIL,
    });
    expect(claims.exp! - claims.iat!).toBe(a.app.config.accessTokenTtlSeconds);
    await worksEverywhere(session.accessToken, '/api/auth/users');

    // Refresh (on the other instance): a new pair; the old refresh token is spent.
    const refreshed = await fetch(`${bUrl}/api/auth/admin/refresh?client_type=server`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: session.refreshToken }),
    });
    expect(refreshed.status).toBe(200);
    const renewed = (await refreshed.json()) as any;
    expect(renewed.refreshToken).not.toBe(session.refreshToken);
    expect(sidOf(renewed.accessToken)).toBe(claims.sid);
    await worksEverywhere(renewed.accessToken, '/api/auth/users');
    // A user refresh endpoint does not take an admin refresh token.
    const wrongDoor = await a.request('POST', '/api/auth/refresh?client_type=server', {
      body: { refreshToken: renewed.refreshToken },
    });
    expect(wrongDoor.status).toBe(401);

    const out = await a.request('POST', '/api/auth/admin/logout?client_type=server', {
      token: renewed.accessToken,
      body: { refreshToken: renewed.refreshToken },
    });
    expect(out.status).toBe(200);
    await refusedEverywhere(session.accessToken, '/api/auth/users');
    await refusedEverywhere(renewed.accessToken, '/api/auth/users');
    const after = await a.request('POST', '/api/auth/admin/refresh?client_type=server', {
      body: { refreshToken: renewed.refreshToken },
    });
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('AUTH_UNAUTHORIZED');
  });

  it('web: an httpOnly cookie of their own and a CSRF token, like user sessions', async () => {
    const res = await signIn(a.baseUrl, '');
    const body = (await res.json()) as any;
    expect(body.refreshToken).toBeUndefined();
    expectOpaqueToken(body.csrfToken);
    expectAccessToken(body.accessToken, { role: 'project_admin', email: ADMIN_EMAIL });
    const cookies = res.headers.getSetCookie();
    const refresh = cookies.find((c) => c.startsWith('insforge_admin_refresh_token='))!;
    expect(refresh).toMatch(/HttpOnly/i);
    expect(refresh).toMatch(/Path=\/api\/auth\/admin/);
    // A user's session cookie on the same origin is left alone.
    expect(cookies.some((c) => c.startsWith('insforge_refresh_token='))).toBe(false);
    const cookie = refresh.split(';')[0]!;
    const noCsrf = await a.request('POST', '/api/auth/admin/refresh', { headers: { cookie } });
    expect(noCsrf.status).toBe(403);
    const ok = await a.request('POST', '/api/auth/admin/refresh', {
      headers: { cookie, 'x-csrf-token': body.csrfToken },
    });
    expect(ok.status).toBe(200);
    expectAccessToken(ok.body.accessToken, { role: 'project_admin', email: ADMIN_EMAIL });
    expectOpaqueToken(ok.body.csrfToken);
  });

  it('web: two tabs refreshing with the shared cookie at once both stay signed in', async () => {
    const res = await signIn(a.baseUrl, '');
    const body = (await res.json()) as any;
    const cookieOf = (headers: Headers) =>
      headers
        .getSetCookie()
        .find((c) => c.startsWith('insforge_admin_refresh_token='))!
        .split(';')[0]!;
    const cookie = cookieOf(res.headers);
    const refresh = (base: string, cookie: string, csrf: string) =>
      fetch(`${base}/api/auth/admin/refresh`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf },
      });
    // One tab on each instance, the same cookie and CSRF token.
    const tabs = await Promise.all([
      refresh(a.baseUrl, cookie, body.csrfToken),
      refresh(bUrl, cookie, body.csrfToken),
    ]);
    expect(tabs.map((r) => r.status)).toEqual([200, 200]);
    const renewed = await Promise.all(
      tabs.map(async (r) => ({ cookie: cookieOf(r.headers), body: (await r.json()) as any })),
    );
    expect(renewed[0]!.cookie).not.toBe(renewed[1]!.cookie);
    for (const tab of renewed) {
      const claims = expectAccessToken(tab.body.accessToken, { role: 'project_admin' });
      expect(claims.sid).toBe(sidOf(body.accessToken));
      await worksEverywhere(tab.body.accessToken, '/api/auth/users');
      // Each tab's new cookie refreshes again.
      const next = await refresh(a.baseUrl, tab.cookie, tab.body.csrfToken);
      expect(next.status).toBe(200);
    }
  });

  it('can be revoked: one, or all but the current one', async () => {
    const first = (await (await signIn()).json()) as any;
    const second = (await (await signIn()).json()) as any;
    const third = (await (await signIn()).json()) as any;
    await worksEverywhere(first.accessToken, '/api/auth/users');
    const list = await a.request('GET', '/api/auth/admin/sessions', { token: second.accessToken });
    expect(list.status).toBe(200);
    const ids = list.body.sessions.map((s: { id: string }) => s.id);
    expect(ids).toEqual(expect.arrayContaining([sidOf(first.accessToken)]));
    expect(list.body.sessions.find((s: any) => s.current).id).toBe(sidOf(second.accessToken));

    const revoked = await a.request(
      'DELETE',
      `/api/auth/admin/sessions/${sidOf(first.accessToken)}`,
      {
        token: second.accessToken,
      },
    );
    expect(revoked.status).toBe(200);
    await refusedEverywhere(first.accessToken, '/api/auth/users');
    await worksEverywhere(second.accessToken, '/api/auth/users');
    expect(
      (
        await a.request('DELETE', `/api/auth/admin/sessions/${sidOf(first.accessToken)}`, {
          token: second.accessToken,
        })
      ).status,
    ).toBe(404);

    const others = await a.request('POST', '/api/auth/admin/sessions/revoke-others', {
      token: second.accessToken,
    });
    expect(others.body.revokedCount).toBeGreaterThanOrEqual(1);
    await refusedEverywhere(third.accessToken, '/api/auth/users');
    await worksEverywhere(second.accessToken, '/api/auth/users');
  });

  it('end when the admin password changes', async () => {
    const session = (await (await signIn()).json()) as any;
    await worksEverywhere(session.accessToken, '/api/auth/users');
    // An instance starting with another ADMIN_PASSWORD (the project keys left as they are).
    const changed = await createApp(
      {
        ...a.app.config,
        adminPassword: 'a changed admin password',
        accessApiKey: undefined,
        accessAnonKey: undefined,
      },
      { logger: createLogger({ level: 'error', stdout: true }) },
    );
    await changed.close();
    await refusedEverywhere(session.accessToken, '/api/auth/users');
    const refresh = await a.request('POST', '/api/auth/admin/refresh?client_type=server', {
      body: { refreshToken: session.refreshToken },
    });
    expect(refresh.status).toBe(401);
  });

  it('refuses admin tokens without a session (earlier versions’ 24-hour tokens)', async () => {
    const { SignJWT } = await import('jose');
    const legacy = await new SignJWT({ role: 'project_admin', email: ADMIN_EMAIL })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('00000000-0000-0000-0000-00000000a0a0')
      .setIssuer('kiln')
      .setIssuedAt()
      .setExpirationTime('24h')
      .sign(new TextEncoder().encode(a.app.config.jwtSecret!));
    const res = await a.request('GET', '/api/auth/users', { token: legacy });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('AUTH_UNAUTHORIZED');
  });
});

/** Rotates instance A's API or anon key with `graceSeconds` of grace; the new key. */
async function rotate(kind: 'api' | 'anon', graceSeconds: number): Promise<string> {
  const rotated = await a.request('POST', `/api/metadata/${kind}-key/rotate`, {
    token: a.apiKey,
    body: { graceSeconds },
  });
  expect(rotated.status).toBe(200);
  return kind === 'api' ? rotated.body.apiKey : rotated.body.anonKey;
}

describe('realtime sockets lose their credential on every instance', () => {
  it('anon key rotated with no grace: anon sockets are cut off', async () => {
    const watched = await socketsOnBoth(a.anonKey);
    a.anonKey = await rotate('anon', 0);
    await cutOff(watched, 'key_revoked');
    // The current key connects.
    expect((await connect(bUrl, a.anonKey)).connected).toBe(true);
  });

  it('API key rotated with a grace period: its sockets are cut off when the grace ends', async () => {
    const watched = await socketsOnBoth(a.apiKey);
    a.apiKey = await rotate('api', 1);
    const rotatedAt = Date.now();
    // Still acting within the grace period...
    expect((await subscribe(watched[1]!.socket, 'room:2')).ok).toBe(true);
    // ...and cut off once it is over.
    await cutOff(watched, 'key_revoked');
    expect(Date.now() - rotatedAt).toBeGreaterThanOrEqual(900);
  });

  it('API key rotated with no grace: its sockets are cut off at once', async () => {
    const watched = await socketsOnBoth(a.apiKey);
    a.apiKey = await rotate('api', 0);
    await cutOff(watched, 'key_revoked');
  });

  it('a user socket after its session is revoked', async () => {
    const user = await a.signUpUser();
    const watched = await socketsOnBoth(user.accessToken);
    await a.request('DELETE', `/api/auth/sessions/${sidOf(user.accessToken)}`, {
      token: user.accessToken,
    });
    await cutOff(watched, 'session_ended');
  });

  it('a user socket after the user is deleted', async () => {
    const user = await a.signUpUser();
    const watched = await socketsOnBoth(user.accessToken);
    await a.request('DELETE', '/api/auth/users', {
      token: a.apiKey,
      body: { userIds: [user.userId] },
    });
    await cutOff(watched, 'session_ended');
  });

  it('the SDK hears REALTIME_UNAUTHORIZED and is turned away when it reconnects', async () => {
    const user = await a.signUpUser();
    const client = createClient({
      baseUrl: bUrl,
      anonKey: a.anonKey,
      isServerMode: true,
      retryCount: 0,
      accessToken: user.accessToken,
    });
    const realtime = client.realtime;
    expect((await realtime.subscribe('room:3')).ok).toBe(true);
    const heard = new Promise<any>((resolve) => realtime.once('error', resolve));
    const refused = new Promise<any>((resolve) => realtime.once('connect_error', resolve));
    await a.request('DELETE', `/api/auth/users/${user.userId}/sessions`, { token: a.apiKey });
    expect(await heard).toMatchObject({ code: 'REALTIME_UNAUTHORIZED', reason: 'session_ended' });
    expect(String((await refused).message)).toMatch(/AUTH_UNAUTHORIZED/);
    expect(realtime.isConnected).toBe(false);
    realtime.disconnect();
  });
});

describe('the instance that ends a session refuses its tokens as soon as it answers', () => {
  /**
   * Instance A's listener is held back (a busy instance that has not read the database's
   * announcement yet): what A knows right after its answer comes from the ending itself. B still
   * learns from the announcement, once A's listener is let go, within moments.
   */
  async function withAnnouncementsHeld(fn: () => Promise<void>): Promise<void> {
    const release = a.app.revocations.holdAnnouncements();
    try {
      await fn();
    } finally {
      release();
    }
  }

  /** Refused by A at once: no waiting, the very next request. */
  async function refusedHere(token: string) {
    const res = await get(a.baseUrl, '/api/auth/sessions/current', token);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('AUTH_UNAUTHORIZED');
  }

  /** A user signed in twice: `token` (the sign-up) and `other`, both in A's and B's caches. */
  async function twoSessions() {
    const user = await a.signUpUser();
    const other = await a.request('POST', '/api/auth/sessions?client_type=server', {
      body: { email: user.email, password: user.password },
    });
    expect(other.status).toBe(200);
    await worksEverywhere(user.accessToken);
    await worksEverywhere(other.body.accessToken);
    return { ...user, token: user.accessToken, other: other.body.accessToken as string };
  }

  /**
   * Each way a session ends, for a user signed in twice: `end` ends the other session (`other`)
   * or both (`both`) through A.
   */
  type User = Awaited<ReturnType<typeof twoSessions>>;
  const endings: [string, 'other' | 'both', (u: User) => Promise<void>][] = [
    [
      'sign-out',
      'other',
      async (u) => {
        expect((await a.request('POST', '/api/auth/logout', { token: u.other })).status).toBe(200);
      },
    ],
    [
      'the user revoking one of their sessions',
      'other',
      async (u) => {
        const res = await a.request('DELETE', `/api/auth/sessions/${sidOf(u.other)}`, {
          token: u.token,
        });
        expect(res.status).toBe(200);
      },
    ],
    [
      'the user revoking their other sessions',
      'other',
      async (u) => {
        const res = await a.request('POST', '/api/auth/sessions/revoke-others', {
          token: u.token,
        });
        expect(res.body.revokedCount).toBe(1);
      },
    ],
    [
      'a password change',
      'other',
      async (u) => {
        const res = await a.request('POST', '/api/auth/users/current/password', {
          token: u.token,
          body: { currentPassword: u.password, newPassword: 'a brand new password 42' },
        });
        expect(res.status).toBe(200);
      },
    ],
    [
      'a password reset',
      'both',
      async (u) => {
        const client = a.sdk();
        const sent = smtp.messages.length;
        expect((await client.auth.sendResetPasswordEmail({ email: u.email })).error).toBeNull();
        const code = codeIn(await smtp.next(u.email, sent))!;
        const otp = (await client.auth.exchangeResetPasswordToken({ email: u.email, code })).data!
          .token;
        const res = await client.auth.resetPassword({ newPassword: 'a fresh password 42', otp });
        expect(res.error).toBeNull();
      },
    ],
    [
      'an admin revoking the user’s sessions',
      'both',
      async (u) => {
        const res = await a.request('DELETE', `/api/auth/users/${u.userId}/sessions`, {
          token: a.apiKey,
        });
        expect(res.body.revokedCount).toBe(2);
      },
    ],
    [
      'a ban',
      'both',
      async (u) => {
        const res = await a.request('PATCH', `/api/auth/users/${u.userId}`, {
          token: a.apiKey,
          body: { bannedUntil: new Date(Date.now() + 3600_000).toISOString() },
        });
        expect(res.status).toBe(200);
      },
    ],
    [
      'an admin deleting the user',
      'both',
      async (u) => {
        const res = await a.request('DELETE', '/api/auth/users', {
          token: a.apiKey,
          body: { userIds: [u.userId] },
        });
        expect(res.body.deletedCount).toBe(1);
      },
    ],
    [
      'the user deleting their account',
      'both',
      async (u) => {
        const allow = (allowAccountDeletion: boolean) =>
          a.request('PUT', '/api/auth/config', { token: a.apiKey, body: { allowAccountDeletion } });
        expect((await allow(true)).status).toBe(200);
        try {
          const res = await a.request('DELETE', '/api/auth/users/current', { token: u.token });
          expect(res.status).toBe(200);
        } finally {
          await allow(false);
        }
      },
    ],
  ];

  it.each(endings)('after %s', async (_, which, end) => {
    const user = await twoSessions();
    const ended = which === 'both' ? [user.token, user.other] : [user.other];
    await withAnnouncementsHeld(async () => {
      await end(user);
      // The very next request, while A's listener has still heard nothing.
      for (const token of ended) await refusedHere(token);
    });
    if (which === 'other') await worksEverywhere(user.token);
    for (const token of ended) await refusedEverywhere(token);
  });

  it('but not when the change that would have ended them rolls back', async () => {
    const user = await twoSessions();
    await withAnnouncementsHeld(async () => {
      // A new password ends the user's sessions, then the unknown role fails the whole change.
      const res = await a.request('PATCH', `/api/auth/users/${user.userId}`, {
        token: a.apiKey,
        body: { password: 'an admin-set password 42', appRoles: ['no-such-role'] },
      });
      expect([res.status, res.body.error]).toEqual([400, 'AUTH_UNKNOWN_ROLE']);
      expect((await get(a.baseUrl, '/api/auth/sessions/current', user.token)).status).toBe(200);
    });
    await worksEverywhere(user.token);
    await worksEverywhere(user.other);
  });
});
