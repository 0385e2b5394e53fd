/**
 * The dashboard overview's counts in one cheap query: users (exact below a threshold, the
 * planner's estimate above it, as PostgREST's count=estimated), tables of the exposed schemas,
 * buckets, edge functions, realtime channels and the database's size.
 */
import type { Database } from '../core/db.js';

/** Above this many users (the planner's estimate), the estimate is answered, not a count. */
export const EXACT_COUNT_LIMIT = 10_000;

export async function projectOverview(db: Database, exposedSchemas: string[]) {
  const { rows } = await db.query<{
    users_estimate: number;
    tables: number;
    views: number;
    buckets: number;
    functions: number;
    channels: number;
    bytes: string;
  }>(
    `SELECT (SELECT c.reltuples FROM pg_catalog.pg_class c
              WHERE c.oid = 'auth.users'::pg_catalog.regclass)::float8 AS users_estimate,
            (SELECT count(*)::int FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p')
                AND NOT c.relispartition) AS tables,
            (SELECT count(*)::int FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('v', 'm')) AS views,
            (SELECT count(*)::int FROM storage.buckets) AS buckets,
            (SELECT count(*)::int FROM system.functions) AS functions,
            (SELECT count(*)::int FROM realtime.channels) AS channels,
            pg_catalog.pg_database_size(pg_catalog.current_database())::text AS bytes`,
    [exposedSchemas],
  );
  const r = rows[0]!;
  // reltuples is -1 before the first ANALYZE: then (and for small tables) count.
  const estimated = r.users_estimate > EXACT_COUNT_LIMIT;
  const users = estimated
    ? Math.round(r.users_estimate)
    : (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM auth.users')).rows[0]!.n;
  return {
    users: { count: users, estimated },
    tables: r.tables,
    views: r.views,
    buckets: r.buckets,
    functions: r.functions,
    channels: r.channels,
    databaseSizeBytes: Number(r.bytes),
    exposedSchemas,
  };
}
