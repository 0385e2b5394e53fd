/**
 * Writes on `/records/:table`: POST (insert, upsert with `Prefer: resolution`), PUT (upsert one
 * row by its primary key), PATCH (update) and DELETE. The body is checked against the table here;
 * the statements come from write-sql.ts; mutate() runs one and, with `Prefer:
 * return=representation`, reads the written rows back through the request's select.
 */
import type { Database } from '../../core/db.js';
import { quoteIdent as q } from '../../core/db.js';
import { PgrstError } from './errors.js';
import type { RequestContext } from './negotiate.js';
import { splitTopLevel } from './parse.js';
import { buildReadPlan, type ReadNode } from './plan.js';
import { assertMaxAffected, assertSingle, type Outcome } from './respond.js';
import type { Column, SchemaCache, Table } from './schema-cache.js';
import { Aliases, SqlParams, compileRead, wrapFor } from './sql.js';
import { inTransaction } from './transaction.js';
import {
  INSERTED_ROWS,
  conflictClause,
  deleteSql,
  insertSql,
  updateSql,
  type PreparedRows,
} from './write-sql.js';

export async function insert(
  db: Database,
  cache: SchemaCache,
  ctx: RequestContext,
  table: Table,
): Promise<Outcome> {
  if (!table.insertable)
    throw new PgrstError(405, 'PGRST100', `'${table.name}' does not accept inserts`);
  const prepared = prepareRows(ctx, table, ctx.req.body, true);
  // (The conflict clause is built inside mutate(), after the plan: its errors come second.)
  return mutate(
    db,
    cache,
    ctx,
    table,
    (params, returning, countInserted) =>
      insertSql(
        table,
        prepared,
        params,
        conflictClause(table, ctx.prefs.resolution, ctx.query.on_conflict?.[0], prepared.columns),
        returning,
        countInserted,
      ),
    'insert',
  );
}

export async function upsertOne(
  db: Database,
  cache: SchemaCache,
  ctx: RequestContext,
  table: Table,
): Promise<Outcome> {
  const pk = table.primaryKey;
  if (!pk.length)
    throw new PgrstError(405, 'PGRST100', `PUT needs a primary key, and '${table.name}' has none`);
  const filters = Object.entries(ctx.query).filter(
    ([k]) => !['select', 'columns', 'on_conflict'].includes(k),
  );
  const pkFilters = new Map<string, string>();
  for (const [key, values] of filters) {
    const m = values.length === 1 ? /^eq\.(.*)$/s.exec(values[0]!) : null;
    if (!pk.includes(key) || !m) {
      throw new PgrstError(
        405,
        'PGRST105',
        "Filters must include all and only primary key columns with 'eq' operators",
      );
    }
    pkFilters.set(key, m[1]!);
  }
  if (pkFilters.size !== pk.length) {
    throw new PgrstError(
      405,
      'PGRST105',
      "Filters must include all and only primary key columns with 'eq' operators",
    );
  }
  const body = ctx.req.body as Record<string, unknown> | undefined;
  const prepared = prepareRows(ctx, table, body, false);
  for (const c of pk) {
    if (
      !(c in (prepared.rows[0]?.v ?? {})) ||
      String(prepared.rows[0]!.v[c]) !== pkFilters.get(c)
    ) {
      throw new PgrstError(
        400,
        'PGRST115',
        'Payload values do not match URL in primary key column(s)',
      );
    }
  }
  const withoutFilters: RequestContext = {
    ...ctx,
    query: Object.fromEntries(Object.entries(ctx.query).filter(([k]) => !pk.includes(k))),
  };
  return mutate(
    db,
    cache,
    withoutFilters,
    table,
    (params, returning, countInserted) =>
      insertSql(
        table,
        prepared,
        params,
        conflictClause(table, 'merge-duplicates', ctx.query.on_conflict?.[0], prepared.columns),
        returning,
        countInserted,
      ),
    'put',
  );
}

export async function update(
  db: Database,
  cache: SchemaCache,
  ctx: RequestContext,
  table: Table,
): Promise<Outcome> {
  if (!table.updatable)
    throw new PgrstError(405, 'PGRST100', `'${table.name}' does not accept updates`);
  const prepared = prepareRows(ctx, table, ctx.req.body, false);
  const values = prepared.rows[0]!.v;
  const node = buildReadPlan(cache, { table, query: ctx.query, aggregates: ctx.aggregates });
  if (!Object.keys(values).length) {
    // Nothing to change: answer like an update that matched nothing.
    return ctx.prefs.return === 'representation'
      ? { status: 200, body: '[]', pageCount: 0, offset: 0 }
      : { status: 204, pageCount: 0, offset: 0 };
  }
  return mutate(
    db,
    cache,
    ctx,
    table,
    (params, returning) => updateSql(table, node, values, params, returning),
    'update',
    node,
  );
}

