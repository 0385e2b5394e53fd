/**
 * Logical backups of an external PostgreSQL (DATABASE_URL; managed services do point-in-time
 * recovery themselves): the whole database as plain SQL from a real pg_dump (pg-dump.ts) plus the
 * bytes of every stored object, under BACKUP_DIR/logical/<id>/ as plain files:
 *
 *   manifest.json   id, times, sizes, source database and server version, storage counts
 *   dump.sql        pg_dump --no-owner (schemas, types, tables and data, sequences with their
 *                   values, functions, views, triggers, policies and RLS flags, grants, Kiln's
 *                   own schemas with its migrations table)
 *   storage.jsonl   one line per stored object: its storage path, content type, size and file
 *   storage/<n>     the bytes
 *
 * Restore (`kiln restore --logical <id> --database-url <url>`) goes into an empty database only.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import type { BaseBackupInfo } from '@kiln/shared-schemas';
import { ensureAuthenticators } from '../../core/authenticator.js';
import { MIGRATIONS_DIR } from '../../core/migrate.js';
import { SAFE_SEARCH_PATH_OPTIONS } from '../../core/search-path.js';
import type { Config } from '../../core/config.js';
import { LocalStorageProvider } from '../../storage/providers/local.js';
import type { StorageProvider } from '../../storage/providers/provider.js';
import { S3StorageProvider } from '../../storage/providers/s3.js';
import { executeDump } from './execute.js';
import { pgDump } from './pg-dump.js';

export interface LogicalManifest {
  id: string;
  kind: 'logical';
  startedAt: string;
  finishedAt: string;
  sizeBytes: number;
  database: string;
  serverVersion: string;
  dumpBytes: number;
  storage: { objects: number; bytes: number; missing: string[] };
}

const ID = /^[0-9TZ]{1,40}$/;

/** The store this configuration keeps objects in (as app.ts chooses it): S3_* or DATA_DIR/storage. */
export function configuredStorage(config: Config, jwtSecret: string): StorageProvider {
  return config.s3
    ? new S3StorageProvider(config.s3)
    : new LocalStorageProvider(path.join(config.dataDir, 'storage'), jwtSecret);
}

export function logicalDir(backupDir: string): string {
  return path.join(backupDir, 'logical');
}

/** The start time to the millisecond, e.g. 20261201T101500123Z (the API's id pattern). */
function backupId(at: Date): string {
  return at.toISOString().replace(/[-:.]/g, '');
}

/** Finished logical backups, oldest first. */
export function listLogicalBackups(backupDir: string): LogicalManifest[] {
  const dir = logicalDir(backupDir);
  if (!fs.existsSync(dir)) return [];
  const out: LogicalManifest[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!ID.test(name)) continue;
    try {
      out.push(
        JSON.parse(
          fs.readFileSync(path.join(dir, name, 'manifest.json'), 'utf8'),
        ) as LogicalManifest,
      );
    } catch {
      /* not a finished backup */
    }
  }
  return out.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

export function logicalBackupInfo(m: LogicalManifest): BaseBackupInfo {
  return {
    id: m.id,
    kind: 'logical',
    startedAt: m.startedAt,
    finishedAt: m.finishedAt,
    sizeBytes: m.sizeBytes,
  };
}

/** The directory of a finished logical backup, or undefined. */
export function findLogicalBackup(backupDir: string, id: string): string | undefined {
  if (!ID.test(id)) return undefined;
  const dir = path.join(logicalDir(backupDir), id);
  return fs.existsSync(path.join(dir, 'manifest.json')) ? dir : undefined;
}

export function deleteLogicalBackup(backupDir: string, id: string): boolean {
  const dir = findLogicalBackup(backupDir, id);
  if (!dir) return false;
  fs.rmSync(dir, { recursive: true, force: true });
  return true;
}

/** Keeps the `keep` newest logical backups; returns the removed ids. */
export function pruneLogicalBackups(backupDir: string, keep: number): string[] {
  const all = listLogicalBackups(backupDir);
  const removed = all.slice(0, Math.max(0, all.length - keep));
  for (const b of removed) deleteLogicalBackup(backupDir, b.id);
  return removed.map((b) => b.id);
}

