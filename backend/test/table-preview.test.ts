import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

const admin = (method: string, path: string, body?: unknown) =>
  t.request(method, `/api/database${path}`, { token: t.apiKey, body });

describe('table DDL previews', () => {
  it('answers the statements a create would run, creates nothing, and they are what the create runs', async () => {
    const body = {
      tableName: 'preview_authors',
      columns: [
        { columnName: 'name', type: 'string', isNullable: false, isUnique: true },
        { columnName: 'tags', type: 'text[]', defaultValue: "'{}'" },
      ],
    };
    const preview = await admin('POST', '/tables/preview', body);
    expect(preview.status).toBe(200);
    const [create, trigger, rls] = preview.body.statements as string[];
    expect(create).toBe(
      'CREATE TABLE "public"."preview_authors" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" text NOT NULL UNIQUE, "tags" text[] DEFAULT \'{}\', "created_at" timestamptz NOT NULL DEFAULT now(), "updated_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("id"))',
    );
    expect(trigger).toMatch(/^CREATE TRIGGER "preview_authors_touch_updated_at" BEFORE UPDATE/);
    expect(rls).toBe('ALTER TABLE "public"."preview_authors" ENABLE ROW LEVEL SECURITY');
    expect(preview.body.statements).toHaveLength(3);
    expect(preview.body.sql).toBe(`${create};\n${trigger};\n${rls};`);

    // Rolled back: the table does not exist, and creating it for real works.
    expect((await admin('GET', '/tables/preview_authors/schema')).status).toBe(404);
    expect((await admin('POST', '/tables', body)).status).toBe(201);
    const described = await admin('GET', '/tables/preview_authors/schema');
    expect(described.body.columns.map((c: { columnName: string }) => c.columnName)).toEqual([
      'id',
      'name',
      'tags',
      'created_at',
      'updated_at',
    ]);
  });

  it('answers an alter’s statements (foreign key included) and leaves the table as it was', async () => {
    await admin('POST', '/tables', {
      tableName: 'preview_books',
      columns: [{ columnName: 'title', type: 'string' }],
    });
    await admin('POST', '/tables', { tableName: 'preview_shelves', columns: [] });
    const preview = await admin('POST', '/tables/preview_books/schema/preview', {
      addColumns: [{ columnName: 'shelf_id', type: 'uuid' }],
      addForeignKeys: [
        {
          referenceTable: 'preview_shelves',
          referenceColumns: [{ sourceColumn: 'shelf_id', referenceColumn: 'id' }],
          onDelete: 'CASCADE',
        },
      ],
      rlsEnabled: false,
    });
    expect(preview.status).toBe(200);
    expect(preview.body.statements).toEqual([
      'ALTER TABLE "public"."preview_books" ADD COLUMN "shelf_id" uuid',
      'ALTER TABLE "public"."preview_books" ADD FOREIGN KEY ("shelf_id") REFERENCES "public"."preview_shelves" ("id") ON DELETE CASCADE ON UPDATE NO ACTION',
      'ALTER TABLE "public"."preview_books" DISABLE ROW LEVEL SECURITY',
    ]);
    const after = await admin('GET', '/tables/preview_books/schema');
    expect(after.body.columns.map((c: { columnName: string }) => c.columnName)).not.toContain(
      'shelf_id',
    );
    expect(after.body.rlsEnabled).toBe(true);
    expect(after.body.foreignKeys).toEqual([]);
  });

  it('fails as the real call would: field errors and unknown tables', async () => {
    const badType = await admin('POST', '/tables/preview', {
      tableName: 'preview_bad',
      columns: [{ columnName: 'x', type: 'no_such_type' }],
    });
    expect(badType.status).toBe(400);
    expect(badType.body.error).toBe('DATABASE_VALIDATION_ERROR');
    expect(badType.body.message).toMatch(/^columns\[0\]\.type: unknown type/);

    const missing = await admin('POST', '/tables/preview_nowhere/schema/preview', {
      rlsEnabled: true,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('DATABASE_NOT_FOUND');

    const denied = await t.request('POST', '/api/database/tables/preview', {
      token: t.anonKey,
      body: { tableName: 'x', columns: [] },
    });
    expect(denied.status).toBe(403);
  });
});
