/** Row-level security policies, by schema, table and name. */
import type { Queryable, RelationFilter } from './common.js';

export interface PolicyRow {
  schema: string;
  table: string;
  name: string;
  /** ALL, SELECT, INSERT, UPDATE or DELETE. */
  command: string;
  roles: string[];
  permissive: boolean;
  /** USING expression. */
  using: string | null;
  withCheck: string | null;
}

export async function loadPolicies(db: Queryable, filter: RelationFilter): Promise<PolicyRow[]> {
  const { rows } = await db.query<{
    schema: string;
    table: string;
    name: string;
    cmd: string;
    roles: string[];
    permissive: string;
    qual: string | null;
    with_check: string | null;
  }>(
    `SELECT schemaname AS schema, tablename AS table, policyname AS name, cmd, roles::text[] AS roles,
            permissive, qual, with_check
     FROM pg_policies WHERE schemaname = ANY($1) AND ($2::text IS NULL OR tablename = $2)
     ORDER BY schemaname, tablename, policyname`,
    [filter.schemas, filter.table ?? null],
  );
  return rows.map((r) => ({
    schema: r.schema,
    table: r.table,
    name: r.name,
    command: r.cmd,
    roles: r.roles,
    permissive: r.permissive === 'PERMISSIVE',
    using: r.qual,
    withCheck: r.with_check,
  }));
}