async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
  /** Fails connecting or a query that takes longer (a hung connection); none when undefined. */
  timeoutMs?: number,
): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    options: SAFE_SEARCH_PATH_OPTIONS,
    ...(timeoutMs ? { connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs } : {}),
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Takes a logical backup of the database at `url` and the bytes of its stored objects from
 * `storage`. Written under `<id>.part` and renamed when complete, so a listed backup is whole.
 */
export async function takeLogicalBackup(options: {
  url: string;
  backupDir: string;
  storage: StorageProvider;
  progress?: { bytes: number };
  /**
   * BACKUP_DUMP_IDLE_TIMEOUT_MS: the backup fails when the database server sends nothing for
   * this long while it is waited for (pg-dump.ts), or a query of its own takes longer.
   */
  idleTimeoutMs: number;
}): Promise<LogicalManifest> {
  const startedAt = new Date();
  const id = backupId(startedAt);
  const root = logicalDir(options.backupDir);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const final = path.join(root, id);
  if (fs.existsSync(final)) throw new Error(`A logical backup ${id} exists already`);
  const work = `${final}.part`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(path.join(work, 'storage'), { recursive: true, mode: 0o700 });
  const dumpFile = path.join(work, 'dump.sql');
  const progress = options.progress ?? { bytes: 0 };
  let storageBytes = 0;
  const timer = setInterval(() => {
    try {
      progress.bytes = fs.statSync(dumpFile).size + storageBytes;
    } catch {
      /* not created yet */
    }
  }, 200);
  try {
    const { database, serverVersion } = await withClient(
      options.url,
      async (c) => {
        const { rows } = await c.query<{ database: string; version: string }>(
          `SELECT current_database() AS database, current_setting('server_version') AS version`,
        );
        return { database: rows[0]!.database, serverVersion: rows[0]!.version };
      },
      options.idleTimeoutMs,
    );
    await pgDump({ url: options.url, outFile: dumpFile, idleTimeoutMs: options.idleTimeoutMs });
    const dumpBytes = fs.statSync(dumpFile).size;
    // The bytes of every object the database refers to (after the dump: an object deleted in
    // between is recorded as missing; one added in between is an unreferenced extra).
    const objects = await withClient(
      options.url,
      async (c) => {
        const exists = await c.query(`SELECT to_regclass('storage.objects') IS NOT NULL AS ok`);
        if (!(exists.rows[0] as { ok: boolean }).ok) return [];
        const { rows } = await c.query<{ path: string; mime: string }>(
          'SELECT storage_path AS path, mime_type AS mime FROM storage.objects ORDER BY storage_path',
        );
        return rows;
      },
      options.idleTimeoutMs,
    );
    const index = fs.openSync(path.join(work, 'storage.jsonl'), 'w', 0o600);
    const missing: string[] = [];
    let n = 0;
    try {
      for (const object of objects) {
        const body = await options.storage.get(object.path);
        if (!body) {
          missing.push(object.path);
          continue;
        }
        const file = `storage/${n++}`;
        const target = path.join(work, file);
        await pipeline(body, fs.createWriteStream(target, { mode: 0o600 }));
        const size = fs.statSync(target).size;
        storageBytes += size;
        fs.writeSync(
          index,
          `${JSON.stringify({ path: object.path, mimeType: object.mime, size, file })}\n`,
        );
      }
    } finally {
      fs.closeSync(index);
    }
    const manifest: LogicalManifest = {
      id,
      kind: 'logical',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      sizeBytes: dumpBytes + storageBytes,
      database,
      serverVersion,
      dumpBytes,
      storage: { objects: n, bytes: storageBytes, missing },
    };
    fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify(manifest, null, 2), {
      mode: 0o600,
    });
    fs.renameSync(work, final);
    progress.bytes = manifest.sizeBytes;
    return manifest;
  } catch (err) {
    fs.rmSync(work, { recursive: true, force: true });
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** A restore refused before anything changed (unknown backup, target not empty). */
export class LogicalRestoreError extends Error {}

/** Kiln's per-database login roles carry a hash of the database name (core/authenticator.ts). */
function roleHash(database: string): string {
  return crypto.createHash('sha256').update(database).digest('hex').slice(0, 16);
}

/** What makes a database non-empty: user-visible objects beyond a fresh CREATE DATABASE. */
async function contents(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ what: string }>(`
    SELECT 'schema ' || nspname AS what FROM pg_catalog.pg_namespace
     WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
    UNION ALL
    SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT IN ('information_schema', 'pg_catalog') AND n.nspname NOT LIKE 'pg\\_%'
    UNION ALL
    SELECT 'function public.' || proname FROM pg_catalog.pg_proc
     WHERE pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'type public.' || typname FROM pg_catalog.pg_type
     WHERE typnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'extension ' || extname FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql'
    LIMIT 5`);
  return rows.map((r) => r.what);
}

