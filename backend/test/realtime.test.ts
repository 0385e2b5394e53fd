import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { createClient } from '@insforge/sdk';
import { TokenService } from '../src/core/auth/tokens.js';
import {
  adminOnlyScenarios,
  describeScenarios,
  expectAccessToken,
  pgUrl,
  startTestApp,
  type Scenario,
  type TestApp,
} from './helpers.js';

let t: TestApp;
let sql: pg.Client;
const sockets: Socket[] = [];
beforeAll(async () => {
  t = await startTestApp();
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
  for (const pattern of ['chat:lobby', 'orders:%', 'items:%', 'rooms:%']) {
    const res = await t.request('POST', '/api/realtime/channels', {
      token: t.apiKey,
      body: { pattern, description: `test ${pattern}` },
    });
    expect(res.status).toBe(201);
  }
  const disabled = await t.request('POST', '/api/realtime/channels', {
    token: t.apiKey,
    body: { pattern: 'closed:%', enabled: false },
  });
  expect(disabled.status).toBe(201);
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await sql?.end();
  await t?.stop();
});

function connect(token: string | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(t.baseUrl, {
      transports: ['websocket'],
      auth: token ? { token } : {},
      reconnection: false,
    });
    sockets.push(socket);
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}

const subscribe = (socket: Socket, channel: unknown) =>
  new Promise<any>((resolve) => socket.emit('realtime:subscribe', { channel }, resolve));
const next = <T = any>(socket: Socket, event: string, ms = 3000) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });

describe('connecting', () => {
  it('accepts the anon key and user tokens, refuses bad or missing credentials', async () => {
    await expect(connect(t.anonKey)).resolves.toMatchObject({ connected: true });
    const { accessToken } = await t.signUpUser();
    await expect(connect(accessToken)).resolves.toMatchObject({ connected: true });
    await expect(connect('not.a.jwt')).rejects.toThrow(/AUTH_UNAUTHORIZED/);
    await expect(connect('anon_' + '0'.repeat(64))).rejects.toThrow(/AUTH_INVALID_API_KEY/);
    await expect(connect(undefined)).rejects.toThrow(/AUTH_INVALID_CREDENTIALS/);
  });

  it('stops acting for a user once the access token the socket connected with expires', async () => {
    const { userId, accessToken } = await t.signUpUser();
    // A short-lived token of the user's real session: `exp` is in whole seconds, so a one-second
    // token could be expired before the socket connects; two seconds leave at least one.
    const { sid } = expectAccessToken(accessToken, { sub: userId, role: 'authenticated' });
    const shortLived = await new TokenService(t.app.config.jwtSecret!, {
      isEnded: () => false,
    }).sign({ sub: userId, role: 'authenticated', sid }, 2);
    const s = await connect(shortLived);
    // The transport closes when the token expires (clients reconnect with their current token,
    // which is how @insforge/sdk carries on after a refresh)...
    expect(await next(s, 'disconnect', 4000)).toBe('transport close');
    // ...and this one, still holding the expired token, is turned away.
    const refused = next<Error>(s, 'connect_error', 4000);
    s.connect();
    expect((await refused).message).toMatch(/AUTH_/);
    s.close();
  });
});

