/**
 * Indexes of relations. `columns` is null for an index on an expression; `definitions` adds the
 * CREATE INDEX statement PostgreSQL prints for it; `names: false` leaves out the column names for a
 * caller that holds the columns by number.
 */
import type { Queryable, RelationFilter } from './common.js';

export interface IndexRow {
  schema: string;
  table: string;
  /** The indexed relation. */
  relid: number;
  name: string;
  unique: boolean;
  primary: boolean;
  /** Has a WHERE clause. */
  partial: boolean;
  /** Indexed columns (attnums) in order; null when an expression is indexed. */
  attnums: number[] | null;
  /** Their names (not with `names: false`). */
  columns?: string[] | null;
  definition?: string;
}

export async function loadIndexes(
  db: Queryable,
  filter: RelationFilter & {
    /** Only unique indexes on plain columns without a WHERE clause (the ones that make keys). */
    keysOnly?: boolean;
    definitions?: boolean;
    /** Resolve the column names (default true). */
    names?: boolean;
  },
): Promise<IndexRow[]> {
  const names = filter.names !== false;
  const definition = filter.definitions ? ', pg_get_indexdef(ix.indexrelid) AS definition' : '';
  const { rows } = await db.query<{
    schema: string;
    table: string;
    relid: number;
    name: string;
    is_unique: boolean;
    is_primary: boolean;
    partial: boolean;
    attnums: number[] | null;
    columns?: string[] | null;
    definition?: string;
  }>(
    `SELECT n.nspname AS schema, t.relname AS table, ix.indrelid::int AS relid,
            (SELECT i.relname FROM pg_class i WHERE i.oid = ix.indexrelid) AS name,
            ix.indisunique AS is_unique, ix.indisprimary AS is_primary, ix.indpred IS NOT NULL AS partial,
            CASE WHEN NOT (0 = ANY(ix.indkey)) THEN ix.indkey::int[] END AS attnums${
              names
                ? `,
            CASE WHEN NOT (0 = ANY(ix.indkey)) THEN
              array(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n ORDER BY k.o)
            END AS columns`
                : ''
            }${definition}
     FROM pg_index ix
     JOIN pg_class t ON t.oid = ix.indrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = ANY($1) AND ($2::text IS NULL OR t.relname = $2)
       AND (NOT $3 OR (ix.indisunique AND ix.indpred IS NULL AND NOT (0 = ANY(ix.indkey))))
     ORDER BY 1, 2, 4`,
    [filter.schemas, filter.table ?? null, filter.keysOnly ?? false],
  );
  return rows.map((r) => ({
    schema: r.schema,
    table: r.table,
    relid: r.relid,
    name: r.name,
    unique: r.is_unique,
    primary: r.is_primary,
    partial: r.partial,
    attnums: r.attnums,
    ...(names ? { columns: r.columns ?? null } : {}),
    ...(r.definition !== undefined ? { definition: r.definition } : {}),
  }));
}
