/**
 * Columns of relations, in column order (grouped by relation), with the labels of enum
 * types. Keys and uniqueness come from constraints.ts.
 */
import type { Queryable, RelationFilter } from './common.js';
import { enumLabelsSql } from './enums.js';

export interface ColumnRow {
  /** The relation's oid. */
  relid: number;
  schema: string;
  table: string;
  attnum: number;
  name: string;
  /** format_type(): `integer`, `character varying(20)`, `text[]`, `public.mood`… */
  type: string;
  /** pg_type.typcategory: S string, N numeric, B boolean, D datetime, A array, U user… */
  category: string;
  notNull: boolean;
  /** SQL default expression, if any. */
  defaultExpr: string | null;
  identity: boolean;
  generated: boolean;
  /** With `comments` only (else null). */
  comment: string | null;
  /** Labels when the column's type is an enum. */
  enumValues: string[] | null;
}

export async function loadColumns(
  db: Queryable,
  filter: RelationFilter & {
    /** Only relations of these relkinds (any relation when absent). */
    kinds?: string[];
    /** Include each column's comment (the records API does not need it). */
    comments?: boolean;
  },
): Promise<ColumnRow[]> {
  const { rows } = await db.query<{
    relid: number;
    schema: string;
    table: string;
    attnum: number;
    name: string;
    type: string;
    category: string;
    notnull: boolean;
    default_expr: string | null;
    identity: string;
    generated: string;
    comment: string | null;
    enum_values: string[] | null;
  }>(
    `SELECT a.attrelid::int AS relid, n.nspname AS schema, c.relname AS table, a.attnum::int AS attnum,
            a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, 
            t.typcategory AS category, a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS default_expr,
            a.attidentity AS identity, a.attgenerated AS generated,
            ${filter.comments ? 'col_description(a.attrelid, a.attnum)' : 'NULL::text'} AS comment,
            CASE WHEN t.typtype = 'e' THEN ${enumLabelsSql('t.oid')} END AS enum_values
     FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname = ANY($1) AND ($2::text IS NULL OR c.relname = $2)
       AND ($3::"char"[] IS NULL OR c.relkind = ANY($3::"char"[]))
       AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attrelid, a.attnum`,
    [filter.schemas, filter.table ?? null, filter.kinds ?? null],
  );
  return rows.map((r) => ({
    relid: r.relid,
    schema: r.schema,
    table: r.table,
    attnum: r.attnum,
    name: r.name,
    type: r.type,
    category: r.category,
    notNull: r.notnull,
    defaultExpr: r.default_expr,
    identity: r.identity !== '',
    generated: r.generated !== '',
    comment: r.comment,
    enumValues: r.enum_values,
  }));
}