/**
 * Restores logical backup `id` into the empty database at `targetUrl`, then puts the stored
 * objects' bytes back through `storage`. Kiln's cluster-wide roles are created first by the code
 * the app runs (migration 0001's role block, core/authenticator.ts). The SQL runs in one
 * transaction: a failure leaves the target as it was (the storage bytes come after the commit).
 */
export async function restoreLogicalBackup(options: {
  backupDir: string;
  id: string;
  targetUrl: string;
  storage: StorageProvider;
  jwtSecret: string;
  log?: (line: string) => void;
}): Promise<{ statements: number; objects: number; skipped: string[] }> {
  const log = options.log ?? (() => undefined);
  const dir = findLogicalBackup(options.backupDir, options.id);
  if (!dir) {
    throw new LogicalRestoreError(
      `No logical backup ${options.id} in ${logicalDir(options.backupDir)}`,
    );
  }
  const manifest = JSON.parse(
    fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'),
  ) as LogicalManifest;
  const result = await withClient(options.targetUrl, async (client) => {
    const found = await contents(client);
    if (found.length) {
      throw new LogicalRestoreError(
        `The target database is not empty (${found.join(', ')}${found.length === 5 ? ', …' : ''}); a logical backup restores into an empty database only (CREATE DATABASE a new one)`,
      );
    }
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    const target = rows[0]!.db;
    // The request roles (cluster-wide, not in a dump) and the connecting role's membership in
    // them, by migration 0001's own blocks.
    const foundation = fs.readFileSync(path.join(MIGRATIONS_DIR, '0001_foundation.sql'), 'utf8');
    for (const tag of ['roles', 'grant']) {
      const block = new RegExp(`DO \\$${tag}\\$[\\s\\S]*?\\$${tag}\\$;`).exec(foundation);
      if (!block) throw new Error(`The ${tag} block of migration 0001 was not found`);
      await client.query(block[0]);
    }
    await ensureAuthenticators(client, options.targetUrl, options.jwtSecret);
    const from = roleHash(manifest.database);
    const to = roleHash(target);
    const ownRole = new RegExp(`\\b(kiln_(?:owner|definer|req|admin|auth))_${from}\\b`, 'g');
    log(`Restoring ${manifest.id} (${manifest.database}) into ${target} …`);
    await client.query('BEGIN');
    try {
      const done = await executeDump(client, path.join(dir, 'dump.sql'), {
        // Grants to Kiln's per-database roles go to the target database's ones.
        rewrite: from === to ? undefined : (sql) => sql.replace(ownRole, `$1_${to}`),
        // A role of the source cluster that does not exist here (its grants are skipped and
        // reported), and session settings this server does not know (pg_dump 18 writes
        // transaction_timeout, which PostgreSQL 16 lacks).
        tolerate: (sql, err) =>
          err.code === '42704' &&
          /^\s*(GRANT|REVOKE|ALTER DEFAULT PRIVILEGES|SET|COMMENT ON EXTENSION)\b/i.test(sql),
      });
      // As at every start of Kiln: grants on what the dump created, and the SECURITY DEFINER
      // functions handed back to the definer role (--no-owner made the restoring role own them).
      await ensureAuthenticators(client, options.targetUrl, options.jwtSecret);
      await client.query('COMMIT');
      return done;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
  let objects = 0;
  const index = path.join(dir, 'storage.jsonl');
  if (fs.existsSync(index)) {
    for (const line of fs.readFileSync(index, 'utf8').split('\n')) {
      if (!line) continue;
      const entry = JSON.parse(line) as { path: string; mimeType: string; file: string };
      await options.storage.put(
        entry.path,
        fs.createReadStream(path.join(dir, entry.file)),
        entry.mimeType,
      );
      objects++;
    }
  }
  log(`Restored ${result.statements} statements and ${objects} stored objects.`);
  return { ...result, objects };
}
