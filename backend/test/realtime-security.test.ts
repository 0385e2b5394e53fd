import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KilnApp } from '../src/app.js';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * Realtime abuse: forged database events, presence that names members to whoever listens,
 * presence traffic that grows with the square of a channel's size, unbounded connections.
 */
const ACK_MAX = 20;

let t: TestApp;
let sql: pg.Client;
const sockets: Socket[] = [];
const apps: KilnApp[] = [];

beforeAll(async () => {
  t = await startTestApp({ realtimePresenceAckMaxMembers: ACK_MAX });
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
  for (const pattern of ['items:%', 'chat:%', 'feed:%', 'team:%', 'crowd:%']) {
    const res = await t.request('POST', '/api/realtime/channels', {
      token: t.apiKey,
      body: { pattern },
    });
    expect(res.status).toBe(201);
  }
  await sql.query(`
    -- An open table with row changes: whole rows travel on 'items:<id>'.
    CREATE TABLE public.items (id int PRIMARY KEY, name text);
    GRANT SELECT, INSERT, UPDATE ON public.items TO anon, authenticated;
    SELECT realtime.enable_row_changes('public.items');
    INSERT INTO public.items VALUES (5, 'widget');
    -- An app's own trigger publishing from a user's write (runs as that user).
    CREATE TABLE public.posts (id serial PRIMARY KEY, body text);
    GRANT SELECT, INSERT ON public.posts TO authenticated;
    GRANT USAGE ON SEQUENCE public.posts_id_seq TO authenticated;
    CREATE FUNCTION public.posts_announce() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM realtime.publish('feed:posts', 'post_created', jsonb_build_object('id', NEW.id));
      RETURN NULL;
    END $$;
    CREATE TRIGGER posts_announce AFTER INSERT ON public.posts
      FOR EACH ROW EXECUTE FUNCTION public.posts_announce();
    -- An app's RPC function that publishes whatever its caller asks.
    CREATE FUNCTION public.shout(channel text, event text, body jsonb) RETURNS uuid
      LANGUAGE sql AS $$ SELECT realtime.publish(channel, event, body) $$;
    GRANT EXECUTE ON FUNCTION public.shout(text, text, jsonb) TO authenticated;
    -- 'team:%' is for signed-in users only.
    ALTER POLICY channels_subscribe_enabled ON realtime.channels USING (enabled AND pattern <> 'team:%');
    CREATE POLICY team_members ON realtime.channels FOR SELECT TO authenticated
      USING (enabled AND pattern = 'team:%');
  `);
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  for (const a of apps) await a.close();
  await sql?.end();
  await t?.stop();
});

function connect(
  token: string,
  url = t.baseUrl,
  headers: Record<string, string> = {},
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ['websocket'],
      auth: { token },
      reconnection: false,
      forceNew: true,
      extraHeaders: headers,
    });
    sockets.push(socket);
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}
const subscribe = (socket: Socket, channel: string) =>
  new Promise<any>((resolve) => socket.emit('realtime:subscribe', { channel }, resolve));
/** The next `event` (on `channel`, if given) the socket receives. */
const next = <T = any>(socket: Socket, event: string, channel?: string, ms = 3000) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const on = (payload: any) => {
      if (channel && payload?.meta?.channel !== channel) return;
      clearTimeout(timer);
      socket.off(event, on);
      resolve(payload as T);
    };
    socket.on(event, on);
  });
