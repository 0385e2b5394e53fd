import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PostgrestClient } from '@supabase/postgrest-js';
import { createClient } from '@insforge/sdk';
import { fixture, pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * Conformance with PostgREST 12.2/13, scenario by scenario from its documentation, driven
 * through @supabase/postgrest-js (and @insforge/sdk, which runs postgrest-js against
 * /api/database/records). Every case checks the status and the headers PostgREST sends as well
 * as the body. Schema: fixtures/postgrest-conformance.sql (ranges, full text, nullable booleans,
 * names with spaces, commas and quotes, column defaults, functions of every return shape).
 */
let t: TestApp;
let sql: pg.Client;
/** The last response either client received (postgrest-js does not expose headers). */
let last: Response | undefined;
const recordingFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  last = res;
  return res;
};

beforeAll(async () => {
  t = await startTestApp({}, {}, { setupSql: fixture('postgrest-conformance.sql') });
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});
beforeEach(() => {
  last = undefined;
});

const client = () =>
  new PostgrestClient(`${t.baseUrl}/api/database/records`, {
    headers: { Authorization: `Bearer ${t.anonKey}` },
    fetch: recordingFetch,
  });
const sdk = () =>
  createClient({ baseUrl: t.baseUrl, anonKey: t.anonKey, retryCount: 0, fetch: recordingFetch })
    .database as unknown as Pick<PostgrestClient, 'from' | 'rpc'>;
const header = (name: string) => last?.headers.get(name) ?? null;
const ids = (rows: unknown) => (rows as Array<{ id: number }>).map((r) => r.id);

