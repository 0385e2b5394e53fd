/**
 * `/api/database/records/:table` and `/api/database/rpc/:fn`: the PostgREST protocol over
 * HTTP. parse → plan → SQL → one statement inside db.withPrincipal → response.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  RECORDS_REQUEST_HEADERS,
  postgrestErrorSchema,
  recordsQuerySchema,
  recordsBodySchema,
  recordsRowsSchema,
  recordsTableParamsSchema,
  rpcArgumentsSchema,
  rpcParamsSchema,
  rpcResultSchema,
} from '@kiln/shared-schemas';
import type { Database, Principal, Tx } from '../../core/db.js';
import { quoteIdent as q } from '../../core/db.js';
import { AppError, BusyError } from '../../core/errors.js';
import { jsonProblem, urlProblem } from '../../core/http.js';
import type { Logger } from '../../core/logger.js';
import { route, type ResponseMap, type RouteGroup } from '../../core/route.js';
import { PgrstError, toPgrstError } from './errors.js';
import { parsePrefer, parseRange, splitTopLevel, type Preferences } from './parse.js';
import { buildReadPlan, columnMissing, type ReadNode } from './plan.js';
import type { Column, DbFunction, SchemaCache, Table } from './schema-cache.js';
import {
  Aliases,
  SqlParams,
  compileRead,
  compileWhere,
  limitOffset,
  literal,
  tableRef,
  wrapAsJson,
} from './sql.js';

export interface RecordsOptions {
  jsonBodyLimit: string;
  /** Deepest nesting a JSON body may have (400 beyond). */
  jsonMaxDepth: number;
  logger: Logger;
  /** Most rows a read returns (PostgREST's db-max-rows); undefined = no cap. */
  maxRows?: number;
}

type Query = Record<string, string[]>;

type Format = 'json' | 'single' | 'csv';

interface Ctx {
  req: Request;
  res: Response;
  principal: Principal;
  schema: string;
  prefs: Preferences;
  format: Format;
  query: Query;
  maxRows?: number;
}

interface Outcome {
  status: number;
  /** JSON text of the rows (array), or undefined for no body. */
  body?: string;
  pageCount: number;
  total?: number;
  offset: number;
  headers?: Record<string, string>;
  /** The body is a scalar/object RPC result rather than rows. */
  raw?: boolean;
}

class Rollback {
  constructor(readonly outcome: Outcome) {}
}

function queryOf(req: Request): Query {
  const url = new URL(req.originalUrl, 'http://kiln.local');
  const out: Query = {};
  for (const [k, v] of url.searchParams) (out[k] ??= []).push(v);
  return out;
}

function principalFor(req: Request): Principal {
  const auth = req.auth;
  if (auth.kind === 'principal') return auth.principal;
  if (auth.kind === 'rejected') {
    throw new PgrstError(401, 'PGRST301', auth.error.message, null, auth.error.nextActions ?? null);
  }
  throw new PgrstError(
    401,
    'PGRST302',
    'Anonymous access is disabled',
    null,
    'Send the anon key or an access token as Authorization: Bearer <token>',
  );
}

function schemaFor(req: Request, exposed: string[]): string {
  const read = req.method === 'GET' || req.method === 'HEAD';
  const header = req.get(read ? 'accept-profile' : 'content-profile');
  if (!header) return exposed[0]!;
  if (!exposed.includes(header)) {
    throw new PgrstError(
      406,
      'PGRST106',
      `The schema must be one of the following: ${exposed.join(', ')}`,
      null,
      null,
    );
  }
  return header;
}

function formatFor(req: Request): Format {
  const accept = req.get('accept');
  if (!accept) return 'json';
  for (const part of accept.split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (type === 'application/vnd.pgrst.object+json' || type === 'application/vnd.pgrst.object')
      return 'single';
    if (type === 'text/csv') return 'csv';
    if (type === 'application/json' || type === '*/*' || type === 'application/*' || type === '')
      return 'json';
  }
  throw new PgrstError(
    406,
    'PGRST107',
    `None of these media types are available: ${accept.slice(0, 200)}`,
  );
}

function requireTable(cache: SchemaCache, schema: string, name: string): Table {
  const table = cache.getTable(schema, name);
  if (!table) {
    throw new PgrstError(
      404,
      'PGRST205',
      `Could not find the table '${schema}.${name}' in the schema cache`,
      null,
      null,
    );
  }
  return table;
}

