import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgrestClient } from '@supabase/postgrest-js';
import { createClient } from '@insforge/sdk';
import { fixture, pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * The same scenarios through the two real clients: @supabase/postgrest-js pointed at Kiln, and
 * @insforge/sdk's database module (which runs postgrest-js against /api/database/records).
 * Plus row-level security with two users, and the schema cache following live DDL.
 */
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

type Db = Pick<PostgrestClient, 'from' | 'rpc'>;

const clients: Array<[string, () => Db]> = [
  [
    '@supabase/postgrest-js',
    () =>
      new PostgrestClient(`${t.baseUrl}/api/database/records`, {
        headers: { Authorization: `Bearer ${t.anonKey}` },
      }),
  ],
  [
    '@insforge/sdk',
    () =>
      createClient({ baseUrl: t.baseUrl, anonKey: t.anonKey, retryCount: 0 })
        .database as unknown as Db,
  ],
];

describe.each(clients)('through %s', (_name, make) => {
  it('selects with filters, order, range and exact count', async () => {
    const { data, error, count, status } = await make()
      .from('books')
      .select('id, title', { count: 'exact' })
      .eq('published', true)
      .order('id', { ascending: false })
      .range(0, 1);
    expect(error).toBeNull();
    expect(status).toBe(206);
    expect(count).toBe(4);
    expect(data).toEqual([
      { id: 5, title: 'Kindred' },
      { id: 3, title: 'Solaris' },
    ]);
  });

  it('embeds, or(), in(), contains(), textSearch()', async () => {
    const db = make();
    const embedded = await db
      .from('books')
      .select('title, author:authors!books_author_id_fkey(name), categories(name)')
      .eq('id', 3)
      .single();
    expect(embedded.data).toEqual({
      title: 'Solaris',
      author: { name: 'Stanislaw Lem' },
      categories: [{ name: 'science fiction' }],
    });
    const or = await db.from('books').select('id').or('pages.gt.300,title.eq.Solaris').order('id');
    expect(or.data).toEqual([{ id: 2 }, { id: 3 }]);
    const inList = await db.from('authors').select('name').in('id', [2, 3]).order('id');
    expect(inList.data).toEqual([{ name: 'Stanislaw Lem' }, { name: 'Octavia Butler' }]);
    const contains = await db.from('books').select('id').contains('tags', ['scifi', 'classic']);
    expect(contains.data).toEqual([{ id: 2 }]);
    const fts = await db
      .from('books')
      .select('id')
      .textSearch('title', 'darkness', { config: 'english' });
    expect(fts.data).toEqual([{ id: 2 }]);
  });

  it('maybeSingle() on no rows is null, single() on many is an error', async () => {
    const db = make();
    const none = await db.from('books').select('id').eq('id', 999).maybeSingle();
    expect(none.error).toBeNull();
    expect(none.data).toBeNull();
    const many = await db.from('books').select('id').gt('id', 1).single();
    expect(many.error?.code).toBe('PGRST116');
  });

  it('inserts, updates, upserts and deletes with representation', async () => {
    const db = make();
    const sku = `cli-${Math.random().toString(36).slice(2, 8)}`;
    // defaultToNull: false sends Prefer: missing=default, so the second row gets qty's default.
    const inserted = await db
      .from('items')
      .insert([{ sku, qty: 2 }, { sku: `${sku}-b` }], { defaultToNull: false })
      .select('sku, qty');
    expect(inserted.error).toBeNull();
    expect(inserted.data).toEqual([
      { sku, qty: 2 },
      { sku: `${sku}-b`, qty: 1 },
    ]);
    const updated = await db.from('items').update({ qty: 9 }).eq('sku', sku).select('qty').single();
    expect(updated.data).toEqual({ qty: 9 });
    const upserted = await db
      .from('items')
      .upsert({ sku, qty: 11 }, { onConflict: 'sku' })
      .select('sku, qty');
    expect(upserted.data).toEqual([{ sku, qty: 11 }]);
    const deleted = await db.from('items').delete().like('sku', `${sku}*`).select('sku');
    expect(deleted.data?.map((r: { sku: string }) => r.sku).sort()).toEqual([sku, `${sku}-b`]);
  });

  it('calls functions with rpc()', async () => {
    const db = make();
    expect((await db.rpc('add_numbers', { a: 2, b: 3 })).data).toBe(5);
    const rows = await db.rpc('books_by', { author: 2 }).select('title').order('id');
    expect(rows.data).toEqual([{ title: 'Solaris' }, { title: 'The Cyberiad' }]);
    const get = await db.rpc('add_numbers', { a: 1 }, { get: true });
    expect(get.data).toBe(11);
    const err = await db.rpc('fail', { msg: 'boom' });
    expect(err.error).toMatchObject({ code: 'P0001', message: 'boom' });
  });

  it('reports errors with PostgREST codes', async () => {
    const missing = await make().from('nope').select();
    expect(missing.error?.code).toBe('PGRST205');
    expect(missing.status).toBe(404);
    const dup = await make().from('categories').insert({ name: 'fantasy' });
    expect(dup.error?.code).toBe('23505');
    expect(dup.status).toBe(409);
  });
});

describe('row-level security through @insforge/sdk', () => {
  it('each user sees, updates and deletes only their rows; anon sees public rows only', async () => {
    const alice = await t.signUpUser();
    const bob = await t.signUpUser();
    const a = alice.client.database;
    const b = bob.client.database;

    const created = await a
      .from('notes')
      .insert([
        { body: 'alice private', public: false },
        { body: 'alice public', public: true },
      ])
      .select('body, owner');
    expect(created.error).toBeNull();
    expect(created.data?.every((n: { owner: string }) => n.owner === alice.userId)).toBe(true);
    expect((await b.from('notes').insert({ body: 'bob private' })).error).toBeNull();

    const aliceSees = await a.from('notes').select('body').order('body');
    expect(aliceSees.data).toEqual([{ body: 'alice private' }, { body: 'alice public' }]);
    const bobSees = await b.from('notes').select('body').order('body');
    expect(bobSees.data).toEqual([{ body: 'alice public' }, { body: 'bob private' }]);

    // Bob cannot change or delete Alice's rows: nothing matches for him.
    const bobUpdate = await b
      .from('notes')
      .update({ body: 'hacked' })
      .eq('body', 'alice private')
      .select();
    expect(bobUpdate.data).toEqual([]);
    const bobUpdatePublic = await b
      .from('notes')
      .update({ body: 'hacked' })
      .eq('body', 'alice public')
      .select();
    expect(bobUpdatePublic.data).toEqual([]);
    const bobDelete = await b.from('notes').delete().eq('body', 'alice private').select();
    expect(bobDelete.data).toEqual([]);
    expect(
      (await sql.query(`SELECT count(*)::int AS n FROM notes WHERE body LIKE 'alice%'`)).rows[0].n,
    ).toBe(2);

    // Writing a row owned by someone else is refused by WITH CHECK: 403 for a user.
    const forged = await b.from('notes').insert({ body: 'forged', owner: alice.userId });
    expect(forged.status).toBe(403);
    expect(forged.error?.code).toBe('42501');

    // Alice updates and deletes her own.
    const own = await a
      .from('notes')
      .update({ body: 'alice edited' })
      .eq('body', 'alice private')
      .select('body');
    expect(own.data).toEqual([{ body: 'alice edited' }]);
    const del = await a.from('notes').delete().eq('body', 'alice edited').select('body');
    expect(del.data).toEqual([{ body: 'alice edited' }]);

    // Anonymous callers see public rows and cannot write: 401.
    const anon = createClient({ baseUrl: t.baseUrl, anonKey: t.anonKey, retryCount: 0 }).database;
    expect((await anon.from('notes').select('body')).data).toEqual([{ body: 'alice public' }]);
    const anonInsert = await anon.from('notes').insert({ body: 'anon', owner: alice.userId });
    expect(anonInsert.status).toBe(401);
    expect(anonInsert.error?.code).toBe('42501');

    // The admin (API key) bypasses RLS.
    const admin = createClient({ baseUrl: t.baseUrl, accessToken: t.apiKey }).database;
    expect((await admin.from('notes').select('body')).data).toHaveLength(2);
  });
});

describe('the request role cannot be escaped', () => {
  it('SQL running as anon cannot switch to project_admin', async () => {
    const reload = t.app.schemaCache.nextReload();
    await sql.query(`
      CREATE FUNCTION public.become_admin() RETURNS jsonb LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM set_config('role', 'project_admin', true);
        RETURN jsonb_build_object('user', current_user, 'users', (SELECT count(*) FROM auth.users));
      END $$`);
    await reload;
    const res = await t.request('POST', '/api/database/rpc/become_admin', {
      token: t.anonKey,
      body: {},
    });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('42501');
    expect(res.body.message).toMatch(/permission denied to set role/);
  });

  it('SQL that resets its role lands on a login role without privileges, not the owner', async () => {
    const reload = t.app.schemaCache.nextReload();
    await sql.query(`
      CREATE FUNCTION public.escape_attempt() RETURNS jsonb LANGUAGE plpgsql AS $$
      BEGIN
        EXECUTE 'RESET ROLE';
        RETURN jsonb_build_object('user', current_user, 'users', (SELECT count(*) FROM auth.users));
      END $$`);
    await reload;
    const res = await t.request('POST', '/api/database/rpc/escape_attempt', {
      token: t.anonKey,
      body: {},
    });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('42501');
    expect(res.body.message).toMatch(/permission denied/);
    const asAdmin = await t.request('POST', '/api/database/rpc/escape_attempt', {
      token: t.apiKey,
      body: {},
    });
    expect(asAdmin.status).toBe(403);
  });
});

describe('live schema cache', () => {
  it('sees tables, columns, relationships and functions created, altered and dropped by raw SQL', async () => {
    const seen = () => t.app.schemaCache.nextReload();
    let reload = seen();
    await sql.query(`CREATE TABLE public.gadgets (id serial PRIMARY KEY, name text)`);
    await reload;
    expect(
      (
        await t.request('POST', '/api/database/records/gadgets', {
          token: t.anonKey,
          body: { name: 'g1' },
        })
      ).status,
    ).toBe(201);

    reload = seen();
    await sql.query(
      `ALTER TABLE public.gadgets ADD COLUMN author_id integer REFERENCES public.authors (id)`,
    );
    await reload;
    await sql.query(`UPDATE public.gadgets SET author_id = 2`);
    const embedded = await t.request(
      'GET',
      '/api/database/records/gadgets?select=name,author:author_id(name)',
      { token: t.anonKey },
    );
    expect(embedded.body).toEqual([{ name: 'g1', author: { name: 'Stanislaw Lem' } }]);

    reload = seen();
    await sql.query(
      `CREATE FUNCTION public.gadget_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM public.gadgets $$`,
    );
    await reload;
    expect(
      (await t.request('POST', '/api/database/rpc/gadget_count', { token: t.anonKey, body: {} }))
        .body,
    ).toBe(1);

    reload = seen();
    await sql.query(`DROP TABLE public.gadgets CASCADE`);
    await reload;
    const gone = await t.request('GET', '/api/database/records/gadgets', { token: t.anonKey });
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('PGRST205');
  });
});
