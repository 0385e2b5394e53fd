import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@insforge/sdk';
import {
  adminOnlyScenarios,
  describeScenarios,
  pgUrl,
  startTestApp,
  type Scenario,
  type TestApp,
} from './helpers.js';

let t: TestApp;
let sql: pg.Client;
beforeAll(async () => {
  t = await startTestApp();
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

const admin = (method: string, path: string, body?: unknown) =>
  t.request(method, `/api/database${path}`, { token: t.apiKey, body });

describe('tables', () => {
  it('creates a table with friendly types, auto fields, unique, defaults and a foreign key', async () => {
    const authors = await admin('POST', '/tables', {
      tableName: 'writers',
      columns: [
        { columnName: 'name', type: 'string', isNullable: false, isUnique: true },
        { columnName: 'born', type: 'date' },
        { columnName: 'score', type: 'float', defaultValue: '1.5' },
      ],
    });
    expect(authors.status).toBe(201);
    expect(authors.body).toMatchObject({
      schemaName: 'public',
      tableName: 'writers',
      autoFields: ['id', 'created_at', 'updated_at'],
    });
    const cols = Object.fromEntries(
      authors.body.columns.map((c: { columnName: string }) => [c.columnName, c]),
    );
    expect(cols.id).toMatchObject({
      type: 'uuid',
      isPrimaryKey: true,
      defaultValue: 'gen_random_uuid()',
    });
    expect(cols.name).toMatchObject({ type: 'text', isNullable: false, isUnique: true });
    expect(cols.score).toMatchObject({ type: 'double precision', defaultValue: '1.5' });

    const posts = await admin('POST', '/tables', {
      tableName: 'essays',
      rlsEnabled: true,
      columns: [
        { columnName: 'title', type: 'string', isNullable: false, defaultValue: "it's untitled" },
        { columnName: 'writer_id', type: 'uuid' },
        { columnName: 'meta', type: 'json', defaultValue: '{}' },
        { columnName: 'words', type: 'integer' },
        { columnName: 'tags', type: 'text[]' },
      ],
      foreignKeys: [
        {
          referenceTable: 'writers',
          referenceColumns: [{ sourceColumn: 'writer_id', referenceColumn: 'id' }],
          onDelete: 'CASCADE',
          onUpdate: 'NO ACTION',
        },
      ],
    });
    expect(posts.status).toBe(201);
    expect(posts.body.rlsEnabled).toBe(true);
    const schema = await admin('GET', '/tables/essays/schema');
    expect(schema.status).toBe(200);
    expect(schema.body).toMatchObject({ tableName: 'essays', rlsEnabled: true });
    expect(schema.body.foreignKeys).toEqual([
      expect.objectContaining({
        referenceTable: 'writers',
        referenceColumns: [{ sourceColumn: 'writer_id', referenceColumn: 'id' }],
        onDelete: 'CASCADE',
      }),
    ]);
    expect(schema.body.triggers.map((tr: { triggerName: string }) => tr.triggerName)).toContain(
      'essays_touch_updated_at',
    );
    expect(
      schema.body.columns.find((c: { columnName: string }) => c.columnName === 'title')
        .defaultValue,
    ).toBe("'it''s untitled'::text");

    const list = await admin('GET', '/tables');
    expect(list.body.map((x: { tableName: string }) => x.tableName)).toEqual(
      expect.arrayContaining(['writers', 'essays']),
    );
  });

  it('round trip: create → insert through @insforge/sdk → alter → the records API sees the new column at once', async () => {
    // Open on purpose (RLS is on unless turned off): anon writes it below.
    await admin('POST', '/tables', {
      tableName: 'gizmos',
      rlsEnabled: false,
      columns: [{ columnName: 'label', type: 'string' }],
    });
    const db = createClient({ baseUrl: t.baseUrl, anonKey: t.anonKey, retryCount: 0 }).database;
    const inserted = await db
      .from('gizmos')
      .insert({ label: 'first' })
      .select('id, label, created_at');
    expect(inserted.error).toBeNull();
    expect(inserted.data?.[0]).toMatchObject({ label: 'first' });

    const altered = await admin('PATCH', '/tables/gizmos/schema', {
      addColumns: [{ columnName: 'weight', type: 'integer', defaultValue: '7' }],
      updateColumns: [{ columnName: 'label', newColumnName: 'name', isNullable: false }],
      addIndexes: [{ columns: ['weight'] }],
    });
    expect(altered.status).toBe(200);
    expect(altered.body.operations).toEqual([
      'added column weight',
      'label refuses nulls',
      'renamed label to name',
      'added index on (weight)',
    ]);

    const read = await db.from('gizmos').select('name, weight');
    expect(read.error).toBeNull();
    expect(read.data).toEqual([{ name: 'first', weight: 7 }]);

    // updated_at moves on update (the trigger Kiln adds).
    const before = inserted.data![0]!.created_at as string;
    await new Promise((r) => setTimeout(r, 20));
    const updated = await db
      .from('gizmos')
      .update({ weight: 8 })
      .eq('name', 'first')
      .select('created_at, updated_at')
      .single();
    expect(updated.data!.created_at).toBe(before);
    expect(Date.parse(updated.data!.updated_at as string)).toBeGreaterThan(Date.parse(before));

    const renamed = await admin('PATCH', '/tables/gizmos/schema', {
      renameTable: { newTableName: 'widgets' },
      rlsEnabled: true,
    });
    expect(renamed.body).toMatchObject({
      tableName: 'widgets',
      operations: ['RLS enabled', 'renamed table to widgets'],
    });
    expect((await db.from('gizmos').select()).error?.code).toBe('PGRST205');
    // RLS on and no policy: anon sees nothing.
    expect((await db.from('widgets').select()).data).toEqual([]);
  });

  it('changes types, defaults, uniqueness and foreign keys', async () => {
    await admin('POST', '/tables', {
      tableName: 'shelves',
      columns: [
        { columnName: 'code', type: 'string' },
        { columnName: 'capacity', type: 'string' },
      ],
    });
    await sql.query(`INSERT INTO shelves (code, capacity) VALUES ('A', '10'), ('B', '20')`);
    const res = await admin('PATCH', '/tables/shelves/schema', {
      updateColumns: [
        { columnName: 'capacity', type: 'integer', defaultValue: '5' },
        { columnName: 'code', isUnique: true },
      ],
      addColumns: [{ columnName: 'writer_id', type: 'uuid' }],
      addForeignKeys: [
        {
          constraintName: 'shelves_writer_fk',
          referenceTable: 'writers',
          referenceColumns: [{ sourceColumn: 'writer_id', referenceColumn: 'id' }],
        },
      ],
    });
    expect(res.status).toBe(200);
    const schema = await admin('GET', '/tables/shelves/schema');
    const capacity = schema.body.columns.find(
      (c: { columnName: string }) => c.columnName === 'capacity',
    );
    expect(capacity).toMatchObject({ type: 'integer', defaultValue: '5' });
    expect(
      schema.body.columns.find((c: { columnName: string }) => c.columnName === 'code').isUnique,
    ).toBe(true);
    expect((await sql.query('SELECT sum(capacity)::int AS s FROM shelves')).rows[0].s).toBe(30);
    const dropped = await admin('PATCH', '/tables/shelves/schema', {
      dropForeignKeys: ['shelves_writer_fk'],
      dropColumns: ['writer_id'],
    });
    expect(dropped.body.operations).toEqual([
      'dropped foreign key shelves_writer_fk',
      'dropped column writer_id',
    ]);
  });

  // A bad definition: 400 naming the field, a duplicate 409 (the code is the row's last entry).
  const badTables: Array<[unknown, number, RegExp, string]> = [
    [{ tableName: 'bad name', columns: [] }, 400, /tableName/, 'DATABASE_VALIDATION_ERROR'],
    [
      { tableName: 'select', columns: [] },
      400,
      /tableName: "select" is a reserved name/,
      'DATABASE_VALIDATION_ERROR',
    ],
    [
      { tableName: 'x'.repeat(200), columns: [] },
      400,
      /tableName: .* longer than 63/,
      'DATABASE_VALIDATION_ERROR',
    ],
    [
      { tableName: 't1"; drop table writers; --', columns: [] },
      400,
      /tableName/,
      'DATABASE_VALIDATION_ERROR',
    ],
    [{ tableName: 'tëst', columns: [] }, 400, /tableName/, 'DATABASE_VALIDATION_ERROR'],
    [
      { tableName: 'ok1', columns: [{ columnName: 'a;b', type: 'string' }] },
      400,
      /columns\[0\]\.columnName/,
      'DATABASE_VALIDATION_ERROR',
    ],
    [
      { tableName: 'ok2', columns: [{ columnName: 'a', type: 'nosuchtype' }] },
      400,
      /columns\[0\]\.type: unknown type "nosuchtype"/,
      'DATABASE_VALIDATION_ERROR',
    ],
    [
      { tableName: 'ok3', columns: [{ columnName: 'a', type: 'text; drop table writers' }] },
      400,
      /columns\[0\]\.type/,
      'DATABASE_VALIDATION_ERROR',
    ],
    [
      {
        tableName: 'ok4',
        columns: [
          { columnName: 'a', type: 'string' },
          { columnName: 'a', type: 'string' },
        ],
      },
      400,
      /columns\[1\]\.columnName: "a" appears twice/,
      'DATABASE_VALIDATION_ERROR',
    ],
    [
      {
        tableName: 'ok5',
        columns: [{ columnName: 'w', type: 'uuid' }],
        foreignKeys: [
          {
            referenceTable: 'writers',
            referenceColumns: [{ sourceColumn: 'w', referenceColumn: 'nope' }],
          },
        ],
      },
      400,
      /foreignKeys\[0\]\.referenceColumns\[0\]\.referenceColumn: column "nope" does not exist in "writers"/,
      'DATABASE_VALIDATION_ERROR',
    ],
    [
      {
        tableName: 'ok6',
        columns: [{ columnName: 'w', type: 'uuid' }],
        foreignKeys: [
          {
            referenceTable: 'ghosts',
            referenceColumns: [{ sourceColumn: 'w', referenceColumn: 'id' }],
          },
        ],
      },
      400,
      /foreignKeys\[0\]\.referenceTable: table "public\.ghosts" does not exist/,
      'DATABASE_VALIDATION_ERROR',
    ],
    [
      {
        tableName: 'ok7',
        columns: [{ columnName: 'w', type: 'string' }],
        foreignKeys: [
          {
            referenceTable: 'writers',
            referenceColumns: [{ sourceColumn: 'w', referenceColumn: 'id' }],
          },
        ],
      },
      400,
      /foreign key|incompatible/i,
      'DATABASE_INVALID_PARAMETER',
    ],
    [
      { tableName: 'writers', columns: [{ columnName: 'a', type: 'string' }] },
      409,
      /already exists/,
      'DATABASE_DUPLICATE',
    ],
    [{ columns: [] }, 400, /tableName/, 'INVALID_INPUT'],
    [{ tableName: 'ok8', columns: 'nope' }, 400, /columns/, 'INVALID_INPUT'],
  ];
  describeScenarios(
    'refuses bad definitions, naming the field',
    () => t,
    badTables.map(([body, status, message, error]): Scenario => ({
      name: `POST /tables ${JSON.stringify(body).slice(0, 80)}`,
      as: 'apiKey',
      method: 'POST',
      path: '/api/database/tables',
      body,
      status,
      error,
      expect: { message: expect.stringMatching(message) },
    })),
  );

  it('applies nothing of a refused definition or alter half-way', async () => {
    const { rows } = await sql.query(
      `SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'ok%' AND relkind = 'r'`,
    );
    expect(rows[0].n).toBe(0);

    // A failing step in an alter leaves the earlier steps undone.
    const half = await admin('PATCH', '/tables/writers/schema', {
      addColumns: [{ columnName: 'nickname', type: 'string' }],
      updateColumns: [{ columnName: 'nope', type: 'integer' }],
    });
    expect(half.status).toBe(404);
    expect(
      (await admin('GET', '/tables/writers/schema')).body.columns.map(
        (c: { columnName: string }) => c.columnName,
      ),
    ).not.toContain('nickname');
  });

  const alter = (
    table: string,
    body: unknown,
    status: number,
    error: string,
    message?: RegExp,
  ): Scenario => ({
    name: `PATCH /tables/${table}/schema ${JSON.stringify(body)}`,
    as: 'apiKey',
    method: 'PATCH',
    path: `/api/database/tables/${table}/schema`,
    body,
    status,
    error,
    ...(message ? { expect: { message: expect.stringMatching(message) } } : {}),
  });
  describeScenarios('refuses bad alters', () => t, [
    alter(
      'writers',
      { addColumns: [{ columnName: 'name', type: 'string' }] },
      409,
      'DATABASE_DUPLICATE',
    ),
    alter('writers', { bogus: true }, 400, 'INVALID_INPUT'),
    alter('ghosts', { rlsEnabled: true }, 404, 'DATABASE_NOT_FOUND'),
    // What an alter changes and cannot find is 404 naming the field, whatever its kind.
    alter(
      'writers',
      { updateColumns: [{ columnName: 'nope', type: 'integer' }] },
      404,
      'DATABASE_NOT_FOUND',
      /^updateColumns\[0\]: column "nope" .*does not exist/,
    ),
    alter(
      'writers',
      { dropColumns: ['nope'] },
      404,
      'DATABASE_NOT_FOUND',
      /^dropColumns\[0\]: column "nope" .*does not exist/,
    ),
    alter(
      'writers',
      { dropForeignKeys: ['nope'] },
      404,
      'DATABASE_NOT_FOUND',
      /^dropForeignKeys\[0\]: constraint "nope" .*does not exist/,
    ),
    alter(
      'writers',
      { dropConstraints: ['nope'] },
      404,
      'DATABASE_NOT_FOUND',
      /^dropConstraints\[0\]: constraint "nope" .*does not exist/,
    ),
    alter(
      'writers',
      { dropIndexes: ['nope'] },
      404,
      'DATABASE_NOT_FOUND',
      /^dropIndexes\[0\]: index "nope" .*does not exist/,
    ),
  ]);

  it('refuses to drop a table others depend on unless cascade is asked', async () => {
    await admin('POST', '/tables', { tableName: 'parents', columns: [] });
    await admin('POST', '/tables', {
      tableName: 'children',
      columns: [{ columnName: 'parent_id', type: 'uuid' }],
      foreignKeys: [
        {
          referenceTable: 'parents',
          referenceColumns: [{ sourceColumn: 'parent_id', referenceColumn: 'id' }],
        },
      ],
    });
    const refused = await admin('DELETE', '/tables/parents');
    expect(refused.status).toBe(409);
    expect(refused.body.nextActions).toMatch(/cascade=true/);
    const ok = await admin('DELETE', '/tables/parents?cascade=true');
    expect(ok.status).toBe(200);
    expect((await admin('DELETE', '/tables/parents')).status).toBe(404);
    expect(
      (await t.request('GET', '/api/database/records/parents', { token: t.anonKey })).status,
    ).toBe(404);
  });

  describeScenarios(
    'is for admins only',
    () => t,
    adminOnlyScenarios(
      (
        [
          ['GET', '/tables'],
          ['POST', '/tables'],
          ['GET', '/schemas'],
          ['POST', '/advance/rawsql'],
          ['GET', '/migrations'],
          ['POST', '/advance/export'],
          ['GET', '/policies'],
          ['DELETE', '/tables/writers'],
        ] as const
      ).map(
        ([method, path]) =>
          [method, `/api/database${path}`, method === 'GET' ? undefined : {}] as const,
      ),
    ),
  );
});

describe('introspection and policies', () => {
  it('lists schemas, functions, indexes, triggers, views, enums, extensions, roles and grants', async () => {
    await sql.query(`CREATE TYPE public.colour AS ENUM ('red', 'green'); CREATE VIEW public.writer_names AS SELECT name FROM public.writers;
      CREATE FUNCTION public.double_it(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x * 2 $$;`);
    const { schemas } = (await admin('GET', '/schemas')).body;
    expect(schemas).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'public', isExposed: true, isProtected: false }),
        expect.objectContaining({ name: 'auth', isProtected: true }),
      ]),
    );
    expect((await admin('GET', '/functions')).body.functions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          functionName: 'double_it',
          arguments: 'x integer',
          volatility: 'immutable',
        }),
      ]),
    );
    expect(
      (await admin('GET', '/indexes?table=writers')).body.indexes.some(
        (i: { isPrimary: boolean }) => i.isPrimary,
      ),
    ).toBe(true);
    expect((await admin('GET', '/triggers?table=writers')).body.triggers[0]).toMatchObject({
      triggerName: 'writers_touch_updated_at',
      actionTiming: 'BEFORE',
      eventManipulation: 'UPDATE',
    });
    expect((await admin('GET', '/views')).body.views).toEqual(
      expect.arrayContaining([expect.objectContaining({ viewName: 'writer_names' })]),
    );
    expect((await admin('GET', '/enums')).body.enums).toEqual(
      expect.arrayContaining([
        { schemaName: 'public', enumName: 'colour', values: ['red', 'green'] },
      ]),
    );
    expect(
      (await admin('GET', '/extensions')).body.extensions.find(
        (e: { name: string }) => e.name === 'plpgsql',
      ),
    ).toMatchObject({ installed: true });
    expect(
      (await admin('GET', '/roles')).body.roles.map((r: { roleName: string }) => r.roleName),
    ).toEqual(expect.arrayContaining(['anon', 'authenticated', 'project_admin']));
    expect(
      (await admin('GET', '/grants?table=writers')).body.grants.map(
        (g: { grantee: string }) => g.grantee,
      ),
    ).toEqual(expect.arrayContaining(['anon', 'authenticated']));
    expect((await admin('GET', '/functions?schema=auth')).status).toBe(400);
  });

  it('creates, alters and drops RLS policies that the records API then obeys', async () => {
    await admin('POST', '/tables', {
      tableName: 'diary',
      rlsEnabled: true,
      columns: [
        { columnName: 'owner', type: 'uuid', defaultValue: 'auth.uid()' },
        { columnName: 'text', type: 'string' },
      ],
    });
    const created = await admin('POST', '/policies', {
      tableName: 'diary',
      policyName: 'own_rows',
      command: 'ALL',
      roles: ['authenticated'],
      using: 'owner = auth.uid()',
      withCheck: 'owner = auth.uid()',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      policyName: 'own_rows',
      cmd: 'ALL',
      roles: ['authenticated'],
      qual: '(owner = auth.uid())',
    });

    const alice = await t.signUpUser();
    const bob = await t.signUpUser();
    expect((await alice.client.database.from('diary').insert({ text: 'mine' })).error).toBeNull();
    expect((await bob.client.database.from('diary').select('text')).data).toEqual([]);
    expect((await alice.client.database.from('diary').select('text')).data).toEqual([
      { text: 'mine' },
    ]);

    const altered = await t.request('PATCH', '/api/database/policies/diary/own_rows', {
      token: t.apiKey,
      body: { using: 'true', newPolicyName: 'everyone_reads' },
    });
    expect(altered.status).toBe(200);
    expect(altered.body).toMatchObject({ policyName: 'everyone_reads', qual: 'true' });
    expect((await bob.client.database.from('diary').select('text')).data).toEqual([
      { text: 'mine' },
    ]);

    expect((await admin('GET', '/policies?table=diary')).body.policies).toHaveLength(1);
    const bad = await admin('POST', '/policies', {
      tableName: 'diary',
      policyName: 'broken',
      using: 'this is not sql',
    });
    expect(bad.status).toBe(400);
    const badRole = await admin('POST', '/policies', {
      tableName: 'diary',
      policyName: 'p2',
      roles: ['postgres'],
      using: 'true',
    });
    expect(badRole.status).toBe(400);
    expect(
      (
        await t.request('DELETE', '/api/database/policies/diary/everyone_reads', {
          token: t.apiKey,
        })
      ).status,
    ).toBe(200);
    expect((await bob.client.database.from('diary').select('text')).data).toEqual([]);
    expect(
      (
        await t.request('DELETE', '/api/database/policies/diary/everyone_reads', {
          token: t.apiKey,
        })
      ).status,
    ).toBe(404);
  });
});

