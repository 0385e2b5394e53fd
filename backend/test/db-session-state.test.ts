/**
 * What user SQL leaves on a pooled connection must not reach the next request on it:
 * session-level settings (`SET`, `set_config(…, false)`) would otherwise apply to the next
 * request of whoever gets the connection — another user's RLS included (core/db.ts resets them
 * at the start of every request transaction). One connection per pool (DB_POOL_MAX=1: the admin pool keeps two,
 * but sequential requests reuse the one most recently released), so every request below runs on
 * the connection the previous one left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;

const SETUP = `
  CREATE TABLE public.session_notes (
    id serial PRIMARY KEY,
    owner uuid DEFAULT auth.uid(),
    tenant text,
    body text NOT NULL
  );
  ALTER TABLE public.session_notes ENABLE ROW LEVEL SECURITY;
  GRANT SELECT, INSERT ON public.session_notes TO anon, authenticated;
  GRANT USAGE ON SEQUENCE public.session_notes_id_seq TO anon, authenticated;
  -- A policy that reads a setting a function sets: the classic multi-tenant pattern.
  CREATE POLICY own_or_tenant ON public.session_notes FOR SELECT
    USING (owner = auth.uid() OR tenant = current_setting('app.tenant', true));
  CREATE POLICY insert_own ON public.session_notes FOR INSERT WITH CHECK (owner = auth.uid());

  -- Session-level changes of every kind a function can make.
  CREATE FUNCTION public.leave_session_state(tenant text) RETURNS text
  LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM set_config('app.tenant', tenant, false);
    PERFORM set_config('request.jwt.claims', current_setting('request.jwt.claims'), false);
    PERFORM set_config('request.jwt.claim.sub', auth.uid()::text, false);
    PERFORM set_config('request.headers', '{"x-tenant":"' || tenant || '"}', false);
    SET search_path = pg_catalog;
    SET statement_timeout = '1ms';
    SET DateStyle = 'SQL, DMY';
    PERFORM set_config('row_security', 'off', false);
    RETURN 'left';
  END $$;

  -- A scratch table a function creates once per session: it must not carry one user's rows
  -- to the next request on the connection.
  CREATE FUNCTION public.scratch_note(note text) RETURNS text[]
  LANGUAGE plpgsql AS $$
  BEGIN
    CREATE TEMP TABLE IF NOT EXISTS scratch (note text);
    INSERT INTO scratch VALUES (note);
    RETURN ARRAY(SELECT s.note FROM scratch s ORDER BY 1);
  END $$;

  -- A cursor WITH HOLD keeps its rows after its transaction; the next request must not read it.
  CREATE FUNCTION public.hold_cursor() RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    EXECUTE 'DECLARE held CURSOR WITH HOLD FOR SELECT auth.uid()::text AS who';
  END $$;
  CREATE FUNCTION public.read_held() RETURNS text LANGUAGE plpgsql AS $$
  DECLARE who text;
  BEGIN
    EXECUTE 'FETCH held' INTO who;
    RETURN coalesce(who, 'nothing');
  EXCEPTION WHEN invalid_cursor_name THEN
    RETURN 'no cursor';
  END $$;

  CREATE FUNCTION public.become_admin() RETURNS text
  LANGUAGE plpgsql AS $$
  BEGIN
    SET ROLE project_admin;
    RETURN current_user;
  END $$;

  CREATE FUNCTION public.session_view() RETURNS jsonb
  LANGUAGE sql AS $$
    SELECT jsonb_build_object(
      -- A setting once set anywhere on a connection reads '' after it is reset, never NULL again.
      'tenant', nullif(current_setting('app.tenant', true), ''),
      'claimSub', nullif(current_setting('request.jwt.claim.sub', true), ''),
      'headers', current_setting('request.headers', true),
      'searchPath', current_setting('search_path'),
      'statementTimeout', current_setting('statement_timeout'),
      'dateStyle', current_setting('DateStyle'),
      'rowSecurity', current_setting('row_security'),
      'uid', auth.uid(),
      'role', current_user
    )
  $$;
`;

beforeAll(async () => {
  t = await startTestApp({}, { DB_POOL_MAX: '1' }, { setupSql: SETUP });
});

afterAll(async () => {
  await t?.stop();
});

const rpc = (fn: string, token: string, body: unknown = {}) =>
  t.request('POST', `/api/database/rpc/${fn}`, { token, body });

async function rawSql(query: string) {
  const res = await t.request('POST', '/api/database/advance/rawsql', {
    token: t.apiKey,
    body: { query },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { rows: Record<string, unknown>[] };
}

async function records(token: string) {
  const res = await t.request('GET', '/api/database/records/session_notes?select=id,body', {
    token,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { id: number; body: string }[];
}

describe('session-level settings never outlive the request that made them', () => {
  it("user A's session-level SET / set_config(…, false) is gone for user B's next request", async () => {
    const a = await t.signUpUser();
    const b = await t.signUpUser();
    const before = (await rpc('session_view', b.accessToken)).body;
    // A writes a row of tenant "acme" and leaves its tenant, claims and other settings behind.
    const insert = await t.request('POST', '/api/database/records/session_notes', {
      token: a.accessToken,
      body: [{ tenant: 'acme', body: 'secret of acme' }],
    });
    expect(insert.status, JSON.stringify(insert.body)).toBe(201);
    const left = await rpc('leave_session_state', a.accessToken, { tenant: 'acme' });
    expect(left.status, JSON.stringify(left.body)).toBe(200);

    const seen = (await rpc('session_view', b.accessToken)).body;
    expect(seen).toEqual(before);
    expect(seen).toMatchObject({
      tenant: null,
      uid: b.userId,
      role: 'authenticated',
      searchPath: '"$user", public',
    });
    expect(seen.claimSub).toBeNull();
    // B's RLS sees none of acme's rows: neither A's tenant nor A's claims carried over.
    expect(await records(b.accessToken)).toEqual([]);
    expect(await records(t.anonKey)).toEqual([]);
    // The anonymous caller after them is anonymous.
    expect((await rpc('session_view', t.anonKey)).body).toMatchObject({
      uid: null,
      tenant: null,
      role: 'anon',
    });
  });

  it("a temporary table or a held cursor user A's request created is gone for user B's next request", async () => {
    const a = await t.signUpUser();
    const b = await t.signUpUser();
    const first = await rpc('scratch_note', a.accessToken, { note: 'secret of a' });
    expect([first.status, first.body]).toEqual([200, ['secret of a']]);
    const next = await rpc('scratch_note', b.accessToken, { note: 'of b' });
    expect([next.status, next.body]).toEqual([200, ['of b']]);
    // Nor a cursor held past its transaction.
    expect((await rpc('hold_cursor', a.accessToken)).status).toBeLessThan(300);
    expect((await rpc('read_held', b.accessToken)).body).toBe('no cursor');
    // Reads (a read-only transaction) start the same way.
    const read = await t.request('GET', '/api/database/rpc/scratch_note?note=read', {
      token: a.accessToken,
    });
    expect(read.status, JSON.stringify(read.body)).toBeLessThan(500);
    expect((await rpc('scratch_note', a.accessToken, { note: 'again' })).body).toEqual(['again']);
    // And raw SQL on the admin pool.
    await rawSql(`CREATE TEMP TABLE admin_scratch (x int); INSERT INTO admin_scratch VALUES (1)`);
    const after = await rawSql(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_class WHERE relname = 'admin_scratch'`,
    );
    expect(after.rows[0]).toEqual({ n: 0 });
  });

  it('a session-level SET ROLE does not reach the next request', async () => {
    const a = await t.signUpUser();
    const res = await rpc('become_admin', a.accessToken);
    // Whatever the function could do inside its own request, the next one runs as its caller.
    expect([200, 403]).toContain(res.status);
    expect((await rpc('session_view', t.anonKey)).body).toMatchObject({ role: 'anon', uid: null });
    expect(await records(t.anonKey)).toEqual([]);
  });

  it("settings raw SQL leaves on the admin pool do not reach the next admin's request", async () => {
    const before = (await rpc('session_view', t.apiKey)).body;
    await rawSql(
      `SELECT set_config('app.tenant', 'acme', false); SET search_path = pg_catalog; SET DateStyle = 'SQL, DMY'`,
    );
    expect((await rpc('session_view', t.apiKey)).body).toEqual(before);
    const raw = await rawSql(
      `SELECT nullif(current_setting('app.tenant', true), '') AS tenant, current_setting('search_path') AS sp`,
    );
    expect(raw.rows[0]).toEqual({ tenant: null, sp: '"$user", public' });
  });
});
