/**
 * The advisor, rule by rule: create the problem, see the finding (with why and the fix's SQL),
 * apply the one-click fix through POST /api/database/advisor/fix, see it gone.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

interface Finding {
  id: string;
  rule: string;
  kind: string;
  severity: string;
  category: string;
  title: string;
  why: string;
  fixSql: string | null;
  transactional?: boolean;
  message: string;
  remediation: string;
  object: { type: string; schema: string; name: string; table?: string };
}

const admin = (method: string, path: string, body?: unknown) =>
  t.request(method, `/api/database${path}`, { token: t.apiKey, body });

async function run(query: string, unrestricted = true) {
  const res = await admin('POST', `/advance/rawsql${unrestricted ? '/unrestricted' : ''}`, {
    query,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function findings(): Promise<Finding[]> {
  const res = await admin('GET', '/advisor');
  expect(res.status, JSON.stringify(res.body).slice(0, 1000)).toBe(200);
  return res.body.data;
}

async function finding(id: string): Promise<Finding | undefined> {
  return (await findings()).find((f) => f.id === id);
}

/** Sees the finding, applies its fix by id, sees it gone; answers the finding. */
async function fixes(id: string, sql: RegExp): Promise<Finding> {
  const seen = await finding(id);
  expect(seen, `${id} among ${(await findings()).map((f) => f.id).join(', ')}`).toBeDefined();
  expect(seen!.why.length).toBeGreaterThan(20);
  expect(seen!.fixSql).toMatch(sql);
  const fixed = await admin('POST', '/advisor/fix', { id });
  expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
  expect(fixed.body).toMatchObject({ id, fixed: true, fixSql: seen!.fixSql });
  expect(await finding(id)).toBeUndefined();
  return seen!;
}