function toCsv(json: string): string {
  const rows = JSON.parse(json) as Array<Record<string, unknown>>;
  if (!rows.length) return '';
  const headers = Object.keys(rows[0]!);
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [
    headers.map(cell).join(','),
    ...rows.map((r) => headers.map((h) => cell(r[h])).join(',')),
  ].join('\n');
}

function contentRange(outcome: Outcome): string {
  const total = outcome.total === undefined ? '*' : String(outcome.total);
  if (outcome.pageCount === 0) return `*/${total}`;
  return `${outcome.offset}-${outcome.offset + outcome.pageCount - 1}/${total}`;
}

function send(ctx: Ctx, outcome: Outcome): void {
  const { res, req, prefs } = ctx;
  if (prefs.applied.length) res.setHeader('Preference-Applied', prefs.applied.join(', '));
  for (const [k, v] of Object.entries(outcome.headers ?? {})) res.setHeader(k, v);
  if (!outcome.raw) res.setHeader('Content-Range', contentRange(outcome));
  res.status(outcome.status);
  if (outcome.body === undefined || req.method === 'HEAD') {
    if (outcome.body !== undefined)
      res.type(ctx.format === 'csv' ? 'text/csv' : 'application/json');
    res.end();
    return;
  }
  if (ctx.format === 'csv' && !outcome.raw) {
    res.type('text/csv; charset=utf-8').send(toCsv(outcome.body));
    return;
  }
  if (ctx.format === 'single' && !outcome.raw) {
    res.type('application/vnd.pgrst.object+json; charset=utf-8').send(singleObject(outcome.body));
    return;
  }
  res.type('application/json; charset=utf-8').send(outcome.body);
}

/** The one row of a JSON array (the caller already checked the count). */
function singleObject(json: string): string {
  const rows = JSON.parse(json) as unknown[];
  return JSON.stringify(rows[0]);
}

function assertSingle(ctx: Ctx, count: number): void {
  if (ctx.format === 'single' && count !== 1) {
    throw new PgrstError(
      406,
      'PGRST116',
      'JSON object requested, multiple (or no) rows returned',
      `The result contains ${count} rows`,
      null,
    );
  }
}

function assertMaxAffected(ctx: Ctx, count: number): void {
  const { maxAffected, handling } = ctx.prefs;
  if (handling === 'strict' && maxAffected !== undefined && count > maxAffected) {
    throw new PgrstError(
      400,
      'PGRST124',
      `Query result exceeds max-affected preference constraint`,
      `The query affects ${count} rows`,
      null,
    );
  }
}

/** Below this many planned rows, `count=estimated` pays for an exact count. */
const ESTIMATE_THRESHOLD = 1000;

/**
 * `count=planned`: the planner's row estimate for the filtered rows (cheap, approximate).
 * `count=estimated`: the estimate, or the exact count when the estimate is small.
 */
