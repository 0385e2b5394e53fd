/**
 * The records hot path against what could tell it apart from the plain path: schema changes
 * under statements prepared on the connection (core/pipeline.ts), role changes with RLS, failed
 * pipelines and the connection they leave, requests with bodies and HEAD through the lane
 * (core/lane.ts), a client that hangs up, and many mixed requests at once.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

const SETUP = `
  CREATE TABLE public.rv_items (id integer PRIMARY KEY, label text NOT NULL, n integer NOT NULL);
  INSERT INTO public.rv_items SELECT i, 'item ' || i, i FROM generate_series(1, 20) i;
  GRANT SELECT, INSERT, UPDATE, DELETE ON public.rv_items TO anon, authenticated;
  CREATE TABLE public.rv_owned (id integer PRIMARY KEY, owner text NOT NULL);
  INSERT INTO public.rv_owned VALUES (1, 'anon'), (2, 'authenticated'), (3, 'authenticated');
  ALTER TABLE public.rv_owned ENABLE ROW LEVEL SECURITY;
  CREATE POLICY rv_own ON public.rv_owned FOR SELECT USING (owner = current_user);
  GRANT SELECT ON public.rv_owned TO anon, authenticated;
  CREATE FUNCTION public.rv_answer() RETURNS integer LANGUAGE sql STABLE AS $$ SELECT 1 $$;
  GRANT EXECUTE ON FUNCTION public.rv_answer() TO anon;
  CREATE FUNCTION public.rv_sleep(seconds float8) RETURNS integer LANGUAGE sql STABLE
    AS $$ SELECT 1 FROM pg_sleep(seconds) $$;
  GRANT EXECUTE ON FUNCTION public.rv_sleep(float8) TO anon;
  -- An error of SQL's own with the SQLSTATE of a missing prepared statement, after a while.
  CREATE FUNCTION public.rv_raise_26000() RETURNS TABLE (id integer) LANGUAGE plpgsql STABLE
    AS $$ BEGIN PERFORM pg_sleep(2); RAISE EXCEPTION 'not ours' USING ERRCODE = '26000'; END $$;
  CREATE VIEW public.rv_raising AS SELECT * FROM public.rv_raise_26000();
  GRANT SELECT ON public.rv_raising TO anon;
  -- A read that fails while it runs, with a SQLSTATE a changed schema gives too, when told to.
  CREATE TABLE public.rv_flag (fail boolean NOT NULL);
  INSERT INTO public.rv_flag VALUES (false);
  CREATE FUNCTION public.rv_flaky() RETURNS TABLE (id integer) LANGUAGE plpgsql STABLE
    AS $$ BEGIN
      IF (SELECT fail FROM public.rv_flag) THEN
        PERFORM pg_sleep(2);
        RAISE EXCEPTION 'raised while running' USING ERRCODE = '42703';
      END IF;
      RETURN QUERY SELECT 1;
    END $$;
  CREATE VIEW public.rv_flaky_view AS SELECT * FROM public.rv_flaky();
  GRANT SELECT ON public.rv_flaky_view TO anon;
  CREATE VIEW public.rv_view AS SELECT id, label FROM public.rv_items;
  GRANT SELECT ON public.rv_view TO anon;
`;

describe('records hot path under review', () => {
  let t: TestApp;
  let sql: pg.Client;
  // One request connection: every request below runs on the same PostgreSQL session, so a
  // statement prepared by one request is the one the next request of that shape uses.
  beforeAll(async () => {
    t = await startTestApp(
      {},
      { DB_POOL_MAX: '1', DB_MAX_CONNECTIONS_PER_CLIENT: '1' },
      { setupSql: SETUP },
    );
    sql = new pg.Client({ connectionString: pgUrl(t.database) });
    await sql.connect();
    await t.app.schemaCache.reload();
  });
  afterAll(async () => {
    await sql?.end();
    await t?.stop();
  });

  const anon = (p: string, init: { headers?: Record<string, string> } = {}) =>
    t.request('GET', p, { token: t.anonKey, ...init });
  /** DDL by the owner, then the schema cache as the app would have it after its notice. */
  const ddl = async (text: string) => {
    await sql.query(text);
    await t.app.schemaCache.reload();
  };

  describe('schema changes under prepared statements', () => {
    it('a column whose type changed: the same filter shape answers as before', async () => {
      await ddl(`CREATE TABLE public.rv_typed (id integer PRIMARY KEY, v integer NOT NULL);
        INSERT INTO public.rv_typed VALUES (1, 10), (2, 20);
        GRANT SELECT ON public.rv_typed TO anon;`);
      const shape = '/api/database/records/rv_typed?select=id,v&v=eq.';
      for (const v of [10, 20]) expect((await anon(`${shape}${v}`)).status).toBe(200);
      await ddl(`ALTER TABLE public.rv_typed ALTER COLUMN v TYPE text`);
      for (let i = 0; i < 3; i++) {
        const res = await anon(`${shape}20`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body).toEqual([{ id: 2, v: '20' }]);
      }
    });

    it('a table dropped and created again with other columns: select=* has the new ones', async () => {
      await ddl(`CREATE TABLE public.rv_again (id integer PRIMARY KEY, a text);
        INSERT INTO public.rv_again VALUES (1, 'one');
        GRANT SELECT ON public.rv_again TO anon;`);
      for (let i = 0; i < 2; i++)
        expect((await anon('/api/database/records/rv_again?select=*&id=eq.1')).body).toEqual([
          { id: 1, a: 'one' },
        ]);
      await ddl(`DROP TABLE public.rv_again;
        CREATE TABLE public.rv_again (id text PRIMARY KEY, b integer, c boolean);
        INSERT INTO public.rv_again VALUES ('1', 2, true);
        GRANT SELECT ON public.rv_again TO anon;`);
      for (let i = 0; i < 3; i++) {
        const res = await anon('/api/database/records/rv_again?select=*&id=eq.1');
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body).toEqual([{ id: '1', b: 2, c: true }]);
      }
      // CSV too: its header and its rows from the same new shape.
      const csv = await anon('/api/database/records/rv_again?select=*', {
        headers: { accept: 'text/csv' },
      });
      expect(csv.status).toBe(200);
      expect(csv.body).toBe('id,b,c\n1,2,t');
    });

    it('ALTER TABLE ADD COLUMN: select=* answers the new column on the next request', async () => {
      const p = '/api/database/records/rv_items?select=*&id=eq.3';
      for (let i = 0; i < 2; i++)
        expect((await anon(p)).body).toEqual([{ id: 3, label: 'item 3', n: 3 }]);
      await ddl(`ALTER TABLE public.rv_items ADD COLUMN extra text DEFAULT 'x'`);
      const res = await anon(p);
      expect(res.status).toBe(200);
      expect(res.body).toEqual([{ id: 3, label: 'item 3', n: 3, extra: 'x' }]);
      await ddl(`ALTER TABLE public.rv_items DROP COLUMN extra`);
      expect((await anon(p)).body).toEqual([{ id: 3, label: 'item 3', n: 3 }]);
    });

    it('a column dropped after the schema cache was loaded: a 4xx, then the same shape works once it is back', async () => {
      await ddl(`ALTER TABLE public.rv_items ADD COLUMN gone integer DEFAULT 7`);
      const p = '/api/database/records/rv_items?select=id,gone&id=eq.4';
      for (let i = 0; i < 2; i++) expect((await anon(p)).body).toEqual([{ id: 4, gone: 7 }]);
      // Dropped without the cache hearing of it: PostgreSQL refuses the prepared statement.
      await sql.query(`ALTER TABLE public.rv_items DROP COLUMN gone`);
      const failed = await anon(p);
      expect(failed.status).toBe(400);
      expect(failed.body).toMatchObject({ code: '42703' });
      // The connection is still good for other shapes.
      expect((await anon('/api/database/records/rv_items?select=id&id=eq.4')).body).toEqual([
        { id: 4 },
      ]);
      await ddl(`ALTER TABLE public.rv_items ADD COLUMN gone integer DEFAULT 8`);
      expect((await anon(p)).body).toEqual([{ id: 4, gone: 8 }]);
      await ddl(`ALTER TABLE public.rv_items DROP COLUMN gone`);
    });

    it('a view replaced with other columns answers its new shape', async () => {
      const p = '/api/database/records/rv_view?select=*&id=eq.5';
      for (let i = 0; i < 2; i++)
        expect((await anon(p)).body).toEqual([{ id: 5, label: 'item 5' }]);
      await ddl(
        `CREATE OR REPLACE VIEW public.rv_view AS SELECT id, label, n FROM public.rv_items`,
      );
      expect((await anon(p)).body).toEqual([{ id: 5, label: 'item 5', n: 5 }]);
    });

    it('a function replaced in place, then dropped and created with another return type', async () => {
      const call = () => anon('/api/database/rpc/rv_answer');
      for (let i = 0; i < 2; i++) expect((await call()).body).toBe(1);
      await ddl(
        `CREATE OR REPLACE FUNCTION public.rv_answer() RETURNS integer LANGUAGE sql STABLE AS $$ SELECT 2 $$`,
      );
      expect((await call()).body).toBe(2);
      await ddl(`DROP FUNCTION public.rv_answer();
        CREATE FUNCTION public.rv_answer() RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'three' $$;
        GRANT EXECUTE ON FUNCTION public.rv_answer() TO anon;`);
      for (let i = 0; i < 2; i++) {
        const res = await call();
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body).toBe('three');
      }
    });
  });

  describe('roles, settings and errors on one connection', () => {
    it('the same shape as anon and as a user sees each role’s rows (RLS)', async () => {
      const { accessToken } = await t.signUpUser();
      const p = '/api/database/records/rv_owned?select=id&order=id';
      for (let i = 0; i < 2; i++) {
        expect((await anon(p)).body).toEqual([{ id: 1 }]);
        expect((await t.request('GET', p, { token: accessToken })).body).toEqual([
          { id: 2 },
          { id: 3 },
        ]);
      }
    });

    it('SQL raising SQLSTATE 26000 itself is not run again as if a statement had gone stale', async () => {
      const started = Date.now();
      const res = await anon('/api/database/records/rv_raising');
      // Once: the function takes 2 s before it fails; run again, the request would take 4 s. (The
      // reads run read-only, so nothing can count the runs; 1.8 s is left for a loaded machine.)
      expect(Date.now() - started).toBeLessThan(3800);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: '26000', message: 'not ours' });
      const read = await anon('/api/database/records/rv_items?select=id&id=eq.1');
      expect(read.body).toEqual([{ id: 1 }]);
    });

    it('a prepared read failing while it runs (SQLSTATE 42703 raised by SQL) is not run again', async () => {
      const p = '/api/database/records/rv_flaky_view';
      for (let i = 0; i < 2; i++) expect((await anon(p)).body).toEqual([{ id: 1 }]);
      await sql.query(`UPDATE public.rv_flag SET fail = true`);
      const started = Date.now();
      const res = await anon(p);
      // Once: the function takes 2 s before it fails; run again, the request would take 4 s. (The
      // reads run read-only, so nothing can count the runs; 1.8 s is left for a loaded machine.)
      expect(Date.now() - started).toBeLessThan(3800);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: '42703', message: 'raised while running' });
      await sql.query(`UPDATE public.rv_flag SET fail = false`);
      expect((await anon(p)).body).toEqual([{ id: 1 }]);
    });

    it('a failed write leaves the connection clean for the next read and write', async () => {
      const dup = await t.request('POST', '/api/database/records/rv_items', {
        token: t.anonKey,
        body: { id: 1, label: 'dup', n: 1 },
      });
      expect(dup.status).toBe(409);
      const ok = await t.request('POST', '/api/database/records/rv_items', {
        token: t.anonKey,
        body: [{ id: 101, label: 'new', n: 101 }],
        headers: { prefer: 'return=representation' },
      });
      expect(ok.status).toBe(201);
      expect(ok.body).toEqual([{ id: 101, label: 'new', n: 101 }]);
      expect((await anon('/api/database/records/rv_items?id=eq.101&select=label')).body).toEqual([
        { label: 'new' },
      ]);
    });
  });

  describe('the lane', () => {
    it('HEAD answers as GET without a body', async () => {
      const res = await fetch(`${t.baseUrl}/api/database/records/rv_items?id=eq.2`, {
        method: 'HEAD',
        headers: { authorization: `Bearer ${t.anonKey}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.text()).toBe('');
    });

    it('writes with JSON and CSV bodies are parsed by the route’s own parsers', async () => {
      const csv = await t.request('POST', '/api/database/records/rv_items', {
        token: t.anonKey,
        body: 'id,label,n\n201,csv one,1\n202,csv two,2',
        headers: { 'content-type': 'text/csv', prefer: 'return=representation' },
      });
      expect(csv.status).toBe(201);
      expect(csv.body).toEqual([
        { id: 201, label: 'csv one', n: 1 },
        { id: 202, label: 'csv two', n: 2 },
      ]);
      const patch = await t.request('PATCH', '/api/database/records/rv_items?id=eq.201', {
        token: t.anonKey,
        body: { label: 'patched' },
        headers: { prefer: 'return=representation' },
      });
      expect(patch.status).toBe(200);
      expect(patch.body).toEqual([{ id: 201, label: 'patched', n: 1 }]);
      const bad = await t.request('PATCH', '/api/database/records/rv_items?id=eq.201', {
        token: t.anonKey,
        body: '{"label":',
      });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ code: 'PGRST102' });
    });

    it('a client that hangs up mid-request leaves the connection usable', async () => {
      const controller = new AbortController();
      const slow = fetch(`${t.baseUrl}/api/database/rpc/rv_sleep?seconds=20`, {
        headers: { authorization: `Bearer ${t.anonKey}` },
        signal: controller.signal,
      }).catch((e: unknown) => e);
      // Wait until PostgreSQL runs the sleep, then hang up.
      for (;;) {
        const { rows } = await sql.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%rv_sleep%' AND state = 'active' AND pid <> pg_backend_pid()`,
        );
        if (rows[0].n > 0) break;
      }
      const started = Date.now();
      controller.abort();
      expect(await slow).toBeInstanceOf(Error);
      for (let i = 0; i < 3; i++) {
        const res = await anon('/api/database/records/rv_items?select=id&id=eq.6');
        expect(res.status).toBe(200);
        expect(res.body).toEqual([{ id: 6 }]);
      }
      // Answered well before the sleep would have ended: the statement was cancelled. (Half the
      // sleep: room for a loaded machine, none for a sleep run out.)
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  });
});

describe('records hot path: many mixed requests at once', () => {
  let t: TestApp;
  beforeAll(async () => {
    // 8 connections; a client may hold them all and queue 4 requests per connection.
    t = await startTestApp({}, { DB_POOL_MAX: '8' }, { setupSql: SETUP });
    await t.app.schemaCache.reload();
  });
  afterAll(() => t?.stop());

  it('a column whose type changed: concurrent requests on every connection answer as before', async () => {
    const sql = new pg.Client({ connectionString: pgUrl(t.database) });
    await sql.connect();
    try {
      await sql.query(`CREATE TABLE public.rv_typed4 (id integer PRIMARY KEY, v integer NOT NULL);
        INSERT INTO public.rv_typed4 SELECT i, i * 10 FROM generate_series(1, 8) i;
        GRANT SELECT ON public.rv_typed4 TO anon;`);
      await t.app.schemaCache.reload();
      const read = (v: number) =>
        t.request('GET', `/api/database/records/rv_typed4?select=id&v=eq.${v}`, {
          token: t.anonKey,
        });
      // The shape prepared on the connections (8 requests at once take them all).
      for (let round = 0; round < 3; round++)
        await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => read(i * 10)));
      await sql.query(`ALTER TABLE public.rv_typed4 ALTER COLUMN v TYPE text`);
      await t.app.schemaCache.reload();
      const answers = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => read(i * 10)));
      answers.forEach((res, k) => {
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body).toEqual([{ id: k + 1 }]);
      });
    } finally {
      await sql.end();
    }
  });

  it('100 concurrent reads, writes, RPCs and failing requests each get their own answer', async () => {
    // Four clients (anon, two users, the API key), each within its share
    // of the connections and of the queue (core/connection-gate.ts), so none is refused.
    const { accessToken } = await t.signUpUser();
    const other = (await t.signUpUser()).accessToken;
    const jobs = Array.from({ length: 100 }, async (_, i) => {
      switch (i % 6) {
        case 0: {
          const id = (i % 20) + 1;
          const res = await t.request('GET', `/api/database/records/rv_items?id=eq.${id}`, {
            token: t.anonKey,
          });
          expect(res.body).toEqual([{ id, label: `item ${id}`, n: id }]);
          return;
        }
        case 1: {
          const res = await t.request('GET', '/api/database/records/rv_owned?select=id&order=id', {
            token: accessToken,
          });
          expect(res.body).toEqual([{ id: 2 }, { id: 3 }]);
          return;
        }
        case 2: {
          const res = await t.request('POST', '/api/database/records/rv_items', {
            token: t.apiKey,
            body: { id: 1000 + i, label: `c${i}`, n: i },
            headers: { prefer: 'return=representation' },
          });
          expect(res.status, JSON.stringify(res.body)).toBe(201);
          expect(res.body).toEqual([{ id: 1000 + i, label: `c${i}`, n: i }]);
          return;
        }
        case 3: {
          const res = await t.request('GET', '/api/database/records/rv_items?n=gt.abc', {
            token: other,
          });
          expect(res.status).toBe(400);
          expect(res.body).toMatchObject({ code: '22P02' });
          return;
        }
        case 4: {
          const res = await t.request('GET', '/api/database/rpc/rv_answer', { token: t.apiKey });
          expect(res.body).toBe(1);
          return;
        }
        default: {
          const res = await t.request('GET', '/api/database/records/rv_owned?select=id', {
            token: t.anonKey,
          });
          expect(res.body).toEqual([{ id: 1 }]);
          const mine = await t.request('GET', '/api/database/records/rv_owned?select=id', {
            token: other,
          });
          expect(mine.body).toEqual([{ id: 2 }, { id: 3 }]);
        }
      }
    });
    await Promise.all(jobs);
    const count = await t.request('GET', '/api/database/records/rv_items?id=gte.1000&select=id', {
      token: t.anonKey,
    });
    expect(count.body).toHaveLength(17);
  });
});