export async function remove(
  db: Database,
  cache: SchemaCache,
  ctx: RequestContext,
  table: Table,
): Promise<Outcome> {
  if (!table.deletable)
    throw new PgrstError(405, 'PGRST100', `'${table.name}' does not accept deletes`);
  const node = buildReadPlan(cache, { table, query: ctx.query, aggregates: ctx.aggregates });
  return mutate(
    db,
    cache,
    ctx,
    table,
    (params, returning) => deleteSql(table, node, params, returning),
    'delete',
    node,
  );
}

/** Which write a mutation is: it decides the status and Content-Range PostgREST answers with. */
type WriteKind = 'insert' | 'put' | 'update' | 'delete';

/**
 * PostgREST's status for a write: an insert is 201, or 200 for an upsert that inserted nothing
 * (merged every row); PUT with a body is 201 when it inserted, 200 when it replaced; the rest are
 * 200 with a body and 204 without.
 */
function writeStatus(
  kind: WriteKind,
  done: { upsert: boolean; inserted: number; withBody: boolean },
): number {
  if (kind === 'insert') return done.upsert && done.inserted === 0 ? 200 : 201;
  if (!done.withBody) return 204;
  return kind === 'put' && done.inserted > 0 ? 201 : 200;
}

/** PostgREST's Content-Range for a write: none on PUT, the changed rows on an update, else `*`. */
function writeContentRange(kind: WriteKind, affected: number, total?: number): string | null {
  const of = total === undefined ? '*' : String(total);
  if (kind === 'put') return null;
  if (kind === 'update' && affected > 0) return `0-${affected - 1}/${of}`;
  return `*/${of}`;
}

/**
 * Runs a mutation; with return=representation the rows are read back through the select.
 * Statuses and Content-Range follow PostgREST: an insert is 201, or 200 when an upsert
 * (`resolution=merge-duplicates`) merged every row; PUT is 201 when it inserted and 200 when it
 * replaced (204 without a body) and has no Content-Range; an insert or delete says `*` + `/total`,
 * an update the range of the rows it changed.
 */
async function mutate(
  db: Database,
  cache: SchemaCache,
  ctx: RequestContext,
  table: Table,
  build: (params: SqlParams, returning: string, countInserted: boolean) => string,
  kind: WriteKind,
  node: ReadNode = buildReadPlan(cache, { table, query: ctx.query, aggregates: ctx.aggregates }),
): Promise<Outcome> {
  const representation = ctx.prefs.return === 'representation';
  const headersOnly = ctx.prefs.return === 'headers-only';
  // Upserts count the rows they insert (write-sql.ts INSERTED_ROWS): all merged answers 200.
  const upsert =
    kind === 'put' || (kind === 'insert' && ctx.prefs.resolution === 'merge-duplicates');
  const answer = (affected: number, inserted: number, body?: string, pageCount = 0) => {
    const total = ctx.prefs.count ? affected : undefined;
    const outcome: Outcome = {
      status: writeStatus(kind, { upsert, inserted, withBody: body !== undefined }),
      pageCount,
      offset: 0,
      total,
      contentRange: writeContentRange(kind, affected, total),
    };
    if (body !== undefined) outcome.body = body;
    return outcome;
  };
  const params = new SqlParams();
  if (representation) {
    const mutation = build(params, ' RETURNING *', upsert);
    // The rows were chosen by the mutation's WHERE; read them back through the select only
    // (re-applying filters would drop rows the update just changed).
    const representationNode: ReadNode = {
      ...node,
      conditions: [],
      limit: undefined,
      offset: undefined,
      embeds: node.embeds.map((e) => ({ ...e, inner: false, existence: undefined })),
    };
    const compiled = compileRead(representationNode, params, new Aliases(), 'pgrst_mutation');
    const wrap = wrapFor(ctx.format);
    // The counter is read in the aggregate, after every written row went through it.
    const sql = `WITH pgrst_mutation AS (${mutation}) ${wrap(compiled.rows, undefined, ['(SELECT count(*) FROM pgrst_mutation)::int AS affected', `${INSERTED_ROWS} AS inserted`])}`;
    return inTransaction(db, ctx, false, async (tx) => {
      const { rows } = await tx.query<{
        page_count: number;
        body: string;
        affected: number;
        inserted: number | null;
      }>(sql, params.values);
      const row = rows[0]!;
      assertMaxAffected(ctx, row.affected);
      assertSingle(ctx, row.page_count);
      return answer(row.affected, row.inserted ?? row.affected, row.body, row.page_count);
    });
  }
  const pk = table.primaryKey;
  const location = headersOnly && (kind === 'insert' || kind === 'put') && pk.length > 0;
  const returning = location ? ` RETURNING ${pk.map(q).join(', ')}` : '';
  const sql = build(params, returning, upsert);
  return inTransaction(db, ctx, false, async (tx) => {
    const result = await tx.query<Record<string, unknown>>(sql, params.values);
    const affected = result.rowCount ?? 0;
    assertMaxAffected(ctx, affected);
    assertSingle(ctx, affected);
    const inserted = upsert
      ? (await tx.query<{ n: number | null }>(`SELECT ${INSERTED_ROWS} AS n`)).rows[0]!.n
      : null;
    const outcome = answer(affected, inserted ?? affected);
    const first = result.rows[0];
    // PostgREST's Location: the new row's primary key, for one row written with headers-only.
    if (location && first && result.rows.length === 1) {
      const filters = pk
        .map((c) => `${encodeURIComponent(c)}=eq.${encodeURIComponent(String(first[c]))}`)
        .join('&');
      outcome.headers = { Location: `/${encodeURIComponent(table.name)}?${filters}` };
    }
    return outcome;
  });
}

