/**
 * The records hot path's two shortcuts keep every answer as it was:
 * - the lane (core/lane.ts) that finds the records routes without Express's walk, and
 * - named prepared statements per connection (core/pipeline.ts, DB_PREPARED_STATEMENTS).
 */
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouteRegistry, route } from '../src/core/route.js';
import pg from 'pg';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

const SETUP = `
  CREATE TABLE public.hot_items (id serial PRIMARY KEY, label text NOT NULL, n integer NOT NULL);
  INSERT INTO public.hot_items (label, n) SELECT 'item ' || i, i FROM generate_series(1, 50) i;
  GRANT SELECT ON public.hot_items TO anon, authenticated;
  -- What the connection holds: pg_prepared_statements is per session.
  CREATE FUNCTION public.hot_prepared() RETURNS integer LANGUAGE sql STABLE
    AS $$ SELECT count(*)::integer FROM pg_prepared_statements $$;
  CREATE FUNCTION public.hot_sleep(seconds double precision) RETURNS integer LANGUAGE sql
    AS $$ SELECT 1 FROM pg_sleep(seconds) $$;
  GRANT EXECUTE ON FUNCTION public.hot_sleep(double precision) TO anon;
  -- SQL that drops every prepared statement of its connection under Kiln's feet.
  CREATE FUNCTION public.hot_deallocate() RETURNS integer LANGUAGE plpgsql
    AS $$ BEGIN EXECUTE 'DEALLOCATE ALL'; RETURN 1; END $$;
  GRANT EXECUTE ON FUNCTION public.hot_prepared(), public.hot_deallocate() TO anon;
`;

