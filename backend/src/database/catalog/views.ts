/**
 * Views and materialized views. `definitions` adds the view's SELECT as PostgreSQL prints it;
 * `origins` adds, per output column, the table column it passes through unchanged (read from
 * the view's stored query tree), which lets the records API embed through views.
 */
import type { Queryable } from './common.js';

export interface ViewRow {
  oid: number;
  schema: string;
  name: string;
  materialized: boolean;
  definition?: string;
  /** Output column name → origin (relation oid, attnum). */
  origins?: Map<string, { relid: number; attnum: number }>;
}

export async function loadViews(
  db: Queryable,
  filter: { schemas: string[]; definitions?: boolean; origins?: boolean },
): Promise<ViewRow[]> {
  const { rows } = await db.query<{
    oid: number;
    schema: string;
    name: string;
    materialized: boolean;
    definition?: string;
    action?: string | null;
  }>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind = 'm' AS materialized
            ${filter.definitions ? ', pg_get_viewdef(c.oid, true) AS definition' : ''}
            ${
              filter.origins
                ? `, (SELECT r.ev_action::text FROM pg_rewrite r
                     WHERE r.ev_class = c.oid AND r.rulename = '_RETURN') AS action`
                : ''
            }
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY($1) AND c.relkind IN ('v', 'm') ORDER BY 2, 3`,
    [filter.schemas],
  );
  return rows.map((r) => ({
    oid: r.oid,
    schema: r.schema,
    name: r.name,
    materialized: r.materialized,
    ...(r.definition !== undefined ? { definition: r.definition } : {}),
    ...(filter.origins ? { origins: columnOrigins(r.action ?? '') } : {}),
  }));
}

function columnOrigins(action: string): Map<string, { relid: number; attnum: number }> {
  // Later target entries win: the view's own target list comes after its range table.
  const origins = new Map<string, { relid: number; attnum: number }>();
  for (const m of action.matchAll(
    /:resname (\S+) :ressortgroupref \d+ :resorigtbl (\d+) :resorigcol (\d+)/g,
  )) {
    const relid = Number(m[2]);
    if (relid !== 0) origins.set(m[1]!, { relid, attnum: Number(m[3]) });
  }
  return origins;
}
