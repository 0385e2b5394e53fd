import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * Input PostgreSQL cannot take, or Node cannot walk, is the caller's fault: NUL characters
 * (text and jsonb cannot hold U+0000) and JSON nested without bound. Each answers 400 on every
 * route, in the route's own error shape, and never reaches the database.
 */
let t: TestApp;
let sql: pg.Client;
const SETUP = `
CREATE TABLE public.docs (id serial PRIMARY KEY, title text NOT NULL DEFAULT '', data jsonb);
INSERT INTO public.docs (title, data) VALUES ('one', '{"a": {"b": 1}}');
CREATE FUNCTION public.echo(a jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT a';
`;

beforeAll(async () => {
  t = await startTestApp({}, {}, { setupSql: SETUP });
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

const records = (path: string) => `${t.baseUrl}/api/database/records/${path}`;

async function call(
  url: string,
  init: { method?: string; body?: string; token?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${init.token ?? t.apiKey}`,
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** PostgREST's shape on the records paths. */
function expectPgrst400(res: { status: number; body: Record<string, unknown> }, label: string) {
  expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(400);
  expect(Object.keys(res.body).sort(), label).toEqual(['code', 'details', 'hint', 'message']);
  expect(res.body.message, label).toEqual(expect.any(String));
}

/** Kiln's envelope everywhere else, with the exact error code. */
function expectEnvelope400(
  res: { status: number; body: Record<string, unknown> },
  label: string,
  error: 'INVALID_INPUT' | 'INVALID_JSON',
) {
  expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(400);
  expect(res.body, label).toMatchObject({ error, statusCode: 400 });
}

const deep = (levels: number, inner = '1') => '['.repeat(levels) + inner + ']'.repeat(levels);
const deepObject = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

describe('NUL characters', () => {
  it('in a JSON path key, an alias or a filter of the query string: 400, not 503', async () => {
    for (const path of [
      `docs?select=x:data->>'%00`,
      `docs?select=${encodeURIComponent("x:data->>'\u0000'")}`,
      `docs?select=${encodeURIComponent('x\u0000y:title')}`,
      `docs?select=${encodeURIComponent('"ti\u0000tle"')}`,
      `docs?title=eq.${encodeURIComponent('a\u0000b')}`,
      `docs?${encodeURIComponent('data->>a\u0000')}=eq.1`,
      `docs?order=${encodeURIComponent("data->>'\u0000'")}`,
      `docs%00`,
    ]) {
      expectPgrst400(await call(records(path), { token: t.anonKey }), path);
    }
    // The same through the RPC path and a write.
    expectPgrst400(
      await call(records(`docs?id=eq.1&select=${encodeURIComponent("data->'\u0000'")}`), {
        method: 'PATCH',
        body: '{"title": "x"}',
      }),
      'PATCH',
    );
  });

  it('in a body key or a body value, on records: 400 and nothing is written', async () => {
    const before = (await sql.query('SELECT count(*)::int AS n FROM public.docs')).rows[0].n;
    for (const body of [
      '{"title": "a\\u0000b"}',
      '{"title": "ok", "data": {"k\\u0000": 1}}',
      '{"title": "ok", "data": {"k": "v\\u0000"}}',
      '{"title": "ok", "data": ["\\u0000"]}',
      '{"ti\\u0000tle": "ok"}',
      '[{"title": "ok"}, {"title": "\\u0000"}]',
    ]) {
      expectPgrst400(await call(records('docs'), { method: 'POST', body }), body);
    }
    expectPgrst400(
      await call(records('docs?id=eq.1'), { method: 'PATCH', body: '{"data": {"\\u0000": 1}}' }),
      'PATCH value',
    );
    expect((await sql.query('SELECT count(*)::int AS n FROM public.docs')).rows[0].n).toBe(before);
    // A backslash followed by "u0000" is ordinary text, not a NUL.
    const fine = await call(records('docs'), {
      method: 'POST',
      body: JSON.stringify({ title: '\\u0000', data: { '\\u0000': '\\u0000' } }),
    });
    expect(fine.status, JSON.stringify(fine.body)).toBe(201);
  });

  it('in a body or the query string of other JSON routes: 400 in the envelope', async () => {
    expectEnvelope400(
      await call(`${t.baseUrl}/api/auth/users`, {
        method: 'POST',
        body: '{"email": "a\\u0000@example.com", "password": "correct horse battery"}',
        token: t.anonKey,
      }),
      'sign-up',
      'INVALID_INPUT',
    );
    expectEnvelope400(
      await call(`${t.baseUrl}/api/auth/users?search=a%00b`, {
        token: t.apiKey,
      }),
      'user search',
      'INVALID_INPUT',
    );
    expectEnvelope400(
      await call(`${t.baseUrl}/api/database/advance/rawsql`, {
        method: 'POST',
        body: JSON.stringify({ query: 'SELECT $1::text', params: ['a\u0000b'] }),
      }),
      'raw SQL parameter',
      'INVALID_INPUT',
    );
  });
});

