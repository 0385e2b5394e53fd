/**
 * Imports: an SQL file run in one transaction, CSV/JSON rows appended to a table in batches, and
 * bulk upserts that report what was inserted, updated and refused. Uploads are multipart (busboy)
 * and CSV is parsed as it streams in (csv-parse).
 */
import { pipeline, type Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import type { Request } from 'express';
import type pg from 'pg';
import type { Database, Principal } from '../../core/db.js';
import { AppError, appErrorFromPg } from '../../core/errors.js';
import { jsonProblem } from '../../core/http.js';
import { parseJsonExact, stringifyJson } from '../../core/json.js';
import { readMultipart } from '../../core/multipart.js';
import type { SchemaCache, Table } from '../records/schema-cache.js';
import { q, qualified } from './ddl.js';
import type { TablesService } from './tables.js';

const BATCH = 1000;
const MAX_REPORTED_ERRORS = 100;

export function kindOf(
  filename: string,
  mimeType: string,
  requested?: string,
): 'sql' | 'csv' | 'json' {
  const want = requested?.toLowerCase();
  if (want === 'sql' || want === 'csv' || want === 'json') return want;
  const name = filename.toLowerCase();
  if (name.endsWith('.sql') || mimeType === 'application/sql') return 'sql';
  if (name.endsWith('.csv') || mimeType === 'text/csv') return 'csv';
  if (name.endsWith('.json') || mimeType === 'application/json') return 'json';
  throw new AppError(
    400,
    'DATABASE_INVALID_PARAMETER',
    `file: cannot tell the format of "${filename.slice(0, 100)}"; use .sql, .csv or .json (or a "format" field)`,
  );
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Yields row objects from a CSV (header row) or JSON (array of objects) upload. A JSON row is
 * held to what a request body is (core/http.ts jsonProblem): no nesting past `maxDepth`, no NUL.
 */
export async function* rowsOf(
  stream: Readable,
  kind: 'csv' | 'json',
  maxDepth: number,
): AsyncGenerator<Record<string, unknown>> {
  if (kind === 'json') {
    let data: unknown;
    try {
      // Numbers as written (core/json.ts): PostgreSQL reads their text, exactly or not at all.
      data = parseJsonExact(await readText(stream));
    } catch {
      throw new AppError(400, 'DATABASE_INVALID_PARAMETER', 'file: not valid JSON');
    }
    const list = Array.isArray(data) ? data : [data];
    for (const [i, row] of list.entries()) {
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        throw new AppError(
          400,
          'DATABASE_INVALID_PARAMETER',
          `file[${i}]: every item must be an object`,
        );
      }
      const problem = jsonProblem(row, maxDepth);
      if (problem) {
        throw new AppError(
          400,
          problem.kind === 'depth' ? 'INVALID_JSON' : 'INVALID_INPUT',
          `file[${i}]: ${problem.message.replace('The JSON body', 'the row')}`,
        );
      }
      yield row as Record<string, unknown>;
    }
    return;
  }
  const parser = parseCsv({
    columns: true,
    skip_empty_lines: true,
    bom: true,
    relax_column_count: false,
  });
  // pipeline, not pipe: a failed upload (size limit, client gone) must fail the parser too.
  pipeline(stream, parser, (err) => {
    if (err) parser.destroy(err);
  });
  try {
    for await (const record of parser) yield record as Record<string, unknown>;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError(400, 'DATABASE_INVALID_PARAMETER', `file: ${(err as Error).message}`);
  }
}

/** CSV has no null: an empty cell of a non-text column means NULL. */
function normalise(
  table: Table,
  row: Record<string, unknown>,
  csv: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    const col = table.columns.get(key);
    if (!col)
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        `file: column "${key.slice(0, 63)}" does not exist in "${table.name}"`,
      );
    out[key] = csv && value === '' && col.category !== 'S' ? null : value;
  }
  return out;
}

export interface ImportLimits {
  /** Largest file accepted (IMPORT_MAX_BYTES). */
  maxBytes: number;
  /** Deepest nesting a row of a JSON import may have (JSON_MAX_DEPTH, as for request bodies). */
  jsonMaxDepth: number;
}

const yes = (v: string | undefined) => v === 'true' || v === '1';

export class ImportService {
  constructor(
    private readonly db: Database,
    private readonly cache: SchemaCache,
    private readonly tables: TablesService,
    private readonly limits: ImportLimits,
  ) {}