describe('operators', () => {
  it.each([
    ['eq', (q: Q) => q.not('id', 'eq', 1), [2, 3, 4]],
    ['in', (q: Q) => q.not('id', 'in', '(1,2)'), [3, 4]],
    ['is null', (q: Q) => q.not('writer_id', 'is', null), [1, 2, 3]],
    ['is unknown', (q: Q) => q.not('published', 'is', 'unknown'), [1, 2, 4]],
    ['like', (q: Q) => q.not('title', 'like', '*a'), []],
    ['ilike', (q: Q) => q.not('title', 'ilike', '*LT*'), [1, 2, 3]],
    ['cs', (q: Q) => q.not('tags', 'cs', '{b}'), [3, 4]],
    ['ov on ranges', (q: Q) => q.not('span', 'ov', '[4,6)'), [3]],
    ['sl', (q: Q) => q.not('span', 'sl', '[10,30)'), [3]],
    ['nxl', (q: Q) => q.not('span', 'nxl', '[5,100)'), [1]],
    ['isdistinct', (q: Q) => q.not('published', 'isdistinct', 'true'), [1, 4]],
    ['match', (q: Q) => q.not('title', 'match', '^[AB]'), [3, 4]],
    ['fts with a config', (q: Q) => q.not('body', 'fts(english)', 'fox'), [2]],
    ['eq(any)', (q: Q) => q.not('id', 'eq(any)', '{1,3}'), [2, 4]],
    ['in an or tree', (q: Q) => q.or('id.not.eq.1,title.not.like.*a'), [2, 3, 4]],
  ] as Array<[string, (q: Q) => Q, number[]]>)('not. with %s', async (_name, apply, expected) => {
    const { data, error, status } = await apply(client().from('articles').select('id')).order('id');
    expect({ status, error }).toEqual({ status: 200, error: null });
    expect(ids(data)).toEqual(expected);
    expect(header('content-range')).toBe(expected.length ? `0-${expected.length - 1}/*` : '*/*');
  });

  it('not.and=(…) and not.or=(…) negate whole trees', async () => {
    const and = await t.request(
      'GET',
      '/api/database/records/articles?select=id&not.and=(id.gte.2,id.lte.3)&order=id',
      { token: t.anonKey },
    );
    expect(and.status).toBe(200);
    expect(ids(and.body)).toEqual([1, 4]);
    const or = await t.request(
      'GET',
      '/api/database/records/articles?select=id&not.or=(id.eq.1,published.is.null)&order=id',
      { token: t.anonKey },
    );
    expect(ids(or.body)).toEqual([2, 4]);
  });

  it('a bare not. (no operator) is a PGRST100 parse error, not an empty code', async () => {
    const res = await t.request('GET', '/api/database/records/articles?id=not.1', {
      token: t.anonKey,
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('PGRST100');
    const bare = await t.request('GET', '/api/database/records/articles?id=not', {
      token: t.anonKey,
    });
    expect(bare.status).toBe(400);
    expect(bare.body.code).toBe('PGRST100');
  });

  it.each([
    ['sl (strictly left of)', (q: Q) => q.rangeLt('span', '[20,30)'), [1, 2, 3]],
    ['sr (strictly right of)', (q: Q) => q.rangeGt('span', '[0,3)'), [2, 3]],
    ['nxr (does not extend to the right of)', (q: Q) => q.rangeLte('span', '[1,10)'), [1, 2]],
    ['nxl (does not extend to the left of)', (q: Q) => q.rangeGte('span', '[5,100)'), [2, 3]],
    ['adj (adjacent to)', (q: Q) => q.rangeAdjacent('span', '[20,25)'), [3]],
    ['ov (overlaps)', (q: Q) => q.overlaps('span', '[4,6)'), [1, 2]],
    ['ov on arrays', (q: Q) => q.overlaps('tags', ['a', 'c']), [1, 4]],
  ] as Array<[string, (q: Q) => Q, number[]]>)('range operator %s', async (_n, apply, expected) => {
    const { data, error, status } = await apply(client().from('articles').select('id')).order('id');
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(ids(data)).toEqual(expected);
    expect(header('content-range')).toBe(`0-${expected.length - 1}/*`);
  });

  it.each([
    ['fts', (q: Q) => q.textSearch('body', 'fox', { config: 'english' }), [1, 3]],
    [
      'plfts',
      (q: Q) => q.textSearch('body', 'lazy dogs', { type: 'plain', config: 'english' }),
      [2],
    ],
    [
      'phfts',
      (q: Q) => q.textSearch('body', 'brown fox', { type: 'phrase', config: 'english' }),
      [1],
    ],
    [
      'wfts',
      (q: Q) => q.textSearch('body', 'dogs -lazy', { type: 'websearch', config: 'english' }),
      [3],
    ],
    [
      'fts on a tsvector column',
      (q: Q) => q.textSearch('body_tsv', 'dog', { config: 'english' }),
      [2, 3],
    ],
    ['fts without a config', (q: Q) => q.textSearch('body_tsv', 'friend'), [3]],
  ] as Array<[string, (q: Q) => Q, number[]]>)('full text: %s', async (_n, apply, expected) => {
    const { data, error, status } = await apply(client().from('articles').select('id')).order('id');
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(ids(data)).toEqual(expected);
  });

  it('an unknown text search config is a 4xx from PostgreSQL', async () => {
    const { error, status } = await client()
      .from('articles')
      .select('id')
      .textSearch('body', 'fox', { config: 'klingon' });
    expect(status).toBe(400);
    expect(error?.code).toBe('42704');
  });

  it.each([
    ['is.unknown', (q: Q) => q.filter('published', 'is', 'unknown'), [3]],
    ['is.null', (q: Q) => q.is('published', null), [3]],
    ['is.true', (q: Q) => q.is('published', true), [1, 4]],
    ['isdistinct', (q: Q) => q.filter('published', 'isdistinct', 'true'), [2, 3]],
    ['like with *', (q: Q) => q.like('title', '*lph*'), [1]],
    ['ilike with *', (q: Q) => q.ilike('title', '*ETA'), [2]],
    ['like(any)', (q: Q) => q.likeAnyOf('title', ['A*', 'G*']), [1, 3]],
    ['like(all)', (q: Q) => q.likeAllOf('title', ['*l*', '*a']), [1, 4]],
    ['ilike(all)', (q: Q) => q.ilikeAllOf('title', ['*A*', '*L*']), [1, 4]],
    ['eq(any)', (q: Q) => q.filter('id', 'eq(any)', '{1,3}'), [1, 3]],
    ['gt(all)', (q: Q) => q.filter('id', 'gt(all)', '{1,2}'), [3, 4]],
    ['neq(all)', (q: Q) => q.filter('title', 'neq(all)', '{Alpha,Beta}'), [3, 4]],
    ['match(any)', (q: Q) => q.filter('title', 'match(any)', '{^A,^D}'), [1, 4]],
  ] as Array<[string, (q: Q) => Q, number[]]>)('%s', async (_n, apply, expected) => {
    const { data, error, status } = await apply(client().from('articles').select('id')).order('id');
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(ids(data)).toEqual(expected);
  });
});

type Q = ReturnType<ReturnType<ReturnType<typeof client>['from']>['select']>;

describe('pages and counts', () => {
  it('HEAD with count=exact answers 206 and the range of a partial page', async () => {
    const { data, count, status, error } = await client()
      .from('articles')
      .select('id', { count: 'exact', head: true })
      .limit(2);
    expect({ data, count, status, error }).toEqual({
      data: null,
      count: 4,
      status: 206,
      error: null,
    });
    expect(header('content-range')).toBe('0-1/4');
  });

  it('a whole result with count=exact is 200', async () => {
    const { count, status } = await client().from('articles').select('id', { count: 'exact' });
    expect({ count, status }).toEqual({ count: 4, status: 200 });
    expect(header('content-range')).toBe('0-3/4');
  });

  it('an offset equal to the total is an empty 206 page, past it 416 with Content-Range */total', async () => {
    const atEnd = await client().from('articles').select('id', { count: 'exact' }).range(4, 5);
    expect({ status: atEnd.status, data: atEnd.data, count: atEnd.count }).toEqual({
      status: 206,
      data: [],
      count: 4,
    });
    expect(header('content-range')).toBe('*/4');
    const past = await client().from('articles').select('id', { count: 'exact' }).range(5, 6);
    expect(past.status).toBe(416);
    expect(past.error?.code).toBe('PGRST103');
    expect(past.error?.details).toBe('An offset of 5 was requested, but there are only 4 rows.');
    expect(header('content-range')).toBe('*/4');
  });

  it('Range with Range-Unit: items', async () => {
    const res = await t.request('GET', '/api/database/records/articles?select=id&order=id', {
      token: t.anonKey,
      headers: { 'range-unit': 'items', range: '1-2', prefer: 'count=exact' },
    });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('1-2/4');
    expect(ids(res.body)).toEqual([2, 3]);
  });
});

describe('RPC', () => {
  it('a void function answers 204 without a body (null through both clients)', async () => {
    for (const db of [client(), sdk()]) {
      const { data, error, status } = await db.rpc('ping');
      expect({ data, error, status }).toEqual({ data: null, error: null, status: 204 });
      expect(header('content-type')).toBeNull();
    }
  });

  it('count=exact and a range on a set-returning function: 206 and Content-Range', async () => {
    const { data, count, status } = await client()
      .rpc('all_articles', {}, { count: 'exact' })
      .select('id')
      .order('id')
      .range(0, 1);
    expect({ data, count, status }).toEqual({
      data: [{ id: 1 }, { id: 2 }],
      count: 4,
      status: 206,
    });
    expect(header('content-range')).toBe('0-1/4');
    const whole = await sdk().rpc('all_articles', {}, { count: 'exact' }).select('id');
    expect({ count: whole.count, status: whole.status }).toEqual({ count: 4, status: 200 });
    expect(header('content-range')).toBe('0-3/4');
  });

  it('head: true on RPC counts without a body', async () => {
    const { data, count, status } = await client().rpc(
      'all_articles',
      {},
      { head: true, count: 'exact' },
    );
    expect({ data, count, status }).toEqual({ data: null, count: 4, status: 200 });
    expect(header('content-range')).toBe('0-3/4');
  });

  it('an offset past the end of an RPC result is 416', async () => {
    const { error, status } = await client()
      .rpc('all_articles', {}, { count: 'exact' })
      .select('id')
      .range(9, 10);
    expect(status).toBe(416);
    expect(error?.code).toBe('PGRST103');
    expect(header('content-range')).toBe('*/4');
  });

  it('a scalar result carries Content-Range 0-0/*', async () => {
    const { data, status } = await client().rpc('sum_ints', { arr: [1, 2, 3] }, { get: true });
    expect({ data, status }).toEqual({ data: 6, status: 200 });
    expect(header('content-range')).toBe('0-0/*');
  });

  it('GET takes array arguments as {a,b} and repeated parameters for VARIADIC ones', async () => {
    const braces = await t.request('GET', '/api/database/rpc/sum_ints?arr={4,5}', {
      token: t.anonKey,
    });
    expect({ status: braces.status, body: braces.body }).toEqual({ status: 200, body: 9 });
    const repeated = await t.request(
      'GET',
      '/api/database/rpc/join_words?words=hello&words=big&words=world',
      { token: t.anonKey },
    );
    expect({ status: repeated.status, body: repeated.body }).toEqual({
      status: 200,
      body: 'hello big world',
    });
    const one = await t.request('GET', '/api/database/rpc/join_words?words=alone', {
      token: t.anonKey,
    });
    expect({ status: one.status, body: one.body }).toEqual({ status: 200, body: 'alone' });
    const posted = await client().rpc('join_words', { words: ['a', 'b'] });
    expect({ data: posted.data, status: posted.status }).toEqual({ data: 'a b', status: 200 });
  });

  it('Prefer: params=single-object passes the whole body as the one argument', async () => {
    const res = await t.request('POST', '/api/database/rpc/describe', {
      token: t.anonKey,
      headers: { prefer: 'params=single-object' },
      body: { zeta: 1, alpha: [2] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ keys: ['alpha', 'zeta'] });
    expect(res.headers.get('preference-applied')).toBe('params=single-object');
    expect(res.headers.get('content-range')).toBe('0-0/*');
  });

  it('Prefer: max-affected applies to RPC: over the limit is PGRST124 and nothing changes', async () => {
    const before = (await sql.query('SELECT sum(qty)::int AS s FROM gadgets')).rows[0].s;
    const res = await t.request('POST', '/api/database/rpc/restock', {
      token: t.anonKey,
      headers: { prefer: 'handling=strict, max-affected=1' },
      body: { n: 10 },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('PGRST124');
    expect((await sql.query('SELECT sum(qty)::int AS s FROM gadgets')).rows[0].s).toBe(before);
    const within = await t.request('POST', '/api/database/rpc/restock?select=id&order=id', {
      token: t.anonKey,
      headers: { prefer: 'handling=strict, max-affected=5' },
      body: { n: 0 },
    });
    expect(within.status).toBe(200);
    expect(within.headers.get('preference-applied')).toBe('handling=strict, max-affected=5');
  });
});

describe('write statuses and headers', () => {
  it('an upsert that merges every row answers 200, one that inserts answers 201', async () => {
    const merged = await client()
      .from('gadgets')
      .upsert([{ id: 1, name: 'lamp', qty: 1 }], { onConflict: 'id' })
      .select('id,name');
    expect({ status: merged.status, data: merged.data, error: merged.error }).toEqual({
      status: 200,
      data: [{ id: 1, name: 'lamp' }],
      error: null,
    });
    expect(header('content-range')).toBe('*/*');
    expect(header('preference-applied')).toBe('resolution=merge-duplicates, return=representation');
    const mixed = await sdk()
      .from('gadgets')
      .upsert(
        [
          { id: 2, name: 'desk', qty: 2 },
          { id: 100, name: 'shelf', qty: 4 },
        ],
        { onConflict: 'id' },
      )
      .select('id');
    expect({ status: mixed.status, data: mixed.data }).toEqual({
      status: 201,
      data: [{ id: 2 }, { id: 100 }],
    });
    // Without a body the status is the same; ignore-duplicates is an insert (201).
    const minimal = await client().from('gadgets').upsert({ id: 100, name: 'shelf', qty: 4 });
    expect({ status: minimal.status, data: minimal.data }).toEqual({ status: 200, data: null });
    const ignored = await client()
      .from('gadgets')
      .upsert({ id: 100, name: 'shelf', qty: 4 }, { ignoreDuplicates: true });
    expect(ignored.status).toBe(201);
    await sql.query('DELETE FROM gadgets WHERE id = 100');
  });

  it('PUT answers 201 when it inserts, 200 when it replaces, without Content-Range', async () => {
    const put = (id: number) =>
      t.request('PUT', `/api/database/records/gadgets?id=eq.${id}&select=id,name`, {
        token: t.anonKey,
        headers: { prefer: 'return=representation' },
        body: { id, name: `g${id}`, qty: 1 },
      });
    const created = await put(200);
    expect({ status: created.status, body: created.body }).toEqual({
      status: 201,
      body: [{ id: 200, name: 'g200' }],
    });
    expect(created.headers.get('content-range')).toBeNull();
    const replaced = await put(200);
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('content-range')).toBeNull();
    const minimal = await t.request('PUT', '/api/database/records/gadgets?id=eq.200', {
      token: t.anonKey,
      body: { id: 200, name: 'g', qty: 1 },
    });
    expect(minimal.status).toBe(204);
    expect(minimal.headers.get('content-range')).toBeNull();
    await sql.query('DELETE FROM gadgets WHERE id = 200');
  });

  it('an insert answers 201 with Content-Range */*, */n with a count, Location with headers-only', async () => {
    const inserted = await client()
      .from('gadgets')
      .insert({ name: 'stool', sku: 'S-1' }, { count: 'exact' })
      .select('name');
    expect({ status: inserted.status, data: inserted.data, count: inserted.count }).toEqual({
      status: 201,
      data: [{ name: 'stool' }],
      count: 1,
    });
    expect(header('content-range')).toBe('*/1');
    const plain = await client().from('gadgets').insert({ name: 'rug' });
    expect(plain.status).toBe(201);
    expect(header('content-range')).toBe('*/*');
    expect(header('location')).toBeNull();
    const located = await t.request('POST', '/api/database/records/gadgets', {
      token: t.anonKey,
      headers: { prefer: 'return=headers-only' },
      body: { name: 'vase' },
    });
    const id = (await sql.query("SELECT id FROM gadgets WHERE name = 'vase'")).rows[0].id;
    expect(located.status).toBe(201);
    expect(located.headers.get('location')).toBe(`/gadgets?id=eq.${id}`);
    expect(located.body).toBe('');
    await sql.query("DELETE FROM gadgets WHERE name IN ('stool', 'rug', 'vase')");
  });

  it('an update says the range of the rows it changed; a delete */n; neither sends Location', async () => {
    const updated = await client()
      .from('gadgets')
      .update({ color: 'blue' }, { count: 'exact' })
      .in('id', [1, 2]);
    expect({ status: updated.status, count: updated.count }).toEqual({ status: 204, count: 2 });
    expect(header('content-range')).toBe('0-1/2');
    const none = await client().from('gadgets').update({ color: 'blue' }).eq('id', -1);
    expect(none.status).toBe(204);
    expect(header('content-range')).toBe('*/*');
    await sql.query("INSERT INTO gadgets (id, name) VALUES (300, 'temp')");
    const deleted = await t.request('DELETE', '/api/database/records/gadgets?id=eq.300', {
      token: t.anonKey,
      headers: { prefer: 'return=headers-only, count=exact' },
    });
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get('content-range')).toBe('*/1');
    expect(deleted.headers.get('location')).toBeNull();
  });

  it('missing=default fills the columns a row of a bulk insert leaves out with their defaults', async () => {
    const { data, status, error } = await client()
      .from('gadgets')
      .insert(
        [
          { name: 'a1', sku: 'A-1' },
          { name: 'a2', qty: 5 },
        ],
        { defaultToNull: false },
      )
      .select('name,qty,color,sku');
    expect(error).toBeNull();
    expect(status).toBe(201);
    expect(header('preference-applied')).toBe('missing=default, return=representation');
    expect(data).toEqual([
      { name: 'a1', qty: 7, color: 'grey', sku: 'A-1' },
      { name: 'a2', qty: 5, color: 'grey', sku: null },
    ]);
    await sql.query("DELETE FROM gadgets WHERE name IN ('a1', 'a2')");
  });
});

describe('CSV', () => {
  it('answers text/csv as PostgREST writes it: record quoting, t/f, PostgreSQL text forms', async () => {
    const { data, status, error } = await client()
      .from('writers')
      .select('id,name')
      .order('id')
      .csv();
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(header('content-type')).toBe('text/csv; charset=utf-8');
    expect(header('content-range')).toBe('0-3/*');
    expect(data).toBe(
      'id,name\n1,"Ursula K. Le Guin"\n2,"Lem, Stanislaw"\n3,"Octavia ""O"" Butler"\n4,Zed',
    );
    const typed = await client()
      .from('articles')
      .select('id,published,tags,meta,span,writer:writers(name)')
      .order('id')
      .csv();
    expect(typed.data).toBe(
      'id,published,tags,meta,span,writer\n' +
        '1,t,"{a,b}","{""k"": 1}","[1,5)","{""name"":""Lem, Stanislaw""}"\n' +
        '2,f,{b},,"[5,10)","{""name"":""Ursula K. Le Guin""}"\n' +
        // Backslashes are doubled too (PostgreSQL's record quoting), as PostgREST sends them.
        '3,,{},"{""k"": ""x y""}","[10,20)","{""name"":""Octavia \\\\""O\\\\"" Butler""}"\n' +
        '4,t,{c},,,',
    );
  });

  it('an empty CSV answer is a blank header line; HEAD has no body', async () => {
    const empty = await client().from('writers').select('id').eq('id', -1).csv();
    expect({ status: empty.status, data: empty.data }).toEqual({ status: 200, data: '\n' });
    const res = await t.request('HEAD', '/api/database/records/writers', {
      token: t.anonKey,
      headers: { accept: 'text/csv' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
  });

  it('inserts from a text/csv body (NULL is null) and answers in CSV', async () => {
    const res = await t.request('POST', '/api/database/records/gadgets?select=name,qty,color', {
      token: t.anonKey,
      headers: {
        'content-type': 'text/csv',
        accept: 'text/csv',
        prefer: 'return=representation',
      },
      body: 'name,qty,color\nchair,3,NULL\n"big, ""oak"" table",4,red\n',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.body).toBe('name,qty,color\nchair,3,\n"big, ""oak"" table",4,red');
    expect(
      (await sql.query('SELECT name, qty, color FROM gadgets WHERE qty IN (3, 4) ORDER BY qty'))
        .rows,
    ).toEqual([
      { name: 'chair', qty: 3, color: null },
      { name: 'big, "oak" table', qty: 4, color: 'red' },
    ]);
    await sql.query('DELETE FROM gadgets WHERE qty IN (3, 4)');
  });

  it('a CSV body whose lines differ in length is 400 PGRST102', async () => {
    const res = await t.request('POST', '/api/database/records/gadgets', {
      token: t.anonKey,
      headers: { 'content-type': 'text/csv' },
      body: 'name,qty\nchair\n',
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('PGRST102');
  });
});

describe('order', () => {
  it('orders by a column of an embedded to-one resource', async () => {
    const desc = await client()
      .from('articles')
      .select('id,writer:writers(name)')
      .order('writer(name)', { ascending: false });
    expect({ status: desc.status, error: desc.error }).toEqual({ status: 200, error: null });
    // desc puts NULLs first, as in PostgreSQL.
    expect(ids(desc.data)).toEqual([4, 2, 3, 1]);
    expect(header('content-range')).toBe('0-3/*');
    const last = await sdk()
      .from('articles')
      .select('id,writer:writers(name)')
      .order('writer(name)', { ascending: false, nullsFirst: false });
    expect(ids(last.data)).toEqual([2, 3, 1, 4]);
    const asc = await t.request(
      'GET',
      '/api/database/records/articles?select=id,writers(name)&order=writers(name).asc.nullsfirst',
      { token: t.anonKey },
    );
    expect(ids(asc.body)).toEqual([4, 1, 3, 2]);
  });

  it('a related order on a to-many embed is PGRST118; on one not embedded PGRST108', async () => {
    const many = await client().from('writers').select('id,articles(id)').order('articles(id)');
    expect(many.status).toBe(400);
    expect(many.error?.code).toBe('PGRST118');
    const absent = await client().from('articles').select('id').order('writers(name)');
    expect(absent.status).toBe(400);
    expect(absent.error?.code).toBe('PGRST108');
  });

  it('nullsfirst / nullslast inside embeds', async () => {
    const { data, status } = await client()
      .from('articles')
      .select('id,remarks(id,note)')
      .eq('id', 1)
      .order('note', { referencedTable: 'remarks', ascending: true, nullsFirst: true });
    expect(status).toBe(200);
    expect(data).toEqual([
      {
        id: 1,
        remarks: [
          { id: 2, note: null },
          { id: 1, note: 'first' },
        ],
      },
    ]);
    const last = await client()
      .from('articles')
      .select('id,remarks(id,score)')
      .eq('id', 2)
      .order('score', { referencedTable: 'remarks', ascending: false, nullsFirst: false });
    expect(last.data).toEqual([{ id: 2, remarks: [{ id: 3, score: null }] }]);
  });

  it('without order, rows come in the order PostgreSQL returns them for the plain query', async () => {
    // An update moves a row to the end of the heap: the plain query's order changes with it.
    await sql.query('UPDATE writers SET name = name WHERE id = 2');
    const plain = (await sql.query('SELECT id FROM writers')).rows.map((r) => r.id as number);
    expect(plain).not.toEqual([1, 2, 3, 4]);
    const { data, status } = await client().from('writers').select('id');
    expect(status).toBe(200);
    expect(ids(data)).toEqual(plain);
    const embedded = await client().from('writers').select('id,articles(id)');
    expect(ids(embedded.data)).toEqual(plain);
    const csv = await client().from('writers').select('id').csv();
    expect(csv.data).toBe(`id\n${plain.join('\n')}`);
  });
});

describe('RPC results of scalars and whole bodies', () => {
  it('limit, offset, Range and count apply to a set of scalars: 206 and Content-Range', async () => {
    const { data, count, status } = await client()
      .rpc('squares', { n: 5 }, { count: 'exact' })
      .range(1, 2);
    expect({ data, count, status }).toEqual({ data: [4, 9], count: 5, status: 206 });
    expect(header('content-range')).toBe('1-2/5');
    const limited = await t.request('GET', '/api/database/rpc/squares?n=4&limit=2&offset=1', {
      token: t.anonKey,
    });
    expect({ status: limited.status, body: limited.body }).toEqual({ status: 200, body: [4, 9] });
    expect(limited.headers.get('content-range')).toBe('1-2/*');
    const past = await client().rpc('squares', { n: 2 }, { count: 'exact' }).range(5, 6);
    expect(past.status).toBe(416);
    expect(header('content-range')).toBe('*/2');
  });

  it('a function with one unnamed json parameter takes the whole body', async () => {
    const { data, status, error } = await sdk().rpc('body_keys', { zeta: 1, alpha: 2 });
    expect({ data, status, error }).toEqual({ data: ['alpha', 'zeta'], status: 200, error: null });
    expect(header('content-range')).toBe('0-0/*');
    const single = await t.request('POST', '/api/database/rpc/body_keys', {
      token: t.anonKey,
      headers: { prefer: 'params=single-object' },
      body: { only: true },
    });
    expect({ status: single.status, body: single.body }).toEqual({ status: 200, body: ['only'] });
  });
});

describe('Preference-Applied', () => {
  it('echoes what the request applied, in PostgREST order', async () => {
    const prefer =
      'max-affected=5, handling=strict, tx=rollback, count=exact, return=representation, missing=default, resolution=merge-duplicates';
    const read = await t.request('GET', '/api/database/records/writers?select=id', {
      token: t.anonKey,
      headers: { prefer },
    });
    expect(read.status).toBe(200);
    expect(read.headers.get('preference-applied')).toBe(
      'count=exact, tx=rollback, handling=strict',
    );
    const insert = await t.request('POST', '/api/database/records/gadgets', {
      token: t.anonKey,
      headers: { prefer },
      body: [{ id: 1, name: 'lamp' }],
    });
    expect(insert.status).toBe(200);
    expect(insert.headers.get('preference-applied')).toBe(
      'resolution=merge-duplicates, missing=default, return=representation, count=exact, tx=rollback, handling=strict',
    );
    const update = await t.request('PATCH', '/api/database/records/gadgets?id=eq.1', {
      token: t.anonKey,
      headers: { prefer },
      body: { color: 'teal' },
    });
    expect(update.status).toBe(200);
    expect(update.headers.get('preference-applied')).toBe(
      'missing=default, return=representation, count=exact, tx=rollback, handling=strict, max-affected=5',
    );
    const call = await client().rpc('ping');
    expect(call.status).toBe(204);
    expect(header('preference-applied')).toBeNull();
  });
});

describe('upsert statuses beyond plain tables', () => {
  it('a partitioned table: 200 when every row merged, 201 when one is new', async () => {
    const merged = await client()
      .from('readings')
      .upsert([{ id: 1, value: 'uno' }])
      .select('id,value');
    expect({ status: merged.status, data: merged.data }).toEqual({
      status: 200,
      data: [{ id: 1, value: 'uno' }],
    });
    const mixed = await client()
      .from('readings')
      .upsert([
        { id: 1, value: 'one' },
        { id: 2, value: 'two' },
      ]);
    expect({ status: mixed.status, error: mixed.error }).toEqual({ status: 201, error: null });
    expect(header('content-range')).toBe('*/*');
  });

  it('an updatable view with on_conflict, and PUT without a body', async () => {
    const merged = await client()
      .from('gadget_list')
      .upsert({ id: 1, name: 'lamp', qty: 1 }, { onConflict: 'id' });
    expect({ status: merged.status, error: merged.error }).toEqual({ status: 200, error: null });
    const created = await client()
      .from('gadget_list')
      .upsert({ id: 400, name: 'bench', qty: 1 }, { onConflict: 'id' })
      .select('id');
    expect({ status: created.status, data: created.data }).toEqual({
      status: 201,
      data: [{ id: 400 }],
    });
    await sql.query('DELETE FROM gadgets WHERE id = 400');
  });
});

describe('estimated counts', () => {
  it('a stale estimate below the page is raised to the rows seen, never a 416', async () => {
    for (const count of ['planned', 'estimated'] as const) {
      const {
        data,
        status,
        count: total,
        error,
      } = await client()
        .from('samples')
        .select('id', { count })
        .eq('v', 'x')
        .order('id')
        .range(10, 14);
      expect(error).toBeNull();
      expect(status).toBe(206);
      expect(ids(data)).toEqual([11, 12, 13, 14, 15]);
      expect(total).toBeGreaterThanOrEqual(15);
      expect(header('content-range')).toBe(`10-14/${total}`);
    }
  });
});

describe('GeoJSON (Accept: application/geo+json)', () => {
  it('without PostGIS: 406 PGRST107 saying why', async () => {
    const res = await fetch(`${t.baseUrl}/api/database/records/articles?select=id`, {
      headers: { Authorization: `Bearer ${t.anonKey}`, Accept: 'application/geo+json' },
    });
    expect(res.status).toBe(406);
    expect(await res.json()).toEqual({
      code: 'PGRST107',
      message: 'None of these media types are available: application/geo+json',
      details: 'GeoJSON answers need the PostGIS extension (its st_asgeojson function)',
      hint: null,
    });
  });

  it('with st_asgeojson(record): a FeatureCollection of the page, for reads and representations', async () => {
    // Stands in for PostGIS's st_asgeojson(record) (not in the embedded PostgreSQL): a Feature
    // with no geometry and the row as properties, enough to check what Kiln builds around it.
    await sql.query(`
      CREATE FUNCTION public.st_asgeojson(r record) RETURNS text LANGUAGE plpgsql AS $$
      BEGIN
        RETURN json_build_object('type', 'Feature', 'geometry', null, 'properties', to_json(r))::text;
      END $$;
      GRANT EXECUTE ON FUNCTION public.st_asgeojson(record) TO anon, authenticated;`);
    try {
      const res = await fetch(
        `${t.baseUrl}/api/database/records/articles?select=id,title&id=lte.2&order=id`,
        { headers: { Authorization: `Bearer ${t.anonKey}`, Accept: 'application/geo+json' } },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/geo+json; charset=utf-8');
      expect(res.headers.get('content-range')).toBe('0-1/*');
      const body = (await res.json()) as {
        type: string;
        features: Array<{ type: string; properties: { id: number } }>;
      };
      expect(body.type).toBe('FeatureCollection');
      expect(body.features.map((f) => [f.type, f.properties.id])).toEqual([
        ['Feature', 1],
        ['Feature', 2],
      ]);
      const none = await fetch(`${t.baseUrl}/api/database/records/articles?id=eq.-1`, {
        headers: { Authorization: `Bearer ${t.anonKey}`, Accept: 'application/geo+json' },
      });
      expect(await none.json()).toEqual({ type: 'FeatureCollection', features: [] });
    } finally {
      await sql.query('DROP FUNCTION public.st_asgeojson(record)');
    }
  });
});