describe('channels and messages', () => {
  it('subscribes where a channel row allows it, with presence; refuses unknown, disabled and malformed channels', async () => {
    const a = await connect(t.anonKey);
    const ok = await subscribe(a, 'orders:42');
    expect(ok).toEqual({
      ok: true,
      channel: 'orders:42',
      presence: {
        members: [expect.objectContaining({ presenceId: a.id, role: 'anon' })],
        total: 1,
      },
    });
    expect((await subscribe(a, 'nowhere:1')).error.code).toBe('REALTIME_CHANNEL_NOT_FOUND');
    expect((await subscribe(a, 'closed:1')).error.code).toBe('REALTIME_CHANNEL_NOT_FOUND');
    for (const bad of ['', 'has space', 'x'.repeat(300), 42, null]) {
      const res = await subscribe(a, bad);
      expect(res.ok, String(bad)).toBe(false);
      expect(res.error.code).toBe('REALTIME_INVALID_CHANNEL_PATTERN');
    }
  });

  it('delivers a user message to every subscriber with the meta envelope; anon may not publish', async () => {
    const alice = await t.signUpUser();
    const sender = await connect(alice.accessToken);
    const listener = await connect(t.anonKey);
    await subscribe(sender, 'chat:lobby');
    const joined = next(sender, 'presence:join');
    await subscribe(listener, 'chat:lobby');
    expect((await joined).member).toMatchObject({ presenceId: listener.id, role: 'anon' });

    const received = next(listener, 'message.created');
    sender.emit('realtime:publish', {
      channel: 'chat:lobby',
      event: 'message.created',
      payload: { text: 'hello', n: 1 },
    });
    const msg = await received;
    expect(msg).toMatchObject({
      text: 'hello',
      n: 1,
      meta: {
        channel: 'chat:lobby',
        senderType: 'user',
        senderId: alice.userId,
        messageId: expect.any(String),
        timestamp: expect.any(String),
      },
    });
    const stored = await sql.query(
      'SELECT channel, event, payload, sender_id FROM realtime.messages WHERE id = $1',
      [msg.meta.messageId],
    );
    expect(stored.rows[0]).toEqual({
      channel: 'chat:lobby',
      event: 'message.created',
      payload: { text: 'hello', n: 1 },
      sender_id: alice.userId,
    });

    const denied = next(listener, 'realtime:error');
    listener.emit('realtime:publish', {
      channel: 'chat:lobby',
      event: 'message.created',
      payload: { text: 'anon' },
    });
    expect(await denied).toMatchObject({ code: 'REALTIME_UNAUTHORIZED', channel: 'chat:lobby' });
  });

  it('refuses publishing before subscribing, reserved or malformed events, and oversized payloads', async () => {
    const { accessToken } = await t.signUpUser();
    const s = await connect(accessToken);
    const cases: Array<[unknown, string]> = [
      [{ channel: 'chat:lobby', event: 'x', payload: {} }, 'REALTIME_NOT_SUBSCRIBED'],
      [{ channel: 'bad channel', event: 'x' }, 'REALTIME_INVALID_CHANNEL_PATTERN'],
      [null, 'REALTIME_INVALID_CHANNEL_PATTERN'],
    ];
    for (const [body, code] of cases) {
      const err = next(s, 'realtime:error');
      s.emit('realtime:publish', body);
      expect((await err).code).toBe(code);
    }
    await subscribe(s, 'chat:lobby');
    for (const [body, code] of [
      [{ channel: 'chat:lobby', event: 'presence:join', payload: {} }, 'REALTIME_INVALID_EVENT'],
      [
        { channel: 'chat:lobby', event: 'realtime:subscribe', payload: {} },
        'REALTIME_INVALID_EVENT',
      ],
      [{ channel: 'chat:lobby', event: 'bad event name', payload: {} }, 'REALTIME_INVALID_EVENT'],
      // Socket.IO's own names: emitting them would throw inside the delivery loop.
      [{ channel: 'chat:lobby', event: 'newListener', payload: {} }, 'REALTIME_INVALID_EVENT'],
      [{ channel: 'chat:lobby', event: 'disconnecting', payload: {} }, 'REALTIME_INVALID_EVENT'],
      [{ channel: 'chat:lobby', event: 'ok', payload: [1, 2] }, 'REALTIME_INVALID_EVENT'],
      [
        { channel: 'chat:lobby', event: 'ok', payload: { big: 'x'.repeat(70 * 1024) } },
        'REALTIME_INVALID_EVENT',
      ],
    ] as Array<[unknown, string]>) {
      const err = next(s, 'realtime:error');
      s.emit('realtime:publish', body);
      expect((await err).code).toBe(code);
    }
    // The socket is still usable afterwards.
    expect((await subscribe(s, 'orders:1')).ok).toBe(true);
  });

  it('delivers database events: realtime.publish() from SQL and row-change triggers', async () => {
    const s = await connect(t.anonKey);
    await subscribe(s, 'orders:7');
    const fromSql = next(s, 'status');
    await sql.query(
      `SELECT realtime.publish('orders:7', 'status', '{"state": "paid", "big": "${'y'.repeat(10000)}"}'::jsonb)`,
    );
    const paid = await fromSql;
    expect(paid.state).toBe('paid');
    // An event name Socket.IO refuses, published from SQL, does not take its batch with it.
    const after = next(s, 'status');
    await sql.query(
      `SELECT realtime.publish('orders:7', 'newListener', '{}'::jsonb), realtime.publish('orders:7', 'status', '{"state": "shipped"}'::jsonb)`,
    );
    expect((await after).state).toBe('shipped');
    // A name that could not be a header or an event is refused where it is written.
    await expect(
      sql.query(`SELECT realtime.publish('orders:7', E'bad\\r\\nname', '{}'::jsonb)`),
    ).rejects.toThrow(/messages_event_name/);
    expect(paid.big).toHaveLength(10000); // beyond NOTIFY's 8 kB: delivered by id
    expect(paid.meta).toMatchObject({ channel: 'orders:7', senderType: 'system' });
    expect(paid.meta.senderId).toBeUndefined();

    await sql.query(
      `CREATE TABLE public.items (id int PRIMARY KEY, name text); SELECT realtime.enable_row_changes('public.items')`,
    );
    await subscribe(s, 'items:5');
    const inserted = next(s, 'insert');
    await sql.query(`INSERT INTO public.items VALUES (5, 'widget')`);
    expect(await inserted).toMatchObject({
      table: 'items',
      new: { id: 5, name: 'widget' },
      old: null,
      meta: { channel: 'items:5' },
    });
    const updated = next(s, 'update');
    await sql.query(`UPDATE public.items SET name = 'gadget' WHERE id = 5`);
    expect(await updated).toMatchObject({ new: { name: 'gadget' }, old: { name: 'widget' } });
    const deleted = next(s, 'delete');
    await sql.query(`DELETE FROM public.items WHERE id = 5`);
    expect(await deleted).toMatchObject({ new: null, old: { id: 5 } });

    // A table RLS protects: the event names the row, the row itself stays behind RLS.
    await sql.query(
      `CREATE TABLE public.orders (id int PRIMARY KEY, owner uuid, entry text);
       ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;
       CREATE POLICY own ON public.orders FOR SELECT USING (owner = auth.uid());
       SELECT realtime.enable_row_changes('public.orders')`,
    );
    await subscribe(s, 'orders:9');
    const secret = next(s, 'insert');
    await sql.query(`INSERT INTO public.orders VALUES (9, gen_random_uuid(), 'my private diary')`);
    const event = await secret;
    expect(event).toMatchObject({ table: 'orders', new: { id: 9 }, old: null, redacted: true });
    expect(JSON.stringify(event)).not.toContain('private diary');
  });

  it('announces presence leave when a socket drops', async () => {
    const a = await connect(t.anonKey);
    const b = await connect(t.anonKey);
    await subscribe(a, 'orders:99');
    const joined = next(a, 'presence:join');
    const ack = await subscribe(b, 'orders:99');
    expect(ack.presence.members.map((m: { presenceId: string }) => m.presenceId).sort()).toEqual(
      [a.id, b.id].sort(),
    );
    await joined;
    const left = next(a, 'presence:leave');
    const bId = b.id;
    b.disconnect();
    expect((await left).member.presenceId).toBe(bId);
  });

  it('works through @insforge/sdk’s realtime module', async () => {
    const user = await t.signUpUser();
    const client = createClient({
      baseUrl: t.baseUrl,
      anonKey: t.anonKey,
      accessToken: user.accessToken,
      retryCount: 0,
    });
    const sub = await client.realtime.subscribe('chat:lobby');
    expect(sub.ok).toBe(true);
    const got = new Promise<any>((resolve) => client.realtime.on('greeting', resolve));
    await client.realtime.publish('chat:lobby', 'greeting', { hi: true });
    expect(await got).toMatchObject({
      hi: true,
      meta: { channel: 'chat:lobby', senderId: user.userId },
    });
    const refused = await client.realtime.subscribe('nowhere:1');
    expect(refused).toMatchObject({ ok: false, error: { code: 'REALTIME_CHANNEL_NOT_FOUND' } });
    client.realtime.disconnect();
  });
});