describe('advisor rules, each found and fixed', () => {
  it('rls_disabled: an exposed table without row-level security', async () => {
    await run('CREATE TABLE adv_open (id int PRIMARY KEY, note text)', false);
    const f = await fixes('rls_disabled:public.adv_open', /ENABLE ROW LEVEL SECURITY/);
    expect(f).toMatchObject({ severity: 'critical', category: 'security', kind: 'rls_disabled' });
    // Closed now, and says so: no policy yet.
    expect(await finding('rls_no_policy:public.adv_open')).toBeDefined();
  });

  it('rls_no_policy: row-level security on, no policy (a decision, so no automatic fix)', async () => {
    await run(
      'CREATE TABLE adv_closed (id int PRIMARY KEY); ALTER TABLE adv_closed ENABLE ROW LEVEL SECURITY',
    );
    const f = await finding('rls_no_policy:public.adv_closed');
    expect(f).toMatchObject({ severity: 'info', fixSql: null });
    const refused = await admin('POST', '/advisor/fix', { id: f!.id });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('DATABASE_VALIDATION_ERROR');
    await run('CREATE POLICY everyone_reads ON adv_closed FOR SELECT USING (true)');
    expect(await finding(f!.id)).toBeUndefined();
  });

  it('view_bypasses_rls: a view running with its owner’s rights', async () => {
    await run('CREATE VIEW adv_view AS SELECT id FROM adv_closed', false);
    await fixes('view_bypasses_rls:public.adv_view', /security_invoker = true/);
    const anon = await t.request('GET', '/api/database/records/adv_view', { token: t.anonKey });
    expect(anon.status).toBe(200);
  });

  it('materialized_view_exposed: a materialized view API roles may read', async () => {
    await run('CREATE MATERIALIZED VIEW adv_mat AS SELECT 1 AS one', false);
    await fixes('materialized_view_exposed:public.adv_mat', /^REVOKE ALL ON "public"."adv_mat"/);
  });

  it('function_bypasses_rls and function_search_path_mutable: SECURITY DEFINER functions', async () => {
    await run(`CREATE FUNCTION adv_definer(n int) RETURNS int LANGUAGE sql SECURITY DEFINER
                 AS 'SELECT n'`);
    await fixes('function_search_path_mutable:public.adv_definer(n integer)', /SET search_path/);
    await fixes('function_bypasses_rls:public.adv_definer(n integer)', /REVOKE EXECUTE/);
    const rpc = await t.request('POST', '/api/database/rpc/adv_definer', {
      token: t.anonKey,
      body: { n: 1 },
    });
    // Revoked from the API roles: the anon key is refused as PostgREST refuses it (401, 42501).
    expect(rpc.status).toBe(401);
    expect(rpc.body).toMatchObject({ code: '42501' });
  });

  it('extension_in_exposed_schema: an extension installed in public', async () => {
    await run('CREATE EXTENSION citext SCHEMA public');
    const id = 'extension_in_exposed_schema:public.citext';
    const f = await finding(id);
    expect(f).toMatchObject({ severity: 'warning', object: { type: 'extension', name: 'citext' } });
    // Kiln's owner role is no superuser here: a trusted extension's objects are the bootstrap
    // superuser's, so no one-click move is offered, only the SQL to run.
    expect(f!.fixSql).toBeNull();
    expect(f!.remediation).toMatch(/SET SCHEMA extensions/);
    await run('DROP EXTENSION citext');
    expect(await finding(id)).toBeUndefined();
  });

  it('anon_can_write: a policy and a grant let the anon key write', async () => {
    await run(`CREATE TABLE adv_guestbook (id int PRIMARY KEY, note text);
               ALTER TABLE adv_guestbook ENABLE ROW LEVEL SECURITY;
               GRANT SELECT, INSERT ON adv_guestbook TO anon;
               CREATE POLICY anyone_signs ON adv_guestbook FOR INSERT WITH CHECK (true);
               CREATE POLICY anyone_reads ON adv_guestbook FOR SELECT USING (true);`);
    const before = await t.request('POST', '/api/database/records/adv_guestbook', {
      token: t.anonKey,
      body: [{ id: 1, note: 'hi' }],
    });
    expect(before.status).toBe(201);
    const f = await fixes(
      'anon_can_write:public.adv_guestbook',
      /^REVOKE INSERT ON .* FROM anon;$/,
    );
    expect(f.severity).toBe('warning');
    const after = await t.request('POST', '/api/database/records/adv_guestbook', {
      token: t.anonKey,
      body: [{ id: 2, note: 'hi' }],
    });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('42501');
  });

  it('policy_per_row_auth_call and policy_column_unindexed: an owner policy', async () => {
    await run(`CREATE TABLE adv_notes (id int PRIMARY KEY, owner uuid, body text);
               ALTER TABLE adv_notes ENABLE ROW LEVEL SECURITY;
               CREATE POLICY own_notes ON adv_notes FOR ALL TO authenticated
                 USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());`);
    const perRow = await fixes(
      'policy_per_row_auth_call:public.adv_notes.own_notes',
      /USING \(\(owner = \( SELECT auth\.uid\(\)\)\)\) WITH CHECK/,
    );
    expect(perRow.category).toBe('performance');
    // The policy still does its job after the rewrite.
    const user = await t.signUpUser();
    const mine = await t.request('POST', '/api/database/records/adv_notes', {
      token: user.accessToken,
      body: [{ id: 1, owner: user.userId, body: 'mine' }],
    });
    expect(mine.status).toBe(201);
    const theirs = await t.request('POST', '/api/database/records/adv_notes', {
      token: user.accessToken,
      body: [{ id: 2, owner: '00000000-0000-0000-0000-000000000000', body: 'not mine' }],
    });
    expect(theirs.status).toBe(403);

    await fixes('policy_column_unindexed:public.adv_notes.owner', /CREATE INDEX ON .*\("owner"\)/);
  });

  it('foreign_key_unindexed: a foreign key no index leads with', async () => {
    await run(`CREATE TABLE adv_authors (id int PRIMARY KEY);
               CREATE TABLE adv_books (id int PRIMARY KEY, author_id int REFERENCES adv_authors);
               CREATE TABLE adv_covered (id int PRIMARY KEY, author_id int REFERENCES adv_authors);
               CREATE INDEX ON adv_covered (author_id, id);`);
    expect(
      await finding('foreign_key_unindexed:public.adv_covered.adv_covered_author_id_fkey'),
    ).toBeUndefined();
    await fixes(
      'foreign_key_unindexed:public.adv_books.adv_books_author_id_fkey',
      /CREATE INDEX ON "public"."adv_books" \("author_id"\)/,
    );
  });

  it('unused_index: an index a much-read table never uses', async () => {
    await run(`CREATE TABLE adv_busy (id int PRIMARY KEY, tag text);
               CREATE INDEX adv_busy_tag ON adv_busy (tag);
               INSERT INTO adv_busy SELECT g, 't' || g FROM generate_series(1, 10) g;`);
    // Not yet read: no finding (a new index is not "unused" yet).
    expect(await finding('unused_index:public.adv_busy_tag')).toBeUndefined();
    await run(`DO $$ BEGIN FOR i IN 1..120 LOOP PERFORM count(*) FROM adv_busy; END LOOP; END $$;
               SELECT pg_stat_force_next_flush();`);
    await fixes('unused_index:public.adv_busy_tag', /^DROP INDEX "public"."adv_busy_tag";$/);
  });

  it('duplicate_index: two identical indexes', async () => {
    await run(`CREATE TABLE adv_dup (id int PRIMARY KEY, a int, b int);
               CREATE INDEX adv_dup_1 ON adv_dup (a, b);
               CREATE INDEX adv_dup_2 ON adv_dup (a, b);
               CREATE INDEX adv_dup_other ON adv_dup (b, a);
               CREATE UNIQUE INDEX adv_dup_pk_twin ON adv_dup (id);`);
    // The unique twin of the primary key is the duplicate, never the key itself.
    await fixes('duplicate_index:public.adv_dup_pk_twin', /DROP INDEX "public"."adv_dup_pk_twin"/);
    await fixes('duplicate_index:public.adv_dup_2', /DROP INDEX "public"."adv_dup_2"/);
    const left = (await findings()).filter((f) => f.rule === 'duplicate_index');
    expect(left.map((f) => f.object.name)).not.toContain('adv_dup_1');
  });

  it('no_primary_key: an exposed table rows cannot be addressed in', async () => {
    await run(
      `CREATE TABLE adv_nokey (note text); ALTER TABLE adv_nokey ENABLE ROW LEVEL SECURITY;
       INSERT INTO adv_nokey VALUES ('a'), ('b');`,
    );
    await fixes('no_primary_key:public.adv_nokey', /PRIMARY KEY/);
    const cols = await admin('GET', '/tables/adv_nokey/schema');
    expect(cols.status).toBe(200);
  });

  it('table_never_analyzed: a written table without statistics', async () => {
    await run(`CREATE TABLE adv_fresh (id int PRIMARY KEY);
               ALTER TABLE adv_fresh SET (autovacuum_enabled = false);
               INSERT INTO adv_fresh SELECT generate_series(1, 1500);
               SELECT pg_stat_force_next_flush();`);
    await fixes('table_never_analyzed:public.adv_fresh', /^ANALYZE "public"."adv_fresh";$/);
  });

  it('auth_users_exposed: a view over auth.users API roles may read', async () => {
    const user = await t.signUpUser();
    await run(`CREATE VIEW adv_people AS SELECT id, email FROM auth.users;
               GRANT SELECT ON adv_people TO anon, authenticated;`);
    const leak = await t.request('GET', '/api/database/records/adv_people', { token: t.anonKey });
    expect(leak.body).toEqual(expect.arrayContaining([{ id: user.userId, email: user.email }]));
    const f = await fixes(
      'auth_users_exposed:public.adv_people',
      /^REVOKE ALL ON "public"."adv_people"/,
    );
    expect(f.severity).toBe('critical');
    const closed = await t.request('GET', '/api/database/records/adv_people', { token: t.anonKey });
    expect(closed.status).toBe(401);
  });

  it('policy_allows_any_write: a write policy that checks nothing (a decision: no automatic fix)', async () => {
    await run(`CREATE TABLE adv_wiki (id int PRIMARY KEY, body text);
               ALTER TABLE adv_wiki ENABLE ROW LEVEL SECURITY;
               CREATE POLICY anyone_reads ON adv_wiki FOR SELECT USING (true);
               CREATE POLICY anyone_edits ON adv_wiki FOR UPDATE TO authenticated USING (true);
               CREATE POLICY owner_inserts ON adv_wiki FOR INSERT TO authenticated
                 WITH CHECK (id > 0);`);
    const id = 'policy_allows_any_write:public.adv_wiki.anyone_edits';
    const f = await finding(id);
    expect(f).toMatchObject({ severity: 'warning', fixSql: null, category: 'security' });
    // Reads that check nothing ("public read") and writes that check something are no finding.
    expect(await finding('policy_allows_any_write:public.adv_wiki.anyone_reads')).toBeUndefined();
    expect(await finding('policy_allows_any_write:public.adv_wiki.owner_inserts')).toBeUndefined();
    await run('ALTER POLICY anyone_edits ON adv_wiki USING (id < 100)');
    expect(await finding(id)).toBeUndefined();
  });

  it('sequence_near_exhaustion: a sequence close to its maximum (a decision: no automatic fix)', async () => {
    await run(`CREATE SEQUENCE adv_seq MAXVALUE 100; SELECT setval('adv_seq', 95);`);
    const f = await finding('sequence_near_exhaustion:public.adv_seq');
    expect(f).toMatchObject({ severity: 'critical', fixSql: null, category: 'health' });
    await run('ALTER SEQUENCE adv_seq MAXVALUE 1000000');
    expect(await finding('sequence_near_exhaustion:public.adv_seq')).toBeUndefined();
  });
});

