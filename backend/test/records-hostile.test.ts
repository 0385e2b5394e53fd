import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * A corpus of malformed and hostile requests to the records API. Every one must answer a 4xx in
 * PostgREST's error shape, quickly, and leave the data as it was.
 */
let t: TestApp;
let sql: pg.Client;
beforeAll(async () => {
  t = await startTestApp({ jsonBodyLimit: '64kb' }, {}, { setupSql: fixture('library.sql') });
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

interface Case {
  method?: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

const q = (path: string): Case => ({ path });

const malformedSelects = [
  'id,author_id(name',
  'id)',
  '(id',
  'id,,title',
  ',id',
  'id,',
  'id:',
  ':id',
  'a:b:c',
  'id::',
  'id::int)--',
  'id::text;drop table books',
  'title::text FROM books t0 WHERE false UNION SELECT prosrc FROM pg_proc UNION SELECT NULL',
  'title::text from pg_roles',
  'id::int4 ,pg_sleep(5)',
  'id::pg_catalog.text.x',
  'id;drop table books',
  'id) from books; --',
  '"id; drop table books"',
  '"unterminated',
  'title,"',
  'author_id!(name)',
  'author_id!!inner(name)',
  'author_id!inner!left!x(name)',
  '...id',
  '...(name)',
  'meta->',
  'meta->>',
  '->a',
  'meta->>a->',
  'nope',
  'nope(*)',
  'employees(*)',
  'id,nope(id)',
  'pages.sum()',
  'count()',
  'title.avg()',
  'author_id(nope)',
  'author_id(name,nope(*))',
  'a(b(c(d(e(f(g(h(i(j(k(*)))))))))))',
  'id,title,id(*',
  '*,*)',
  'id, title)',
  "id::text'",
  'id::int[][]x',
  '(select 1)',
  'pg_sleep(10)',
  'id,pg_catalog.pg_sleep(1)',
];

const badFilters = [
  'id=foo.1',
  'id=eqq.1',
  'id=eq',
  'id=.1',
  'id=not.',
  'id=not.foo.1',
  'id=in.1,2',
  'id=in.(1,2',
  'id=in.1,2)',
  'id=is.maybe',
  'id=is.',
  'id=eq(any).1',
  'id=eq(some).{1}',
  'id=cs(any).{1}',
  'id=in(any).(1)',
  'id=is(any).null',
  'id=fts(english;drop).x',
  'id=eq.abc',
  'id=eq.1;drop table books',
  'id=gt.1 or 1=1',
  'id=in.(1,two,3)',
  'pages=lt.many',
  'published=eq.maybe',
  'rating=gte.4,5',
  'years=adj.[5,1)',
  'years=sl.notarange',
  'tags=cs.notanarray',
  'tags=cs.{unclosed',
  'meta=cs.{"a":',
  'mood=eq.furious',
  'born=lt.yesterday',
  'nope=eq.1',
  'id);drop table books;--=eq.1',
  'author_id(name)=eq.1',
  'authors.name=eq.x',
  'x.y.z=eq.1',
  '..=eq.1',
  '"=eq.1',
  'id=like(any).notalist',
  'id=eq(any).{1,2',
];

const badLogic = [
  'or=(id.eq.1',
  'or=id.eq.1)',
  'or=id.eq.1',
  'or=()x',
  'or=(id.eq.1,)',
  'or=(,id.eq.1)',
  'or=(id)',
  'or=(id.eq)',
  'or=(id.foo.1)',
  'or=(nope.eq.1)',
  'or=(and(id.eq.1,id.eq.2)',
  'and=(id.eq.1,or(id.eq.2)',
  'or=(id.eq.1)(id.eq.2)',
  'not.or=id.eq.1',
  'or=(id.eq."unterminated)',
  'or=(id.in.(1,2)',
  'or=(id.eq.abc)',
  'nope.or=(id.eq.1)',
  'or=(' + 'and('.repeat(30) + 'id.eq.1' + ')'.repeat(31),
];

const badModifiers = [
  'order=',
  'order=nope',
  'order=id.sideways',
  'order=id.asc.desc',
  'order=id;drop table books',
  'order=id desc',
  'order=(id)',
  'order=id,,title',
  'order=meta->',
  'limit=-1',
  'limit=abc',
  'limit=1.5',
  'limit=99999999999999999999',
  'offset=-5',
  'offset=1e5',
  'limit=1&limit=2',
  'select=id&select=title',
  'authors.order=name',
  'authors.limit=1',
  'nope.limit=1',
];

function huge(n: number) {
  return `id=in.(${Array.from({ length: n }, (_, i) => i).join(',')})`;
}

const cases: Case[] = [
  ...malformedSelects.flatMap((s) => [
    q(`books?select=${encodeURIComponent(s)}`),
    q(`authors?select=${encodeURIComponent(s)}`),
  ]),
  ...badFilters.map((f) =>
    q(`books?${f.split('=')[0]}=${encodeURIComponent(f.slice(f.indexOf('=') + 1))}`),
  ),
  ...badFilters.map((f) => ({
    method: 'DELETE',
    path: `books?${f.split('=')[0]}=${encodeURIComponent(f.slice(f.indexOf('=') + 1))}`,
  })),
  ...badLogic.map((l) =>
    q(`books?${l.split('=')[0]}=${encodeURIComponent(l.slice(l.indexOf('=') + 1))}`),
  ),
  ...badLogic.map((l) => ({
    method: 'PATCH',
    path: `books?${l.split('=')[0]}=${encodeURIComponent(l.slice(l.indexOf('=') + 1))}`,
    body: '{"pages": 1}',
  })),
  ...badModifiers.map((m) => q(`books?${m}`)),
  q(`books?${huge(20000)}`),
  q(`books?select=${'id,'.repeat(1500)}id`),
  q('books?select=' + 'author_id('.repeat(12) + '*' + ')'.repeat(12)),
  q('%22books%3B%20drop%20table%20books%22'),
  q('books;drop table books'),
  q('pg_catalog.pg_class'),
  q('..%2F..%2Fetc%2Fpasswd'),
  q('nope?select=*'),
  // Bodies
  ...[
    '{',
    '[',
    'nul',
    '{"title":}',
    '"just a string"',
    '123',
    'true',
    'null',
    '[1]',
    '[[]]',
    '[{"title": "a"}, 5]',
    '{"title": "x", "pages": "abc"}',
    '{"title": "x", "pages": 1.5}',
    '{"title": "x", "published": "maybe"}',
    '{"title": "x", "years": "[5,1)"}',
    '{"title": "x", "mood": "furious"}',
    '{"title": "x", "tags": "notanarray"}',
    '{"title": "x", "tags": [[1], 2]}',
    '{"title": "x", "nope": 1}',
    '{"title": "x", "id; drop table books": 1}',
    '{"title": null}',
    '{"title": "x", "pages": -5}',
    '{"title": "x", "author_id": 999999}',
    '{"title": "x", "search": "generated"}',
  ].map((body) => ({ method: 'POST', path: 'books', body })),
  ...['{', '[]', '[{"pages": 1}]', '"x"', '{"pages": "abc"}', '{"nope": 1}', '{"title": null}'].map(
    (body) => ({
      method: 'PATCH',
      path: 'books?id=eq.1',
      body,
    }),
  ),
  { method: 'POST', path: 'books?columns=nope', body: '{"title": "x"}' },
  { method: 'POST', path: 'books?columns=title)', body: '{"title": "x"}' },
  {
    method: 'POST',
    path: 'books?on_conflict=nope',
    body: '{"title": "x"}',
    headers: { prefer: 'resolution=merge-duplicates' },
  },
  { method: 'POST', path: 'books', body: JSON.stringify({ title: 'x'.repeat(70_000) }) },
  { method: 'PUT', path: 'books', body: '{"title": "x"}' },
  { method: 'PUT', path: 'books?title=eq.x', body: '{"title": "x"}' },
  { method: 'PUT', path: 'books?id=gt.1', body: '{"id": 1, "title": "x"}' },
  { method: 'PUT', path: 'books?id=eq.1', body: '{"id": 2, "title": "x"}' },
  { method: 'PUT', path: 'books?id=eq.1', body: '[{"id": 1, "title": "x"}]' },
  // Headers
  { path: 'books', headers: { range: 'abc' } },
  { path: 'books', headers: { range: '5-1' } },
  { path: 'books', headers: { range: '-5' } },
  { path: 'books', headers: { accept: 'application/xml' } },
  { path: 'books', headers: { accept: 'text/html' } },
  { path: 'books', headers: { 'accept-profile': 'pg_catalog' } },
  { path: 'books', headers: { 'accept-profile': 'system' } },
  { path: 'books', headers: { 'accept-profile': 'auth' } },
  {
    method: 'POST',
    path: 'books',
    body: '{"title":"x"}',
    headers: { 'content-profile': 'system' },
  },
  { path: 'books', headers: { prefer: 'handling=strict, count=all' } },
  { path: 'books', headers: { prefer: 'handling=strict, return=everything' } },
  {
    method: 'DELETE',
    path: 'books?id=gt.0',
    headers: { prefer: 'handling=strict, max-affected=1' },
  },
  { path: 'books', headers: { authorization: 'Bearer not.a.jwt' } },
  { path: 'books', headers: { authorization: 'Bearer ik_' + '0'.repeat(64) } },
  { path: 'books', headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } },
  {
    method: 'POST',
    path: 'books',
    body: '{"title": "x"}',
    headers: { 'content-type': 'application/json', authorization: '' },
  },
  {
    method: 'POST',
    path: 'books?select=title',
    body: '{"title":"x"}',
    headers: { accept: 'application/vnd.pgrst.object+json', prefer: 'return=representation' },
  }, // single ok → this one is 201; replaced below
  // RPC
  ...[
    ['add_numbers', '{"a": "abc"}'],
    ['add_numbers', '{"x": 1}'],
    ['add_numbers', '[1, 2]'],
    ['add_numbers', '{'],
    ['add_numbers', '{"a": {"b": 1}}'],
    ['nope', '{}'],
    ['pg_sleep', '{"seconds": 10}'],
    ['books_by', '{"author": "x"}'],
    ['fail', '{"msg": "boom"}'],
    ['pay', '{}'],
    ['touch_book', '{"book": "1; drop table books"}'],
    ['echo', '{"payload": }'],
  ].map(([fn, body]) => ({ method: 'POST', path: `../rpc/${fn}`, body })),
  { path: '../rpc/add_numbers?a=abc' },
  { path: '../rpc/touch_book?book=1' },
  { method: 'DELETE', path: '../rpc/add_numbers' },
];
// The single-object insert above is valid; keep the corpus strictly malformed.
cases.splice(
  cases.findIndex((c) => c.headers?.accept === 'application/vnd.pgrst.object+json'),
  1,
);

async function checksum(): Promise<string> {
  const { rows } = await sql.query(`
    SELECT md5(string_agg(x, '|' ORDER BY x)) AS sum FROM (
      SELECT 'b' || b::text AS x FROM books b
      UNION ALL SELECT 'a' || a::text FROM authors a
      UNION ALL SELECT 'i' || i::text FROM items i
      UNION ALL SELECT 'c' || c::text FROM categories c
      UNION ALL SELECT 'bc' || bc::text FROM book_categories bc
      UNION ALL SELECT 'n' || n::text FROM notes n
    ) s`);
  return rows[0].sum as string;
}

describe('hostile and malformed requests', () => {
  it(`has at least 200 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(200);
  });

  it('every case answers 4xx in PostgREST shape within 5 s, and no data changes', async () => {
    const before = await checksum();
    const failures: string[] = [];
    for (const c of cases) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${t.anonKey}`,
        ...c.headers,
      };
      if (headers.authorization === '') delete headers.authorization;
      if (c.body !== undefined) headers['content-type'] ??= 'application/json';
      const label = `${c.method ?? 'GET'} ${c.path} ${c.body?.slice(0, 60) ?? ''} ${JSON.stringify(c.headers ?? {})}`;
      try {
        const res = await fetch(`${t.baseUrl}/api/database/records/${c.path}`, {
          method: c.method ?? 'GET',
          headers,
          body: c.body,
          signal: AbortSignal.timeout(5000),
        });
        const text = await res.text();
        if (res.status < 400 || res.status >= 500) {
          failures.push(`${res.status} ${label} → ${text.slice(0, 200)}`);
          continue;
        }
        if (c.method === 'HEAD') continue;
        const body = JSON.parse(text) as Record<string, unknown>;
        const shaped =
          ['code', 'message', 'details', 'hint'].every((k) => k in body) ||
          ('error' in body && 'statusCode' in body);
        if (!shaped || typeof body.message !== 'string')
          failures.push(`shape ${label} → ${text.slice(0, 200)}`);
      } catch (err) {
        failures.push(`threw ${label}: ${String(err)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await checksum()).toBe(before);
    // Still healthy afterwards.
    expect(
      (
        await t.request('GET', '/api/database/records/books?select=id&limit=1', {
          token: t.anonKey,
        })
      ).status,
    ).toBe(200);
  });

  it('hostile but well-formed values are plain data: 2xx, parameterised, nothing changes', async () => {
    const before = await checksum();
    for (const value of [
      "'; drop table books; --",
      "x' OR '1'='1",
      '$1',
      '\\',
      '%',
      '"quoted"',
      'é🔥',
    ]) {
      const res = await t.request(
        'GET',
        `/api/database/records/books?title=eq.${encodeURIComponent(value)}`,
        { token: t.anonKey },
      );
      expect(res.status, value).toBe(200);
      expect(res.body).toEqual([]);
    }
    const valid = [
      `books?select=${encodeURIComponent("meta->>'x'")}&limit=1`,
      `books?${encodeURIComponent("meta->>a';drop")}=eq.1`,
      `books?or=${encodeURIComponent('(title.eq.x;drop table books)')}`,
      `books?select=id&${huge(3000)}`,
    ];
    for (const path of valid) {
      const res = await t.request('GET', `/api/database/records/${path}`, { token: t.anonKey });
      expect(res.status, path).toBe(200);
    }
    expect(await checksum()).toBe(before);
  });
});