describe('channel admin API', () => {
  it('lists, updates and deletes channels and lists messages; admin only', async () => {
    const list = await t.request('GET', '/api/realtime/channels', { token: t.apiKey });
    expect(list.body.map((c: { pattern: string }) => c.pattern)).toEqual([
      'chat:lobby',
      'closed:%',
      'items:%',
      'orders:%',
      'rooms:%',
    ]);
    const closed = list.body.find((c: { pattern: string }) => c.pattern === 'closed:%');
    const updated = await t.request('PUT', `/api/realtime/channels/${closed.id}`, {
      token: t.apiKey,
      body: { enabled: true, webhookUrls: ['https://hooks.example.com/x'] },
    });
    expect(updated.body).toMatchObject({
      enabled: true,
      webhookUrls: ['https://hooks.example.com/x'],
    });
    expect(
      (await t.request('DELETE', `/api/realtime/channels/${closed.id}`, { token: t.apiKey }))
        .status,
    ).toBe(200);
    expect(
      (await t.request('GET', `/api/realtime/channels/${closed.id}`, { token: t.apiKey })).status,
    ).toBe(404);
    const messages = await t.request('GET', '/api/realtime/messages?channel=chat:lobby&limit=5', {
      token: t.apiKey,
    });
    expect(messages.status).toBe(200);
    // A bare array (InsForge's shape), the count in all in a header.
    expect(messages.body.length).toBeGreaterThan(0);
    expect(Number(messages.headers.get('x-total-count'))).toBeGreaterThanOrEqual(
      messages.body.length,
    );
    expect(messages.body[0]).toMatchObject({
      channel: 'chat:lobby',
      channelName: 'chat:lobby',
      eventName: messages.body[0].event,
      senderType: 'user',
    });
  });
});