describe('raw SQL', () => {
  it('runs several statements and returns rows, fields with types, counts and notices', async () => {
    const res = await admin('POST', '/advance/rawsql', {
      query: `CREATE TABLE public.tally (n int); INSERT INTO public.tally SELECT generate_series(1, 3); DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$; SELECT n, n::text AS label FROM public.tally ORDER BY n`,
    });
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([
      { n: 1, label: '1' },
      { n: 2, label: '2' },
      { n: 3, label: '3' },
    ]);
    expect(res.body.fields).toEqual([
      { name: 'n', dataTypeID: 23, dataType: 'integer' },
      { name: 'label', dataTypeID: 25, dataType: 'text' },
    ]);
    expect(
      res.body.statements.map((s: { command: string; rowCount: number }) => [
        s.command,
        s.rowCount,
      ]),
    ).toEqual([
      ['CREATE', null],
      ['INSERT', 3],
      ['DO', null],
      ['SELECT', 3],
    ]);
    expect(res.body.notices).toEqual([{ severity: 'NOTICE', message: 'hello 42' }]);
    // The records API sees the table at once.
    expect(
      (
        await t.request('GET', '/api/database/records/tally?select=n&order=n.desc&limit=1', {
          token: t.anonKey,
        })
      ).body,
    ).toEqual([{ n: 3 }]);
  });

  it('binds params for a single statement', async () => {
    const res = await admin('POST', '/advance/rawsql', {
      query: 'SELECT $1::int + $2::int AS sum, $3::text AS s',
      params: [2, 3, "o'hara"],
    });
    expect(res.body.rows).toEqual([{ sum: 5, s: "o'hara" }]);
  });

  it('answers SQL errors with 400 and the position, and keeps nothing of a failed batch', async () => {
    const res = await admin('POST', '/advance/rawsql', {
      query: 'CREATE TABLE public.half (a int); SELEC 1',
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: 'DATABASE_INVALID_PARAMETER',
      sqlState: '42601',
      position: expect.any(Number),
    });
    expect(res.body.message).toMatch(/syntax error/);
    expect((await sql.query(`SELECT to_regclass('public.half') AS t`)).rows[0].t).toBeNull();
  });

  describeScenarios(
    'restricted mode keeps Kiln’s schemas out of reach, even after RESET ROLE',
    () => t,
    (
      [
        ['SELECT * FROM auth.users', 403, 'DATABASE_PERMISSION_DENIED'],
        ['SELECT * FROM system.api_keys', 403, 'DATABASE_PERMISSION_DENIED'],
        ['RESET ROLE; SELECT * FROM auth.users', 403, 'DATABASE_PERMISSION_DENIED'],
        ['SET ROLE postgres', 403, 'DATABASE_PERMISSION_DENIED'],
        ['DROP TABLE auth.users', 403, 'DATABASE_PERMISSION_DENIED'],
        ['ALTER TABLE auth.users ADD COLUMN x int', 403, 'DATABASE_PERMISSION_DENIED'],
        ['CREATE TABLE system.evil (a int)', 403, 'DATABASE_PERMISSION_DENIED'],
      ] as const
    ).map(([query, status, error]): Scenario => ({
      name: query,
      as: 'apiKey',
      method: 'POST',
      path: '/api/database/advance/rawsql',
      body: { query },
      status,
      error,
    })),
  );

  describeScenarios(
    'a table that does not exist is 404; a query naming what it never brought in is 400',
    () => t,
    (
      [
        [
          'SELECT * FROM no_such_table',
          404,
          'DATABASE_NOT_FOUND',
          /"no_such_table" does not exist/,
        ],
        [
          'SELECT ghost.id FROM public.writers',
          400,
          'DATABASE_VALIDATION_ERROR',
          /missing FROM-clause entry for table "ghost"/,
        ],
        [
          'SELECT 1 FROM public.writers w WHERE writers.id = 1',
          400,
          'DATABASE_VALIDATION_ERROR',
          /invalid reference to FROM-clause entry for table "writers"/,
        ],
      ] as const
    ).map(([query, status, error, message]): Scenario => ({
      name: query,
      as: 'apiKey',
      method: 'POST',
      path: '/api/database/advance/rawsql',
      body: { query },
      status,
      error,
      expect: { message: expect.stringMatching(message), sqlState: '42P01' },
    })),
  );

  it('restricted mode explains the refusal', async () => {
    const denied = await admin('POST', '/advance/rawsql', {
      query: 'SELECT * FROM system.api_keys',
    });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/Restricted mode/);
    expect(denied.body.nextActions).toMatch(/unrestricted/);
  });

  it('unrestricted mode runs as the owner', async () => {
    const res = await admin('POST', '/advance/rawsql/unrestricted', {
      query: 'SELECT count(*)::int AS n FROM auth.users',
    });
    expect(res.status).toBe(200);
    expect(res.body.mode).toBe('unrestricted');
    expect(typeof res.body.rows[0].n).toBe('number');
  });

  it('stops long statements at the timeout with a 4xx', async () => {
    const res = await admin('POST', '/advance/rawsql', {
      query: 'SELECT pg_sleep(5)',
      timeoutMs: 200,
    });
    expect(res.status).toBe(408);
    expect(res.body.error).toBe('DATABASE_TIMEOUT');
  });
});