async function inexactCount(
  tx: Tx,
  mode: Preferences['count'],
  node: ReadNode,
  source?: string,
): Promise<number | undefined> {
  if (mode !== 'planned' && mode !== 'estimated') return undefined;
  // Only the filters, with parameters of their own (the page query has more).
  const params = new SqlParams();
  const where = compileWhere(node, 'c0', params, new Aliases());
  const from = `${source ?? tableRef(node.table)} AS c0${where ? ` WHERE ${where}` : ''}`;
  const { rows } = await tx.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
    `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${from}`,
    params.values,
  );
  const planned = Math.round(rows[0]!['QUERY PLAN'][0]!.Plan['Plan Rows']);
  if (mode === 'planned' || planned > ESTIMATE_THRESHOLD) return planned;
  const exact = await tx.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${from}`,
    params.values,
  );
  return Number(exact.rows[0]!.n);
}

/** Runs `fn` in the caller's transaction; honours `Prefer: tx=rollback`. */
async function inTransaction(
  db: Database,
  ctx: Ctx,
  readOnly: boolean,
  fn: (tx: Tx) => Promise<Outcome>,
): Promise<Outcome> {
  const settings = {
    'request.method': ctx.req.method,
    'request.path': ctx.req.path,
    'request.headers': JSON.stringify(headersForSql(ctx.req)),
    ...(ctx.prefs.timezone ? { timezone: ctx.prefs.timezone } : {}),
  };
  try {
    return await db.withPrincipal(
      ctx.principal,
      async (tx) => {
        const outcome = await fn(tx);
        if (ctx.prefs.tx === 'rollback') throw new Rollback(outcome);
        return outcome;
      },
      { readOnly, settings },
    );
  } catch (err) {
    if (err instanceof Rollback) return err.outcome;
    throw err;
  }
}

function headersForSql(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k === 'authorization' || k === 'cookie' || k === 'x-api-key') continue;
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

// ---- reads ------------------------------------------------------------------------------------

async function read(db: Database, cache: SchemaCache, ctx: Ctx, table: Table): Promise<Outcome> {
  const node = buildReadPlan(cache, { table, query: ctx.query });
  pageOf(ctx, node);
  const params = new SqlParams();
  const compiled = compileRead(node, params, new Aliases());
  const exact = ctx.prefs.count === 'exact';
  const sql = wrapAsJson(compiled.rows, exact ? compiled.count : undefined);
  return inTransaction(db, ctx, true, async (tx) => {
    const { rows } = await tx.query<{ page_count: number; body: string; total?: string }>(
      sql,
      params.values,
    );
    const row = rows[0]!;
    const total = exact ? Number(row.total) : await inexactCount(tx, ctx.prefs.count, node);
    assertSingle(ctx, row.page_count);
    const offset = node.offset ?? 0;
    if (total !== undefined && offset > 0 && offset >= total && row.page_count === 0 && total > 0) {
      throw new PgrstError(
        416,
        'PGRST103',
        'Requested range not satisfiable',
        `An offset of ${offset} was requested, but there are only ${total} rows.`,
        null,
      );
    }
    const partial = total !== undefined && (offset > 0 || row.page_count < total);
    return {
      status: partial ? 206 : 200,
      body: row.body,
      pageCount: row.page_count,
      total,
      offset,
    };
  });
}

function applyRange(ctx: Ctx, node: ReadNode): void {
  const range = parseRange(ctx.req.get('range'));
  if (!range) return;
  const rangeEnd = range.limit !== undefined ? range.offset + range.limit : undefined;
  const offset = (node.offset ?? 0) + range.offset;
  // The narrower of the Range header and limit/offset wins.
  let limit = node.limit !== undefined ? Math.max(0, node.limit - range.offset) : undefined;
  if (rangeEnd !== undefined)
    limit = limit === undefined ? range.limit : Math.min(limit, range.limit!);
  node.offset = offset;
  if (limit !== undefined) node.limit = limit;
}

/** The Range header and limit/offset, then the server's row cap on top (top level only). */
function pageOf(ctx: Ctx, node: ReadNode): void {
  applyRange(ctx, node);
  if (ctx.maxRows !== undefined) node.limit = Math.min(node.limit ?? ctx.maxRows, ctx.maxRows);
}

// ---- writes -----------------------------------------------------------------------------------

function isTextual(col: Column): boolean {
  return col.category === 'S';
}

function defaultSql(table: Table, col: Column): string {
  if (col.defaultExpr) return col.defaultExpr;
  if (col.identity)
    return `nextval(pg_get_serial_sequence(${literal(tableRef(table))}, ${literal(col.name)}))`;
  return 'NULL';
}

function parseColumnsParam(ctx: Ctx, table: Table): string[] | undefined {
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

interface PreparedRows {
  columns: string[];
  /** Each row as {v: values, d: columns to fill with their default}. */
  rows: Array<{ v: Record<string, unknown>; d: string[] }>;
  defaulted: Set<string>;
}

/** Validates a write body against the table and normalises it (empty strings, missing=default). */
function prepareRows(ctx: Ctx, table: Table, body: unknown, allowArray: boolean): PreparedRows {
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

function insertSql(
  table: Table,
  prepared: PreparedRows,
  params: SqlParams,
  conflict: string,
  returning: string,
): string {
  const target = tableRef(table);
  if (prepared.columns.length === 0) {
    if (prepared.rows.length === 1)
      return `INSERT INTO ${target} DEFAULT VALUES${conflict}${returning}`;
    const first =
      [...table.columns.values()].find((c) => !c.generated && (c.defaultExpr || c.identity)) ??
      [...table.columns.values()][0]!;
    return `INSERT INTO ${target} (${q(first.name)}) SELECT ${defaultSql(table, first)} FROM generate_series(1, ${prepared.rows.length})${conflict}${returning}`;
  }
  const body = params.add(JSON.stringify(prepared.rows));
  const exprs = prepared.columns.map((name) => {
    const col = table.columns.get(name)!;
    const value = `_x.${q(name)}`;
    return prepared.defaulted.has(name)
      ? `CASE WHEN (_b.j->'d') ? ${literal(name)} THEN ${defaultSql(table, col)} ELSE ${value} END`
      : value;
  });
  return (
    `INSERT INTO ${target} (${prepared.columns.map(q).join(', ')}) ` +
    `SELECT ${exprs.join(', ')} FROM jsonb_array_elements(${body}::jsonb) WITH ORDINALITY AS _b(j, n) ` +
    `CROSS JOIN LATERAL jsonb_populate_record(NULL::${target}, _b.j->'v') AS _x ORDER BY _b.n${conflict}${returning}`
  );
}

function conflictClause(ctx: Ctx, table: Table, columns: string[], forceMerge = false): string {
  const resolution = forceMerge ? 'merge-duplicates' : ctx.prefs.resolution;
  if (!resolution) return '';
  const raw = ctx.query.on_conflict?.[0];
  const target = raw
    ? splitTopLevel(raw).map((c) => c.trim().replace(/^"(.*)"$/, '$1'))
    : table.primaryKey;
  for (const c of target) if (!table.columns.has(c)) throw columnMissing(table, c);
  if (!target.length) {
    throw new PgrstError(
      400,
      'PGRST100',
      `Upsert on '${table.name}' needs on_conflict=<columns>: the table has no primary key`,
    );
  }
  if (resolution === 'ignore-duplicates')
    return ` ON CONFLICT (${target.map(q).join(', ')}) DO NOTHING`;
  const updates = columns.filter((c) => !target.includes(c));
  if (!updates.length) return ` ON CONFLICT (${target.map(q).join(', ')}) DO NOTHING`;
  return ` ON CONFLICT (${target.map(q).join(', ')}) DO UPDATE SET ${updates.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')}`;
}