const REALTIME_ADMIN_ROUTES: Array<[Scenario['method'], string, unknown?]> = [
  ['GET', '/api/realtime/channels'],
  ['POST', '/api/realtime/channels', { pattern: 'sneaky:%' }],
  ['GET', '/api/realtime/messages'],
  ['GET', '/api/realtime/messages/stats'],
  ['DELETE', '/api/realtime/messages?before=2000-01-01T00:00:00Z'],
  ['PATCH', '/api/realtime/config', { retentionDays: 1 }],
];

describeScenarios('channel admin API: who may call, and bad input', () => t, [
  ...adminOnlyScenarios(REALTIME_ADMIN_ROUTES),
  {
    name: 'a channel pattern that exists',
    as: 'apiKey',
    method: 'POST',
    path: '/api/realtime/channels',
    body: { pattern: 'chat:lobby' },
    status: 409,
    error: 'REALTIME_CHANNEL_EXISTS',
  },
  {
    name: 'a malformed channel pattern',
    as: 'apiKey',
    method: 'POST',
    path: '/api/realtime/channels',
    body: { pattern: 'bad pattern!' },
    status: 400,
    error: 'INVALID_INPUT',
  },
  {
    name: 'a malformed channel id',
    as: 'apiKey',
    method: 'GET',
    path: '/api/realtime/channels/not-a-uuid',
    status: 400,
    error: 'INVALID_INPUT',
  },
  {
    name: 'an unknown channel id',
    as: 'apiKey',
    method: 'GET',
    path: '/api/realtime/channels/00000000-0000-4000-8000-000000000000',
    status: 404,
    error: 'REALTIME_CHANNEL_NOT_FOUND',
  },
  {
    name: 'a retention of zero days',
    as: 'apiKey',
    method: 'PATCH',
    path: '/api/realtime/config',
    body: { retentionDays: 0 },
    status: 400,
    error: 'INVALID_INPUT',
  },
  {
    name: 'deleting messages before a date that is none',
    as: 'apiKey',
    method: 'DELETE',
    path: '/api/realtime/messages?before=yesterday',
    status: 400,
    error: 'INVALID_INPUT',
  },
]);

