import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type RunAs } from '../core/embedded-postgres.js';
import { restoreCommand, layDownBackup, type BaseBackup } from './pitr.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Proves a base backup restores: lays it down in a scratch directory under BACKUP_DIR, starts a
 * throwaway PostgreSQL on a free loopback port that replays the archived WAL up to the backup's
 * consistent point (`recovery_target = immediate`) and promotes, runs a check query, stops and
 * removes it. The throwaway server does not archive (its new timeline never reaches the archive).
 * Returns the number of databases seen; throws if any step fails.
 */
export async function verifyBackup(options: {
  backupDir: string;
  backup: BaseBackup;
  password: string;
  runAs: RunAs | undefined;
}): Promise<{ databases: number }> {
  // Run as root, the server's user reaches DATA_DIR by group only, which the embedded server's
  // start-up does not count as reachable for a new cluster: the scratch copy then goes to the
  // system's temp directory (in a folder others may pass through, the copy itself 0700).
  let scratch: string;
  if (options.runAs) {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-verify-${options.backup.id}-`));
    fs.chmodSync(scratch, 0o711);
  } else {
    scratch = path.join(options.backupDir, `verify-${options.backup.id}`);
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.mkdirSync(scratch, { mode: 0o700 });
  }
  const dataDir = path.join(scratch, 'data');
  try {
    await layDownBackup(options.backupDir, options.backup.id, dataDir, options.runAs);
    const server = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      password: options.password,
      database: 'postgres',
      settings: {
        restore_command: restoreCommand(options.backupDir),
        recovery_target: 'immediate',
        recovery_target_action: 'promote',
        archive_mode: 'off',
      },
    });
    try {
      const client = new pg.Client({ connectionString: server.urlFor('postgres') });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number; recovering: boolean }>(
          `SELECT count(*)::int AS n, pg_catalog.pg_is_in_recovery() AS recovering
             FROM pg_catalog.pg_database`,
        );
        if (rows[0]!.recovering) throw new Error('the restored copy did not finish recovery');
        return { databases: rows[0]!.n };
      } finally {
        await client.end();
      }
    } finally {
      await server.stop();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