function isTextual(col: Column): boolean {
  return col.category === 'S';
}

function parseColumnsParam(ctx: RequestContext, table: Table): string[] | undefined {
  const raw = ctx.query.columns?.[0];
  if (raw === undefined) return undefined;
  return splitTopLevel(raw).map((c) => {
    const name = c.trim().replace(/^"(.*)"$/, '$1');
    if (!table.columns.has(name)) throw unknownColumn(table, name);
    return name;
  });
}

function unknownColumn(table: Table, name: string): PgrstError {
  return new PgrstError(
    400,
    'PGRST204',
    `Could not find the '${name}' column of '${table.name}' in the schema cache`,
    null,
    null,
  );
}

/** Validates a write body against the table and normalises it (empty strings, missing=default). */
function prepareRows(
  ctx: RequestContext,
  table: Table,
  body: unknown,
  allowArray: boolean,
): PreparedRows {
  const list = Array.isArray(body) ? body : [body];
  if (!allowArray && Array.isArray(body))
    throw new PgrstError(400, 'PGRST102', 'Expected a single JSON object, got an array');
  if (
    body === undefined ||
    body === null ||
    list.some((r) => typeof r !== 'object' || r === null || Array.isArray(r))
  ) {
    throw new PgrstError(
      400,
      'PGRST102',
      'Empty or invalid json',
      'The body must be a JSON object or an array of objects',
    );
  }
  const explicit = parseColumnsParam(ctx, table);
  const seen = new Set<string>();
  const rows = (list as Array<Record<string, unknown>>).map((raw) => {
    const v: Record<string, unknown> = {};
    const d: string[] = [];
    for (const [key, value] of Object.entries(raw)) {
      if (explicit && !explicit.includes(key)) continue;
      const col = table.columns.get(key);
      if (!col) throw unknownColumn(table, key);
      // The SDK sends "" for untouched non-text fields: treat them as absent.
      if (value === '' && !isTextual(col)) {
        d.push(key);
        continue;
      }
      v[key] = value;
      seen.add(key);
    }
    return { v, d };
  });
  const columns = explicit ?? [...table.columns.keys()].filter((c) => seen.has(c));
  const defaulted = new Set<string>();
  for (const row of rows) {
    for (const c of columns) {
      if (c in row.v) continue;
      if (ctx.prefs.missing === 'default' && !row.d.includes(c)) row.d.push(c);
      if (row.d.includes(c)) defaulted.add(c);
    }
  }
  // Columns only ever emptied (never given a value) are left to their defaults entirely.
  return { columns: columns.filter((c) => seen.has(c) || explicit !== undefined), rows, defaulted };
}