describe('two instances on one database', () => {
  it('a message published on instance A reaches subscribers on both, exactly once', async () => {
    const { createApp } = await import('../src/app.js');
    const { createLogger } = await import('../src/core/logger.js');
    const other = await createApp(
      { ...t.app.config },
      { logger: createLogger({ level: 'error', stdout: true }) },
    );
    const address = await other.listen(0, '127.0.0.1');
    try {
      const user = await t.signUpUser();
      const onA = await connect(user.accessToken);
      const onB = await new Promise<Socket>((resolve, reject) => {
        const s = io(`http://127.0.0.1:${address.port}`, {
          transports: ['websocket'],
          auth: { token: t.anonKey },
          reconnection: false,
        });
        sockets.push(s);
        s.once('connect', () => resolve(s));
        s.once('connect_error', reject);
      });
      await subscribe(onA, 'rooms:500');
      await subscribe(onB, 'rooms:500');
      const seenA: unknown[] = [];
      const seenB: unknown[] = [];
      onA.on('ping', (m) => seenA.push(m));
      onB.on('ping', (m) => seenB.push(m));
      onA.emit('realtime:publish', {
        channel: 'rooms:500',
        event: 'ping',
        payload: { from: 'A' },
      });
      await sql.query(`SELECT realtime.publish('rooms:500', 'ping', '{"from": "sql"}')`);
      const deadline = Date.now() + 20_000;
      while ((seenA.length < 2 || seenB.length < 2) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 25));
      await new Promise((r) => setTimeout(r, 200));
      expect(seenA.map((m: any) => m.from).sort()).toEqual(['A', 'sql']);
      expect(seenB.map((m: any) => m.from).sort()).toEqual(['A', 'sql']);
    } finally {
      await other.close();
    }
  });
});

