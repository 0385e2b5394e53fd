import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/core/embedded-postgres.js';
import { migrate, withBootstrapLock } from '../src/core/migrate.js';
import { freePort } from './ports.js';

export const TEMPLATE_DB = 'kiln_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection URL of the test cluster's `postgres` database, with `{db}` in place of the name. */
    pgUrlPattern: string;
    templateDb: string;
  }
}

/**
 * One real PostgreSQL (embedded-postgres) for the whole run. A template database is migrated
 * once; every test file clones it (CREATE DATABASE … TEMPLATE), which takes milliseconds.
 */
export default async function setup(project: TestProject) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-test-pg-'));
  fs.chmodSync(dataDir, 0o755);
  const password = crypto.randomBytes(12).toString('hex');
  const server = await startEmbeddedPostgres({
    dataDir: path.join(dataDir, 'cluster'),
    port: await freePort(),
    password,
    database: TEMPLATE_DB,
    settings: {
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '300',
    },
  });
  await withBootstrapLock(server.url, (client) => migrate(client));
  // Nothing may stay connected to the template, or cloning it fails.
  const admin = new pg.Client({ connectionString: server.urlFor('postgres') });
  await admin.connect();
  await admin.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [TEMPLATE_DB],
  );
  await admin.end();

  project.provide('pgUrlPattern', server.urlFor('{db}'));
  project.provide('templateDb', TEMPLATE_DB);

  return async () => {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