describe('migrations', () => {
  it('applies in one transaction, records a checksum, refuses duplicates, and dry-runs without changing anything', async () => {
    const dry = await admin('POST', '/migrations/dry-run', {
      version: '0001',
      name: 'create things',
      sql: 'CREATE TABLE public.things (id serial PRIMARY KEY, name text); ALTER TABLE public.writers ADD COLUMN motto text;',
    });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, applied: false });
    expect(dry.body.changes).toMatchObject({
      createdTables: ['public.things'],
      addedColumns: ['public.writers.motto text'],
    });
    expect((await sql.query(`SELECT to_regclass('public.things') AS t`)).rows[0].t).toBeNull();

    const applied = await admin('POST', '/migrations', {
      version: '0001',
      name: 'create things',
      statements: [
        'CREATE TABLE public.things (id serial PRIMARY KEY, name text)',
        "INSERT INTO public.things (name) VALUES ('a'), ('b')",
      ],
    });
    expect(applied.status).toBe(201);
    expect(applied.body).toMatchObject({
      message: 'Migration 0001 applied',
      applied: true,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(applied.body.statements).toEqual([
      { command: 'CREATE', rowCount: null },
      { command: 'INSERT', rowCount: 2 },
    ]);
    expect(
      (
        await t.request('GET', '/api/database/records/things?select=name&order=id', {
          token: t.anonKey,
        })
      ).body,
    ).toEqual([{ name: 'a' }, { name: 'b' }]);

    const dup = await admin('POST', '/migrations', {
      version: '0001',
      name: 'again',
      sql: 'SELECT 1',
    });
    expect(dup.status).toBe(409);
    const list = await admin('GET', '/migrations');
    expect(list.body.migrations).toEqual([
      expect.objectContaining({
        version: '0001',
        name: 'create things',
        statements: [expect.stringContaining('CREATE TABLE public.things')],
        createdAt: applied.body.createdAt,
      }),
    ]);

    const failing = await admin('POST', '/migrations', {
      version: '0002',
      name: 'broken',
      sql: 'CREATE TABLE public.more (a int); INSERT INTO public.nope VALUES (1)',
    });
    expect(failing.status).toBe(404);
    expect((await sql.query(`SELECT to_regclass('public.more') AS t`)).rows[0].t).toBeNull();
    expect((await admin('GET', '/migrations')).body.migrations).toHaveLength(1);

    expect(
      (await admin('POST', '/migrations', { version: 'v3', name: 'x', sql: 'SELECT 1' })).status,
    ).toBe(400);
    expect(
      (
        await admin('POST', '/migrations', {
          version: '0003',
          name: 'x',
          sql: 'COMMIT; DROP TABLE things',
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await admin('POST', '/migrations', {
          version: '0004',
          name: 'x',
          sql: 'SELECT * FROM auth.users',
        })
      ).status,
    ).toBe(403);
  });
});

describe('metadata and docs', () => {
  it('describes the project as JSON and as Markdown', async () => {
    const json = await t.request('GET', '/api/metadata', { token: t.apiKey });
    expect(json.status).toBe(200);
    const writers = json.body.database.tables.find(
      (x: { tableName: string }) => x.tableName === 'writers',
    );
    expect(writers).toMatchObject({ schemaName: 'public', kind: 'table', primaryKey: ['id'] });
    expect(writers.columns.map((c: { columnName: string }) => c.columnName)).toEqual(
      expect.arrayContaining(['id', 'name', 'created_at']),
    );
    const essays = json.body.database.tables.find(
      (x: { tableName: string }) => x.tableName === 'essays',
    );
    expect(essays.relationships).toEqual(
      expect.arrayContaining([
        { name: 'writers', cardinality: 'm2o', via: 'essays_writer_id_fkey' },
      ]),
    );
    expect(
      json.body.database.functions.map((f: { functionName: string }) => f.functionName),
    ).toContain('double_it');

    const md = await t.request('GET', '/api/metadata?format=markdown', { token: t.apiKey });
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toMatch(/text\/markdown/);
    expect(md.body).toContain('### public.writers');
    expect(md.body).toContain('| name | text | no |');
    expect(md.body).toContain('`public.double_it(x integer)` → integer');
    const viaAccept = await t.request('GET', '/api/metadata', {
      token: t.apiKey,
      headers: { accept: 'text/markdown' },
    });
    expect(viaAccept.body).toContain('# Kiln project');
    expect((await t.request('GET', '/api/metadata', { token: t.anonKey })).status).toBe(403);
  });

  it('serves an OpenAPI 3.1 document generated from the request schemas', async () => {
    const res = await t.request('GET', '/api/docs');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const create = res.body.paths['/api/database/tables'].post;
    expect(create.requestBody.content['application/json'].schema.properties).toHaveProperty(
      'tableName',
    );
    expect(
      create.requestBody.content['application/json'].schema.properties.columns.items.properties,
    ).toHaveProperty('columnName');
    expect(
      res.body.paths['/api/database/records/{table}'].get.parameters.map(
        (p: { name: string }) => p.name,
      ),
    ).toEqual(expect.arrayContaining(['table', 'select', 'Prefer']));
    expect(res.body.paths['/api/auth/sessions'].post.security).toEqual([]);
    expect(Object.keys(res.body.paths).length).toBeGreaterThanOrEqual(40);
  });
});