describe('records hot path', () => {
  let t: TestApp;
  // One request connection: every anon request below runs on the same PostgreSQL session.
  beforeAll(async () => {
    t = await startTestApp(
      {},
      { DB_POOL_MAX: '1', DB_MAX_CONNECTIONS_PER_CLIENT: '1' },
      {
        setupSql: SETUP,
      },
    );
    await t.app.schemaCache.reload();
  });
  afterAll(() => t?.stop());

  const anon = (p: string, init: { headers?: Record<string, string> } = {}) =>
    t.request('GET', p, { token: t.anonKey, ...init });
  const prepared = async () => {
    const res = await t.request('POST', '/api/database/rpc/hot_prepared', {
      token: t.anonKey,
      body: {},
    });
    expect(res.status).toBe(200);
    return res.body as number;
  };

  describe('the lane', () => {
    it('answers records requests with every header the app sets (request id, security, CORS)', async () => {
      const res = await anon('/api/database/records/hot_items?id=eq.3', {
        headers: { origin: 'http://localhost:5173', 'x-request-id': 'hot-path-req-1' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual([{ id: 3, label: 'item 3', n: 3 }]);
      expect(res.headers.get('x-request-id')).toBe('hot-path-req-1');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(res.headers.get('content-range')).toBe('0-0/*');
    });

    it('matches paths as Express does: any case, a trailing slash, encoded names', async () => {
      for (const p of [
        '/API/Database/Records/hot_items?id=eq.4',
        '/api/database/records/hot_items/?id=eq.4',
        '/api/database/records/hot%5Fitems?id=eq.4',
      ]) {
        const res = await anon(p);
        expect(res.status, p).toBe(200);
        expect(res.body, p).toEqual([{ id: 4, label: 'item 4', n: 4 }]);
      }
    });

    it('leaves what it does not match to the app, whose answers are unchanged', async () => {
      // A name that does not decode, a method the group does not declare, a path below it.
      const bad = await anon('/api/database/records/%E0%A4%A');
      expect(bad.status).toBeGreaterThanOrEqual(400);
      expect(bad.status).toBeLessThan(500);
      const other = await t.request('OPTIONS', '/api/database/records/hot_items', {
        token: t.anonKey,
      });
      expect(other.status).toBeLessThan(500);
      // Below the records paths is the admin area: its guard answers, in the envelope.
      const deeper = await anon('/api/database/records/hot_items/extra');
      expect(deeper.status).toBe(403);
      expect(deeper.body).toMatchObject({ error: 'AUTH_FORBIDDEN' });
    });

    it('answers errors of the credential and of the request in PostgREST’s shape', async () => {
      const badToken = await t.request('GET', '/api/database/records/hot_items', {
        token: 'not-a-token',
      });
      expect(badToken.status).toBe(401);
      expect(badToken.body).toMatchObject({ code: 'PGRST301' });
      const badFilter = await anon('/api/database/records/hot_items?id=zz.3');
      expect(badFilter.status).toBe(400);
      expect(badFilter.body).toMatchObject({ code: 'PGRST100' });
      const missing = await anon('/api/database/records/no_such_table');
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ code: 'PGRST205' });
    });

    it('writes the access log line for a records request', async () => {
      await anon('/api/database/records/hot_items?id=eq.5', {
        headers: { 'x-request-id': 'hot-path-logged' },
      });
      const logFile = path.join(t.dataDir, 'logs', 'kiln.log');
      await expect
        .poll(() => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''))
        .toContain('"requestId":"hot-path-logged"');
      const line = fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .find((l) => l.includes('"requestId":"hot-path-logged"') && l.includes('"kind":"access"'));
      expect(JSON.parse(line!)).toMatchObject({
        method: 'GET',
        path: '/api/database/records/hot_items',
        status: 200,
        role: 'anon',
      });
    });

    it('refuses to be built unless the app runs exactly `front` and non-overlapping mounts first', () => {
      const app = express();
      const registry = new RouteRegistry();
      const group = (tag: string, p: string) => ({
        tag,
        access: 'anyone' as const,
        routes: [
          route({
            method: 'get',
            path: p,
            summary: tag,
            responses: { 200: { description: 'ok' } },
            handler: ({ res }) => void res.end(),
          }),
        ],
      });
      const first = group('first', '/records/:x');
      const second = group('second', '/records/:table');
      const stamp: express.RequestHandler = (_q, _r, next) => next();
      app.use(stamp);
      registry.mount(app, '/api', first);
      registry.mount(app, '/api/database', second);
      const finalError: express.ErrorRequestHandler = (_e, _q, r) => void r.end();
      expect(() => registry.lane(app, second, { front: [stamp], finalError })).toThrow(
        /mounted before/,
      );
      expect(() => registry.lane(app, first, { front: [stamp], finalError })).not.toThrow();
      // Middleware the app runs first but the lane would not: refused too, either way round.
      expect(() => registry.lane(app, first, { front: [], finalError })).toThrow(/not in front/);
      expect(() => registry.lane(app, first, { front: [stamp, stamp], finalError })).toThrow(
        /does not run/,
      );
    });
  });

  describe('prepared statements', () => {
    it('keeps a query shape prepared on its connection and reuses it', async () => {
      const before = await prepared();
      const read = async (i: number) => {
        const res = await anon(`/api/database/records/hot_items?select=label,n&id=eq.${i}`);
        expect(res.body).toEqual([{ label: `item ${i}`, n: i }]);
      };
      // A shape not seen before: its statement is prepared (the transaction's own statements
      // were, by the requests before).
      await read(1);
      expect((await prepared()) - before).toBe(1);
      // The same shape with other values: reused, nothing more prepared.
      for (let i = 2; i <= 5; i++) await read(i);
      expect((await prepared()) - before).toBe(1);
    });

    it('holds at most 128 per connection, closing the least recently used', async () => {
      // 150 shapes: each a different column list.
      const columns = ['id', 'label', 'n'];
      for (let i = 0; i < 150; i++) {
        const select = `${columns[i % 3]},x${i}:n`;
        const res = await anon(`/api/database/records/hot_items?select=${select}&id=eq.1`);
        expect(res.status).toBe(200);
      }
      const held = await prepared();
      expect(held).toBeLessThanOrEqual(128);
      expect(held).toBeGreaterThan(100);
    });

    it('parses a shape again after a request of it failed, and answers the same', async () => {
      const shape = '/api/database/records/hot_items?select=id,n&n=gt.';
      // Fails while binding its value (not an integer): its Parse may or may not have happened.
      const failed = await anon(`${shape}abc&limit=1`);
      expect(failed.status).toBe(400);
      expect(failed.body).toMatchObject({ code: '22P02' });
      const ok = await anon(`${shape}48&limit=5`);
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual([
        { id: 49, n: 49 },
        { id: 50, n: 50 },
      ]);
    });

    it('recovers when SQL deallocates the connection’s statements under it', async () => {
      expect((await anon('/api/database/records/hot_items?id=eq.7')).status).toBe(200);
      const dropped = await t.request('POST', '/api/database/rpc/hot_deallocate', {
        token: t.anonKey,
        body: {},
      });
      expect(dropped.status).toBe(200);
      // The same shape on the same connection: its name is gone from PostgreSQL.
      for (let i = 0; i < 3; i++) {
        const res = await anon('/api/database/records/hot_items?id=eq.7');
        expect(res.status).toBe(200);
        expect(res.body).toEqual([{ id: 7, label: 'item 7', n: 7 }]);
      }
    });

    it('recovers after an admin’s raw SQL deallocated them on the admin pool', async () => {
      const admin = (p: string) => t.request('GET', p, { token: t.apiKey });
      for (let i = 0; i < 4; i++)
        expect((await admin('/api/database/records/hot_items?id=eq.8')).status).toBe(200);
      const raw = await t.request('POST', '/api/database/advance/rawsql', {
        token: t.apiKey,
        body: { query: 'DEALLOCATE ALL' },
      });
      expect(raw.status).toBe(200);
      for (let i = 0; i < 4; i++) {
        const res = await admin('/api/database/records/hot_items?id=eq.8');
        expect(res.status).toBe(200);
        expect(res.body).toEqual([{ id: 8, label: 'item 8', n: 8 }]);
      }
    });
  });
});

