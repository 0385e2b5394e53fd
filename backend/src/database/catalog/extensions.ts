/** Extensions the server can install, and the version installed (if any). */
import type { Queryable } from './common.js';

export interface ExtensionRow {
  name: string;
  defaultVersion: string;
  installedVersion: string | null;
  comment: string | null;
}

export async function loadExtensions(db: Queryable): Promise<ExtensionRow[]> {
  const { rows } = await db.query<ExtensionRow>(
    `SELECT name, default_version AS "defaultVersion", installed_version AS "installedVersion", comment
     FROM pg_available_extensions ORDER BY name`,
  );
  return rows;
}