/** Runs a mutation; with return=representation the rows are read back through the select. */
async function mutate(
  db: Database,
  cache: SchemaCache,
  ctx: Ctx,
  table: Table,
  build: (params: SqlParams, returning: string) => string,
  status: { withBody: number; without: number },
  node: ReadNode = buildReadPlan(cache, { table, query: ctx.query }),
): Promise<Outcome> {
  const representation = ctx.prefs.return === 'representation';
  const headersOnly = ctx.prefs.return === 'headers-only';
  const params = new SqlParams();
  if (representation) {
    const mutation = build(params, ' RETURNING *');
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
    const sql = `WITH pgrst_mutation AS (${mutation}) ${wrapAsJson(compiled.rows, undefined, ['(SELECT count(*) FROM pgrst_mutation)::int AS affected'])}`;
    return inTransaction(db, ctx, false, async (tx) => {
      const { rows } = await tx.query<{ page_count: number; body: string; affected: number }>(
        sql,
        params.values,
      );
      const row = rows[0]!;
      assertMaxAffected(ctx, row.affected);
      assertSingle(ctx, row.page_count);
      return {
        status: status.withBody,
        body: row.body,
        pageCount: row.page_count,
        offset: 0,
        total: ctx.prefs.count ? row.affected : undefined,
      };
    });
  }
  const pk = table.primaryKey;
  const returning = headersOnly && pk.length ? ` RETURNING ${pk.map(q).join(', ')}` : '';
  const sql = build(params, returning);
  return inTransaction(db, ctx, false, async (tx) => {
    const result = await tx.query<Record<string, unknown>>(sql, params.values);
    const affected = result.rowCount ?? 0;
    assertMaxAffected(ctx, affected);
    assertSingle(ctx, affected);
    const headers: Record<string, string> = {};
    const first = result.rows[0];
    if (headersOnly && first && result.rows.length === 1) {
      const filters = pk
        .map((c) => `${encodeURIComponent(c)}=eq.${encodeURIComponent(String(first[c]))}`)
        .join('&');
      headers.Location = `/${encodeURIComponent(table.name)}?${filters}`;
    }
    return {
      status: status.without,
      pageCount: 0,
      offset: 0,
      total: ctx.prefs.count ? affected : undefined,
      headers,
    };
  });
}