describe('deeply nested JSON bodies', () => {
  it('on records and RPC: 400 (PostgREST shape), at any depth past the limit', async () => {
    for (const body of [
      `{"title": "x", "data": ${deep(200_000)}}`,
      `{"title": "x", "data": ${deepObject(5_000)}}`,
      deep(200_000),
    ]) {
      const res = await call(records('docs'), { method: 'POST', body });
      expectPgrst400(res, body.slice(0, 30));
      expect(String(res.body.message)).toMatch(/nested/);
    }
    expectPgrst400(
      await call(`${t.baseUrl}/api/database/rpc/echo`, {
        method: 'POST',
        body: `{"a": ${deep(200_000)}}`,
      }),
      'rpc',
    );
  });

  it('on other JSON routes: 400 in the envelope', async () => {
    const user = await t.signUpUser();
    for (const [method, path, token, body] of [
      [
        'PATCH',
        '/api/auth/profiles/current',
        user.accessToken,
        `{"profile": ${deepObject(30_000)}}`,
      ],
      [
        'POST',
        '/api/database/advance/rawsql',
        t.apiKey,
        `{"query": "SELECT $1::jsonb", "params": [${deep(200_000)}]}`,
      ],
      ['POST', '/api/auth/users', t.anonKey, deep(200_000)],
    ] as const) {
      const res = await call(`${t.baseUrl}${path}`, { method, body, token });
      expectEnvelope400(res, path, 'INVALID_JSON');
      expect(String(res.body.message)).toMatch(/nested deeper than 100/);
    }
  });

  it('nesting within the limit still works', async () => {
    const data = JSON.parse(deepObject(50)) as unknown;
    const res = await call(records('docs'), {
      method: 'POST',
      body: JSON.stringify({ title: 'nested', data }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const user = await t.signUpUser();
    const profile = await call(`${t.baseUrl}/api/auth/profiles/current`, {
      method: 'PATCH',
      body: JSON.stringify({ profile: { nested: data } }),
      token: user.accessToken,
    });
    expect(profile.status, JSON.stringify(profile.body)).toBe(200);
    const { rows } = await sql.query(
      "SELECT jsonb_typeof(data) AS kind FROM public.docs WHERE title = 'nested'",
    );
    expect(rows).toEqual([{ kind: 'object' }]);
  });
});

describe('hostile input that is no JSON request body', () => {
  it('a path with malformed percent-encoding on records and RPC: 400 (PostgREST shape), not 500', async () => {
    for (const path of ['do%FFcs', 'docs%C0%80', 'rpc/echo%E0%A4']) {
      expectPgrst400(await call(records(path), { token: t.anonKey }), path);
    }
    expectPgrst400(
      await call(`${t.baseUrl}/api/database/rpc/ec%FFho`, { method: 'POST', body: '{}' }),
      'rpc',
    );
  });

  it('realtime events: nesting past the limit or a NUL is refused, and the server stays up', async () => {
    const channel = await t.request('POST', '/api/realtime/channels', {
      token: t.apiKey,
      body: { pattern: 'limits:%' },
    });
    expect(channel.status, JSON.stringify(channel.body)).toBe(201);
    const socket: Socket = io(t.baseUrl, {
      auth: { token: t.anonKey },
      transports: ['websocket'],
      reconnection: false,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.on('connect', resolve);
        socket.on('connect_error', reject);
      });
      const errors: Array<Record<string, unknown>> = [];
      socket.on('realtime:error', (e: Record<string, unknown>) => errors.push(e));
      const nextError = async (count: number) => {
        const deadline = Date.now() + 20_000;
        while (errors.length < count && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        return errors[count - 1];
      };
      // Deeper than any client library would encode: written as a raw Socket.IO packet.
      const engine = (socket.io as unknown as { engine: { write: (packet: string) => void } })
        .engine;
      engine.write(`2["realtime:subscribe",{"channel":${deepObject(50_000)}}]`);
      expect(await nextError(1)).toMatchObject({
        code: 'REALTIME_INVALID_EVENT',
        message: expect.stringMatching(/nested deeper than 100/),
      });
      const deepAck = (await socket.timeout(5000).emitWithAck('realtime:subscribe', {
        channel: JSON.parse(deepObject(150)) as unknown,
      })) as {
        ok: boolean;
        error: { code: string };
      };
      expect(deepAck).toMatchObject({ ok: false, error: { code: 'REALTIME_INVALID_EVENT' } });

      const ok = (await socket
        .timeout(5000)
        .emitWithAck('realtime:subscribe', { channel: 'limits:1' })) as { ok: boolean };
      expect(ok.ok, JSON.stringify(ok)).toBe(true);
      engine.write(
        `2["realtime:publish",{"channel":"limits:1","event":"x","payload":${deepObject(50_000)}}]`,
      );
      expect(await nextError(2)).toMatchObject({ code: 'REALTIME_INVALID_EVENT' });
      socket.emit('realtime:publish', {
        channel: 'limits:1',
        event: 'x',
        payload: { nested: JSON.parse(deepObject(150)) as unknown },
      });
      expect(await nextError(3)).toMatchObject({ code: 'REALTIME_INVALID_EVENT' });
      socket.emit('realtime:publish', {
        channel: 'limits:1',
        event: 'x',
        payload: { a: 'b\u0000' },
      });
      expect(await nextError(4)).toMatchObject({
        code: 'REALTIME_INVALID_EVENT',
        message: expect.stringMatching(/NUL/),
      });
      // Nothing was stored, and the connection (and the server) still serves.
      const stored = await sql.query(
        "SELECT count(*)::int AS n FROM realtime.messages WHERE channel = 'limits:1'",
      );
      expect(stored.rows[0].n).toBe(0);
      const again = (await socket
        .timeout(5000)
        .emitWithAck('realtime:subscribe', { channel: 'limits:2' })) as { ok: boolean };
      expect(again.ok).toBe(true);
      expect(socket.connected).toBe(true);
    } finally {
      socket.close();
    }
  });

  it('imports: a JSON row nested past the limit or with a NUL, an SQL file with a NUL: 400', async () => {
    const admin = await t.adminToken();
    const upload = async (path: string, name: string, type: string, content: string) => {
      const form = new FormData();
      if (!name.endsWith('.sql')) form.append('table', 'docs');
      form.append('file', new Blob([content], { type }), name);
      const res = await fetch(`${t.baseUrl}/api/database/advance/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}` },
        body: form,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const before = (await sql.query('SELECT count(*)::int AS n FROM public.docs')).rows[0].n;
    for (const path of ['import', 'bulk-upsert']) {
      const deepRow = await upload(
        path,
        'rows.json',
        'application/json',
        `[{"title": "deep", "data": ${deep(200_000)}}]`,
      );
      expectEnvelope400(deepRow, `${path} deep`, 'INVALID_JSON');
      const nulRow = await upload(
        path,
        'rows.json',
        'application/json',
        '[{"title": "a\\u0000b"}]',
      );
      expectEnvelope400(nulRow, `${path} NUL`, 'INVALID_INPUT');
    }
    const nulSql = await upload(
      'import',
      'script.sql',
      'application/sql',
      "INSERT INTO public.docs (title) VALUES ('a\u0000b');",
    );
    expectEnvelope400(nulSql, 'SQL file', 'INVALID_INPUT');
    expect((await sql.query('SELECT count(*)::int AS n FROM public.docs')).rows[0].n).toBe(before);
  });
});