describe('floods and stats', () => {
  it('rate-limits a flooding socket with realtime:error and keeps serving others', async () => {
    const { accessToken } = await t.signUpUser();
    const flooder = await connect(accessToken);
    await subscribe(flooder, 'rooms:flood');
    const errors: any[] = [];
    flooder.on('realtime:error', (e) => errors.push(e));
    for (let i = 0; i < 300; i++)
      flooder.emit('realtime:publish', { channel: 'rooms:flood', event: 'spam', payload: { i } });
    const deadline = Date.now() + 20_000;
    while (!errors.some((e) => e.code === 'REALTIME_RATE_LIMITED') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    expect(errors.some((e) => e.code === 'REALTIME_RATE_LIMITED')).toBe(true);
    // The allowed messages are inserted asynchronously: wait until the count settles.
    const count = async () =>
      (
        await sql.query(
          `SELECT count(*)::int AS n FROM realtime.messages WHERE channel = 'rooms:flood'`,
        )
      ).rows[0].n as number;
    let stored = -1;
    for (let previous = -2; stored !== previous || stored === 0;) {
      if (Date.now() > deadline) break;
      previous = stored;
      await new Promise((r) => setTimeout(r, 100));
      stored = await count();
    }
    expect(stored).toBeLessThan(300);
    expect(stored).toBeGreaterThan(0);
    // Another client is unaffected.
    const calm = await connect(t.anonKey);
    expect((await subscribe(calm, 'rooms:flood')).ok).toBe(true);
  });

  it('caps the channels one connection may subscribe to', async () => {
    const s = await connect(t.anonKey);
    // Even all at once: 100 get in, the rest are refused.
    const answers = await Promise.all(
      Array.from({ length: 110 }, (_, i) => subscribe(s, `orders:cap-${i}`)),
    );
    expect(answers.filter((a) => a.ok)).toHaveLength(100);
    const over = await subscribe(s, 'orders:cap-200');
    expect(over).toMatchObject({ ok: false, error: { code: 'REALTIME_TOO_MANY_CHANNELS' } });
    // Subscribing again to a channel it already has is fine.
    const member = answers.findIndex((a) => a.ok);
    expect((await subscribe(s, `orders:cap-${member}`)).ok).toBe(true);
    s.close();
  });

  it('reports message statistics to admins', async () => {
    const res = await t.request('GET', '/api/realtime/messages/stats', { token: t.apiKey });
    expect(res.status).toBe(200);
    expect(res.body.totalMessages).toBeGreaterThan(0);
    expect(res.body.topChannels[0]).toMatchObject({
      channel: expect.any(String),
      messages: expect.any(Number),
    });
  });
});

describe('retention', () => {
  it('configures retention, prunes old messages, and deletes by date on request', async () => {
    const { pruneMessages } = await import('../src/realtime/webhooks.js');
    const cfg = await t.request('PATCH', '/api/realtime/config', {
      token: t.apiKey,
      body: { retentionDays: 2 },
    });
    expect(cfg.body).toMatchObject({
      retentionDays: 2,
      webhookSecret: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    await sql.query(
      `INSERT INTO realtime.messages (channel, event, payload, sender_type, created_at) VALUES ('orders:old', 'x', '{}', 'system', now() - interval '3 days'), ('orders:old', 'y', '{}', 'system', now() - interval '1 day')`,
    );
    expect(await pruneMessages(t.app.db)).toBe(1);
    const left = await t.request(
      'DELETE',
      `/api/realtime/messages?before=${encodeURIComponent(new Date().toISOString())}&channel=orders:old`,
      { token: t.apiKey },
    );
    expect(left.body).toEqual({ deletedCount: 1 });
  });
});

describe('server restart', () => {
  it('the SDK reconnects, resubscribes and receives new messages after Kiln restarts', async () => {
    const { createApp } = await import('../src/app.js');
    const { createLogger } = await import('../src/core/logger.js');
    const { freePort } = await import('./ports.js');
    const port = await freePort();
    const logger = createLogger({ level: 'error', stdout: true });
    let app = await createApp({ ...t.app.config }, { logger });
    await app.listen(port, '127.0.0.1');
    const client = createClient({
      baseUrl: `http://127.0.0.1:${port}`,
      anonKey: t.anonKey,
      retryCount: 0,
    });
    try {
      expect((await client.realtime.subscribe('orders:restart')).ok).toBe(true);
      await app.close();
      app = await createApp({ ...t.app.config }, { logger });
      await app.listen(port, '127.0.0.1');
      const got = new Promise<any>((resolve) => client.realtime.on('after', resolve));
      // Publish until the resubscribed client hears it (reconnection takes a moment).
      let message: any;
      const deadline = Date.now() + 15_000;
      while (!message && Date.now() < deadline) {
        await sql.query(`SELECT realtime.publish('orders:restart', 'after', '{"ok": true}')`);
        message = await Promise.race([got, new Promise((r) => setTimeout(r, 500))]);
      }
      expect(message).toMatchObject({ ok: true, meta: { channel: 'orders:restart' } });
    } finally {
      client.realtime.disconnect();
      await app.close();
    }
  }, 30_000);
});
