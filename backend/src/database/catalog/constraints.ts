/**
 * Table constraints: primary keys, unique constraints, foreign keys (with the table and columns
 * they reference and their actions), checks and exclusions. `definitions` adds the constraint's
 * SQL as PostgreSQL prints it. `names: false` leaves out the column and referenced-table names
 * for a caller that already holds the relations and columns by number (the schema cache): the
 * per-key name look-ups are most of this query's cost.
 */
import type { Queryable, RelationFilter } from './common.js';

export interface ConstraintRow {
  name: string;
  /** pg_constraint.contype: p primary key, u unique, f foreign key, c check, x exclusion… */
  type: string;
  /** The constrained relation. */
  relid: number;
  schema: string;
  table: string;
  /** Constrained columns (attnums), in key order. */
  attnums: number[];
  /** Their names (not with `names: false`). */
  columns?: string[];
  /** Foreign keys: the referenced relation and columns (null otherwise). */
  refRelid: number | null;
  refAttnums: number[] | null;
  /** Names of the referenced relation and columns (not with `names: false`). */
  refSchema?: string | null;
  refTable?: string | null;
  refColumns?: string[] | null;
  /** Foreign keys: pg_constraint.confdeltype / confupdtype (a, r, c, n, d). */
  onDelete: string;
  onUpdate: string;
  definition?: string;
}

/**
 * The names of a key's columns in key order. A constraint names each column once, so one index
 * look-up per key (attnum = ANY) finds them all.
 */
function keyNames(relid: string, attnums: string): string {
  return `array(SELECT a.attname::text FROM pg_attribute a
                WHERE a.attrelid = ${relid} AND a.attnum = ANY(${attnums})
                ORDER BY array_position(${attnums}, a.attnum))`;
}

export async function loadConstraints(
  db: Queryable,
  filter: RelationFilter & {
    /** Only these contypes (every kind when absent). */
    types?: string[];
    definitions?: boolean;
    /** Resolve column and referenced-table names (default true). */
    names?: boolean;
  },
): Promise<ConstraintRow[]> {
  const definition = filter.definitions ? ', pg_get_constraintdef(con.oid) AS definition' : '';
  const names =
    filter.names === false
      ? ''
      : `
            ${keyNames('con.conrelid', 'con.conkey')} AS columns,
            CASE WHEN con.contype = 'f' THEN
              (SELECT rn.nspname FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace
               WHERE rc.oid = con.confrelid)
            END AS ref_schema,
            CASE WHEN con.contype = 'f' THEN
              (SELECT rc.relname FROM pg_class rc WHERE rc.oid = con.confrelid)
            END AS ref_table,
            CASE WHEN con.contype = 'f' THEN
              ${keyNames('con.confrelid', 'con.confkey')}
            END AS ref_columns,`;
  const { rows } = await db.query<{
    name: string;
    type: string;
    relid: number;
    schema: string;
    table: string;
    attnums: number[];
    ref_relid: number | null;
    ref_attnums: number[] | null;
    columns?: string[];
    ref_schema?: string | null;
    ref_table?: string | null;
    ref_columns?: string[] | null;
    on_delete: string;
    on_update: string;
    definition?: string;
  }>(
    `SELECT con.conname AS name, con.contype AS type, con.conrelid::int AS relid,
            n.nspname AS schema, c.relname AS table, con.conkey::int[] AS attnums,
            nullif(con.confrelid, 0)::int AS ref_relid, con.confkey::int[] AS ref_attnums,${names}
            con.confdeltype AS on_delete, con.confupdtype AS on_update${definition}
     FROM pg_constraint con
     JOIN pg_class c ON c.oid = con.conrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY($1) AND ($2::text IS NULL OR c.relname = $2)
       AND ($3::"char"[] IS NULL OR con.contype = ANY($3::"char"[]))
     ORDER BY con.conname`,
    [filter.schemas, filter.table ?? null, filter.types ?? null],
  );
  return rows.map((r) => ({
    name: r.name,
    type: r.type,
    relid: r.relid,
    schema: r.schema,
    table: r.table,
    attnums: r.attnums,
    refRelid: r.ref_relid,
    refAttnums: r.ref_attnums,
    ...(filter.names === false
      ? {}
      : {
          columns: r.columns ?? [],
          refSchema: r.ref_schema ?? null,
          refTable: r.ref_table ?? null,
          refColumns: r.ref_columns ?? null,
        }),
    onDelete: r.on_delete,
    onUpdate: r.on_update,
    ...(r.definition !== undefined ? { definition: r.definition } : {}),
  }));
}