/** Every event a socket receives, in order. */
function record(socket: Socket): Array<{ event: string; body: any }> {
  const seen: Array<{ event: string; body: any }> = [];
  socket.onAny((event: string, body: any) => seen.push({ event, body }));
  return seen;
}
async function until(condition: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
/** Runs SQL in a transaction as a user role with that user's claims, as requests do. */
async function asRole(
  role: 'anon' | 'authenticated' | 'project_admin',
  sub: string | null,
  q: string,
) {
  await sql.query('BEGIN');
  try {
    await sql.query(`SET LOCAL ROLE ${role}`);
    await sql.query(`SELECT set_config('request.jwt.claims', $1, true)`, [
      JSON.stringify(sub ? { sub, role } : { role }),
    ]);
    const res = await sql.query(q);
    await sql.query('COMMIT');
    return res.rows;
  } catch (err) {
    await sql.query('ROLLBACK');
    throw err;
  }
}
const forgedUpdate = {
  table: 'items',
  schema: 'public',
  new: { id: 5, name: 'FORGED' },
  old: null,
};

describe('database events are the database’s alone', () => {
  it('a user’s socket cannot publish row-change events, nor anything into a row-change channel', async () => {
    const user = await t.signUpUser();
    const listener = await connect(t.anonKey);
    const seen = record(listener);
    const sender = await connect(user.accessToken);
    for (const channel of ['items:5', 'chat:1']) {
      expect((await subscribe(listener, channel)).ok).toBe(true);
      expect((await subscribe(sender, channel)).ok).toBe(true);
    }
    const refusals: Array<[string, string, string]> = [
      ['items:5', 'update', 'REALTIME_INVALID_EVENT'],
      ['items:5', 'UPDATE', 'REALTIME_INVALID_EVENT'],
      ['chat:1', 'insert', 'REALTIME_INVALID_EVENT'],
      ['chat:1', 'Delete', 'REALTIME_INVALID_EVENT'],
      ['chat:1', 'presence:join', 'REALTIME_INVALID_EVENT'],
      ['chat:1', 'presence:count', 'REALTIME_INVALID_EVENT'],
      // Any event into the channel of a table's row changes.
      ['items:5', 'note', 'REALTIME_UNAUTHORIZED'],
    ];
    for (const [channel, event, code] of refusals) {
      const err = next(sender, 'realtime:error');
      sender.emit('realtime:publish', { channel, event, payload: forgedUpdate });
      expect(await err, `${event} on ${channel}`).toMatchObject({ code, channel });
    }
    // Ordinary messages still go through (and mark the end of what the listener could get).
    const note = next(listener, 'note');
    sender.emit('realtime:publish', { channel: 'chat:1', event: 'note', payload: { n: 1 } });
    expect((await note).meta).toMatchObject({ senderType: 'user', senderId: user.userId });
    // The database's own change still arrives.
    const real = next(listener, 'update');
    await sql.query(`UPDATE public.items SET name = 'gadget' WHERE id = 5`);
    expect(await real).toMatchObject({
      table: 'items',
      new: { id: 5, name: 'gadget' },
      meta: { channel: 'items:5', senderType: 'system' },
    });
    expect(seen.filter((s) => /^(insert|update|delete)$/i.test(s.event))).toHaveLength(1);
    expect(JSON.stringify(seen)).not.toContain('FORGED');
    const stored = await sql.query(
      `SELECT count(*)::int AS n FROM realtime.messages WHERE payload::text LIKE '%FORGED%'`,
    );
    expect(stored.rows[0].n).toBe(0);
  });

  it('realtime.publish() called by a user role (SQL, RPC) sends the user’s own message, never a database event', async () => {
    const user = await t.signUpUser();
    const listener = await connect(t.anonKey);
    const seen = record(listener);
    for (const channel of ['items:5', 'chat:2']) await subscribe(listener, channel);
    const forged = `'${JSON.stringify(forgedUpdate)}'::jsonb`;

    // Raw SQL as the user.
    await expect(
      asRole(
        'authenticated',
        user.userId,
        `SELECT realtime.publish('items:5', 'update', ${forged})`,
      ),
    ).rejects.toThrow(/reserved/);
    await expect(
      asRole(
        'authenticated',
        user.userId,
        `SELECT realtime.publish('chat:2', 'UPDATE', ${forged})`,
      ),
    ).rejects.toThrow(/reserved/);
    await expect(
      asRole('authenticated', user.userId, `SELECT realtime.publish('items:5', 'note', '{}')`),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(
      asRole('anon', null, `SELECT realtime.publish('chat:2', 'note', '{}')`),
    ).rejects.toMatchObject({ code: '42501' });
    const [own] = await asRole(
      'authenticated',
      user.userId,
      `SELECT realtime.publish('chat:2', 'note', '{"via": "sql"}') AS id`,
    );
    const row = await sql.query(
      'SELECT sender_type, sender_id FROM realtime.messages WHERE id = $1',
      [own.id],
    );
    expect(row.rows[0]).toEqual({ sender_type: 'user', sender_id: user.userId });

    // Through an app's RPC function.
    const { error } = await user.client.database.rpc('shout', {
      channel: 'items:5',
      event: 'update',
      body: forgedUpdate,
    });
    expect(error).toMatchObject({
      code: '23514',
      message: 'event "update" is reserved for messages from the database',
    });
    const viaRpc = next(listener, 'note');
    const ok = await user.client.database.rpc('shout', {
      channel: 'chat:2',
      event: 'note',
      body: { via: 'rpc' },
    });
    expect(ok.error).toBeNull();
    await until(() => seen.filter((s) => s.event === 'note').length === 2);
    expect((await viaRpc).meta).toMatchObject({ senderType: 'user', senderId: user.userId });
    expect(seen.map((s) => s.body?.via).filter(Boolean)).toEqual(['sql', 'rpc']);
    expect(JSON.stringify(seen)).not.toContain('FORGED');

    // Kiln's admins still publish system messages from SQL.
    await asRole('project_admin', null, `SELECT realtime.publish('chat:2', 'notice', '{}')`);
    const notice = await sql.query(
      `SELECT sender_type FROM realtime.messages WHERE event = 'notice' AND channel = 'chat:2'`,
    );
    expect(notice.rows).toEqual([{ sender_type: 'system' }]);
  });

  it('triggers still publish: a user’s write fires both an app trigger and row changes', async () => {
    const user = await t.signUpUser();
    const listener = await connect(t.anonKey);
    await subscribe(listener, 'feed:posts');
    await subscribe(listener, 'items:6');
    const created = next(listener, 'post_created');
    const { error } = await user.client.database.from('posts').insert({ body: 'hello' });
    expect(error).toBeNull();
    expect((await created).meta).toMatchObject({ channel: 'feed:posts', senderType: 'system' });
    const inserted = next(listener, 'insert');
    expect(
      (await user.client.database.from('items').insert({ id: 6, name: 'new' })).error,
    ).toBeNull();
    expect(await inserted).toMatchObject({
      new: { id: 6, name: 'new' },
      meta: { channel: 'items:6', senderType: 'system' },
    });
  });
});

describe('presence follows the subscribe policy', () => {
  it('names members only where the anon key may not subscribe; anon sees no one’s user id', async () => {
    const alice = await t.signUpUser();
    const bob = await t.signUpUser();
    const aliceSocket = await connect(alice.accessToken);
    const anon = await connect(t.anonKey);
    const anonSeen = record(anon);

    // A channel anyone may join: members are connection ids and roles, for everybody.
    expect((await subscribe(aliceSocket, 'chat:presence')).ok).toBe(true);
    const anonAck = await subscribe(anon, 'chat:presence');
    expect(anonAck.presence.members).toEqual([
      expect.objectContaining({ presenceId: aliceSocket.id, role: 'authenticated', userId: null }),
      expect.objectContaining({ presenceId: anon.id, role: 'anon', userId: null }),
    ]);
    const bobSocket = await connect(bob.accessToken);
    const bobJoinSeenByAnon = next(anon, 'presence:join', 'chat:presence');
    const bobJoinSeenByAlice = next(aliceSocket, 'presence:join', 'chat:presence');
    const bobAck = await subscribe(bobSocket, 'chat:presence');
    expect((await bobJoinSeenByAnon).member).toMatchObject({
      presenceId: bobSocket.id,
      userId: null,
    });
    expect((await bobJoinSeenByAlice).member).toMatchObject({ userId: null });
    expect(JSON.stringify(bobAck)).not.toContain(alice.userId);
    // Admins see who is there.
    const admin = await connect(t.apiKey);
    const adminAck = await subscribe(admin, 'chat:presence');
    expect(adminAck.presence.members.map((m: any) => m.userId)).toEqual(
      expect.arrayContaining([alice.userId, bob.userId]),
    );

    // A channel for signed-in users only: its members (vetted by the policy) see each other.
    const refused = await subscribe(anon, 'team:1');
    expect(refused).toMatchObject({ ok: false, error: { code: 'REALTIME_UNAUTHORIZED' } });
    expect((await subscribe(aliceSocket, 'team:1')).ok).toBe(true);
    const aliceHearsBob = next(aliceSocket, 'presence:join', 'team:1');
    const teamAck = await subscribe(bobSocket, 'team:1');
    expect(teamAck.presence.members).toEqual([
      expect.objectContaining({ presenceId: aliceSocket.id, userId: alice.userId }),
      expect.objectContaining({ presenceId: bobSocket.id, userId: bob.userId }),
    ]);
    expect((await aliceHearsBob).member).toMatchObject({ userId: bob.userId });
    const aliceHearsBobLeave = next(aliceSocket, 'presence:leave', 'team:1');
    bobSocket.emit('realtime:unsubscribe', { channel: 'team:1' });
    expect((await aliceHearsBobLeave).member).toMatchObject({ userId: bob.userId });

    // The anon socket never heard of team:1, nor anyone's user id.
    expect(anonSeen.filter((s) => s.body?.meta?.channel === 'team:1')).toEqual([]);
    for (const id of [alice.userId, bob.userId]) expect(JSON.stringify(anonSeen)).not.toContain(id);
    expect(JSON.stringify(anonAck)).not.toContain(alice.userId);
    for (const s of [aliceSocket, anon, bobSocket, admin]) s.disconnect();
  });
});

describe('presence traffic is bounded', () => {
  it(`acks list at most ${ACK_MAX} members plus a total; a crowd costs each socket a bounded number of events`, async () => {
    const N = 60;
    const crowd = await Promise.all(Array.from({ length: N }, () => connect(t.anonKey)));
    const events = crowd.map(record);
    const known = new Map<Socket, number>(); // the total each socket last heard
    for (const s of crowd)
      s.onAny((event: string, body: any) => {
        if (event.startsWith('presence:') && typeof body?.total === 'number')
          known.set(s, body.total);
      });
    const started = Date.now();
    let ackBytes = 0;
    let widest = 0;
    const acks: any[] = [];
    for (const s of crowd) {
      const ack = await subscribe(s, 'crowd:1');
      expect(ack.ok).toBe(true);
      acks.push(ack);
      ackBytes += Buffer.byteLength(JSON.stringify(ack));
      for (const m of ack.presence.members)
        widest = Math.max(widest, Buffer.byteLength(JSON.stringify(m)));
      known.set(s, ack.presence.total);
    }
    // Each ack: at most ACK_MAX + 1 members (itself included) and the true total.
    expect(Math.max(...acks.map((a) => a.presence.members.length))).toBeLessThanOrEqual(
      ACK_MAX + 1,
    );
    acks.forEach((ack, i) => {
      expect(ack.presence.members.some((m: any) => m.presenceId === crowd[i]!.id)).toBe(true);
      expect(ack.presence.total).toBe(i + 1);
    });
    // Everyone learns the final count (coalesced presence:count), without a full list each.
    await until(() => crowd.every((s) => known.get(s) === N));
    const seconds = (Date.now() - started) / 1000;
    const presence = events.flat().filter((e) => e.event.startsWith('presence:'));
    const joins = events.map((list) => list.filter((e) => e.event === 'presence:join').length);

    // Acks: never more than ACK_MAX + 1 members each (today's code sent 1 + 2 + … + N).
    expect(ackBytes).toBeLessThanOrEqual(N * ((ACK_MAX + 1) * widest + 200));
    // Events: each socket hears at most ACK_MAX joins, and counts at most about once a second.
    expect(Math.max(...joins)).toBeLessThanOrEqual(ACK_MAX);
    expect(presence.length).toBeLessThanOrEqual(N * (ACK_MAX / 2 + Math.ceil(seconds) + 2));
    expect(presence.length).toBeLessThan((N * (N - 1)) / 2);

    // Leaving: the listed members' leaves promote the next ones, the rest only move the count.
    const leaving = crowd.slice(0, 30);
    for (const s of leaving) s.disconnect();
    const stay = crowd.slice(30);
    await until(() => stay.every((s) => known.get(s) === N - 30));
    for (const s of stay) s.disconnect();
  }, 20_000);
});

describe('connections per client address', () => {
  async function appWith(overrides: Partial<TestApp['app']['config']>): Promise<string> {
    const { createApp } = await import('../src/app.js');
    const { createLogger } = await import('../src/core/logger.js');
    const app = await createApp(
      { ...t.app.config, ...overrides },
      { logger: createLogger({ level: 'error', stdout: true }) },
    );
    apps.push(app);
    const { port } = await app.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${port}`;
  }

  it('refuses the connection beyond REALTIME_MAX_SOCKETS_PER_IP with a documented code', async () => {
    const url = await appWith({ realtimeMaxSocketsPerIp: 3, trustProxy: false });
    const held = [
      await connect(t.anonKey, url),
      await connect(t.anonKey, url),
      await connect(t.anonKey, url),
    ];
    const refused = await connect(t.anonKey, url).catch((err: Error & { data?: any }) => err);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/REALTIME_TOO_MANY_CONNECTIONS/);
    expect((refused as any).data).toEqual({ code: 'REALTIME_TOO_MANY_CONNECTIONS' });
    // Without a trusted proxy, X-Forwarded-For changes nothing.
    await expect(connect(t.anonKey, url, { 'x-forwarded-for': '203.0.113.50' })).rejects.toThrow(
      /REALTIME_TOO_MANY_CONNECTIONS/,
    );
    // A closed connection frees its place.
    held[0]!.disconnect();
    let again: Socket | undefined;
    for (const deadline = Date.now() + 20_000; !again && Date.now() < deadline;) {
      again = await connect(t.anonKey, url).catch(async () => {
        await new Promise((r) => setTimeout(r, 20));
        return undefined;
      });
    }
    expect(again?.connected).toBe(true);
  });

  it('counts the client behind a trusted proxy (TRUST_PROXY), not the proxy', async () => {
    const url = await appWith({ realtimeMaxSocketsPerIp: 3, trustProxy: ['loopback'] });
    const from = (ip: string) => connect(t.anonKey, url, { 'x-forwarded-for': ip });
    for (let i = 0; i < 3; i++) await from('203.0.113.1');
    await expect(from('203.0.113.1')).rejects.toThrow(/REALTIME_TOO_MANY_CONNECTIONS/);
    await expect(from('203.0.113.2')).resolves.toBeDefined();
  });

  it('counts one client however its address is written: an IPv6 /56 is one client, an IPv4-mapped address is its IPv4', async () => {
    const url = await appWith({ realtimeMaxSocketsPerIp: 2, trustProxy: ['loopback'] });
    const from = (ip: string) => connect(t.anonKey, url, { 'x-forwarded-for': ip });
    // One host picks any address of its prefix.
    await from('2001:db8:7:1::1');
    await from('2001:db8:7:1::2');
    await expect(from('2001:db8:7:ff::3')).rejects.toThrow(/REALTIME_TOO_MANY_CONNECTIONS/);
    await expect(from('2001:db8:8:1::1')).resolves.toBeDefined();
    await from('198.51.100.9');
    await from('198.51.100.9');
    await expect(from('::ffff:198.51.100.9')).rejects.toThrow(/REALTIME_TOO_MANY_CONNECTIONS/);
  });
});

describe('channels and connections do not share rooms', () => {
  it('subscribing to a channel named like another socket’s id reaches nobody but that channel’s subscribers', async () => {
    // A pattern that matches socket ids (20 characters), as a catch-all pattern ('%') would.
    const created = await t.request('POST', '/api/realtime/channels', {
      token: t.apiKey,
      body: { pattern: '_'.repeat(20) },
    });
    expect(created.status).toBe(201);
    try {
      const victim = await connect((await t.signUpUser()).accessToken);
      const attacker = await connect((await t.signUpUser()).accessToken);
      const seen = record(victim);
      expect((await subscribe(victim, 'chat:rooms')).ok).toBe(true);
      // Presence tells the attacker the victim's connection id.
      const ack = await subscribe(attacker, 'chat:rooms');
      const victimId = ack.presence.members.find(
        (m: { presenceId: string }) => m.presenceId !== attacker.id,
      ).presenceId;
      expect(victimId).toBe(victim.id);
      expect((await subscribe(attacker, victimId)).ok).toBe(true);
      const echo = next(attacker, 'whisper', victimId);
      attacker.emit('realtime:publish', { channel: victimId, event: 'whisper', payload: {} });
      await echo;
      // The attacker's own copy arrived; the victim, never subscribed there, got nothing.
      const marker = next(victim, 'after', 'chat:rooms');
      attacker.emit('realtime:publish', { channel: 'chat:rooms', event: 'after', payload: {} });
      await marker;
      expect(seen.filter((s) => s.body?.meta?.channel === victimId)).toEqual([]);
      // Presence still leaves a joining socket out of its own join event.
      expect(
        seen.filter((s) => s.event === 'presence:join' && s.body.member.presenceId === victim.id),
      ).toEqual([]);
      victim.disconnect();
      attacker.disconnect();
    } finally {
      await t.request('DELETE', `/api/realtime/channels/${created.body.id}`, { token: t.apiKey });
    }
  });
});
