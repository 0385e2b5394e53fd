/**
 * Relations (tables, views, materialized views, foreign and partitioned tables): one row per
 * relation. `details` adds what the dashboard shows and the records API does not need (size,
 * row estimate, column count, comment), which costs a file-size look-up per relation.
 */
import {
  RELATION_KINDS,
  type Queryable,
  type RelationFilter,
  type RelationKind,
} from './common.js';

export interface RelationRow {
  oid: number;
  schema: string;
  name: string;
  kind: RelationKind;
  rlsEnabled: boolean;
  insertable: boolean;
  updatable: boolean;
  deletable: boolean;
}

export interface RelationDetails {
  rowEstimate: number;
  columnCount: number;
  sizeBytes: number;
  comment: string | null;
}

export function loadRelations(
  db: Queryable,
  filter: RelationFilter & { kinds: string[]; details: true },
): Promise<Array<RelationRow & RelationDetails>>;
export function loadRelations(
  db: Queryable,
  filter: RelationFilter & { kinds: string[]; details?: false },
): Promise<RelationRow[]>;
export async function loadRelations(
  db: Queryable,
  filter: RelationFilter & { kinds: string[]; details?: boolean },
): Promise<Array<RelationRow & Partial<RelationDetails>>> {
  const details = filter.details
    ? `, greatest(c.reltuples, 0)::bigint::float8 AS estimate,
         (SELECT count(*)::int FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
         pg_total_relation_size(c.oid)::text AS size, obj_description(c.oid, 'pg_class') AS comment`
    : '';
  const { rows } = await db.query<{
    oid: number;
    schema: string;
    name: string;
    kind: string;
    rls: boolean;
    updatable: number;
    estimate?: number;
    columns?: number;
    size?: string;
    comment?: string | null;
  }>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
            c.relrowsecurity AS rls, pg_relation_is_updatable(c.oid, true) AS updatable${details}
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY($1) AND c.relkind = ANY($2::"char"[]) AND ($3::text IS NULL OR c.relname = $3)
     ORDER BY n.nspname, c.relname`,
    [filter.schemas, filter.kinds, filter.table ?? null],
  );
  return rows.map((r) => ({
    oid: r.oid,
    schema: r.schema,
    name: r.name,
    kind: RELATION_KINDS[r.kind] ?? 'table',
    rlsEnabled: r.rls,
    // pg_relation_is_updatable bits: 4 UPDATE, 8 INSERT, 16 DELETE
    insertable: (r.updatable & 8) !== 0,
    updatable: (r.updatable & 4) !== 0,
    deletable: (r.updatable & 16) !== 0,
    ...(filter.details
      ? {
          rowEstimate: Math.round(r.estimate ?? 0),
          columnCount: r.columns ?? 0,
          sizeBytes: Number(r.size),
          comment: r.comment ?? null,
        }
      : {}),
  }));
}