async function insert(db: Database, cache: SchemaCache, ctx: Ctx, table: Table): Promise<Outcome> {
  if (!table.insertable)
    throw new PgrstError(405, 'PGRST100', `'${table.name}' does not accept inserts`);
  const prepared = prepareRows(ctx, table, ctx.req.body, true);
  return mutate(
    db,
    cache,
    ctx,
    table,
    (params, returning) =>
      insertSql(table, prepared, params, conflictClause(ctx, table, prepared.columns), returning),
    { withBody: 201, without: 201 },
  );
}

async function upsertOne(
  db: Database,
  cache: SchemaCache,
  ctx: Ctx,
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
  const withoutFilters: Ctx = {
    ...ctx,
    query: Object.fromEntries(Object.entries(ctx.query).filter(([k]) => !pk.includes(k))),
  };
  return mutate(
    db,
    cache,
    withoutFilters,
    table,
    (params, returning) =>
      insertSql(
        table,
        prepared,
        params,
        conflictClause(ctx, table, prepared.columns, true),
        returning,
      ),
    { withBody: 200, without: 204 },
  );
}

async function update(db: Database, cache: SchemaCache, ctx: Ctx, table: Table): Promise<Outcome> {
  if (!table.updatable)
    throw new PgrstError(405, 'PGRST100', `'${table.name}' does not accept updates`);
  const prepared = prepareRows(ctx, table, ctx.req.body, false);
  const values = prepared.rows[0]!.v;
  const columns = Object.keys(values);
  const node = buildReadPlan(cache, { table, query: ctx.query });
  if (!columns.length) {
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
    (params, returning) => {
      const where = compileWhere(node, 'u0', params, new Aliases());
      const body = params.add(JSON.stringify(values));
      const sets = columns.map((c) => `${q(c)} = _x.${q(c)}`).join(', ');
      const scope = limitedScope(node, table, where, params);
      return `UPDATE ${tableRef(table)} AS u0 SET ${sets} FROM jsonb_populate_record(NULL::${tableRef(table)}, ${body}::jsonb) AS _x${scope}${returning.replace('RETURNING *', 'RETURNING u0.*')}`;
    },
    { withBody: 200, without: 204 },
    node,
  );
}

async function remove(db: Database, cache: SchemaCache, ctx: Ctx, table: Table): Promise<Outcome> {
  if (!table.deletable)
    throw new PgrstError(405, 'PGRST100', `'${table.name}' does not accept deletes`);
  const node = buildReadPlan(cache, { table, query: ctx.query });
  return mutate(
    db,
    cache,
    ctx,
    table,
    (params, returning) => {
      const where = compileWhere(node, 'u0', params, new Aliases());
      return `DELETE FROM ${tableRef(table)} AS u0${limitedScope(node, table, where, params)}${returning.replace('RETURNING *', 'RETURNING u0.*')}`;
    },
    { withBody: 200, without: 204 },
    node,
  );
}

/** WHERE for UPDATE/DELETE; with `limit` (and `order`) only the first N matching rows. */
function limitedScope(node: ReadNode, table: Table, where: string, params: SqlParams): string {
  if (node.limit === undefined) return where ? ` WHERE ${where}` : '';
  const order = node.order.length
    ? ` ORDER BY ${node.order.map((t) => `${q(t.field.name)}${t.direction ? ` ${t.direction.toUpperCase()}` : ''}`).join(', ')}`
    : '';
  const inner = `SELECT ctid FROM ${tableRef(table)} AS u0${where ? ` WHERE ${where}` : ''}${order}${limitOffset(node, params)}`;
  return ` WHERE u0.ctid = ANY(ARRAY(${inner}))`;
}

// ---- RPC --------------------------------------------------------------------------------------

