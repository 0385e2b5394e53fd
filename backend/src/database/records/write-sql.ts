/**
 * The statements behind writes: INSERT (also for upserts, with ON CONFLICT), UPDATE and DELETE,
 * with the same rules as sql.ts: identifiers from the schema cache, always quoted; every value
 * from the request (rows, limit, offset) travels as a parameter. Rows travel as JSON text
 * written with stringifyJson (core/json.ts): numbers reach PostgreSQL as the client wrote them.
 */
import { quoteIdent as q } from '../../core/db.js';
import { stringifyJson } from '../../core/json.js';
import { PgrstError } from './errors.js';
import { splitTopLevel, type Preferences } from './parse.js';
import { columnMissing, type ReadNode } from './plan.js';
import type { Column, Table } from './schema-cache.js';
import { Aliases, SqlParams, compileWhere, limitOffset, literal, tableRef } from './sql.js';

/** A write body checked against the table and normalised (see writes.ts prepareRows). */
export interface PreparedRows {
  columns: string[];
  /** Each row as {v: values, d: columns to fill with their default}. */
  rows: Array<{ v: Record<string, unknown>; d: string[] }>;
  defaulted: Set<string>;
}

/**
 * How many rows an upsert inserted, for its status (200 when it only merged): a transaction-local
 * counter that each row offered raises and each row merged by `DO UPDATE` lowers. It works for
 * tables, partitions and updatable views alike (`xmax` does not).
 */
const INSERTED = 'kiln.inserted';
function countRow(delta: '+' | '-'): string {
  return `set_config('${INSERTED}', (coalesce(nullif(current_setting('${INSERTED}', true), '')::int, 0) ${delta} 1)::text, true) IS NOT NULL`;
}
/** The rows the statement's upsert inserted; NULL when it offered none or did not count. */
export const INSERTED_ROWS = `nullif(current_setting('${INSERTED}', true), '')::int`;

/**
 * `INSERT … SELECT` from the JSON rows (one parameter), in their order; columns a row leaves to
 * their default get it through CASE. `conflict` is conflictClause()'s, `returning` the caller's;
 * `countInserted` counts the rows offered (see INSERTED_ROWS).
 */
export function insertSql(
  table: Table,
  prepared: PreparedRows,
  params: SqlParams,
  conflict: string,
  returning: string,
  countInserted = false,
): string {
  const target = tableRef(table);
  const counted = countInserted ? ` WHERE ${countRow('+')}` : '';
  if (prepared.columns.length === 0) {
    if (prepared.rows.length === 1 && !countInserted)
      return `INSERT INTO ${target} DEFAULT VALUES${conflict}${returning}`;
    const first =
      [...table.columns.values()].find((c) => !c.generated && (c.defaultExpr || c.identity)) ??
      [...table.columns.values()][0]!;
    return `INSERT INTO ${target} (${q(first.name)}) SELECT ${defaultSql(table, first)} FROM generate_series(1, ${prepared.rows.length})${counted}${conflict}${returning}`;
  }
  const body = params.add(stringifyJson(prepared.rows));
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
    `CROSS JOIN LATERAL jsonb_populate_record(NULL::${target}, _b.j->'v') AS _x${counted} ORDER BY _b.n${conflict}${returning}`
  );
}

/**
 * ` ON CONFLICT (…) DO UPDATE/NOTHING` for `Prefer: resolution=…`; the target is `on_conflict`
 * (a column list) or the primary key. Empty without a resolution.
 */
export function conflictClause(
  table: Table,
  resolution: Preferences['resolution'],
  onConflict: string | undefined,
  columns: string[],
): string {
  if (!resolution) return '';
  const target = onConflict
    ? splitTopLevel(onConflict).map((c) => c.trim().replace(/^"(.*)"$/, '$1'))
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
  return ` ON CONFLICT (${target.map(q).join(', ')}) DO UPDATE SET ${updates.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')} WHERE ${countRow('-')}`;
}

/** `UPDATE … SET` the given columns from one JSON object (one parameter), on the rows `node` selects. */
export function updateSql(
  table: Table,
  node: ReadNode,
  values: Record<string, unknown>,
  params: SqlParams,
  returning: string,
): string {
  const where = compileWhere(node, 'u0', params, new Aliases());
  const body = params.add(stringifyJson(values));
  const sets = Object.keys(values)
    .map((c) => `${q(c)} = _x.${q(c)}`)
    .join(', ');
  const scope = limitedScope(node, table, where, params);
  return `UPDATE ${tableRef(table)} AS u0 SET ${sets} FROM jsonb_populate_record(NULL::${tableRef(table)}, ${body}::jsonb) AS _x${scope}${returning.replace('RETURNING *', 'RETURNING u0.*')}`;
}

/** `DELETE` the rows `node` selects. */
export function deleteSql(
  table: Table,
  node: ReadNode,
  params: SqlParams,
  returning: string,
): string {
  const where = compileWhere(node, 'u0', params, new Aliases());
  return `DELETE FROM ${tableRef(table)} AS u0${limitedScope(node, table, where, params)}${returning.replace('RETURNING *', 'RETURNING u0.*')}`;
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

function defaultSql(table: Table, col: Column): string {
  if (col.defaultExpr) return col.defaultExpr;
  if (col.identity)
    return `nextval(pg_get_serial_sequence(${literal(tableRef(table))}, ${literal(col.name)}))`;
  return 'NULL';
}
