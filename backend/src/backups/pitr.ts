import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { letThrough, startEmbeddedPostgres, type RunAs } from '../core/embedded-postgres.js';
import { SAFE_SEARCH_PATH_OPTIONS } from '../core/search-path.js';

/**
 * Point-in-time recovery for the embedded PostgreSQL, built from PostgreSQL's own pieces (the
 * platform package ships only initdb, pg_ctl and postgres, so no pg_basebackup):
 *
 * - continuous WAL archiving: `archive_command` copies each finished segment into
 *   BACKUP_DIR/wal under a temporary name and renames it, never overwriting a different file;
 * - base backups with the low-level API: `pg_backup_start`, a file copy of the cluster, then
 *   `pg_backup_stop`, whose answer becomes the copy's backup_label/tablespace_map;
 * - restore: lay down the newest base backup finished before the target, start PostgreSQL with
 *   recovery.signal, `restore_command` and `recovery_target_time`, and let it replay the
 *   archived WAL up to the target and promote.
 *
 * Layout of BACKUP_DIR: `wal/` (the archive, written by the PostgreSQL server's user) and
 * `base/<id>/` with `manifest.json` and `data/` (the cluster copy).
 */
export interface BaseBackup {
  id: string;
  /** When pg_backup_start returned. */
  startedAt: string;
  /** When pg_backup_stop returned: the earliest time this backup can restore to. */
  finishedAt: string;
  startLsn: string;
  stopLsn: string;
  /** WAL file holding the start position: segments before it are not needed by this backup. */
  startWal: string;
  sizeBytes: number;
  /** When a throwaway restore of this backup last succeeded (verify.ts). */
  verifiedAt?: string;
}

const SEGMENT = /^[0-9A-F]{24}$/;

