import pg from 'pg';
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

/** Kiln's envelope everywhere else. */
function expectEnvelope400(res: { status: number; body: Record<string, unknown> }, label: string) {
  expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(400);
  expect(res.body, label).toMatchObject({ error: expect.any(String), statusCode: 400 });
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
    );
    expectEnvelope400(
      await call(`${t.baseUrl}/api/auth/users?search=a%00b`, {
        token: t.apiKey,
      }),
      'user search',
    );
    expectEnvelope400(
      await call(`${t.baseUrl}/api/database/advance/rawsql`, {
        method: 'POST',
        body: JSON.stringify({ query: 'SELECT $1::text', params: ['a\u0000b'] }),
      }),
      'raw SQL parameter',
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
      expectEnvelope400(res, path);
      expect(res.body.error).toBe('INVALID_JSON');
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