describe('a connection dying under a request', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, {}, { setupSql: SETUP });
    await t.app.schemaCache.reload();
  });
  afterAll(() => t?.stop());

  it('fails that request cleanly, and the server goes on (no unhandled client error)', async () => {
    const slow = t.request('POST', '/api/database/rpc/hot_sleep', {
      token: t.anonKey,
      body: { seconds: 5 },
    });
    // PostgreSQL ends the backend running it, as a restart or an operator would.
    const superuser = new pg.Client({ connectionString: pgUrl(t.database) });
    await superuser.connect();
    try {
      await expect
        .poll(
          async () =>
            (
              await superuser.query<{ n: number }>(
                `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
                  WHERE query LIKE '%hot_sleep%' AND pid <> pg_backend_pid() AND state = 'active'`,
              )
            ).rows[0]!.n,
        )
        .toBe(1);
    } finally {
      await superuser.end();
    }
    const res = await slow;
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.status).toBeLessThan(600);
    // The next requests are served on fresh connections.
    for (let i = 0; i < 3; i++) {
      const ok = await t.request('GET', '/api/database/records/hot_items?id=eq.2', {
        token: t.anonKey,
      });
      expect(ok.status).toBe(200);
    }
  });
});

describe('records without prepared statements (DB_PREPARED_STATEMENTS=false)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(
      {},
      { DB_POOL_MAX: '1', DB_MAX_CONNECTIONS_PER_CLIENT: '1', DB_PREPARED_STATEMENTS: 'false' },
      { setupSql: SETUP },
    );
    await t.app.schemaCache.reload();
  });
  afterAll(() => t?.stop());

  it('leaves no named statement on the connection and answers the same', async () => {
    for (let i = 1; i <= 3; i++) {
      const res = await t.request('GET', `/api/database/records/hot_items?id=eq.${i}`, {
        token: t.anonKey,
      });
      expect(res.body).toEqual([{ id: i, label: `item ${i}`, n: i }]);
    }
    const held = await t.request('POST', '/api/database/rpc/hot_prepared', {
      token: t.anonKey,
      body: {},
    });
    expect(held.body).toBe(0);
  });
});
