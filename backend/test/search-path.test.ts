/**
 * Issue 15 item 2: objects project_admin creates in `public` (restricted raw SQL) must never run
 * as one of Kiln's own roles. An overload of a built-in with a closer argument type wins function
 * resolution over pg_catalog's, so a connection with `public` on its search path that calls
 * make_interval(secs => <numeric>) runs the planted public.make_interval(numeric) instead; on
 * Kiln's superuser connection that was COPY … TO PROGRAM away from the operating system.
 *
 * The plants below are derived mechanically: every `name(` token in backend/src and
 * backend/migrations that names a pg_catalog function gets public overloads whose argument types
 * beat the built-in for some call (an implicit-cast source of one argument, or a concrete type
 * where the built-in is polymorphic). Each plant notes who ran it, then does what the built-in
 * does, so flows keep working where plants legitimately run (as a request role). Notes survive a
 * rolled-back transaction: a plant running as any role other than anon / authenticated /
 * project_admin bumps a sequence (nextval is not transactional), or raises in a read-only one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.js';

const REQUEST_ROLES = ['anon', 'authenticated', 'project_admin'];
const BACKEND = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let t: TestApp;

async function rawSql(query: string, params?: unknown[]) {
  const res = await t.request('POST', '/api/database/advance/rawsql', {
    token: t.apiKey,
    body: { query, ...(params ? { params } : {}) },
  });
  if (res.status !== 200) throw new Error(`raw SQL failed: ${JSON.stringify(res.body)}`);
  return res.body as { rows: any[] };
}

/** Who ran a plant, as far as a transaction that committed could record it. */
async function hijacks(): Promise<{ fn: string; cur: string; sess: string }[]> {
  const { rows } = await rawSql(
    `SELECT fn, cur, sess FROM public.hijack_log WHERE cur <> ALL ($1::text[]) ORDER BY id`,
    [REQUEST_ROLES],
  );
  return rows;
}

/** Plants that ran as a Kiln role in any transaction, committed or not. */
async function hijackCount(): Promise<number> {
  const { rows } = await rawSql(
    `SELECT CASE WHEN is_called THEN last_value ELSE 0 END::int AS n FROM public.hijack_hits`,
  );
  return rows[0].n;
}

const LOG_SETUP = `
  CREATE TABLE public.hijack_log (id bigserial PRIMARY KEY, fn text, cur text, sess text,
                                  at timestamptz DEFAULT clock_timestamp());
  GRANT ALL ON public.hijack_log TO PUBLIC;
  GRANT ALL ON SEQUENCE public.hijack_log_id_seq TO PUBLIC;
  CREATE SEQUENCE public.hijack_hits;
  GRANT ALL ON SEQUENCE public.hijack_hits TO PUBLIC;
  CREATE FUNCTION public.hijack_note(fn text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
  DECLARE
    ro boolean := current_setting('transaction_read_only') = 'on';
  BEGIN
    IF current_user::text <> ALL (ARRAY['anon', 'authenticated', 'project_admin']) THEN
      IF ro THEN
        RAISE EXCEPTION 'search-path hijack: % ran as %', fn, current_user;
      END IF;
      PERFORM nextval('public.hijack_hits');
    END IF;
    IF NOT ro THEN
      INSERT INTO public.hijack_log (fn, cur, sess) VALUES (fn, current_user, session_user);
    END IF;
  END $$;
  GRANT EXECUTE ON FUNCTION public.hijack_note(text) TO PUBLIC;
`;

/** Kiln's TypeScript and SQL, concatenated. */
function calledSources(): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|sql)$/.test(e.name)) files.push(p);
    }
  };
  walk(path.join(BACKEND, 'src'));
  walk(path.join(BACKEND, 'migrations'));
  return files.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
}

/** `name(` tokens in Kiln's TypeScript and SQL. */
function calledNames(): string[] {
  const names = new Set<string>();
  for (const m of calledSources().matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)) {
    names.add(m[1]!.toLowerCase());
  }
  return [...names];
}

