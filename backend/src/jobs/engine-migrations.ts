/**
 * graphile-worker's own schema (`graphile_worker`), migrated with Kiln's migrations on the same
 * connection and under the same bootstrap lock, so its tables exist before Kiln's jobs tables'
 * triggers first call `graphile_worker.add_job` and before the runtime role is granted access
 * to them (core/authenticator.ts lists the schema among Kiln's).
 */
import type pg from 'pg';
import { runMigrations } from 'graphile-worker';
import type { Logger } from '../core/logger.js';
import { graphileLogger } from './graphile-logger.js';

export async function migrateJobEngine(client: pg.ClientBase, logger?: Logger): Promise<void> {
  // graphile-worker takes a pool; this one lends it the bootstrap connection (never released).
  const lent = { query: client.query.bind(client), release: () => undefined };
  const pool = {
    options: { max: 1 },
    connect: async () => lent,
    on: () => pool,
    removeListener: () => pool,
    end: async () => undefined,
  };
  await runMigrations({
    pgPool: pool as unknown as pg.Pool,
    logger: graphileLogger(logger),
  });
}
