/**
 * What every catalog module shares: the connection it reads through (a pool or a transaction's
 * client) and the names Kiln gives PostgreSQL's relation kinds.
 */
import type pg from 'pg';

export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

export type RelationKind =
  'table' | 'view' | 'materialized_view' | 'foreign_table' | 'partitioned_table';

/** pg_class.relkind → Kiln's name for it. */
export const RELATION_KINDS: Record<string, RelationKind> = {
  r: 'table',
  p: 'partitioned_table',
  v: 'view',
  m: 'materialized_view',
  f: 'foreign_table',
};

/** Every relkind that holds rows a client can read (tables, views, foreign tables). */
export const ROW_RELKINDS = ['r', 'p', 'v', 'm', 'f'];

/** Which relations a query looks at: schemas, optionally one relation by name. */
export interface RelationFilter {
  schemas: string[];
  /** Only the relation of this name (in any of `schemas`). */
  table?: string;
}