/**
 * A client of the project's database of its own (not Kiln's pools), as an app or a script
 * connects: a login role of the project's, whose privileges Kiln's owner role has (as it has
 * those of the roles it creates).
 */
async function projectClient(): Promise<pg.Client> {
  const role = `adv_app_${Math.random().toString(36).slice(2, 10)}`;
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const owner = await admin('POST', '/advance/rawsql/unrestricted', {
    query: 'SELECT current_user AS me',
  });
  expect(owner.status).toBe(200);
  const kiln = owner.body.rows[0].me as string;
  const superuser = new pg.Client({ connectionString: pgUrl(t.database) });
  await superuser.connect();
  try {
    await superuser.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}';
                           GRANT ${role} TO ${superuser.escapeIdentifier(kiln)};`);
  } finally {
    await superuser.end();
  }
  const url = new URL(pgUrl(t.database));
  url.username = role;
  url.password = password;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  client.on('error', () => undefined);
  return client;
}

/** Findings of the runtime rules with thresholds small enough for a test. */
const quick = '?idleInTransactionSeconds=1&longRunningSeconds=1';
async function quickFinding(id: string, query = quick): Promise<Finding | undefined> {
  const res = await admin('GET', `/advisor${query}`);
  expect(res.status, JSON.stringify(res.body).slice(0, 1000)).toBe(200);
  return (res.body.data as Finding[]).find((f) => f.id === id);
}

describe('advisor rules: policies and runtime health', () => {
  it('policy_exists_rls_disabled: policies written for a table whose RLS is off', async () => {
    await run(`CREATE TABLE adv_unguarded (id int PRIMARY KEY, owner uuid);
               REVOKE ALL ON adv_unguarded FROM PUBLIC, anon, authenticated;
               CREATE POLICY own_rows ON adv_unguarded USING (owner = (SELECT auth.uid()));`);
    const f = await fixes(
      'policy_exists_rls_disabled:public.adv_unguarded',
      /^ALTER TABLE "public"."adv_unguarded" ENABLE ROW LEVEL SECURITY;$/,
    );
    expect(f).toMatchObject({
      severity: 'warning',
      category: 'security',
      object: { type: 'table', schema: 'public', name: 'adv_unguarded' },
    });
    expect(f.message).toContain('"own_rows"');
  });

  it('rls_disabled names the policies that are not in force (no second finding)', async () => {
    await run(`CREATE TABLE adv_halfway (id int PRIMARY KEY, owner uuid);
               GRANT SELECT ON adv_halfway TO anon;
               CREATE POLICY mine ON adv_halfway USING (owner = (SELECT auth.uid()));`);
    const f = await finding('rls_disabled:public.adv_halfway');
    expect(f!.message).toMatch(/policies \("mine"\) are not in force/);
    expect(await finding('policy_exists_rls_disabled:public.adv_halfway')).toBeUndefined();
    await fixes('rls_disabled:public.adv_halfway', /ENABLE ROW LEVEL SECURITY/);
  });

  it('multiple_permissive_policies: two permissive policies for one role and command (a decision)', async () => {
    await run(`CREATE TABLE adv_overlap (id int PRIMARY KEY, owner uuid, public boolean);
               ALTER TABLE adv_overlap ENABLE ROW LEVEL SECURITY;
               CREATE POLICY own_rows ON adv_overlap FOR ALL TO authenticated
                 USING (owner = (SELECT auth.uid()));
               CREATE POLICY public_rows ON adv_overlap FOR SELECT USING (public);
               CREATE POLICY narrow ON adv_overlap AS RESTRICTIVE FOR SELECT TO authenticated
                 USING (id > 0);`);
    const id = 'multiple_permissive_policies:public.adv_overlap';
    const f = await finding(id);
    expect(f).toMatchObject({
      severity: 'warning',
      category: 'performance',
      fixSql: null,
      object: { type: 'table', name: 'adv_overlap' },
    });
    // authenticated SELECT has own_rows (FOR ALL) and public_rows (PUBLIC); the restrictive
    // policy and anon's single policy are no overlap.
    expect(f!.message).toContain('authenticated SELECT ("own_rows", "public_rows")');
    expect(f!.message).not.toContain('anon');
    expect(f!.message).not.toContain('narrow');
    const refused = await admin('POST', '/advisor/fix', { id });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/Merge the policies/);
    await run(`DROP POLICY public_rows ON adv_overlap;
               CREATE POLICY public_rows ON adv_overlap FOR SELECT TO anon USING (public);`);
    expect(await finding(id)).toBeUndefined();
  });

  it('table_bloat_dead_tuples: dead rows vacuum has not reclaimed (VACUUM, outside a transaction)', async () => {
    await run(`CREATE TABLE adv_churn (id int PRIMARY KEY, n int);
               ALTER TABLE adv_churn SET (autovacuum_enabled = false);
               INSERT INTO adv_churn SELECT g, 0 FROM generate_series(1, 3000) g;
               UPDATE adv_churn SET n = n + 1;
               SELECT pg_stat_force_next_flush();`);
    const id = 'table_bloat_dead_tuples:public.adv_churn';
    const seen = await finding(id);
    expect(seen).toMatchObject({
      severity: 'info',
      category: 'health',
      transactional: false,
      object: { type: 'table', schema: 'public', name: 'adv_churn' },
    });
    expect(seen!.message).toContain('3000 dead row versions (50%');
    // The fix runs on its own (VACUUM refuses a transaction block) and reclaims them; its own
    // statistics reach the view when that session reports them, so wait for that.
    const fixed = await admin('POST', '/advisor/fix', { id });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
    expect(fixed.body).toMatchObject({ id, fixSql: 'VACUUM (ANALYZE) "public"."adv_churn";' });
    await expect.poll(() => finding(id), { timeout: 20_000, interval: 100 }).toBeUndefined();
  });

  it('idle_in_transaction_sessions: a client that BEGINs and idles; the fix ends it, never Kiln’s own', async () => {
    const client = await projectClient();
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    try {
      await client.query('BEGIN');
      await client.query('SELECT 1');
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = rows[0]!.pid;
      const id = 'idle_in_transaction_sessions:pg_catalog.pg_stat_activity';
      // Not with the default threshold (five minutes)…
      expect(await finding(id)).toBeUndefined();
      // …and with one second, once a second has passed.
      await expect.poll(() => quickFinding(id), { timeout: 20_000, interval: 200 }).toBeDefined();
      const f = (await quickFinding(id))!;
      expect(f).toMatchObject({
        rule: 'idle_in_transaction_sessions',
        severity: 'warning',
        category: 'health',
        object: { type: 'database', schema: 'pg_catalog', name: 'pg_stat_activity' },
      });
      expect(f.message).toContain(`pid ${pid} `);
      expect(f.why.length).toBeGreaterThan(20);
      // Only that session: Kiln's own pools are never listed nor signalled.
      expect(f.fixSql).toBe(
        `SELECT pg_catalog.pg_terminate_backend(pid, 5000) FROM unnest(ARRAY[${pid}]::int[]) AS pid;`,
      );
      const fixed = await admin('POST', '/advisor/fix', { id, idleInTransactionSeconds: 1 });
      expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
      expect(fixed.body).toMatchObject({ id, fixed: true });
      await ended;
      expect(await quickFinding(id)).toBeUndefined();
      // Kiln still answers: its own connections were left alone.
      expect((await admin('GET', '/advisor')).status).toBe(200);
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  it('long_running_queries: a statement past the threshold; the fix cancels it', async () => {
    const client = await projectClient();
    try {
      const sleeping = client.query('SELECT pg_sleep(60)').then(
        () => 'finished',
        (err: { code?: string }) => err.code,
      );
      const id = 'long_running_queries:pg_catalog.pg_stat_activity';
      expect(await finding(id)).toBeUndefined();
      await expect.poll(() => quickFinding(id), { timeout: 20_000, interval: 200 }).toBeDefined();
      const f = (await quickFinding(id))!;
      expect(f).toMatchObject({ severity: 'warning', category: 'performance' });
      expect(f.message).toContain('SELECT pg_sleep(60)');
      expect(f.fixSql).toMatch(/^SELECT pg_catalog\.pg_cancel_backend\(pid\) FROM unnest/);
      const fixed = await admin('POST', '/advisor/fix', { id, longRunningSeconds: 1 });
      expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
      // Cancelled (57014), and the session is still usable.
      expect(await sleeping).toBe('57014');
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      await expect.poll(() => quickFinding(id), { timeout: 20_000, interval: 100 }).toBeUndefined();
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  it('table_statistics_stale: a table much changed since its last analyze', async () => {
    await run(`CREATE TABLE adv_drift (id int PRIMARY KEY, n int);
               ALTER TABLE adv_drift SET (autovacuum_enabled = false);
               INSERT INTO adv_drift SELECT g, 0 FROM generate_series(1, 2000) g;
               ANALYZE adv_drift;
               UPDATE adv_drift SET n = 1 WHERE id <= 1500;
               SELECT pg_stat_force_next_flush();`);
    // Analyzed once: not "never analyzed", but stale (most rows changed since).
    expect(await finding('table_never_analyzed:public.adv_drift')).toBeUndefined();
    const f = await fixes(
      'table_statistics_stale:public.adv_drift',
      /^ANALYZE "public"."adv_drift";$/,
    );
    expect(f).toMatchObject({ severity: 'info', category: 'health' });
    expect(f.message).toMatch(/has had \d+ rows changed since it was last analyzed/);
  });

  it('auth settings: short passwords (fixed through the advisor), unverified addresses and http redirects (decisions)', async () => {
    const config = () => t.request('GET', '/api/auth/config', { token: t.apiKey });
    const put = async (body: unknown) => {
      const res = await t.request('PUT', '/api/auth/config', { token: t.apiKey, body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    expect((await config()).body.passwordMinLength).toBeLessThan(8);
    const short = await fixes(
      'auth_password_min_length:auth.config.passwordMinLength',
      /^UPDATE auth\.config SET password_min_length = 8;$/,
    );
    expect(short).toMatchObject({
      severity: 'warning',
      category: 'security',
      object: { type: 'setting', schema: 'auth', name: 'config.passwordMinLength' },
    });
    // The same change as PUT /api/auth/config: the auth API enforces it at once.
    expect((await config()).body.passwordMinLength).toBe(8);
    const weak = await t.request('POST', '/api/auth/users', {
      body: { email: `adv-${Date.now()}@example.com`, password: 'abc1234' },
    });
    expect(weak.status).toBe(400);

    const verify = 'auth_email_verification_off:auth.config.requireEmailVerification';
    const v = await finding(verify);
    expect(v).toMatchObject({ severity: 'info', fixSql: null });
    expect(v!.remediation).toContain('"requireEmailVerification": true');
    await put({ requireEmailVerification: true });
    expect(await finding(verify)).toBeUndefined();
    await put({ requireEmailVerification: false });

    const redirects = 'auth_redirect_url_insecure:auth.config.allowedRedirectUrls';
    await put({
      allowedRedirectUrls: [
        'http://app.example.com/callback',
        'http://localhost:3000/*',
        'https://app.example.com/*',
      ],
    });
    const r = await finding(redirects);
    expect(r).toMatchObject({ severity: 'warning', fixSql: null });
    expect(r!.message).toContain('http://app.example.com/callback');
    expect(r!.message).not.toContain('localhost');
    expect(r!.remediation).toContain('"https://app.example.com/callback"');
    await put({ allowedRedirectUrls: ['http://localhost:3000/*', 'https://app.example.com/*'] });
    expect(await finding(redirects)).toBeUndefined();
  });

  it('sessions_blocked_by_locks: a session waits for a lock another holds; the fix ends the holder', async () => {
    const holder = await projectClient();
    const waiter = await projectClient();
    try {
      await run(`CREATE TABLE adv_locked (id int PRIMARY KEY);
                 GRANT USAGE ON SCHEMA public TO ${holder.user}, ${waiter.user};
                 GRANT ALL ON adv_locked TO ${holder.user}, ${waiter.user};`);
      const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const holderPid = rows[0]!.pid;
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE public.adv_locked IN ACCESS EXCLUSIVE MODE');
      const read = waiter.query('SELECT count(*)::int AS n FROM public.adv_locked');
      const id = 'sessions_blocked_by_locks:pg_catalog.pg_stat_activity';
      expect(await finding(id)).toBeUndefined();
      await expect
        .poll(() => quickFinding(id, '?lockWaitSeconds=1'), { timeout: 20_000, interval: 200 })
        .toBeDefined();
      const f = (await quickFinding(id, '?lockWaitSeconds=1'))!;
      expect(f).toMatchObject({ severity: 'warning', category: 'health' });
      expect(f.message).toMatch(
        new RegExp(
          `blocked by pid ${holderPid} \\(${holder.user}, idle in transaction: LOCK TABLE`,
        ),
      );
      expect(f.fixSql).toBe(
        `SELECT pg_catalog.pg_terminate_backend(pid, 5000) FROM unnest(ARRAY[${holderPid}]::int[]) AS pid;`,
      );
      const fixed = await admin('POST', '/advisor/fix', { id, lockWaitSeconds: 1 });
      expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
      // The holder is gone, so the waiter gets its answer.
      expect((await read).rows[0]).toEqual({ n: 0 });
      await expect
        .poll(() => quickFinding(id, '?lockWaitSeconds=1'), { timeout: 20_000, interval: 100 })
        .toBeUndefined();
    } finally {
      await holder.end().catch(() => undefined);
      await waiter.end().catch(() => undefined);
    }
  });

  it('connections_near_limit and low_cache_hit_ratio: thresholds per request, no automatic fix', async () => {
    const conn = 'connections_near_limit:pg_catalog.pg_stat_activity';
    expect(await finding(conn)).toBeUndefined();
    // One connection in a hundred is already 1%: with the threshold at 1% it is a finding.
    const c = await quickFinding(conn, '?connectionsUsedPercent=1');
    expect(c).toMatchObject({ severity: 'warning', category: 'health', fixSql: null });
    expect(c!.message).toMatch(/^\d+ client connections are open of \d+ available/);
    const refused = await admin('POST', '/advisor/fix', { id: conn, connectionsUsedPercent: 1 });
    expect(refused.status).toBe(400);

    // A fresh database read its catalog from disk once, so its hit ratio is below 100%; with
    // enough blocks read (10,000) to mean something, a 100% threshold finds it.
    const cache = 'low_cache_hit_ratio:pg_catalog.pg_stat_database';
    expect(await finding(cache)).toBeUndefined();
    await run(`CREATE TABLE adv_scan AS SELECT g FROM generate_series(1, 100000) g;
               DO $$ BEGIN FOR i IN 1..30 LOOP PERFORM count(*) FROM adv_scan; END LOOP; END $$;
               SELECT pg_stat_force_next_flush();`);
    const low = await quickFinding(cache, '?cacheHitPercent=100');
    expect(low).toMatchObject({
      severity: expect.stringMatching(/^(warning|critical)$/),
      category: 'performance',
      fixSql: null,
      object: { type: 'database', name: 'pg_stat_database' },
    });
    expect(low!.message).toMatch(
      /% of the \d+ blocks this database read came from the buffer cache/,
    );
    expect((await admin('GET', '/advisor?cacheHitPercent=101')).status).toBe(400);
  });
});

describe('advisor fix endpoint', () => {
  it('answers an unknown id with 404, bad input with 400, and is admin only', async () => {
    const unknown = await admin('POST', '/advisor/fix', { id: 'rls_disabled:public.nothing' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('DATABASE_NOT_FOUND');
    expect((await admin('POST', '/advisor/fix', {})).status).toBe(400);
    const user = await t.signUpUser();
    const refused = await t.request('POST', '/api/database/advisor/fix', {
      token: user.accessToken,
      body: { id: 'x' },
    });
    expect(refused.status).toBe(403);
  });

  it('every finding has a stable id, a title, why, an object and a category', async () => {
    const first = await findings();
    const again = await findings();
    expect(again.map((f) => f.id)).toEqual(first.map((f) => f.id));
    expect(new Set(first.map((f) => f.id)).size).toBe(first.length);
    for (const f of first) {
      expect(f.id.startsWith(`${f.rule}:`)).toBe(true);
      expect(f.title).toBeTruthy();
      expect(['security', 'performance', 'health']).toContain(f.category);
    }
  });
});
