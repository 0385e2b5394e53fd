import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, pgUrl, startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
let sql: pg.Client;
beforeAll(async () => {
  t = await startTestApp({}, {}, { setupSql: fixture('library.sql') });
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

const rec = (
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  token?: string,
) =>
  t.request(method, `/api/database/records/${path}`, { token: token ?? t.anonKey, body, headers });
const rows = async (query: string, params: unknown[] = []) => (await sql.query(query, params)).rows;

describe('POST (insert)', () => {
  it('inserts one row: 201, no body by default', async () => {
    const res = await rec('POST', 'items', { sku: 'p-1', qty: 3, price: 9.5 });
    expect(res.status).toBe(201);
    expect(res.body).toBe('');
    expect(await rows(`SELECT qty, price::float FROM items WHERE sku = 'p-1'`)).toEqual([
      { qty: 3, price: 9.5 },
    ]);
  });

  it('returns the rows with return=representation, through select and embeds', async () => {
    const res = await rec(
      'POST',
      'books?select=title,author:author_id(name)',
      { title: 'The Dispossessed', author_id: 1 },
      { prefer: 'return=representation' },
    );
    expect(res.status).toBe(201);
    expect(res.body).toEqual([
      { title: 'The Dispossessed', author: { name: 'Ursula K. Le Guin' } },
    ]);
    expect(res.headers.get('preference-applied')).toBe('return=representation');
  });

  it('bulk inserts; missing keys are NULL, or DEFAULT with missing=default', async () => {
    const nulls = await rec(
      'POST',
      'items?columns=sku,qty',
      [{ sku: 'b-1', qty: 5 }, { sku: 'b-2' }],
      { prefer: 'return=representation' },
    );
    expect(nulls.status).toBe(400); // qty is NOT NULL: the missing value became NULL
    expect(nulls.body.code).toBe('23502');
    const defaults = await rec(
      'POST',
      'items?columns=sku,qty',
      [{ sku: 'b-1', qty: 5 }, { sku: 'b-2' }],
      { prefer: 'return=representation,missing=default' },
    );
    expect(defaults.status).toBe(201);
    expect(defaults.body.map((r: { sku: string; qty: number }) => [r.sku, r.qty])).toEqual([
      ['b-1', 5],
      ['b-2', 1],
    ]);
  });

  it('treats "" for non-text columns as absent (the column default applies)', async () => {
    const res = await rec(
      'POST',
      'items',
      { sku: 'empty-1', qty: '', price: '' },
      { prefer: 'return=representation' },
    );
    expect(res.status).toBe(201);
    expect(res.body[0]).toMatchObject({ sku: 'empty-1', qty: 1, price: null });
    const text = await rec(
      'POST',
      'authors',
      { name: 'Empty Country', country: '' },
      { prefer: 'return=representation' },
    );
    expect(text.body[0].country).toBe('');
  });

  it('upserts with merge-duplicates and ignore-duplicates on a unique column', async () => {
    await rec('POST', 'items', { sku: 'u-1', qty: 1 });
    const merged = await rec(
      'POST',
      'items?on_conflict=sku',
      { sku: 'u-1', qty: 7 },
      { prefer: 'resolution=merge-duplicates,return=representation' },
    );
    // PostgREST: an upsert that only merged answers 200 (201 when it inserted a row).
    expect(merged.status).toBe(200);
    expect(merged.body[0]).toMatchObject({ sku: 'u-1', qty: 7 });
    const ignored = await rec(
      'POST',
      'items?on_conflict=sku',
      [
        { sku: 'u-1', qty: 99 },
        { sku: 'u-2', qty: 2 },
      ],
      { prefer: 'resolution=ignore-duplicates,return=representation' },
    );
    expect(ignored.body.map((r: { sku: string }) => r.sku)).toEqual(['u-2']);
    expect(await rows(`SELECT qty FROM items WHERE sku = 'u-1'`)).toEqual([{ qty: 7 }]);
  });

  it('answers headers-only with a Location for the new row', async () => {
    const res = await rec(
      'POST',
      'authors',
      { name: 'Located' },
      { prefer: 'return=headers-only' },
    );
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toMatch(/^\/authors\?id=eq\.\d+$/);
  });

  it('maps constraint violations like PostgREST', async () => {
    const check = await rec('POST', 'books', { title: 'x', pages: -1 });
    expect(check.status).toBe(400);
    expect(check.body.code).toBe('23514');
    const unique = await rec('POST', 'categories', { name: 'fantasy' });
    expect(unique.status).toBe(409);
    expect(unique.body).toMatchObject({
      code: '23505',
      details: expect.stringContaining('fantasy'),
    });
    const fk = await rec('POST', 'books', { title: 'orphan', author_id: 999 });
    expect(fk.status).toBe(409);
    expect(fk.body.code).toBe('23503');
    const notNull = await rec('POST', 'books', { pages: 10 });
    expect(notNull.status).toBe(400);
    expect(notNull.body.code).toBe('23502');
    const badType = await rec('POST', 'books', { title: 'x', pages: 'many' });
    expect(badType.status).toBe(400);
    expect(badType.body.code).toBe('22P02');
    const badEnum = await rec('POST', 'books', { title: 'x', mood: 'angry' });
    expect(badEnum.status).toBe(400);
  });

  it('refuses unknown columns and malformed bodies', async () => {
    const unknown = await rec('POST', 'books', { title: 'x', nope: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({
      code: 'PGRST204',
      message: "Could not find the 'nope' column of 'books' in the schema cache",
      details: null,
      hint: null,
    });
    const invalid = await t.request('POST', '/api/database/records/books', {
      token: t.anonKey,
      body: '{"title": ',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('PGRST102');
    const scalar = await rec('POST', 'books', [1, 2]);
    expect(scalar.status).toBe(400);
    expect(scalar.body.code).toBe('PGRST102');
  });
});

describe('PATCH, PUT, DELETE', () => {
  it('PATCH updates the filtered rows: 204, or 200 with the rows', async () => {
    const none = await rec('PATCH', 'books?id=eq.5', { rating: 4.8 });
    expect(none.status).toBe(204);
    const res = await rec(
      'PATCH',
      'books?id=eq.5&select=id,rating',
      { rating: 4.9 },
      { prefer: 'return=representation' },
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ id: 5, rating: 4.9 }]);
    const empty = await rec(
      'PATCH',
      'books?id=eq.999',
      { rating: 1 },
      { prefer: 'return=representation' },
    );
    expect(empty.body).toEqual([]);
  });

  it('PATCH that changes the filtered column still returns the changed rows', async () => {
    await rec('POST', 'items', { sku: 'ren-1' });
    const res = await rec(
      'PATCH',
      'items?sku=eq.ren-1&select=sku',
      { sku: 'ren-2' },
      { prefer: 'return=representation' },
    );
    expect(res.body).toEqual([{ sku: 'ren-2' }]);
  });

  it('PATCH with limit and order touches only the first rows', async () => {
    await rec('POST', 'items', [
      { sku: 'l-1', qty: 1 },
      { sku: 'l-2', qty: 1 },
      { sku: 'l-3', qty: 1 },
    ]);
    const res = await rec(
      'PATCH',
      'items?sku=like.l-*&order=sku.desc&limit=2&select=sku',
      { qty: 50 },
      { prefer: 'return=representation' },
    );
    expect(res.body.map((r: { sku: string }) => r.sku).sort()).toEqual(['l-2', 'l-3']);
    expect(
      await rows(`SELECT sku FROM items WHERE sku LIKE 'l-%' AND qty = 50 ORDER BY sku`),
    ).toEqual([{ sku: 'l-2' }, { sku: 'l-3' }]);
  });

  it('PUT upserts one row addressed by its primary key', async () => {
    const created = await rec(
      'PUT',
      'categories?id=eq.100',
      { id: 100, name: 'poetry' },
      { prefer: 'return=representation' },
    );
    expect(created.status).toBe(201);
    expect(created.body).toEqual([{ id: 100, name: 'poetry' }]);
    const replaced = await rec('PUT', 'categories?id=eq.100', { id: 100, name: 'verse' });
    expect(replaced.status).toBe(204);
    expect(await rows('SELECT name FROM categories WHERE id = 100')).toEqual([{ name: 'verse' }]);
    const mismatch = await rec('PUT', 'categories?id=eq.100', { id: 101, name: 'x' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.code).toBe('PGRST115');
    const notPk = await rec('PUT', 'categories?name=eq.verse', { id: 100, name: 'verse' });
    expect(notPk.status).toBe(405);
    expect(notPk.body.code).toBe('PGRST105');
  });

  it('DELETE removes the filtered rows and can return them', async () => {
    await rec('POST', 'items', [{ sku: 'd-1' }, { sku: 'd-2' }]);
    const res = await rec('DELETE', 'items?sku=in.(d-1,d-2)&select=sku&order=sku', undefined, {
      prefer: 'return=representation',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ sku: 'd-1' }, { sku: 'd-2' }]);
    expect(await rows(`SELECT count(*)::int AS n FROM items WHERE sku LIKE 'd-%'`)).toEqual([
      { n: 0 },
    ]);
  });

  it('single-object Accept rolls back a mutation that touched several rows', async () => {
    await rec('POST', 'items', [
      { sku: 's-1', qty: 1 },
      { sku: 's-2', qty: 1 },
    ]);
    const res = await rec(
      'PATCH',
      'items?sku=like.s-*',
      { qty: 9 },
      { accept: 'application/vnd.pgrst.object+json', prefer: 'return=representation' },
    );
    expect(res.status).toBe(406);
    expect(res.body).toMatchObject({ code: 'PGRST116', details: 'The result contains 2 rows' });
    expect(await rows(`SELECT qty FROM items WHERE sku LIKE 's-%'`)).toEqual([
      { qty: 1 },
      { qty: 1 },
    ]);
    const one = await rec(
      'PATCH',
      'items?sku=eq.s-1&select=sku,qty',
      { qty: 2 },
      { accept: 'application/vnd.pgrst.object+json', prefer: 'return=representation' },
    );
    expect(one.body).toEqual({ sku: 's-1', qty: 2 });
  });

  it('max-affected with handling=strict refuses (and rolls back) a larger change', async () => {
    await rec('POST', 'items', [{ sku: 'm-1' }, { sku: 'm-2' }, { sku: 'm-3' }]);
    const res = await rec('DELETE', 'items?sku=like.m-*', undefined, {
      prefer: 'handling=strict, max-affected=2',
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('PGRST124');
    expect(await rows(`SELECT count(*)::int AS n FROM items WHERE sku LIKE 'm-%'`)).toEqual([
      { n: 3 },
    ]);
  });

  it('tx=rollback answers as if done but keeps nothing', async () => {
    const res = await rec(
      'POST',
      'items?select=sku',
      { sku: 'rb-1' },
      { prefer: 'return=representation,tx=rollback' },
    );
    expect(res.status).toBe(201);
    expect(res.body).toEqual([{ sku: 'rb-1' }]);
    expect(res.headers.get('preference-applied')).toContain('tx=rollback');
    expect(await rows(`SELECT * FROM items WHERE sku = 'rb-1'`)).toEqual([]);
  });

  it('rejects invalid preferences under handling=strict', async () => {
    const res = await rec('GET', 'items', undefined, {
      prefer: 'handling=strict, return=everything',
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('PGRST122');
  });

  it('Prefer: timezone sets the session time zone for the request', async () => {
    const res = await rec('GET', 'items?select=created_at&limit=1', undefined, {
      prefer: 'timezone=Asia/Tokyo',
    });
    expect(res.status).toBe(200);
    expect(res.body[0].created_at).toMatch(/\+09:00$/);
    expect(res.headers.get('preference-applied')).toBe('timezone=Asia/Tokyo');
    const bad = await rec('GET', 'items?limit=1', undefined, { prefer: 'timezone=Mars/Olympus' });
    expect(bad.status).toBe(400);
  });

  it('reads run in a READ ONLY transaction', async () => {
    const res = await t.request('GET', '/api/database/rpc/touch_book?book=1', { token: t.anonKey });
    expect(res.status).toBe(405);
    expect(res.body.code).toBe('25006');
  });
});

describe('RPC', () => {
  const call = (
    fn: string,
    body?: unknown,
    method = 'POST',
    headers: Record<string, string> = {},
    token?: string,
  ) => t.request(method, `/api/database/rpc/${fn}`, { token: token ?? t.anonKey, body, headers });

  it('runs a function once, also when a count is asked for', async () => {
    await sql.query(`CREATE TABLE public.rpc_calls (id serial PRIMARY KEY, note text);
      GRANT SELECT, INSERT ON public.rpc_calls TO anon;
      GRANT USAGE ON SEQUENCE public.rpc_calls_id_seq TO anon;
      CREATE FUNCTION public.record_call(note text) RETURNS SETOF public.rpc_calls
        LANGUAGE sql VOLATILE AS $$ INSERT INTO public.rpc_calls (note) VALUES (note) RETURNING * $$;`);
    await t.app.schemaCache.reload();
    const res = await call('record_call', { note: 'once' }, 'POST', { prefer: 'count=exact' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ id: 1, note: 'once' }]);
    expect(res.headers.get('content-range')).toBe('0-0/1');
    expect(await rows('SELECT note FROM public.rpc_calls')).toEqual([{ note: 'once' }]);
  });

  it('scalar functions by POST and by GET, with defaults', async () => {
    expect((await call('add_numbers', { a: 1, b: 2 })).body).toBe(3);
    const get = await call('add_numbers?a=5', undefined, 'GET');
    expect(get.status).toBe(200);
    expect(get.body).toBe(15);
  });

  it('set-returning functions accept select, filters, order and count', async () => {
    const res = await call('books_by?select=title&order=title.desc', { author: 1 });
    // 'The Dispossessed' was inserted by an earlier test in this file.
    expect(res.body).toEqual([
      { title: 'The Left Hand of Darkness' },
      { title: 'The Dispossessed' },
      { title: 'A Wizard of Earthsea' },
    ]);
    const filtered = await call('books_by?author=2&pages=gt.250&select=id', undefined, 'GET', {
      prefer: 'count=exact',
    });
    expect(filtered.body).toEqual([{ id: 4 }]);
    expect(filtered.headers.get('content-range')).toBe('0-0/1');
  });

  it('a function returning one row gives an object; RETURNS TABLE and SETOF scalars give arrays', async () => {
    expect((await call('first_book?select=id,title', undefined, 'GET')).body).toEqual({
      id: 1,
      title: 'A Wizard of Earthsea',
    });
    expect((await call('title_search?select=title', { q: 'the' })).body).toEqual(
      await rows(`SELECT title FROM books WHERE title ILIKE '%the%' ORDER BY id`),
    );
    const counts = (await call('page_counts', {})).body as number[];
    expect(counts.length).toBeGreaterThanOrEqual(5);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it('void functions answer 204 without a body; JSON arguments round-trip', async () => {
    const before = (await rows('SELECT pages FROM books WHERE id = 1'))[0].pages;
    const res = await call('touch_book', { book: 1 });
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
    expect((await rows('SELECT pages FROM books WHERE id = 1'))[0].pages).toBe(before + 1);
    expect((await call('echo', { payload: { a: [1, { b: null }] } })).body).toEqual({
      a: [1, { b: null }],
    });
    const single = await call('echo', { whole: 'body' }, 'POST', {
      prefer: 'params=single-object',
    });
    expect(single.body).toEqual({ whole: 'body' });
  });

  it('runs as the caller with request settings', async () => {
    expect((await call('whoami', {})).body).toEqual({ role: 'anon', uid: null, method: 'POST' });
    const { accessToken, userId } = await t.signUpUser();
    expect((await call('whoami', {}, 'POST', {}, accessToken)).body).toEqual({
      role: 'authenticated',
      uid: userId,
      method: 'POST',
    });
  });

  it('maps raised errors: PT402 → 402, RAISE → 400 with hint', async () => {
    const pay = await call('pay', {});
    expect(pay.status).toBe(402);
    expect(pay.body).toMatchObject({ code: 'PT402', message: 'Payment required' });
    const fail = await call('fail', { msg: 'nope' });
    expect(fail.status).toBe(400);
    expect(fail.body).toEqual({
      code: 'P0001',
      message: 'nope',
      details: null,
      hint: 'raised on purpose',
    });
  });

  it('unknown functions or arguments are 404 PGRST202', async () => {
    const missing = await call('nope', {});
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('PGRST202');
    const wrongArgs = await call('add_numbers', { x: 1 });
    expect(wrongArgs.status).toBe(404);
    expect(wrongArgs.body.message).toContain('add_numbers(x)');
    const badBody = await call('add_numbers', [1]);
    expect(badBody.status).toBe(400);
  });
});
