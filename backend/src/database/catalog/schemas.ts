/** Schemas (namespaces), PostgreSQL's own (pg_*, information_schema) left out. */
import type { Queryable } from './common.js';

export interface SchemaRow {
  name: string;
  owner: string;
}

export async function loadSchemas(db: Queryable): Promise<SchemaRow[]> {
  const { rows } = await db.query<SchemaRow>(
    `SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner
     FROM pg_namespace n
     WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
     ORDER BY n.nspname`,
  );
  return rows;
}
