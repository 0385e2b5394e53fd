/**
 * The studio's table list: per table the planner's row estimate, sizes, row-level security and
 * policies, read from the catalog and the statistics views only (never a count(*): one query,
 * whatever the tables hold).
 */
import type pg from 'pg';
import { AppError } from '../../core/errors.js';
import { SYSTEM_SCHEMAS } from './introspection.js';

type Queryable = Pick<pg.Pool, 'query'>;

const KINDS = {
  r: 'table',
  p: 'partitioned_table',
  v: 'view',
  m: 'materialized_view',
  f: 'foreign_table',
} as const;

/** Schemas that are PostgreSQL's or Kiln's own: not the project's tables. */
const NOT_USER = ['pg_catalog', 'information_schema', 'pg_toast', ...SYSTEM_SCHEMAS];

interface Row {
  schema: string;
  name: string;
  kind: keyof typeof KINDS;
  reltuples: number;
  live: string | null;
  total: string;
  heap: string;
  indexes: string;
  rls: boolean;
  forced: boolean;
  policies: number;
  has_pk: boolean;
  analyzed: Date | null;
}

export async function tableStats(db: Queryable, exposedSchemas: string[], schema?: string) {
  if (schema !== undefined && (NOT_USER.includes(schema) || schema.startsWith('pg_'))) {
    throw new AppError(
      400,
      'DATABASE_VALIDATION_ERROR',
      `schema: "${schema.slice(0, 63)}" is PostgreSQL's or Kiln's own, not a schema of the project's tables`,
    );
  }
  // reltuples is -1 until the table is first vacuumed or analyzed (PostgreSQL 14+): then the
  // live-row count the statistics collector keeps from inserts and deletes stands in. A
  // partitioned table holds no rows itself: its partitions' figures are summed.
  const { rows } = await db.query<Row>(
    `WITH rel AS (
       SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
              c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
              CASE WHEN c.relkind = 'p'
                   THEN ARRAY(SELECT t.relid FROM pg_catalog.pg_partition_tree(c.oid) t
                               WHERE t.isleaf)
                   ELSE ARRAY[c.oid] END AS parts
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
          AND CASE WHEN $1::text IS NOT NULL THEN n.nspname = $1
                   ELSE n.nspname <> ALL ($2::text[]) AND n.nspname NOT LIKE 'pg\\_%' END)
     SELECT r.schema, r.name, r.kind, r.rls, r.forced,
            (SELECT coalesce(sum(pc.reltuples) FILTER (WHERE pc.reltuples >= 0), -1)
               FROM pg_catalog.pg_class pc WHERE pc.oid = ANY (r.parts))::float8 AS reltuples,
            (SELECT sum(s.n_live_tup)::text FROM pg_catalog.pg_stat_all_tables s
              WHERE s.relid = ANY (r.parts)) AS live,
            (SELECT coalesce(sum(pg_catalog.pg_total_relation_size(p)), 0)::text
               FROM unnest(r.parts) p) AS total,
            (SELECT coalesce(sum(pg_catalog.pg_table_size(p)), 0)::text
               FROM unnest(r.parts) p) AS heap,
            (SELECT coalesce(sum(pg_catalog.pg_indexes_size(p)), 0)::text
               FROM unnest(r.parts) p) AS indexes,
            (SELECT count(*)::int FROM pg_catalog.pg_policy pol WHERE pol.polrelid = r.oid)
              AS policies,
            EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                     WHERE k.conrelid = r.oid AND k.contype = 'p') AS has_pk,
            (SELECT greatest(s.last_analyze, s.last_autoanalyze)
               FROM pg_catalog.pg_stat_all_tables s WHERE s.relid = r.oid) AS analyzed
       FROM rel r
      ORDER BY r.schema, r.name`,
    [schema ?? null, NOT_USER],
  );
  const data = rows.map((r) => {
    const isView = r.kind === 'v';
    const live = r.live === null ? null : Number(r.live);
    const estimatedRows = isView
      ? null
      : r.reltuples >= 0
        ? Math.round(r.reltuples)
        : live !== null && live > 0
          ? live
          : null;
    return {
      schemaName: r.schema,
      tableName: r.name,
      kind: KINDS[r.kind],
      estimatedRows,
      totalBytes: Number(r.total),
      tableBytes: Number(r.heap),
      indexBytes: Number(r.indexes),
      rlsEnabled: r.rls,
      rlsForced: r.forced,
      policyCount: r.policies,
      exposed: exposedSchemas.includes(r.schema),
      hasPrimaryKey: r.has_pk,
      lastAnalyzedAt: r.analyzed?.toISOString() ?? null,
    };
  });
  return { data, exposedSchemas };
}