function shellQuote(value: string): string {
  // PostgreSQL expands %-escapes in archive/restore commands first: a literal % is %%.
  return `'${value.replace(/%/g, '%%').replace(/'/g, `'\\''`)}'`;
}

export function walDir(backupDir: string): string {
  return path.join(backupDir, 'wal');
}

function baseDir(backupDir: string): string {
  return path.join(backupDir, 'base');
}

/**
 * Creates the archive directory (owned by the server's user when Kiln runs as root) and returns
 * the `postgres -c` settings that archive every WAL segment into it.
 */
export function walArchiveSettings(
  backupDir: string,
  runAs: RunAs | undefined,
  archiveTimeoutSeconds = 60,
): Record<string, string> {
  const wal = walDir(backupDir);
  fs.mkdirSync(wal, { recursive: true, mode: 0o700 });
  fs.mkdirSync(baseDir(backupDir), { recursive: true, mode: 0o700 });
  if (runAs) {
    fs.chownSync(wal, runAs.uid, runAs.gid);
    letThrough(backupDir, runAs);
  }
  const target = (name: string) => shellQuote(wal + '/') + name;
  // An existing file is accepted only if identical (a retry after a crash between rename and
  // PostgreSQL noting success); a different one makes archiving fail loudly instead of losing it.
  const command =
    `if [ -f ${target('%f')} ]; then cmp -s %p ${target('%f')}; ` +
    `else cp %p ${target('%f.part')} && mv ${target('%f.part')} ${target('%f')}; fi`;
  return {
    wal_level: 'replica',
    archive_mode: 'on',
    archive_command: command,
    archive_timeout: String(archiveTimeoutSeconds),
  };
}

export function restoreCommand(backupDir: string): string {
  const source = `${shellQuote(walDir(backupDir) + '/')}%f`;
  // A missing file is an ordinary answer (the end of the archive), not worth a cp error line.
  return `test -f ${source} && cp ${source} %p`;
}

/** Entries of a data directory a base backup leaves out (their contents are rebuilt at start). */
const SKIP_FILES = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'backup_label',
  'tablespace_map',
  'recovery.signal',
  'standby.signal',
]);
const EMPTY_DIRS = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);

/**
 * Copies a live cluster: files may change or vanish while we read them (WAL replay repairs
 * the former; a vanished file was dropped and its removal is in the WAL). Returns bytes copied.
 * Asynchronous throughout (libuv's thread pool does the copying), so the server goes on
 * answering while a large cluster is copied, and `progress` moves file by file.
 */
async function copyCluster(
  from: string,
  to: string,
  top = true,
  live = true,
  progress?: { bytes: number },
): Promise<number> {
  await fs.promises.mkdir(to, { recursive: true, mode: 0o700 });
  let bytes = 0;
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(from, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  for (const entry of entries) {
    if (top && live && SKIP_FILES.has(entry.name)) continue;
    if (entry.name.startsWith('pgsql_tmp')) continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      if (top && EMPTY_DIRS.has(entry.name)) {
        await fs.promises.mkdir(target, { mode: 0o700 });
        if (entry.name === 'pg_wal') await fs.promises.mkdir(path.join(target, 'archive_status'));
        continue;
      }
      bytes += await copyCluster(source, target, false, live, progress);
    } else if (entry.isFile()) {
      try {
        await fs.promises.copyFile(source, target);
        const size = (await fs.promises.stat(target)).size;
        bytes += size;
        if (progress) progress.bytes += size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    } else if (entry.isSymbolicLink()) {
      throw new Error(`Base backups do not support tablespaces or links (${source})`);
    }
  }
  return bytes;
}

async function chownTree(dir: string, runAs: RunAs): Promise<void> {
  await fs.promises.chown(dir, runAs.uid, runAs.gid);
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, runAs);
    else await fs.promises.chown(p, runAs.uid, runAs.gid);
  }
}

function backupId(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * Takes a base backup of the running cluster at `clusterDir` through a superuser connection
 * (`url`). Requires WAL archiving into the same BACKUP_DIR: pg_backup_stop waits until the WAL
 * the backup needs is archived.
 */
export async function takeBaseBackup(options: {
  url: string;
  clusterDir: string;
  backupDir: string;
  /** Bytes copied so far, updated as the copy goes. */
  progress?: { bytes: number };
}): Promise<BaseBackup> {
  const client = new pg.Client({
    connectionString: options.url,
    options: SAFE_SEARCH_PATH_OPTIONS,
  });
  await client.connect();
  const base = baseDir(options.backupDir);
  fs.mkdirSync(base, { recursive: true, mode: 0o700 });
  let staging: string | undefined;
  try {
    const { rows: mode } = await client.query<{ archive_mode: string }>(
      `SELECT current_setting('archive_mode') AS archive_mode`,
    );
    if (mode[0]?.archive_mode === 'off') {
      throw new Error('WAL archiving is off: a base backup without its WAL cannot be restored');
    }
    const startedAt = new Date();
    const id = backupId(startedAt);
    const { rows: started } = await client.query<{ lsn: string; wal: string }>(
      `SELECT lsn::text, pg_catalog.pg_walfile_name(lsn) AS wal
         FROM pg_catalog.pg_backup_start($1, true) AS lsn`,
      [`kiln ${id}`],
    );
    staging = path.join(base, `${id}.part`);
    fs.rmSync(staging, { recursive: true, force: true });
    let sizeBytes: number;
    let stopped: { lsn: string; labelfile: string; spcmapfile: string | null };
    try {
      sizeBytes = await copyCluster(
        options.clusterDir,
        path.join(staging, 'data'),
        true,
        true,
        options.progress,
      );
    } finally {
      const { rows } = await client.query<{
        lsn: string;
        labelfile: string;
        spcmapfile: string | null;
      }>(`SELECT lsn::text, labelfile, spcmapfile FROM pg_catalog.pg_backup_stop(true)`);
      stopped = rows[0]!;
    }
    fs.writeFileSync(path.join(staging, 'data', 'backup_label'), stopped.labelfile);
    if (stopped.spcmapfile) {
      fs.writeFileSync(path.join(staging, 'data', 'tablespace_map'), stopped.spcmapfile);
    }
    const backup: BaseBackup = {
      id,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      startLsn: started[0]!.lsn,
      stopLsn: stopped.lsn,
      startWal: started[0]!.wal,
      sizeBytes,
    };
    fs.writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(backup, null, 2));
    fs.renameSync(staging, path.join(base, id));
    staging = undefined;
    return backup;
  } finally {
    if (staging) fs.rmSync(staging, { recursive: true, force: true });
    await client.end();
  }
}

/** Finished base backups, oldest first. */
export function listBackups(backupDir: string): BaseBackup[] {
  const base = baseDir(backupDir);
  if (!fs.existsSync(base)) return [];
  const out: BaseBackup[] = [];
  for (const name of fs.readdirSync(base)) {
    if (name.endsWith('.part')) continue;
    try {
      out.push(
        JSON.parse(fs.readFileSync(path.join(base, name, 'manifest.json'), 'utf8')) as BaseBackup,
      );
    } catch {
      /* not a finished backup */
    }
  }
  return out.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

/** Records a successful verification in the backup's manifest. */
export function markVerified(backupDir: string, backup: BaseBackup): BaseBackup {
  const verified = { ...backup, verifiedAt: new Date().toISOString() };
  const file = path.join(baseDir(backupDir), backup.id, 'manifest.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(verified, null, 2));
  fs.renameSync(`${file}.tmp`, file);
  return verified;
}

export function deleteBackup(backupDir: string, id: string): boolean {
  if (!/^[0-9TZ]+$/.test(id)) return false;
  const dir = path.join(baseDir(backupDir), id);
  if (!fs.existsSync(dir)) return false;
  fs.rmSync(dir, { recursive: true, force: true });
  return true;
}

/**
 * Keeps the `keep` newest base backups and the archived WAL they need (every segment from the
 * oldest kept backup's start on; timeline history files are always kept). Returns removed ids.
 */
export function pruneBackups(backupDir: string, keep: number): string[] {
  const all = listBackups(backupDir);
  const removed = all.slice(0, Math.max(0, all.length - keep));
  for (const b of removed) deleteBackup(backupDir, b.id);
  const oldest = all[removed.length];
  if (oldest) {
    const floor = oldest.startWal.slice(8);
    const wal = walDir(backupDir);
    for (const name of fs.existsSync(wal) ? fs.readdirSync(wal) : []) {
      if (SEGMENT.test(name) && name.slice(8) < floor) fs.rmSync(path.join(wal, name));
    }
  }
  return removed.map((b) => b.id);
}

/**
 * Parses a restore target. A time without a zone is UTC. Returns undefined for anything that
 * is not a real date and time.
 */
export function parseRestoreTarget(text: string): Date | undefined {
  const trimmed = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/.test(trimmed))
    return undefined;
  const zoned = /(Z|[+-]\d{2}(:?\d{2})?)$/.test(trimmed.slice(10));
  const date = new Date(trimmed.replace(' ', 'T') + (zoned ? '' : 'Z'));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export class RestoreError extends Error {}

type RestoreSource = (target: Date, runAs: RunAs | undefined) => Promise<void>;
const restoreSources = new Map<string, RestoreSource>();

/**
 * Registers where restores from `backupDir` fetch a base backup or WAL missing locally
 * (offsite.ts: the S3 copy); restoreToTime calls it before choosing a base backup.
 * Returns the function that unregisters it.
 */
export function registerRestoreSource(backupDir: string, source: RestoreSource): () => void {
  const key = path.resolve(backupDir);
  restoreSources.set(key, source);
  return () => {
    if (restoreSources.get(key) === source) restoreSources.delete(key);
  };
}

export interface RestoreResult {
  backup: BaseBackup;
  /** Where the data directory that was replaced now lives. */
  previousDataDir: string | undefined;
  target: string;
}

/**
 * Copies base backup `id` to `target` (a new directory) ready for archive recovery: its
 * backup_label, a recovery.signal, mode 0700, owned by the server's user.
 */
export async function layDownBackup(
  backupDir: string,
  id: string,
  target: string,
  runAs: RunAs | undefined,
  progress?: { bytes: number },
): Promise<void> {
  await copyCluster(path.join(baseDir(backupDir), id, 'data'), target, true, false, progress);
  fs.chmodSync(target, 0o700);
  fs.writeFileSync(path.join(target, 'recovery.signal'), '');
  if (runAs) await chownTree(target, runAs);
}

/**
 * Restores the (stopped) embedded cluster at `dataDir` to `target`: moves the current data
 * directory aside, lays down the newest base backup finished before the target, replays the
 * archived WAL up to it, promotes, and stops the server again, leaving a working data directory.
 */
export async function restoreToTime(options: {
  dataDir: string;
  backupDir: string;
  target: Date;
  port: number;
  password: string;
  runAs: RunAs | undefined;
  onLog?: (line: string) => void;
  /** Bytes of the base backup laid down so far, updated as the copy goes. */
  progress?: { bytes: number };
  /** Told each step as it begins (live-restore.ts shows them to whoever polls the job). */
  onPhase?: (phase: string) => void;
}): Promise<RestoreResult> {
  // What BACKUP_DIR lacks (it was lost, or pruned) comes from the off-site copy first.
  await restoreSources.get(path.resolve(options.backupDir))?.(options.target, options.runAs);
  const backups = listBackups(options.backupDir);
  const usable = backups.filter((b) => new Date(b.finishedAt) < options.target);
  const backup = usable[usable.length - 1];
  if (!backup) {
    throw new RestoreError(
      backups.length
        ? `No base backup finished before ${options.target.toISOString()}: the oldest restorable time is ${backups[0]!.finishedAt}`
        : `No base backups in ${options.backupDir}`,
    );
  }
  const exists = fs.existsSync(options.dataDir);
  const cluster = exists ? fs.realpathSync(options.dataDir) : options.dataDir;
  if (exists && fs.existsSync(path.join(cluster, 'postmaster.pid'))) {
    throw new RestoreError(
      `PostgreSQL is running on ${cluster} (postmaster.pid exists): stop Kiln before restoring`,
    );
  }
  let previousDataDir: string | undefined;
  if (exists) {
    previousDataDir = `${cluster}.before-restore-${backupId(new Date())}`;
    fs.renameSync(cluster, previousDataDir);
  }
  options.onPhase?.(`Laying down base backup ${backup.id}`);
  await layDownBackup(options.backupDir, backup.id, cluster, options.runAs, options.progress);
  const rollBack = () => {
    // Recovery failed (e.g. the target lies past the last archived WAL): put the previous data
    // directory back, as if nothing had happened.
    fs.rmSync(cluster, { recursive: true, force: true });
    if (previousDataDir) fs.renameSync(previousDataDir, cluster);
  };
  options.onPhase?.(`Replaying WAL to ${options.target.toISOString()}`);
  const server = await startEmbeddedPostgres({
    dataDir: options.dataDir,
    port: options.port,
    password: options.password,
    database: 'postgres',
    onLog: options.onLog,
    settings: {
      ...walArchiveSettings(options.backupDir, options.runAs),
      restore_command: restoreCommand(options.backupDir),
      recovery_target_time: `${options.target.toISOString().replace('T', ' ').replace('Z', '')}+00`,
      recovery_target_action: 'promote',
    },
  }).catch((err: unknown) => {
    rollBack();
    throw new RestoreError(
      `Recovery to ${options.target.toISOString()} failed; the data directory is as it was. ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  // Ready to accept (read-write) connections means recovery has ended and the server promoted.
  await server.stop();
  return { backup, previousDataDir, target: options.target.toISOString() };
}