function pickFunction(
  cache: SchemaCache,
  schema: string,
  name: string,
  argNames: string[],
): DbFunction {
  const candidates = cache.getFunctions(schema, name).filter((fn) => {
    const names = fn.args.map((a) => a.name);
    if (fn.args.length === 1 && argNames.length > 0 && !names[0]) return false;
    return (
      argNames.every((a) => names.includes(a)) &&
      fn.args.every((a) => a.hasDefault || argNames.includes(a.name))
    );
  });
  if (candidates.length === 1) return candidates[0]!;
  const signature = `${schema}.${name}(${argNames.join(', ')})`;
  if (candidates.length === 0) {
    throw new PgrstError(
      404,
      'PGRST202',
      `Could not find the function ${signature} in the schema cache`,
      `Searched for the function ${signature}${argNames.length ? ` with parameters ${argNames.join(', ')}` : ' without parameters'}, but no matches were found in the schema cache.`,
      null,
    );
  }
  throw new PgrstError(
    300,
    'PGRST203',
    `Could not choose the best candidate function between: ${candidates.map((f) => `${schema}.${name}(${f.args.map((a) => `${a.name} => ${a.type}`).join(', ')})`).join(', ')}`,
  );
}

function argValue(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'json' || type === 'jsonb') return JSON.stringify(value);
  if (Array.isArray(value) && type.endsWith('[]')) return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

async function rpc(db: Database, cache: SchemaCache, ctx: Ctx, fnName: string): Promise<Outcome> {
  const isRead = ctx.req.method === 'GET' || ctx.req.method === 'HEAD';
  let args: Record<string, unknown>;
  if (isRead) {
    const all = cache.getFunctions(ctx.schema, fnName).flatMap((f) => f.args.map((a) => a.name));
    args = Object.fromEntries(
      Object.entries(ctx.query)
        .filter(([k]) => all.includes(k))
        .map(([k, v]) => [k, v.length > 1 ? v : v[0]]),
    );
  } else {
    const body: unknown = ctx.req.body ?? {};
    if (ctx.prefs.paramsSingleObject) {
      const fns = cache.getFunctions(ctx.schema, fnName).filter((f) => f.args.length === 1);
      if (fns.length !== 1)
        throw new PgrstError(
          404,
          'PGRST202',
          `Could not find the function ${ctx.schema}.${fnName} with a single json parameter in the schema cache`,
        );
      args = { [fns[0]!.args[0]!.name]: body };
    } else {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new PgrstError(
          400,
          'PGRST102',
          'Empty or invalid json',
          'RPC arguments must be a JSON object',
        );
      }
      args = body as Record<string, unknown>;
    }
  }
  const fn = pickFunction(cache, ctx.schema, fnName, Object.keys(args));
  const params = new SqlParams();
  const argSql = Object.entries(args).map(([name, value]) => {
    const type = fn.args.find((a) => a.name === name)!.type;
    return `${q(name)} := ${params.add(argValue(value, type))}::${type}`;
  });
  const call = `${tableRef(fn)}(${argSql.join(', ')})`;
  const readOnly = isRead || fn.volatility !== 'v';

  if (fn.returnsVoid) {
    return inTransaction(db, ctx, readOnly, async (tx) => {
      await tx.query(`SELECT ${call}`, params.values);
      return { status: 200, body: 'null', pageCount: 0, offset: 0, raw: true };
    });
  }
  const rowTable = fn.returnTable
    ? cache.getTable(fn.returnTable.schema, fn.returnTable.name)
    : syntheticTable(fn);
  if (!fn.returnsRows || !rowTable) {
    const sql = fn.returnsSet
      ? `SELECT coalesce(json_agg(_t.v), '[]'::json)::text AS body, count(*)::int AS n FROM ${call} AS _t(v)`
      : `SELECT to_json(${call})::text AS body, 1 AS n`;
    return inTransaction(db, ctx, readOnly, async (tx) => {
      const { rows } = await tx.query<{ body: string | null; n: number }>(sql, params.values);
      return {
        status: 200,
        body: rows[0]?.body ?? 'null',
        pageCount: rows[0]?.n ?? 0,
        offset: 0,
        raw: !fn.returnsSet,
      };
    });
  }
  const skipKeys = isRead ? new Set(Object.keys(args)) : undefined;
  const node = buildReadPlan(cache, {
    table: rowTable,
    query: ctx.query,
    ...(skipKeys ? { skipKeys } : {}),
  });
  pageOf(ctx, node);
  // The function runs once, in a materialised CTE: the page and the count (Prefer: count=…)
  // both read its result instead of calling it again (twice the side effects otherwise).
  const compiled = compileRead(node, params, new Aliases(), '_kiln_rpc');
  const wantCount = ctx.prefs.count !== undefined;
  const sql = `WITH _kiln_rpc AS MATERIALIZED (SELECT * FROM ${call}) ${wrapAsJson(
    compiled.rows,
    wantCount ? compiled.count : undefined,
  )}`;
  return inTransaction(db, ctx, readOnly, async (tx) => {
    const { rows } = await tx.query<{ page_count: number; body: string; total?: string }>(
      sql,
      params.values,
    );
    const row = rows[0]!;
    if (!fn.returnsSet) {
      const list = JSON.parse(row.body) as unknown[];
      return {
        status: 200,
        body: JSON.stringify(list[0] ?? null),
        pageCount: row.page_count,
        offset: 0,
        raw: true,
      };
    }
    assertSingle(ctx, row.page_count);
    return {
      status: 200,
      body: row.body,
      pageCount: row.page_count,
      offset: node.offset ?? 0,
      total: wantCount ? Number(row.total) : undefined,
    };
  });
}

