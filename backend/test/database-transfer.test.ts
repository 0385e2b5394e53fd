import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, pgUrl, startTestApp, type TestApp } from './helpers.js';

/** Export, import, bulk upsert, and a corpus of hostile admin input. */
let t: TestApp;
let sql: pg.Client;
beforeAll(async () => {
  t = await startTestApp({ importMaxBytes: 64 * 1024 }, {}, { setupSql: fixture('library.sql') });
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

const admin = (method: string, path: string, body?: unknown) =>
  t.request(method, `/api/database${path}`, { token: t.apiKey, body });

function upload(
  path: string,
  filename: string,
  content: string,
  fields: Record<string, string> = {},
  token = t.apiKey,
) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([content]), filename);
  return fetch(`${t.baseUrl}/api/database${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as any,
  }));
}

describe('export', () => {
  it('exports schema and data as SQL that rebuilds the tables in another database', async () => {
    const res = await fetch(`${t.baseUrl}/api/database/advance/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        tables: ['authors', 'books', 'categories', 'book_categories', 'notes'],
        format: 'sql',
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/sql/);
    expect(res.headers.get('content-disposition')).toMatch(
      /attachment; filename="kiln-export-.*\.sql"/,
    );
    const dump = await res.text();
    expect(dump).toContain('CREATE TABLE IF NOT EXISTS "public"."books"');
    expect(dump).toContain('ENABLE ROW LEVEL SECURITY');
    expect(dump).toContain('CREATE POLICY "notes_owner_all"');

    // Replay it into a fresh Kiln (same enum type first, as the fixture has one).
    const other = await startTestApp(
      {},
      {},
      { setupSql: `CREATE TYPE public.mood AS ENUM ('happy', 'sad', 'calm');` },
    );
    try {
      const form = new FormData();
      form.append('file', new Blob([dump]), 'dump.sql');
      const imported = await fetch(`${other.baseUrl}/api/database/advance/import`, {
        method: 'POST',
        headers: { authorization: `Bearer ${other.apiKey}` },
        body: form,
      });
      const body = (await imported.json()) as { rowsImported: number; tables: string[] };
      expect(imported.status, JSON.stringify(body)).toBe(200);
      expect(body.rowsImported).toBe(4 + 6 + 3 + 6);
      const original = (
        await sql.query(
          'SELECT id, title, tags, meta, years::text, search::text FROM books ORDER BY id',
        )
      ).rows;
      const client = new pg.Client({ connectionString: pgUrl(other.database) });
      await client.connect();
      try {
        expect(
          (
            await client.query(
              'SELECT id, title, tags, meta, years::text, search::text FROM books ORDER BY id',
            )
          ).rows,
        ).toEqual(original);
        // Serial sequences continue after the imported ids.
        expect(
          (await client.query(`INSERT INTO authors (name) VALUES ('new') RETURNING id`)).rows[0].id,
        ).toBe(5);
      } finally {
        await client.end();
      }
      const embedded = await other.request(
        'GET',
        '/api/database/records/books?select=title,categories(name)&id=eq.4',
        { token: other.anonKey },
      );
      expect(embedded.body[0].categories).toHaveLength(2);
    } finally {
      await other.stop();
    }
  });

  it('exports JSON with columns, policies and rows', async () => {
    const res = await fetch(`${t.baseUrl}/api/database/advance/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tables: ['authors', 'notes'], format: 'json' }),
    });
    const body = (await res.json()) as any;
    expect(body.tables.authors.rows).toHaveLength(4);
    expect(body.tables.authors.rows[0]).toMatchObject({ id: 1, name: 'Ursula K. Le Guin' });
    expect(body.tables.authors.columns.map((c: { columnName: string }) => c.columnName)).toEqual([
      'id',
      'name',
      'country',
      'born',
    ]);
    expect(body.tables.notes.rlsEnabled).toBe(true);
    expect(body.tables.notes.policies.length).toBe(2);
    const schemaOnly = await admin('POST', '/advance/export', {
      tables: ['authors'],
      format: 'json',
      includeData: false,
    });
    expect(schemaOnly.body.tables.authors.rows).toBeUndefined();
    expect(schemaOnly.body.tables.authors.columns).toHaveLength(4);
  });

  it('stops cleanly when the client goes away mid-export', async () => {
    await sql.query(
      `CREATE TABLE public.bulk AS SELECT i AS id, repeat('x', 200) AS pad FROM generate_series(1, 100000) i`,
    );
    await t.app.schemaCache.reload();
    for (let i = 0; i < 8; i++) {
      const controller = new AbortController();
      const res = await fetch(`${t.baseUrl}/api/database/advance/export`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tables: ['bulk'], format: i % 2 ? 'sql' : 'json' }),
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
    }
    // Every connection went back to the pool (5 in tests): more exports and reads still work.
    const after = await admin('POST', '/advance/export', { tables: ['authors'], format: 'json' });
    expect(after.status).toBe(200);
    expect(
      (
        await t.request('GET', '/api/database/records/authors?select=id&limit=1', {
          token: t.anonKey,
        })
      ).status,
    ).toBe(200);
  });

  it('refuses unknown tables and formats', async () => {
    expect((await admin('POST', '/advance/export', { tables: ['nope'] })).status).toBe(404);
    expect((await admin('POST', '/advance/export', { format: 'xml' })).status).toBe(400);
    expect((await admin('POST', '/advance/export', { schemaName: 'auth' })).status).toBe(400);
  });
});

describe('import', () => {
  it('appends CSV rows to a table (empty cells of non-text columns are NULL)', async () => {
    const csv = 'sku,qty,price\nc-1,4,2.5\nc-2,,\n"c,3",9,1\n';
    const res = await upload('/advance/import', 'items.csv', csv, { table: 'items' });
    expect(res.status).toBe(400); // qty is NOT NULL: the empty cell became NULL, and nothing was kept
    expect(
      (await sql.query(`SELECT count(*)::int AS n FROM items WHERE sku LIKE 'c%'`)).rows[0].n,
    ).toBe(0);
    const ok = await upload(
      '/advance/import',
      'items.csv',
      'sku,qty,price\nc-1,4,2.5\nc-2,1,\n"c,3",9,1\n',
      { table: 'items' },
    );
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      success: true,
      rowsImported: 3,
      tables: ['items'],
      format: 'csv',
      fileSize: 'sku,qty,price\nc-1,4,2.5\nc-2,1,\n"c,3",9,1\n'.length,
    });
    expect(
      (await sql.query(`SELECT sku, qty, price::float FROM items WHERE sku LIKE 'c%' ORDER BY sku`))
        .rows,
    ).toEqual([
      { sku: 'c,3', qty: 9, price: 1 },
      { sku: 'c-1', qty: 4, price: 2.5 },
      { sku: 'c-2', qty: 1, price: null },
    ]);
  });

  it('imports JSON rows, optionally truncating first', async () => {
    const res = await upload(
      '/advance/import',
      'cats.json',
      JSON.stringify([{ id: 50, name: 'poetry' }]),
      { table: 'categories' },
    );
    expect(res.status).toBe(200);
    const truncated = await upload(
      '/advance/import',
      'shelves.json',
      JSON.stringify([{ label: 'Z9' }]),
      { table: 'shelves', schema: 'public' },
    );
    expect(truncated.status).toBe(404); // shelves lives in the library schema, which is not exposed
  });

  it('bulk upserts by key and reports inserted, updated and failed rows', async () => {
    await sql.query(`INSERT INTO items (sku, qty) VALUES ('bu-1', 1)`);
    const rows = [
      { sku: 'bu-1', qty: 10 },
      { sku: 'bu-2', qty: 2 },
      { sku: 'bu-3', qty: 'not a number' },
      { sku: 'bu-4', qty: 4 },
    ];
    const res = await upload('/advance/bulk-upsert', 'rows.json', JSON.stringify(rows), {
      table: 'items',
      upsertKey: 'sku',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: false,
      totalRecords: 4,
      inserted: 2,
      updated: 1,
      failed: 1,
      rowsAffected: 3,
    });
    expect(res.body.errors).toEqual([
      { row: 3, message: expect.stringMatching(/invalid input syntax for type integer/) },
    ]);
    expect(
      (await sql.query(`SELECT sku, qty FROM items WHERE sku LIKE 'bu-%' ORDER BY sku`)).rows,
    ).toEqual([
      { sku: 'bu-1', qty: 10 },
      { sku: 'bu-2', qty: 2 },
      { sku: 'bu-4', qty: 4 },
    ]);
    const csv = await upload('/advance/bulk-upsert', 'rows.csv', 'sku,qty\nbu-2,20\nbu-5,5\n', {
      table: 'items',
      upsertKey: 'sku',
    });
    expect(csv.body).toMatchObject({ success: true, inserted: 1, updated: 1, failed: 0 });
  });

  it('answers bad uploads with 4xx and applies nothing', async () => {
    const cases: Array<[Promise<{ status: number; body: any }>, number, string]> = [
      [
        upload('/advance/import', 'x.txt', 'hello', { table: 'items' }),
        400,
        'DATABASE_INVALID_PARAMETER',
      ],
      [
        upload('/advance/import', 'x.csv', 'sku,qty\n1', { table: 'nope' }),
        404,
        'DATABASE_NOT_FOUND',
      ],
      [upload('/advance/import', 'x.csv', 'sku,qty\n1', {}), 400, 'DATABASE_VALIDATION_ERROR'],
      [
        upload('/advance/import', 'x.csv', 'sku,qty\n"unclosed,1\n', { table: 'items' }),
        400,
        'DATABASE_INVALID_PARAMETER',
      ],
      [
        upload('/advance/import', 'x.csv', 'sku,nope\na,1\n', { table: 'items' }),
        400,
        'DATABASE_VALIDATION_ERROR',
      ],
      [
        upload('/advance/import', 'x.json', '{not json', { table: 'items' }),
        400,
        'DATABASE_INVALID_PARAMETER',
      ],
      [
        upload('/advance/import', 'x.json', '[1,2]', { table: 'items' }),
        400,
        'DATABASE_INVALID_PARAMETER',
      ],
      [
        upload('/advance/import', 'x.sql', 'CREATE TABLE public.partial (a int); SELEC 1;'),
        400,
        'DATABASE_INVALID_PARAMETER',
      ],
      [
        upload('/advance/import', 'x.sql', 'SELECT * FROM auth.users;'),
        403,
        'DATABASE_PERMISSION_DENIED',
      ],
      [
        // Distinct keys: a streaming import may insert rows before the limit is reached, and a
        // duplicate key would then answer 409 first (the limit must be the only fault here).
        upload(
          '/advance/import',
          'big.csv',
          'sku\n' + Array.from({ length: 40_000 }, (_, i) => `big-${i}\n`).join(''),
          { table: 'items' },
        ),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        upload('/advance/bulk-upsert', 'x.sql', 'SELECT 1', { table: 'items' }),
        400,
        'DATABASE_INVALID_PARAMETER',
      ],
      [
        upload('/advance/bulk-upsert', 'x.json', '[]', { table: 'items', upsertKey: 'nope' }),
        400,
        'DATABASE_VALIDATION_ERROR',
      ],
      [
        upload('/advance/import', 'x.csv', 'sku\na\n', { table: 'items' }, t.anonKey),
        403,
        'AUTH_FORBIDDEN',
      ],
      [
        fetch(`${t.baseUrl}/api/database/advance/import`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
          body: '{}',
        }).then(async (r) => ({
          status: r.status,
          body: await r.json(),
        })),
        415,
        'INVALID_MULTIPART',
      ],
    ];
    for (const [i, [promise, status, error]] of cases.entries()) {
      const res = await promise;
      expect(res.status, `case ${i}: ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.body.error, `case ${i}`).toBe(error);
    }
    expect((await sql.query(`SELECT to_regclass('public.partial') AS t`)).rows[0].t).toBeNull();
  });
});

