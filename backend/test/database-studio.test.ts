import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_EMAIL,
  describeScenarios,
  startTestApp,
  type Scenario,
  type TestApp,
} from './helpers.js';

let t: TestApp;
let adminJwt: string;
beforeAll(async () => {
  t = await startTestApp();
  adminJwt = await t.adminToken();
});
afterAll(async () => {
  await t?.stop();
});

const admin = (method: string, path: string, body?: unknown, token?: string) =>
  t.request(method, `/api/database${path}`, { token: token ?? t.apiKey, body });

describe('SQL editor: snippets', () => {
  it('saves, lists, finds, changes and deletes snippets, remembering which admin', async () => {
    const created = await admin(
      'POST',
      '/sql/snippets',
      { name: 'Top users', sql: 'select 1', folder: 'reports', description: 'the best' },
      adminJwt,
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Top users',
      sql: 'select 1',
      folder: 'reports',
      description: 'the best',
      createdBy: ADMIN_EMAIL,
      updatedBy: ADMIN_EMAIL,
    });
    const other = await admin('POST', '/sql/snippets', { name: 'Scratch', sql: 'select 2' });
    expect(other.status).toBe(201);
    expect(other.body.folder).toBeNull();

    const all = await admin('GET', '/sql/snippets');
    expect(all.body.pagination.total).toBe(2);
    const inFolder = await admin('GET', '/sql/snippets?folder=reports');
    expect(inFolder.body.data.map((s: { name: string }) => s.name)).toEqual(['Top users']);
    const found = await admin('GET', '/sql/snippets?search=SELECT%202');
    expect(found.body.data.map((s: { name: string }) => s.name)).toEqual(['Scratch']);
    // `%` is taken literally, not as a wildcard.
    expect((await admin('GET', '/sql/snippets?search=%25')).body.data).toEqual([]);

    const changed = await admin('PATCH', `/sql/snippets/${created.body.id}`, {
      sql: 'select 42',
      folder: null,
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ name: 'Top users', sql: 'select 42', folder: null });
    expect(Date.parse(changed.body.updatedAt)).toBeGreaterThanOrEqual(
      Date.parse(created.body.updatedAt),
    );
    expect((await admin('GET', `/sql/snippets/${created.body.id}`)).body.sql).toBe('select 42');

    expect((await admin('DELETE', `/sql/snippets/${created.body.id}`)).status).toBe(200);
    const gone = await admin('GET', `/sql/snippets/${created.body.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error).toBe('DATABASE_NOT_FOUND');
  });

  const snippets = (
    as: Scenario['as'],
    method: Scenario['method'],
    path: string,
    body: object | undefined,
    status: number,
    error: string,
  ): Scenario => ({
    name: `${typeof as === 'string' ? as : 'a token'} ${method} ${path} ${JSON.stringify(body) ?? ''}`,
    as,
    method,
    path: `/api/database${path}`,
    ...(body ? { body } : {}),
    status,
    error,
  });
  describeScenarios('answers bad input with 400 and is admin only', () => t, [
    snippets('apiKey', 'POST', '/sql/snippets', { name: '', sql: 'x' }, 400, 'INVALID_INPUT'),
    snippets(
      'apiKey',
      'POST',
      '/sql/snippets',
      { name: 'a', sql: 'x', x: 1 },
      400,
      'INVALID_INPUT',
    ),
    snippets('apiKey', 'PATCH', '/sql/snippets/not-a-uuid', { name: 'b' }, 400, 'INVALID_INPUT'),
    snippets('anon', 'GET', '/sql/snippets', undefined, 403, 'AUTH_FORBIDDEN'),
    snippets('user', 'GET', '/sql/snippets', undefined, 403, 'AUTH_FORBIDDEN'),
    snippets('user', 'POST', '/sql/snippets', { name: 'a', sql: 'x' }, 403, 'AUTH_FORBIDDEN'),
    snippets('user', 'GET', '/sql/history', undefined, 403, 'AUTH_FORBIDDEN'),
    snippets('none', 'GET', '/sql/history', undefined, 401, 'AUTH_INVALID_CREDENTIALS'),
  ]);
});

describe('SQL editor: runs', () => {
  it('marks the failing position, with hint and detail, and records every run in the history', async () => {
    await admin('DELETE', '/sql/history');
    const ok = await admin('POST', '/advance/rawsql', {
      query: 'create table studio_t (id int); insert into studio_t select generate_series(1, 3)',
    });
    expect(ok.status).toBe(200);
    expect(ok.body.durationMs).toBeGreaterThanOrEqual(0);
    expect(ok.body.statements.map((s: { rowCount: number | null }) => s.rowCount)).toEqual([
      null,
      3,
    ]);

    const query = 'select 1;\nselect nope from studio_t';
    const bad = await admin('POST', '/advance/rawsql', { query });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('DATABASE_VALIDATION_ERROR');
    expect(bad.body.position).toBe(query.indexOf('nope') + 1);

    const hinted = await admin('POST', '/advance/rawsql', {
      query: 'select * from studio_t t1 where studio_t.id = 1',
    });
    // PostgreSQL's 42P01 for a FROM-clause entry the alias hides: a mistake in the query (400),
    // not a table that does not exist.
    expect(hinted.status).toBe(400);
    expect(hinted.body.error).toBe('DATABASE_VALIDATION_ERROR');
    expect(hinted.body.sqlState).toBe('42P01');
    expect(hinted.body.hint ?? hinted.body.detail).toBeTruthy();

    const history = await admin('GET', '/sql/history');
    expect(history.status).toBe(200);
    expect(history.body.pagination.total).toBe(3);
    const [last, middle, first] = history.body.data;
    expect(first).toMatchObject({ status: 'success', rowCount: 3, mode: 'restricted' });
    expect(middle).toMatchObject({
      status: 'error',
      sql: query,
      errorCode: 'DATABASE_VALIDATION_ERROR',
      errorPosition: query.indexOf('nope') + 1,
    });
    expect(last.status).toBe('error');
    const errors = await admin('GET', '/sql/history?status=error&limit=1');
    expect(errors.body.data).toHaveLength(1);
    expect(errors.body.pagination.total).toBe(2);

    const cleared = await admin('DELETE', '/sql/history');
    expect(cleared.body.deletedCount).toBe(3);
    expect((await admin('GET', '/sql/history')).body.data).toEqual([]);
  });

  it('caps what a big result sends, with a truncated flag', async () => {
    const big = await admin('POST', '/advance/rawsql', {
      query: 'select g from generate_series(1, 25000) g',
    });
    expect(big.status).toBe(200);
    expect(big.body.rows).toHaveLength(10_000);
    expect(big.body.rowCount).toBe(25_000);
    expect(big.body.statements[0].truncated).toBe(true);
    expect(big.body.statements[0].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('times each statement and caps each result on its own', async () => {
    const res = await admin('POST', '/advance/rawsql', {
      query: 'select pg_sleep(1); select g from generate_series(1, 12000) g; select 1 as one',
    });
    expect(res.status).toBe(200);
    const [sleep, many, one] = res.body.statements;
    // A second's sleep: a stall of the loaded machine while `select 1` is timed stays below it.
    expect(sleep.durationMs).toBeGreaterThanOrEqual(990);
    expect(many).toMatchObject({ rowCount: 12_000, truncated: true });
    expect(many.rows).toHaveLength(10_000);
    expect(many.rows[9999]).toEqual({ g: 10_000 });
    expect(one).toMatchObject({ rows: [{ one: 1 }], rowCount: 1 });
    expect(one.truncated).toBeUndefined();
    expect(one.durationMs).toBeLessThan(sleep.durationMs);
    expect(res.body.durationMs).toBeGreaterThanOrEqual(sleep.durationMs - 1);
  });
});

describe('table list for the studio', () => {
  it('answers estimated rows, sizes, RLS and policies from the catalog, exposed schemas marked', async () => {
    const setup = await admin('POST', '/advance/rawsql/unrestricted', {
      query: `CREATE TABLE stats_big (id int PRIMARY KEY, note text);
              INSERT INTO stats_big SELECT g, 'n' || g FROM generate_series(1, 20000) g;
              ANALYZE stats_big;
              DELETE FROM stats_big WHERE id > 15000;
              CREATE TABLE stats_fresh (id int);
              ALTER TABLE stats_fresh SET (autovacuum_enabled = false);
              ALTER TABLE stats_big ENABLE ROW LEVEL SECURITY;
              ALTER TABLE stats_big FORCE ROW LEVEL SECURITY;
              CREATE POLICY a ON stats_big FOR SELECT USING (true);
              CREATE POLICY b ON stats_big FOR INSERT WITH CHECK (true);
              CREATE VIEW stats_view AS SELECT 1 AS one;
              CREATE SCHEMA stats_private;
              CREATE TABLE stats_private.hidden (id int);
              CREATE TABLE stats_parted (id int, at date) PARTITION BY RANGE (at);
              CREATE TABLE stats_parted_2026 PARTITION OF stats_parted
                FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
              INSERT INTO stats_parted SELECT g, '2026-03-01' FROM generate_series(1, 300) g;
              ANALYZE stats_parted_2026;`,
    });
    expect(setup.status, JSON.stringify(setup.body)).toBe(200);
    const res = await admin('GET', '/tables/stats');
    expect(res.status).toBe(200);
    expect(res.body.exposedSchemas).toContain('public');
    const by = (schema: string, name: string) =>
      res.body.data.find(
        (t: { schemaName: string; tableName: string }) =>
          t.schemaName === schema && t.tableName === name,
      );
    // The planner's figure (as of the ANALYZE), not a count: the 5000 deleted rows still count.
    expect(by('public', 'stats_big')).toMatchObject({
      kind: 'table',
      estimatedRows: 20000,
      rlsEnabled: true,
      rlsForced: true,
      policyCount: 2,
      exposed: true,
      hasPrimaryKey: true,
    });
    expect(by('public', 'stats_big').totalBytes).toBeGreaterThan(
      by('public', 'stats_big').tableBytes,
    );
    expect(by('public', 'stats_big').indexBytes).toBeGreaterThan(0);
    expect(by('public', 'stats_big').lastAnalyzedAt).not.toBeNull();
    // Never analyzed and empty: unknown, not -1.
    expect(by('public', 'stats_fresh')).toMatchObject({ estimatedRows: null, rlsEnabled: false });
    expect(by('public', 'stats_view')).toMatchObject({ kind: 'view', estimatedRows: null });
    expect(by('stats_private', 'hidden')).toMatchObject({ exposed: false });
    // A partitioned table: its partitions' figures summed; the partition is not listed apart.
    expect(by('public', 'stats_parted')).toMatchObject({
      kind: 'partitioned_table',
      estimatedRows: 300,
    });
    expect(by('public', 'stats_parted_2026')).toBeUndefined();
    // Kiln's own schemas are not the project's tables.
    expect(res.body.data.some((t: { schemaName: string }) => t.schemaName === 'auth')).toBe(false);

    const one = await admin('GET', '/tables/stats?schema=stats_private');
    expect(one.body.data.map((t: { tableName: string }) => t.tableName)).toEqual(['hidden']);
    const refused = await admin('GET', '/tables/stats?schema=auth');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('DATABASE_VALIDATION_ERROR');
  });

  it('the records API gives admins an estimated count for a big table (Prefer: count=estimated)', async () => {
    const res = await t.request('GET', '/api/database/records/stats_big?limit=5', {
      token: t.apiKey,
      headers: { Prefer: 'count=estimated' },
    });
    expect(res.status).toBe(206);
    expect(res.body).toHaveLength(5);
    // 15000 rows are left; the estimate (above the exact-count threshold) is the planner's.
    const total = Number(res.headers.get('content-range')!.split('/')[1]);
    expect(total).toBeGreaterThan(15000);
    const exact = await t.request('GET', '/api/database/records/stats_big?limit=5', {
      token: t.apiKey,
      headers: { Prefer: 'count=exact' },
    });
    expect(exact.headers.get('content-range')).toBe('0-4/15000');
  });
});

describe('overview counts', () => {
  it('GET /api/metadata/overview counts users, tables, buckets, functions and channels', async () => {
    const before = await t.request('GET', '/api/metadata/overview', { token: t.apiKey });
    expect(before.status).toBe(200);
    expect(before.body.users).toEqual({ count: expect.any(Number), estimated: false });
    await t.signUpUser();
    await t.signUpUser();
    const bucket = await t.request('POST', '/api/storage/buckets', {
      token: t.apiKey,
      body: { bucketName: 'overview-bucket' },
    });
    expect(bucket.status).toBeLessThan(300);
    await admin('POST', '/advance/rawsql', {
      query:
        'CREATE TABLE overview_t (id int PRIMARY KEY); CREATE VIEW overview_v AS SELECT 1 AS one',
    });
    const after = await t.request('GET', '/api/metadata/overview', { token: t.apiKey });
    expect(after.body).toMatchObject({
      users: { count: before.body.users.count + 2, estimated: false },
      tables: before.body.tables + 1,
      views: before.body.views + 1,
      buckets: before.body.buckets + 1,
      functions: before.body.functions,
      channels: before.body.channels,
      exposedSchemas: ['public'],
    });
    expect(after.body.databaseSizeBytes).toBeGreaterThan(0);
    const refused = await t.request('GET', '/api/metadata/overview', { token: t.anonKey });
    expect(refused.status).toBe(403);
  });
});
