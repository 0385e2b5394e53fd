import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { KILN_SCHEMAS } from './authenticator.js';
import type { Logger } from './logger.js';
import { SAFE_SEARCH_PATH, SAFE_SEARCH_PATH_OPTIONS } from './search-path.js';
import { migrateJobEngine } from '../jobs/engine-migrations.js';

/** backend/migrations, from both src/core and dist/core. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** One lock id for everything that must not run twice at once on a database (hash of "kiln.bootstrap"). */
export const BOOTSTRAP_LOCK_ID = 7_130_001;

/**
 * Holds Kiln's bootstrap advisory lock on its own connection while `fn` runs. A second instance
 * starting at the same moment waits here until the first has finished migrating and seeding.
 */
export async function withBootstrapLock<T>(
  connectionString: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    connectionString,
    application_name: 'kiln-bootstrap',
    options: SAFE_SEARCH_PATH_OPTIONS,
  });
  await client.connect();
  try {
    await client.query('SELECT pg_catalog.pg_advisory_lock($1)', [BOOTSTRAP_LOCK_ID]);
    try {
      return await fn(client);
    } finally {
      await client
        .query('SELECT pg_catalog.pg_advisory_unlock($1)', [BOOTSTRAP_LOCK_ID])
        .catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

/** Applies pending system migrations (recorded in system.migrations). Idempotent. */
export async function migrate(client: pg.Client, logger?: Logger): Promise<string[]> {
  const applied = await runner({
    dbClient: client,
    dir: MIGRATIONS_DIR,
    migrationsTable: 'migrations',
    migrationsSchema: 'system',
    createMigrationsSchema: true,
    direction: 'up',
    checkOrder: true,
    singleTransaction: true,
    noLock: true, // withBootstrapLock already serialises instances
    log: (msg: string) => logger?.debug(msg),
    logger: {
      debug: (msg: string) => logger?.debug(msg),
      info: (msg: string) => logger?.debug(msg),
      warn: (msg: string) => logger?.warn(msg),
      error: (msg: string) => logger?.error(msg),
    },
  });
  await migrateJobEngine(client, logger);
  await hardenSystemSchemas(client, logger);
  return applied.map((m) => m.name);
}

/**
 * Runs after every migration, so it also covers what later migrations add:
 * - every SECURITY DEFINER function in Kiln's schemas gets `search_path = pg_catalog, pg_temp`
 *   (one written without it would otherwise resolve names in its caller's path: an overload
 *   planted in public would run as the function's owner);
 * - the request roles lose the TRIGGER privilege on Kiln's tables (a `GRANT ALL` gives it): a
 *   trigger project_admin put on, say, storage.buckets would run as whoever writes the row,
 *   and Kiln's own services write those rows.
 */
export async function hardenSystemSchemas(client: pg.ClientBase, logger?: Logger): Promise<void> {
  const { rows } = await client.query<{ fixed: string[] | null }>(
    `WITH fixed AS (
       SELECT p.oid::pg_catalog.regprocedure::text AS name
         FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY ($1) AND p.prosecdef
          AND NOT (coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp']))
     SELECT pg_catalog.array_agg(name) AS fixed FROM fixed`,
    [KILN_SCHEMAS],
  );
  for (const name of rows[0]?.fixed ?? []) {
    await client.query(`ALTER FUNCTION ${name} SET search_path = ${SAFE_SEARCH_PATH}`);
    logger?.warn(`SECURITY DEFINER function ${name} had no safe search_path: set it`);
  }
  const schemas = await client.query<{ name: string }>(
    'SELECT nspname AS name FROM pg_catalog.pg_namespace WHERE nspname = ANY ($1) ORDER BY 1',
    [KILN_SCHEMAS],
  );
  if (schemas.rows.length) {
    const list = schemas.rows.map((r) => pg.escapeIdentifier(r.name)).join(', ');
    await client.query(
      `REVOKE TRIGGER ON ALL TABLES IN SCHEMA ${list} FROM PUBLIC, anon, authenticated, project_admin`,
    );
  }
}