describe('hostile admin input', () => {
  it('never answers 5xx and never half-applies', async () => {
    const [VALIDATION, PARAMETER, INPUT] = [
      'DATABASE_VALIDATION_ERROR',
      'DATABASE_INVALID_PARAMETER',
      'INVALID_INPUT',
    ];
    const before = (
      await sql.query(
        `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`,
      )
    ).rows[0].n;
    const names = [
      '"',
      "'",
      ';',
      'a;b',
      'a"b',
      "a'b",
      'drop table books',
      'x--',
      'é',
      'таблица',
      '😀',
      'a b',
      '1abc',
      '',
      ' ',
      'x'.repeat(64),
      'x'.repeat(200),
      'select',
      'user',
      'pg_x',
      'a\u0000b',
      'a\nb',
    ];
    const bodies: unknown[] = [
      ...names.map((n) => ({ tableName: n, columns: [] })),
      ...names.map((n) => ({
        tableName: 'hostile_ok',
        autoFields: false,
        columns: [{ columnName: n, type: 'string' }],
      })),
      ...[
        'nosuch',
        'text)',
        'int; drop table books',
        'varchar(99999)',
        'numeric(1,2,3)',
        "text' ",
        '',
        'a'.repeat(101),
        'serial primary key',
      ].map((type) => ({
        tableName: 'hostile_ok',
        autoFields: false,
        columns: [{ columnName: 'a', type }],
      })),
      {
        tableName: 'hostile_ok',
        columns: [{ columnName: 'a', type: 'string', defaultValue: "x'); drop table books; --" }],
        foreignKeys: [
          {
            referenceTable: 'books; drop',
            referenceColumns: [{ sourceColumn: 'a', referenceColumn: 'id' }],
          },
        ],
      },
      {
        tableName: 'hostile_ok',
        columns: [{ columnName: 'a', type: 'integer' }],
        foreignKeys: [
          {
            referenceTable: 'books',
            referenceColumns: [{ sourceColumn: 'a', referenceColumn: 'title' }],
          },
        ],
      },
      {
        tableName: 'hostile_ok',
        columns: [{ columnName: 'a', type: 'integer' }],
        foreignKeys: [
          {
            referenceTable: 'books',
            referenceColumns: [{ sourceColumn: 'a', referenceColumn: 'id' }],
            onDelete: 'EXPLODE',
          },
        ],
      },
      {
        tableName: 'hostile_ok',
        columns: [
          { columnName: 'a', type: 'integer', isPrimaryKey: true },
          { columnName: 'b', type: 'integer', isPrimaryKey: true, isNullable: true },
        ],
        foreignKeys: [
          {
            referenceTable: 'hostile_ok',
            referenceColumns: [{ sourceColumn: 'b', referenceColumn: 'nope' }],
          },
        ],
      },
      'not an object',
      [1, 2, 3],
      null,
    ];
    // Each body's exact answer, in the order above (all 400): a name with a NUL is refused by
    // the request schema, any other bad name by the table validation.
    const nameCode = (n: string) => (n.includes('\u0000') ? INPUT : VALIDATION);
    const bodyCodes = [
      ...names.map(nameCode),
      ...names.map(nameCode),
      // nosuch, text), int; drop…, varchar(99999), numeric(1,2,3), text' , '', a×101, serial…
      ...[VALIDATION, VALIDATION, VALIDATION, VALIDATION, VALIDATION, VALIDATION],
      ...[INPUT, INPUT, PARAMETER],
      // the last seven: bad reference table, incompatible reference, onDelete, …, non-objects
      ...[VALIDATION, PARAMETER, INPUT, VALIDATION, 'INVALID_JSON', INPUT, 'INVALID_JSON'],
    ];
    expect(bodyCodes).toHaveLength(bodies.length);
    for (const [i, body] of bodies.entries()) {
      const res = await admin('POST', '/tables', body);
      const label = JSON.stringify(body).slice(0, 100);
      expect([res.status, res.body.error], label).toEqual([400, bodyCodes[i]]);
    }
    // Default values are data, never SQL: this one is legal and stores the text as is.
    const literal = await admin('POST', '/tables', {
      tableName: 'hostile_default',
      columns: [{ columnName: 'a', type: 'string', defaultValue: "x'); drop table books; --" }],
    });
    expect(literal.status).toBe(201);
    await sql.query('INSERT INTO hostile_default DEFAULT VALUES');
    expect((await sql.query('SELECT a FROM hostile_default')).rows).toEqual([
      { a: "x'); drop table books; --" },
    ]);

    // Cyclic foreign keys are legal in PostgreSQL: they work or answer 4xx, never 5xx.
    await admin('POST', '/tables', {
      tableName: 'cyc_a',
      columns: [{ columnName: 'b_id', type: 'uuid' }],
    });
    await admin('POST', '/tables', {
      tableName: 'cyc_b',
      columns: [{ columnName: 'a_id', type: 'uuid' }],
      foreignKeys: [
        {
          referenceTable: 'cyc_a',
          referenceColumns: [{ sourceColumn: 'a_id', referenceColumn: 'id' }],
        },
      ],
    });
    const cycle = await admin('PATCH', '/tables/cyc_a/schema', {
      addForeignKeys: [
        {
          referenceTable: 'cyc_b',
          referenceColumns: [{ sourceColumn: 'b_id', referenceColumn: 'id' }],
        },
      ],
    });
    expect(cycle.status).toBe(200);
    expect((await admin('DELETE', '/tables/cyc_a')).status).toBe(409);

    const alters: Array<[unknown, number, string]> = [
      [{ addColumns: [{ columnName: 'x;y', type: 'string' }] }, 400, VALIDATION],
      [{ dropColumns: ['nope'] }, 404, 'DATABASE_NOT_FOUND'],
      [{ dropColumns: ['a"; drop table books; --'] }, 400, VALIDATION],
      [{ updateColumns: [{ columnName: 'b_id', type: 'integer' }] }, 400, PARAMETER],
      [{ updateColumns: [{ columnName: 'b_id', using: '1/0', type: 'integer' }] }, 400, PARAMETER],
      [{ updateColumns: [{ columnName: 'b_id', newColumnName: 'select' }] }, 400, VALIDATION],
      [{ dropForeignKeys: ['nope'] }, 404, 'DATABASE_NOT_FOUND'],
      [{ dropIndexes: ['nope'] }, 404, 'DATABASE_NOT_FOUND'],
      [{ addIndexes: [{ columns: ['nope'] }] }, 400, VALIDATION],
      [{ addIndexes: [{ columns: ['b_id'], method: 'rtree' }] }, 400, INPUT],
      [{ addUniqueConstraints: [{ columns: [] }] }, 400, INPUT],
      [{ renameTable: { newTableName: 'cyc_b' } }, 409, 'DATABASE_DUPLICATE'],
      [{ renameTable: { newTableName: 'bad name' } }, 400, VALIDATION],
      [{ rlsEnabled: 'yes' }, 400, INPUT],
    ];
    for (const [body, status, error] of alters) {
      const res = await admin('PATCH', '/tables/cyc_a/schema', body);
      expect([res.status, res.body.error], JSON.stringify(body)).toEqual([status, error]);
    }
    for (const [query, status, error] of [
      ['SELEC 1', 400, PARAMETER],
      ['SELECT 1/0', 400, PARAMETER],
      ["SELECT 'x'::int", 400, PARAMETER],
      ['SELECT * FROM nope', 404, 'DATABASE_NOT_FOUND'],
      ['CREATE TABLE books (a int)', 409, 'DATABASE_DUPLICATE'],
      ["COPY books TO PROGRAM 'id'", 403, 'DATABASE_PERMISSION_DENIED'],
      // ALTER SYSTEM cannot run in the transaction a statement runs in.
      ['ALTER SYSTEM SET work_mem = 1', 400, PARAMETER],
      ['', 400, INPUT],
    ] as const) {
      const res = await admin('POST', '/advance/rawsql', { query });
      expect([res.status, res.body.error], query).toEqual([status, error]);
    }
    const after = (
      await sql.query(
        `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`,
      )
    ).rows[0].n;
    // Only the tables created on purpose above exist now (each with its primary key index, and
    // their sequences, none): hostile_default, cyc_a, cyc_b.
    const { rows } = await sql.query(
      `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND relkind = 'r' AND relname LIKE 'hostile%'`,
    );
    expect(rows.map((r) => r.relname)).toEqual(['hostile_default']);
    expect(after).toBeGreaterThan(before);
    expect(
      (
        await t.request('GET', '/api/database/records/books?select=id&limit=1', {
          token: t.anonKey,
        })
      ).status,
    ).toBe(200);
  });
});