interface BuiltIn {
  name: string;
  kind: string;
  args: string[];
  argNames: string[] | null;
  defaults: string;
  variadic: string | null;
  ret: string;
  retPseudo: boolean;
  retset: boolean;
  modes: string[] | null;
}

const POLY =
  /^(any|anyelement|anyarray|anynonarray|anyenum|anyrange|anymultirange|anycompatible|anycompatiblearray|anycompatiblenonarray|anycompatiblerange|anycompatiblemultirange|"any")$/;
const CONCRETE = [
  'text',
  'numeric',
  'bigint',
  'integer',
  'double precision',
  'boolean',
  'jsonb',
  'uuid',
  'timestamp with time zone',
  'bytea',
];
const UNPLANTABLE =
  /^(internal|cstring|trigger|event_trigger|language_handler|fdw_handler|table_am_handler|index_am_handler|tsm_handler|void|record|opaque|unknown|pg_ddl_command)$/;

/** Top-level comma split of pg_get_function_arguments() output (defaults may hold commas). */
function splitArgs(sig: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let cur = '';
  for (const ch of sig) {
    if (ch === "'") quote = !quote;
    if (!quote && ch === '(') depth++;
    if (!quote && ch === ')') depth--;
    if (!quote && depth === 0 && ch === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** CREATE statements for public overloads that beat `b` for some call. */
function plantsFor(b: BuiltIn, implicitFrom: Map<string, string[]>): string[] {
  if (b.modes?.some((m) => m !== 'i' && m !== 'v')) return [];
  if (b.args.some((a) => UNPLANTABLE.test(a) && a !== 'unknown')) return [];
  const pieces = splitArgs(b.defaults);
  const defaults = pieces.map((p) => {
    const i = p.indexOf(' DEFAULT ');
    return i >= 0 ? p.slice(i + ' DEFAULT '.length) : undefined;
  });
  const polyRet = POLY.test(b.ret) || b.ret === 'anyarray';
  const out: string[] = [];
  const body = (types: string[], ret: string) => {
    const call = `pg_catalog.${q(b.name)}(${types.map((ty, i) => (POLY.test(b.args[i]!) || b.variadic === '"any"' ? `$${i + 1}` : `$${i + 1}::${b.args[i]}`)).join(', ')})`;
    const sig = `${b.name}(${types.join(', ')})`;
    const decl = types
      .map((ty, i) => {
        const n = b.argNames?.[i];
        const d = defaults[i];
        return `${n ? `${q(n)} ` : ''}${ty}${d ? ` DEFAULT ${d}` : ''}`;
      })
      .join(', ');
    if (b.kind === 'a') {
      // An aggregate: collect, and let the built-in aggregate the collected values.
      if (types.length !== 1) return;
      const ty = types[0]!;
      const tag = `${b.name}_${ty.replace(/[^a-z]/g, '_')}`;
      out.push(
        `CREATE FUNCTION public.${q(`hijack_sfunc_${tag}`)}(s ${ty}[], v ${ty}) RETURNS ${ty}[] LANGUAGE plpgsql AS $p$
         BEGIN PERFORM public.hijack_note(${pg.escapeLiteral(sig)}); RETURN pg_catalog.array_append(s, v); END $p$`,
        `CREATE FUNCTION public.${q(`hijack_final_${tag}`)}(s ${ty}[]) RETURNS ${ret} LANGUAGE sql AS $p$
         SELECT pg_catalog.${q(b.name)}(x) FROM pg_catalog.unnest(s) x $p$`,
        `CREATE AGGREGATE public.${q(b.name)}(${ty}) (SFUNC = public.${q(`hijack_sfunc_${tag}`)},
           STYPE = ${ty}[], INITCOND = '{}', FINALFUNC = public.${q(`hijack_final_${tag}`)})`,
      );
      return;
    }
    if (b.kind !== 'f') return;
    const returns = b.retset ? `SETOF ${ret}` : ret;
    const result =
      ret === 'void'
        ? `PERFORM ${call}; RETURN;`
        : b.retset
          ? `RETURN QUERY SELECT * FROM ${call};`
          : `RETURN ${call};`;
    out.push(
      `CREATE FUNCTION public.${q(b.name)}(${decl}) RETURNS ${returns} LANGUAGE plpgsql AS $p$
       BEGIN PERFORM public.hijack_note(${pg.escapeLiteral(sig)}); ${result} END $p$`,
    );
  };
  if (b.ret === 'record' || (b.retPseudo && !polyRet && b.ret !== 'void')) return [];
  if (b.variadic === '"any"') {
    // Fixed arities of text arguments beat VARIADIC "any".
    const fixed = b.args.length - 1;
    for (let n = 1; n <= 4; n++) {
      const types = [...b.args.slice(0, fixed), ...Array(n).fill('text')];
      body(types, b.ret);
    }
    return out;
  }
  if (b.variadic) return [];
  b.args.forEach((orig, i) => {
    const poly = POLY.test(orig);
    const candidates = poly ? CONCRETE : (implicitFrom.get(orig) ?? []);
    for (const ty of candidates) {
      if (ty === orig) continue;
      const types = b.args.map((a, j) => (j === i ? ty : POLY.test(a) ? ty : a));
      let ret = b.ret;
      if (polyRet) {
        if (!poly) continue;
        ret = /array$/.test(b.ret) ? `${ty}[]` : ty;
      }
      body(types, ret);
    }
  });
  return out;
}

/** Operators resolve like functions: the same beating overloads, for operators Kiln's SQL uses. */
const OPERATORS = [
  '=',
  '<>',
  '<',
  '<=',
  '>',
  '>=',
  '+',
  '-',
  '*',
  '/',
  '||',
  '~',
  '~*',
  '@>',
  '->',
  '->>',
  '?',
];
const OPERAND_TYPES = new Set([
  'text',
  'integer',
  'bigint',
  'smallint',
  'numeric',
  'double precision',
  'real',
  'boolean',
  'uuid',
  'jsonb',
  'json',
  'bytea',
  'timestamp with time zone',
  'timestamp without time zone',
  'date',
  'interval',
  'character varying',
  'name',
]);

async function operatorPlants(implicitFrom: Map<string, string[]>): Promise<string[]> {
  const source = calledSources();
  const used = OPERATORS.filter((op) => source.includes(` ${op} `));
  const { rows } = await rawSql(
    `SELECT o.oprname AS op, pg_catalog.format_type(o.oprleft, NULL) AS l,
            pg_catalog.format_type(o.oprright, NULL) AS r, pg_catalog.format_type(o.oprresult, NULL) AS ret
       FROM pg_catalog.pg_operator o
      WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprkind = 'b' AND o.oprname = ANY ($1::text[])`,
    [used],
  );
  const out: string[] = [];
  let n = 0;
  for (const o of rows as { op: string; l: string; r: string; ret: string }[]) {
    if (!OPERAND_TYPES.has(o.l) || !OPERAND_TYPES.has(o.r)) continue;
    for (const side of ['l', 'r'] as const) {
      for (const ty of implicitFrom.get(o[side]) ?? []) {
        if (!OPERAND_TYPES.has(ty)) continue;
        const l = side === 'l' ? ty : o.l;
        const r = side === 'r' ? ty : o.r;
        const fn = `public.hijack_op_${n++}`;
        const sig = `operator ${o.op}(${l}, ${r})`;
        out.push(
          `CREATE FUNCTION ${fn}(a ${l}, b ${r}) RETURNS ${o.ret} LANGUAGE plpgsql AS $p$
           BEGIN PERFORM public.hijack_note(${pg.escapeLiteral(sig)});
                 RETURN a::${o.l} OPERATOR(pg_catalog.${o.op}) b::${o.r}; END $p$`,
          `CREATE OPERATOR public.${o.op} (LEFTARG = ${l}, RIGHTARG = ${r}, FUNCTION = ${fn})`,
        );
      }
    }
  }
  return out;
}

async function plantEverything(): Promise<number> {
  const names = calledNames();
  const { rows: builtIns } = await rawSql(
    `SELECT p.proname AS name, p.prokind AS kind,
            array(SELECT pg_catalog.format_type(x, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(x, o) ORDER BY o) AS args,
            p.proargnames AS "argNames", pg_catalog.pg_get_function_arguments(p.oid) AS defaults,
            CASE WHEN p.provariadic <> 0 THEN pg_catalog.format_type(p.provariadic, NULL) END AS variadic,
            pg_catalog.format_type(p.prorettype, NULL) AS ret, t.typtype = 'p' AS "retPseudo",
            p.proretset AS retset, p.proargmodes::text[] AS modes
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_type t ON t.oid = p.prorettype
      WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = ANY ($1::text[])
        AND p.prokind IN ('f', 'a') AND NOT EXISTS (
          SELECT 1 FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid AND a.aggkind <> 'n')`,
    [names],
  );
  const { rows: casts } = await rawSql(
    `SELECT pg_catalog.format_type(castsource, NULL) AS source, pg_catalog.format_type(casttarget, NULL) AS target
       FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_type s ON s.oid = c.castsource
      WHERE c.castcontext = 'i' AND s.typtype = 'b' AND s.typcategory <> 'A'
        AND s.typname NOT LIKE 'reg%' AND s.typname NOT IN ('oid', 'xid8', 'pg_lsn')`,
  );
  const implicitFrom = new Map<string, string[]>();
  for (const c of casts as { source: string; target: string }[]) {
    implicitFrom.set(c.target, [...(implicitFrom.get(c.target) ?? []), c.source]);
  }
  // The make_interval overload from the issue, whatever the scan finds.
  const statements = [
    `CREATE FUNCTION public.make_interval(secs numeric) RETURNS interval LANGUAGE plpgsql AS $p$
     BEGIN PERFORM public.hijack_note('make_interval(secs numeric)'); RETURN pg_catalog.make_interval(secs => secs::float8); END $p$`,
    ...(builtIns as BuiltIn[]).flatMap((b) => plantsFor(b, implicitFrom)),
    ...(await operatorPlants(implicitFrom)),
  ];
  // Each plant on its own: one whose default or body PostgreSQL refuses is simply skipped.
  let planted = 0;
  for (let i = 0; i < statements.length; i += 400) {
    const chunk = statements.slice(i, i + 400);
    const block = chunk
      .map(
        (s) =>
          `BEGIN EXECUTE ${pg.escapeLiteral(s)}; n := n + 1; EXCEPTION WHEN others THEN NULL; END;`,
      )
      .join('\n');
    // The temporary table lives for this request only (every request starts with DISCARD TEMP).
    const { rows } = await rawSql(
      `CREATE TEMP TABLE planted (n int);
       DO $do$ DECLARE n int := 0; BEGIN ${block} INSERT INTO planted VALUES (n); END $do$;
       SELECT sum(n)::int AS n FROM planted`,
    );
    planted += rows[0].n as number;
  }
  return planted;
}

beforeAll(async () => {
  t = await startTestApp({}, { AUTH_RATE_LIMIT_SIGN_IN: '4' });
  await rawSql(LOG_SETUP);
  // A table for the records API, its realtime row changes, and a channel to publish on.
  await rawSql(`
    CREATE TABLE public.posts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), title text NOT NULL,
                               views numeric NOT NULL DEFAULT 0, created_at timestamptz DEFAULT now());
    SELECT realtime.enable_row_changes('public.posts');
  `);
  for (const pattern of ['posts:%', 'chat:%']) {
    const channel = await t.request('POST', '/api/realtime/channels', {
      token: t.apiKey,
      body: { pattern, enabled: true },
    });
    expect(channel.status).toBe(201);
  }
  const config = await t.request('PUT', '/api/auth/config', {
    token: t.apiKey,
    body: { allowAnonymousSignIn: true },
  });
  expect(config.status).toBe(200);
  const bucket = await t.request('POST', '/api/storage/buckets', {
    token: t.apiKey,
    body: { bucketName: 'pics', isPublic: true },
  });
  expect(bucket.status).toBe(201);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe('search path', () => {
  it('the planted make_interval(secs numeric) never runs as a Kiln role on anonymous sign-in', async () => {
    await rawSql(`
      CREATE FUNCTION public.make_interval(secs numeric) RETURNS interval LANGUAGE plpgsql AS $p$
      BEGIN PERFORM public.hijack_note('make_interval(secs numeric)');
            RETURN pg_catalog.make_interval(secs => secs::float8); END $p$;
    `);
    // The plant is live where public is on the path: restricted raw SQL resolves to it.
    await rawSql('SELECT make_interval(secs => 1.5) AS i');
    expect((await rawSql(`SELECT cur FROM public.hijack_log`)).rows).toEqual([
      { cur: 'project_admin' },
    ]);
    const anon = await t.request('POST', '/api/auth/anonymous', { token: t.anonKey });
    expect(anon.status).toBe(201);
    const failed = await t.request('POST', '/api/auth/sessions', {
      token: t.anonKey,
      body: { email: 'nobody@example.com', password: 'wrong password' },
    });
    expect(failed.status).toBe(401);
    expect(failed.body.error).toBe('AUTH_INVALID_CREDENTIALS');
    expect(await hijacks()).toEqual([]);
    expect(await hijackCount()).toBe(0);
    await rawSql('DROP FUNCTION public.make_interval(numeric)');
  });

  it('no overload planted for a built-in Kiln calls ever runs as a Kiln role', async () => {
    const planted = await plantEverything();
    expect(planted).toBeGreaterThan(800);

    // Unrestricted raw SQL runs on Kiln's own pool: it sees public as users do, and what it
    // changes for its session does not stay on a connection Kiln reuses.
    for (let i = 0; i < 6; i++) {
      const res = await t.request('POST', '/api/database/advance/rawsql/unrestricted', {
        token: t.apiKey,
        body: {
          query: 'SET search_path = public, pg_catalog; SELECT count(*)::int AS n FROM posts',
        },
      });
      expect(res.status).toBe(200);
      expect(res.body.rows).toEqual([{ n: 0 }]);
    }

    // Password sign-up, sign-in (and failing until rate-limited), refresh, sessions.
    const user = await t.signUpUser();
    const signIn = await t.request('POST', '/api/auth/sessions?client_type=server', {
      token: t.anonKey,
      body: { email: user.email, password: user.password },
    });
    expect(signIn.status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.request('POST', '/api/auth/sessions', {
        token: t.anonKey,
        body: { email: user.email, password: 'not the password' },
      });
      statuses.push(res.status);
    }
    expect(statuses).toContain(429);
    const refreshed = await t.request('POST', '/api/auth/refresh?client_type=server', {
      token: t.anonKey,
      body: { refreshToken: user.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    const sessions = await t.request('GET', '/api/auth/sessions', { token: user.accessToken });
    expect(sessions.status).toBe(200);
    const anon = await t.request('POST', '/api/auth/anonymous', { token: t.anonKey });
    expect(anon.status).toBe(201);

    // Records: a write (row-change trigger, realtime) and reads, as the user and as admin.
    const listener = io(t.baseUrl, {
      auth: { token: user.accessToken },
      transports: ['websocket'],
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('connect', () => resolve());
      listener.once('connect_error', reject);
    });
    const joined = await new Promise<any>((resolve) =>
      listener.emit('realtime:subscribe', { channel: 'chat:lobby' }, resolve),
    );
    expect(joined).toMatchObject({ ok: true });
    const published = new Promise<any>((resolve) => {
      listener.once('greeting', resolve);
      listener.once('realtime:error', resolve);
    });
    listener.emit('realtime:publish', {
      channel: 'chat:lobby',
      event: 'greeting',
      payload: { a: 1 },
    });
    expect(await published).toMatchObject({ a: 1 });
    listener.disconnect();

    const insert = await t.request('POST', '/api/database/records/posts', {
      token: t.apiKey,
      body: [{ title: 'hello', views: 2.5 }],
      headers: { prefer: 'return=representation' },
    });
    expect(insert.status).toBe(201);
    const read = await t.request('GET', '/api/database/records/posts?views=gt.1&order=created_at', {
      token: t.apiKey,
    });
    expect(read.status).toBe(200);
    expect(read.body).toHaveLength(1);

    // Schema reload after DDL: a new table is served at once.
    await rawSql('CREATE TABLE public.later (id int PRIMARY KEY, note text)');
    const later = await t.request('GET', '/api/database/records/later', { token: t.apiKey });
    expect(later.status).toBe(200);

    // Storage: upload (per-key advisory lock), download, list.
    const up = await fetch(`${t.baseUrl}/api/storage/buckets/pics/objects/a%20b.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.apiKey}` },
      body: (() => {
        const form = new FormData();
        form.append('file', new Blob(['bytes'], { type: 'text/plain' }), 'a b.txt');
        return form;
      })(),
    });
    expect(up.status).toBeLessThan(300);
    const down = await fetch(`${t.baseUrl}/api/storage/buckets/pics/objects/a%20b.txt`, {
      headers: { authorization: `Bearer ${t.anonKey}` },
    });
    expect(down.status).toBe(200);
    expect(await down.text()).toBe('bytes');

    // Admin views that read the catalog on Kiln's own connection.
    for (const p of [
      '/api/database/tables',
      '/api/database/tables/posts/schema',
      '/api/metadata',
      '/api/realtime/channels',
      '/api/realtime/messages',
      '/api/logs/audits',
    ]) {
      const res = await t.request('GET', p, { token: t.apiKey });
      expect(res.status, p).toBe(200);
    }

    expect(await hijacks()).toEqual([]);
    expect(await hijackCount()).toBe(0);
  }, 120_000);

  it('a trigger project_admin puts on a Kiln table cannot run as Kiln', async () => {
    await rawSql(`CREATE FUNCTION public.hijack_trigger() RETURNS trigger LANGUAGE plpgsql AS $p$
                  BEGIN PERFORM public.hijack_note('trigger on ' || TG_TABLE_NAME); RETURN NULL; END $p$`);
    // Kiln's own services write these rows (bucket settings, channel settings, message pruning).
    for (const table of ['storage.buckets', 'realtime.channels', 'realtime.messages']) {
      const res = await t.request('POST', '/api/database/advance/rawsql', {
        token: t.apiKey,
        body: {
          query: `CREATE TRIGGER hijack AFTER INSERT OR UPDATE OR DELETE ON ${table}
                    FOR EACH STATEMENT EXECUTE FUNCTION public.hijack_trigger()`,
        },
      });
      expect(res.status, table).toBe(403);
    }
    const bucket = await t.request('PATCH', '/api/storage/buckets/pics', {
      token: t.apiKey,
      body: { isPublic: false },
    });
    expect(bucket.status).toBe(200);
    expect(bucket.body).toMatchObject({ name: 'pics', isPublic: false });
    const channel = await t.request('POST', '/api/realtime/channels', {
      token: t.apiKey,
      body: { pattern: 'other:%', enabled: true },
    });
    expect(channel.status).toBe(201);
    expect(await hijacks()).toEqual([]);
    expect(await hijackCount()).toBe(0);
  });

  it('user code reached by a row change (a cast inside to_jsonb) runs as the writer, never as a Kiln role', async () => {
    // to_jsonb(NEW) in realtime.broadcast_row_change() uses a user type's cast to json. Inside a
    // SECURITY DEFINER function it ran as the function's owner (kiln_definer_<hash>: every Kiln
    // table, RLS bypassed), so project_admin's cast read every password hash. It runs as the
    // role that wrote the row.
    await rawSql(`
      CREATE TABLE public.who_ran (cur text, hashes int);
      GRANT ALL ON public.who_ran TO PUBLIC;
      CREATE TYPE public.mood AS ENUM ('calm', 'angry');
      CREATE FUNCTION public.mood_json(public.mood) RETURNS json LANGUAGE plpgsql AS $p$
      DECLARE hashes int;
      BEGIN
        BEGIN
          SELECT pg_catalog.count(*) INTO hashes FROM auth.users WHERE password_hash IS NOT NULL;
        EXCEPTION WHEN insufficient_privilege THEN hashes := NULL;
        END;
        INSERT INTO public.who_ran VALUES (current_user, hashes);
        RETURN pg_catalog.to_json($1::text);
      END $p$;
      CREATE CAST (public.mood AS json) WITH FUNCTION public.mood_json(public.mood);
      CREATE TABLE public.moods (id int PRIMARY KEY, m public.mood);
      GRANT SELECT, INSERT ON public.moods TO anon, authenticated;
      SELECT realtime.enable_row_changes('public.moods');
      INSERT INTO public.moods VALUES (1, 'angry');
    `);
    // The same from the records API, as anon and as a signed-in user.
    const user = await t.signUpUser();
    for (const [id, token] of [
      [2, t.anonKey],
      [3, user.accessToken],
    ] as const) {
      const res = await t.request('POST', '/api/database/records/moods', {
        token,
        body: [{ id, m: 'calm' }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const { rows } = await rawSql('SELECT DISTINCT cur, hashes FROM public.who_ran ORDER BY cur');
    expect(rows).toEqual([
      { cur: 'anon', hashes: null },
      { cur: 'authenticated', hashes: null },
      { cur: 'project_admin', hashes: null },
    ]);
    // The row changes still went out, as the database's.
    const sent = await rawSql(
      `SELECT count(*)::int AS n FROM realtime.messages
        WHERE channel LIKE 'moods:%' AND sender_type = 'system'`,
    );
    expect(sent.rows[0].n).toBe(3);
  });

  it('every function in Kiln’s schemas pins search_path; Kiln logs in as no superuser', async () => {
    const { rows } = await rawSql(
      `SELECT n.nspname || '.' || p.proname AS fn, p.proconfig
         FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prosecdef AND n.nspname NOT IN ('public', 'pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_%'
          AND NOT (coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp'])`,
    );
    expect(rows).toEqual([]);
    const definers = await rawSql(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_proc p
        WHERE p.prosecdef AND p.pronamespace = 'realtime'::regnamespace`,
    );
    expect(definers.rows[0].n).toBeGreaterThan(0);

    // Kiln's own pools and listeners connect as a role that cannot reach the operating system.
    const { rows: logins } = await rawSql(
      `SELECT DISTINCT a.usename AS name, r.rolsuper AS superuser,
              pg_catalog.current_setting('search_path') AS mine
         FROM pg_catalog.pg_stat_activity a JOIN pg_catalog.pg_roles r ON r.rolname = a.usename
        WHERE a.datname = current_database() AND a.application_name LIKE 'kiln%'`,
    );
    expect(logins.length).toBeGreaterThan(0);
    expect(logins.filter((l: { superuser: boolean }) => l.superuser)).toEqual([]);
    const owner = logins.find((l: { name: string }) => l.name.startsWith('kiln_owner_'));
    expect(owner).toBeDefined();
    const setting = await rawSql(
      `SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s
         JOIN pg_catalog.pg_roles r ON r.oid = s.setrole WHERE r.rolname = $1`,
      [owner.name],
    );
    expect(setting.rows[0].setconfig).toContain('search_path=pg_catalog, pg_temp');
  });
});