/** A table-shaped view of `RETURNS TABLE (...)` so select/filters can apply to its rows. */
function syntheticTable(fn: DbFunction): Table | undefined {
  if (!fn.outputColumns.length) return undefined;
  return {
    schema: fn.schema,
    name: fn.name,
    kind: 'view',
    columns: new Map(
      fn.outputColumns.map((c) => [
        c.name,
        {
          name: c.name,
          type: c.type,
          category: 'U',
          nullable: true,
          defaultExpr: null,
          identity: false,
          generated: false,
        },
      ]),
    ),
    primaryKey: [],
    uniqueKeys: [],
    insertable: false,
    updatable: false,
    deletable: false,
  };
}

// ---- router -----------------------------------------------------------------------------------

/**
 * The PostgREST-protocol paths, declared (core/route.ts) for the docs and the contract tests but
 * parsed here: their grammar is PostgREST's, their errors PostgREST's shape, and nothing on this
 * hot path is parsed twice (`parse: false`, `guard: false`: context() reads the request once).
 */
export function recordsRoutes(
  db: Database,
  cache: SchemaCache,
  options: RecordsOptions,
): RouteGroup {
  const json = express.json({
    limit: options.jsonBodyLimit,
    type: ['application/json', 'application/*+json'],
    strict: false,
  });

  const context = (req: Request, res: Response): Ctx => {
    // Nothing PostgreSQL cannot take goes further: NUL characters, bottomless nesting.
    const badUrl = urlProblem(req.originalUrl);
    if (badUrl) throw new PgrstError(400, 'PGRST100', badUrl);
    const badBody = jsonProblem(req.body, options.jsonMaxDepth);
    if (badBody?.kind === 'depth') throw new PgrstError(400, 'PGRST102', badBody.message);
    // What PostgreSQL itself answers for "\u0000" in jsonb.
    if (badBody) throw new PgrstError(400, '22P05', badBody.message);
    const principal = principalFor(req);
    const prefs = parsePrefer(req.headers.prefer);
    if (prefs.handling === 'strict' && prefs.invalid.length) {
      throw new PgrstError(
        400,
        'PGRST122',
        `Invalid preferences given with handling=strict`,
        `Invalid preferences: ${prefs.invalid.join(', ')}`,
        null,
      );
    }
    return {
      req,
      res,
      principal,
      schema: schemaFor(req, cache.exposedSchemas),
      prefs,
      format: formatFor(req),
      query: queryOf(req),
      maxRows: options.maxRows,
    };
  };

  const handle =
    (fn: (ctx: Ctx) => Promise<Outcome>) =>
    async ({ req, res }: { req: Request; res: Response }) => {
      const ctx = context(req, res);
      send(ctx, await fn(ctx));
    };

  const records = handle(async (ctx) => {
    const table = requireTable(cache, ctx.schema, String(ctx.req.params.table));
    switch (ctx.req.method) {
      case 'GET':
      case 'HEAD':
        return read(db, cache, ctx, table);
      case 'POST':
        return insert(db, cache, ctx, table);
      case 'PATCH':
        return update(db, cache, ctx, table);
      case 'PUT':
        return upsertOne(db, cache, ctx, table);
      case 'DELETE':
        return remove(db, cache, ctx, table);
      default:
        throw new PgrstError(405, 'PGRST117', `Unsupported HTTP method: ${ctx.req.method}`);
    }
  });
  const call = handle((ctx) => rpc(db, cache, ctx, String(ctx.req.params.fn)));

  // Errors on these paths use PostgREST's shape.
  const onError = (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const anonymous = req.auth?.kind !== 'principal' || req.auth.principal.role === 'anon';
    let error: PgrstError;
    const bodyErr = err as { type?: string };
    if (bodyErr?.type === 'entity.parse.failed')
      error = new PgrstError(400, 'PGRST102', 'Empty or invalid json');
    else if (bodyErr?.type === 'entity.too.large')
      error = new PgrstError(413, 'PGRST413', 'Payload Too Large');
    else if (err instanceof AppError) error = new PgrstError(err.status, err.code, err.message);
    else error = toPgrstError(err, anonymous);
    // Busy, not broken (a full pool, this client's share taken, a statement timeout): say when
    // to come back.
    if (error.status === 429 || error.status === 503) {
      res.setHeader('Retry-After', String(err instanceof BusyError ? err.retryAfterSeconds : 1));
    }
    const busy = err instanceof BusyError || ['57014', 'PGRST003'].includes(error.code);
    if (error.status >= 500 && !busy) {
      options.logger.error('records request failed', {
        requestId: req.requestId,
        path: req.originalUrl,
        error: err instanceof Error ? { message: err.message, stack: err.stack } : String(err),
      });
    }
    res.status(error.status).json(error.body);
  };

  const protocol = {
    access: 'anyKey',
    guard: false,
    parse: false,
    before: [json],
    query: recordsQuerySchema,
    requestHeaders: RECORDS_REQUEST_HEADERS,
  } as const;
  const rows = (description: string) => ({
    description,
    schema: recordsRowsSchema,
    content: ['json', 'text'] as const,
  });
  const empty = { description: 'Done (Prefer: return=minimal): no body' };
  const tableRoute = (
    method: 'get' | 'head' | 'post' | 'patch' | 'put' | 'delete',
    summary: string,
    responses: ResponseMap,
  ) =>
    route({
      ...protocol,
      method,
      path: '/records/:table',
      summary,
      params: recordsTableParamsSchema,
      ...(method === 'get' || method === 'head' ? {} : { body: recordsBodySchema }),
      responses,
      handler: records,
    });
  const rpcRoutes = (path: string) =>
    (['get', 'head', 'post'] as const).map((method) =>
      route({
        ...protocol,
        method,
        path,
        summary:
          method === 'post'
            ? 'Call a function with a JSON object of arguments'
            : 'Call a stable function with query-string arguments',
        params: rpcParamsSchema,
        ...(method === 'post' ? { body: rpcArgumentsSchema } : {}),
        responses: {
          200: { description: 'The result', schema: rpcResultSchema, content: ['json', 'text'] },
          206: rows('A page of a set-returning function (Range)'),
        },
        handler: call,
      }),
    );
  return {
    tag: 'records',
    errorShape: { name: 'PostgrestError', schema: postgrestErrorSchema },
    onError,
    // Other methods on these paths: PostgREST's 405 (context() first, as before: its checks win).
    otherMethods: (req, res, next) => {
      try {
        context(req, res);
        throw new PgrstError(405, 'PGRST117', `Unsupported HTTP method: ${req.method}`);
      } catch (err) {
        next(err);
      }
    },
    routes: [
      tableRoute('get', 'Read rows', { 200: rows('Rows'), 206: rows('A page of rows (Range)') }),
      tableRoute('head', 'Count rows (Prefer: count=exact) without reading them', {
        200: { description: 'Headers only (Content-Range)' },
        206: { description: 'Headers only (Content-Range)' },
      }),
      tableRoute('post', 'Insert rows (upsert with Prefer: resolution=…)', {
        201: { ...rows('Inserted (Prefer: return=representation), or no body') },
      }),
      tableRoute('patch', 'Update the rows the filters select', {
        200: rows('Updated rows (Prefer: return=representation)'),
        204: empty,
      }),
      tableRoute('put', 'Upsert one row by its primary key (filters name it)', {
        200: rows('The row (Prefer: return=representation)'),
        204: empty,
      }),
      tableRoute('delete', 'Delete the rows the filters select', {
        200: rows('Deleted rows (Prefer: return=representation)'),
        204: empty,
      }),
      ...rpcRoutes('/rpc/:fn'),
      ...rpcRoutes('/records/rpc/:fn'),
    ],
  };
}
