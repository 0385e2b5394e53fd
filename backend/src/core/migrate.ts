import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from './logger.js';

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
  const client = new pg.Client({ connectionString, application_name: 'kiln-bootstrap' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [BOOTSTRAP_LOCK_ID]);
    try {
      return await fn(client);
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1)', [BOOTSTRAP_LOCK_ID])
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
  return applied.map((m) => m.name);
}
