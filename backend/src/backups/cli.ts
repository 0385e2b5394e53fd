/**
 * `kiln restore --to "2026-12-01 10:15:00"` (`pnpm kiln restore --to …`): point-in-time restore
 * of the embedded PostgreSQL from BACKUP_DIR, with Kiln stopped. A time without a zone is UTC.
 * The replaced data directory is kept next to the new one (`postgres.before-restore-<time>`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { ConfigError, loadConfig, type Config } from '../core/config.js';
import { postgresSystemUser } from '../core/embedded-postgres.js';
import { claimDataDir, loadOrCreateLocalSecrets } from '../core/local-state.js';
import { listBackups, parseRestoreTarget, RestoreError, restoreToTime } from './pitr.js';
import {
  configuredStorage,
  listLogicalBackups,
  LogicalRestoreError,
  restoreLogicalBackup,
} from './logical/backups.js';

const USAGE = `Usage:
  kiln restore --to "YYYY-MM-DD HH:MM:SS[+zone]"   restore the embedded PostgreSQL to that time (UTC unless a zone is given)
  kiln restore --logical <id> --database-url <url> restore a logical backup (external PostgreSQL) into
                                                   an empty database, and its stored objects' bytes
  kiln backups                                     list base and logical backups (with BACKUP_S3_URL,
                                                   the bucket's too) and the range they cover`;

function readVersion(): string {
  const pkg = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
}

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

/** One backup as `kiln backups` lists it. */
interface Listed {
  id: string;
  finishedAt: string;
  sizeBytes: number;
  local: boolean;
  s3: boolean;
}

/**
 * `kiln backups`: base and logical backups in BACKUP_DIR and, with BACKUP_S3_URL, those in the
 * bucket, each marked `[local]`, `[s3]` or `[local, s3]`; the restorable range counts both (a
 * restore fetches what BACKUP_DIR lacks). An unreachable bucket is reported (exit 1) after the
 * local list.
 */
async function listAll(config: Config): Promise<void> {
  const kinds = { base: new Map<string, Listed>(), logical: new Map<string, Listed>() };
  const add = (kind: string, b: Omit<Listed, 'local' | 's3'>, where: 'local' | 's3') => {
    const map = kind === 'base' ? kinds.base : kind === 'logical' ? kinds.logical : undefined;
    if (!map) return;
    const entry = map.get(b.id) ?? { ...b, local: false, s3: false };
    entry[where] = true;
    map.set(b.id, entry);
  };
  for (const b of listBackups(config.backupDir)) add('base', b, 'local');
  for (const b of listLogicalBackups(config.backupDir)) add('logical', b, 'local');
  let failure: string | undefined;
  const offsite = config.backupS3
    ? new (await import('./offsite.js')).OffsiteCopier({
        backupDir: config.backupDir,
        s3: config.backupS3,
        retention: config.backupRetention,
      })
    : undefined;
  if (offsite) {
    try {
      for (const b of await offsite.bucketBackups()) add(b.kind, b, 's3');
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    } finally {
      await offsite.stop();
    }
  }
  const line = (b: Listed, kind: string) =>
    `${b.id}  ${kind}finished ${b.finishedAt}  ${(b.sizeBytes / 1e6).toFixed(1)} MB` +
    (offsite ? `  [${[b.local && 'local', b.s3 && 's3'].filter(Boolean).join(', ')}]` : '');
  const sorted = (m: Map<string, Listed>) =>
    [...m.values()].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  const base = sorted(kinds.base);
  const where = offsite ? `${config.backupDir} or ${offsite.target}` : config.backupDir;
  if (!base.length) console.log(`No base backups in ${where}`);
  for (const b of base) console.log(line(b, ''));
  if (base.length) console.log(`Restorable from ${base[0]!.finishedAt} to the last archived WAL.`);
  for (const b of sorted(kinds.logical)) console.log(line(b, 'logical, '));
  if (failure) fail(`The off-site copy ${offsite!.target} could not be listed: ${failure}`, 1);
}