  /**
   * `POST /advance/import`: the multipart upload's file, streamed into an SQL run or appended
   * rows (parts: file, format, schema, table, truncate).
   */
  async upload(principal: Principal, req: Request) {
    const upload = await readMultipart(
      req,
      this.limits.maxBytes,
      async (file, info, fields, ready) => {
        const kind = kindOf(info.filename, info.mimeType, fields.format);
        if (kind === 'sql') return { kind, ...(await this.sqlFile(principal, file, ready)) };
        const table = this.table(this.tables.schemaFor(fields.schema), fields.table);
        const result = await this.appendRows(
          principal,
          table,
          rowsOf(file, kind, this.limits.jsonMaxDepth),
          kind === 'csv',
          yes(fields.truncate),
          ready,
        );
        return { kind, statements: 1, tables: [table.name], ...result };
      },
    );
    return {
      success: true as const,
      message: `Imported ${upload.result.rowsImported} rows from ${upload.filename}`,
      filename: upload.filename,
      fileSize: upload.size,
      format: upload.result.kind,
      tables: upload.result.tables,
      rowsImported: upload.result.rowsImported,
    };
  }

  /**
   * `POST /advance/bulk-upsert`: CSV or JSON rows of the multipart upload's file upserted by
   * `upsertKey` (parts: file, format, schema, table, upsertKey).
   */
  async bulkUpsertUpload(principal: Principal, req: Request) {
    const upload = await readMultipart(
      req,
      this.limits.maxBytes,
      async (file, info, fields, ready) => {
        const kind = kindOf(info.filename, info.mimeType, fields.format);
        if (kind === 'sql')
          throw new AppError(
            400,
            'DATABASE_INVALID_PARAMETER',
            'file: bulk upsert takes CSV or JSON',
          );
        const table = this.table(this.tables.schemaFor(fields.schema), fields.table);
        const key = fields.upsertKey
          ? fields.upsertKey
              .split(',')
              .map((k) => k.trim())
              .filter(Boolean)
          : table.primaryKey;
        return {
          table: table.name,
          ...(await this.bulkUpsert(
            principal,
            table,
            rowsOf(file, kind, this.limits.jsonMaxDepth),
            kind === 'csv',
            key,
            ready,
          )),
        };
      },
    );
    const r = upload.result;
    return {
      success: r.failed === 0,
      message: `${r.inserted} inserted, ${r.updated} updated, ${r.failed} failed`,
      filename: upload.filename,
      ...r,
      rowsAffected: r.inserted + r.updated,
    };
  }