async function main(argv: string[]): Promise<void> {
  dotenv.config({ quiet: true });
  let config;
  try {
    config = loadConfig(process.env, readVersion());
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 1);
    throw err;
  }
  const [command, ...rest] = argv;
  if (command === 'backups') {
    await listAll(config);
    return;
  }
  if (command !== 'restore') fail(USAGE);
  const option = (name: string): string | undefined => {
    const i = rest.findIndex((a) => a === name || a.startsWith(`${name}=`));
    if (i < 0) return undefined;
    return rest[i]!.startsWith(`${name}=`) ? rest[i]!.slice(name.length + 1) : rest[i + 1];
  };
  if (rest.some((a) => a === '--logical' || a.startsWith('--logical='))) {
    const id = option('--logical');
    const targetUrl = option('--database-url');
    if (!id || !targetUrl)
      fail(`restore --logical needs a backup id and --database-url.\n${USAGE}`);
    try {
      new URL(targetUrl);
    } catch {
      fail(`Not a database URL: ${targetUrl}`);
    }
    // The bytes go where this configuration keeps them (S3_* or DATA_DIR/storage).
    const jwtSecret = config.jwtSecret ?? loadOrCreateLocalSecrets(config.dataDir).jwtSecret;
    const storage = configuredStorage(config, jwtSecret);
    try {
      const result = await restoreLogicalBackup({
        backupDir: config.backupDir,
        id,
        targetUrl,
        storage,
        jwtSecret,
        log: (line) => console.log(line),
      });
      for (const line of result.skipped) console.log(`skipped: ${line}`);
      console.log('Done. Point DATABASE_URL at the restored database and start Kiln.');
    } catch (err) {
      if (err instanceof LogicalRestoreError) fail(err.message, 1);
      fail(`Restore failed: ${err instanceof Error ? err.message : String(err)}`, 1);
    } finally {
      await storage.close?.();
    }
    return;
  }
  const toIndex = rest.findIndex((a) => a === '--to' || a.startsWith('--to='));
  const text =
    toIndex < 0
      ? undefined
      : rest[toIndex]!.startsWith('--to=')
        ? rest[toIndex]!.slice(5)
        : rest[toIndex + 1];
  if (!text) fail(`restore needs --to.\n${USAGE}`);
  const target = parseRestoreTarget(text);
  if (!target) fail(`Not a date and time: "${text}".\n${USAGE}`);
  if (config.databaseUrl) {
    fail(
      'DATABASE_URL is set: point-in-time restore covers the embedded PostgreSQL only; use your provider’s PITR.',
      1,
    );
  }
  if (target.getTime() > Date.now()) fail(`${target.toISOString()} is in the future.`);
  process.umask(0o077);
  let release: () => void;
  try {
    // Refuses while a Kiln server runs on this DATA_DIR.
    release = claimDataDir(config.dataDir);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err), 1);
  }
  // BACKUP_S3_URL: the base backup and WAL the restore needs come from the bucket when
  // BACKUP_DIR lacks them (it was lost with the machine, or pruned).
  // (Loaded only then: the S3 client is heavy for a command that does not need it.)
  const offsite = config.backupS3
    ? new (await import('./offsite.js')).OffsiteCopier({
        backupDir: config.backupDir,
        s3: config.backupS3,
        retention: config.backupRetention,
      })
    : undefined;
  try {
    const secrets = loadOrCreateLocalSecrets(config.dataDir);
    offsite?.serveRestores();
    console.log(
      `Restoring to ${target.toISOString()} …` +
        (offsite ? ` (fetching what ${config.backupDir} lacks from ${offsite.target})` : ''),
    );
    const result = await restoreToTime({
      dataDir: path.join(config.dataDir, 'postgres'),
      backupDir: config.backupDir,
      target,
      port: config.embeddedPostgresPort,
      password: secrets.postgresPassword,
      runAs: postgresSystemUser(),
    });
    console.log(
      `Restored to ${result.target} from base backup ${result.backup.id}.` +
        (result.previousDataDir
          ? ` The previous data directory is kept in ${result.previousDataDir}; delete it when satisfied.`
          : ''),
    );
  } catch (err) {
    if (err instanceof RestoreError) fail(err.message, 1);
    fail(`Restore failed: ${err instanceof Error ? err.message : String(err)}`, 1);
  } finally {
    await offsite?.stop();
    release();
  }
}

void main(process.argv.slice(2));