  table(schema: string, name: string | undefined): Table {
    if (!name)
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        'table: is required for CSV and JSON imports',
      );
    const table = this.cache.getTable(schema, name);
    if (!table || table.kind !== 'table')
      throw new AppError(
        404,
        'DATABASE_NOT_FOUND',
        `table: "${name.slice(0, 63)}" does not exist in ${schema}`,
      );
    return table;
  }

  /**
   * Runs an SQL file in one transaction as project_admin. Each import commits only once `ready`
   * resolves (the rest of the request arrived intact).
   */
  async sqlFile(principal: Principal, stream: Readable, ready: Promise<void> = Promise.resolve()) {
    const sql = await readText(stream);
    await ready;
    // The protocol ends a statement's text at a NUL byte: PostgreSQL would drop the connection
    // (08P01), which is no fault of the database.
    if (sql.includes('\0')) {
      throw new AppError(
        400,
        'INVALID_INPUT',
        'file: the SQL contains a NUL character, which no SQL text can hold',
      );
    }
    return this.db.withPrincipal(principal, async (tx) => {
      const raw = await tx.query(sql);
      const results = (Array.isArray(raw) ? raw : [raw]) as pg.QueryResult[];
      const rowsImported = results
        .filter((r) => r.command === 'INSERT' || r.command === 'COPY')
        .reduce((n, r) => n + (r.rowCount ?? 0), 0);
      const tables = [
        ...sql.matchAll(
          /\b(?:CREATE TABLE(?: IF NOT EXISTS)?|INSERT INTO)\s+((?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+))?)/gi,
        ),
      ].map((m) => m[1]!.replace(/"/g, ''));
      return { statements: results.length, rowsImported, tables: [...new Set(tables)] };
    });
  }

  /** Appends rows to a table in one transaction (optionally emptying it first). */
  async appendRows(
    principal: Principal,
    table: Table,
    rows: AsyncIterable<Record<string, unknown>>,
    csv: boolean,
    truncate: boolean,
    ready: Promise<void> = Promise.resolve(),
  ) {
    return this.db.withPrincipal(principal, async (tx) => {
      if (truncate) await tx.query(`TRUNCATE ${qualified(table.schema, table.name)}`);
      let batch: Record<string, unknown>[] = [];
      let total = 0;
      const flush = async () => {
        if (!batch.length) return;
        total += await insertBatch(tx, table, batch);
        batch = [];
      };
      for await (const row of rows) {
        batch.push(normalise(table, row, csv));
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      await ready;
      return { rowsImported: total };
    });
  }

  /**
   * Inserts or updates rows by `upsertKey`, batch by batch, each batch in a savepoint. A batch
   * that fails is retried row by row so good rows land and bad ones are reported.
   */
  async bulkUpsert(
    principal: Principal,
    table: Table,
    rows: AsyncIterable<Record<string, unknown>>,
    csv: boolean,
    upsertKey: string[],
    ready: Promise<void> = Promise.resolve(),
  ) {
    for (const k of upsertKey) {
      if (!table.columns.has(k))
        throw new AppError(
          400,
          'DATABASE_VALIDATION_ERROR',
          `upsertKey: column "${k.slice(0, 63)}" does not exist in "${table.name}"`,
        );
    }
    if (!upsertKey.length)
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        `upsertKey: "${table.name}" has no primary key; name the column(s) to match on`,
      );
    return this.db.withPrincipal(principal, async (tx) => {
      const report = {
        totalRecords: 0,
        inserted: 0,
        updated: 0,
        failed: 0,
        errors: [] as Array<{ row: number; message: string }>,
      };
      let batch: Array<{ n: number; row: Record<string, unknown> }> = [];
      const apply = async (items: typeof batch) => {
        const result = await upsertBatch(
          tx,
          table,
          items.map((i) => i.row),
          upsertKey,
        );
        report.inserted += result.inserted;
        report.updated += result.updated;
      };
      const flush = async () => {
        if (!batch.length) return;
        const items = batch;
        batch = [];
        await tx.query('SAVEPOINT kiln_batch');
        try {
          await apply(items);
          await tx.query('RELEASE SAVEPOINT kiln_batch');
          return;
        } catch {
          await tx.query('ROLLBACK TO SAVEPOINT kiln_batch');
        }
        for (const item of items) {
          await tx.query('SAVEPOINT kiln_row');
          try {
            await apply([item]);
            await tx.query('RELEASE SAVEPOINT kiln_row');
          } catch (err) {
            await tx.query('ROLLBACK TO SAVEPOINT kiln_row');
            report.failed++;
            if (report.errors.length < MAX_REPORTED_ERRORS) {
              report.errors.push({
                row: item.n,
                message: appErrorFromPg(err as { code?: string; message: string }).message,
              });
            }
          }
        }
      };
      let n = 0;
      for await (const row of rows) {
        n++;
        report.totalRecords++;
        let normal: Record<string, unknown>;
        try {
          normal = normalise(table, row, csv);
        } catch (err) {
          report.failed++;
          if (report.errors.length < MAX_REPORTED_ERRORS)
            report.errors.push({ row: n, message: (err as Error).message });
          continue;
        }
        batch.push({ n, row: normal });
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      await ready;
      return report;
    });
  }
}

function columnsOf(rows: Record<string, unknown>[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r)))];
}

async function insertBatch(
  tx: pg.PoolClient,
  table: Table,
  rows: Record<string, unknown>[],
): Promise<number> {
  const cols = columnsOf(rows);
  if (!cols.length) return 0;
  const target = qualified(table.schema, table.name);
  const result = await tx.query(
    `INSERT INTO ${target} (${cols.map(q).join(', ')}) SELECT ${cols.map((c) => `_x.${q(c)}`).join(', ')} FROM jsonb_populate_recordset(NULL::${target}, $1::jsonb) AS _x`,
    [stringifyJson(rows)],
  );
  return result.rowCount ?? 0;
}

async function upsertBatch(
  tx: pg.PoolClient,
  table: Table,
  rows: Record<string, unknown>[],
  key: string[],
) {
  const cols = columnsOf(rows);
  const target = qualified(table.schema, table.name);
  const updates = cols.filter((c) => !key.includes(c));
  const conflict = updates.length
    ? `DO UPDATE SET ${updates.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')}`
    : 'DO NOTHING';
  const { rows: out } = await tx.query<{ inserted: boolean }>(
    `INSERT INTO ${target} (${cols.map(q).join(', ')}) SELECT ${cols.map((c) => `_x.${q(c)}`).join(', ')} FROM jsonb_populate_recordset(NULL::${target}, $1::jsonb) AS _x ` +
      `ON CONFLICT (${key.map(q).join(', ')}) ${conflict} RETURNING (xmax = 0) AS inserted`,
    [stringifyJson(rows)],
  );
  const inserted = out.filter((r) => r.inserted).length;
  return { inserted, updated: out.length - inserted };
}
