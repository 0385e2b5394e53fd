/**
 * What the backups tests (backups, backups-s3, backups-live-restore, logical-backups) share: a
 * DATA_DIR of their own, an embedded PostgreSQL that archives WAL as Kiln runs it, SQL helpers,
 * the noted-time and WAL-switch steps of a point-in-time test, the `kiln` CLI, backup jobs polled
 * through the admin API, and a real Kiln process (backend/src/server.ts) on the embedded
 * PostgreSQL it starts itself.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { expect } from 'vitest';
import { walArchiveSettings } from '../src/backups/pitr.js';
import {
  postgresSystemUser,
  startEmbeddedPostgres,
  type RunningPostgres,
} from '../src/core/embedded-postgres.js';
import { loadOrCreateLocalSecrets } from '../src/core/local-state.js';
import type { TestApp } from './helpers.js';
import { freePort } from './ports.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** A temp root (reachable by the postgres system user) with DATA_DIR and its secrets. */
export function backupsSandbox(prefix: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(root, 0o755);
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  return {
    root,
    dataDir,
    clusterDir: path.join(dataDir, 'postgres'),
    backupDir: path.join(dataDir, 'backups'),
    password: loadOrCreateLocalSecrets(dataDir).postgresPassword,
    runAs: postgresSystemUser(),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}
export type BackupsSandbox = ReturnType<typeof backupsSandbox>;

/** query / one on a fresh connection to `url()` each time. */
export function sqlOn(url: () => string) {
  const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url() });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };
  const one = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
    (await query<T>(sql, params))[0]!;
  return { query, one };
}
export type Sql = ReturnType<typeof sqlOn>;

/**
 * The sandbox's own embedded PostgreSQL (database `kiln`), archiving WAL into BACKUP_DIR as
 * Kiln runs it; started and stopped by the test (restores need it stopped).
 */
export function archivingPostgres(box: BackupsSandbox, port: number) {
  let server: RunningPostgres | undefined;
  const sql = sqlOn(() => server!.url);
  return {
    ...sql,
    get server() {
      return server;
    },
    async start() {
      server = await startEmbeddedPostgres({
        dataDir: box.clusterDir,
        port,
        password: box.password,
        database: 'kiln',
        settings: { fsync: 'off', ...walArchiveSettings(box.backupDir, box.runAs) },
      });
      return server;
    },
    async stop() {
      const running = server;
      server = undefined;
      await running?.stop();
    },
    /** Rows id from..to into `items (id int, label text)`, labelled `row <id>`. */
    insert: (from: number, to: number) =>
      sql.query(
        `INSERT INTO items (id, label) SELECT i, 'row ' || i FROM generate_series($1::int, $2::int) i`,
        [from, to],
      ),
  };
}

/**
 * A time to restore to: a whole millisecond after the last write before it, returned once
 * PostgreSQL's clock is past it (so the next write comes after it).
 */
export async function notedTime(sql: Pick<Sql, 'one'>): Promise<Date> {
  const { ms } = await sql.one<{ ms: string }>(
    `SELECT (floor(extract(epoch FROM clock_timestamp()) * 1000) + 1)::bigint::text AS ms`,
  );
  for (;;) {
    const { past } = await sql.one<{ past: boolean }>(
      `SELECT clock_timestamp() > to_timestamp($1::double precision / 1000) AS past`,
      [ms],
    );
    if (past) return new Date(Number(ms));
  }
}

/** Ends the current WAL segment and waits until PostgreSQL has archived it; its name. */
export async function switchAndArchive(sql: Pick<Sql, 'one'>): Promise<string> {
  const { wal } = await sql.one<{ wal: string }>(`SELECT pg_walfile_name(pg_switch_wal()) AS wal`);
  for (;;) {
    const { last } = await sql.one<{ last: string | null }>(
      `SELECT last_archived_wal AS last FROM pg_stat_archiver`,
    );
    if (last && last >= wal) return wal;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `pnpm kiln …` (backend/src/backups/cli.ts) in `cwd` with `env` over this process's: exit code,
 * stdout, and `out` (stdout and stderr).
 */
export function runKiln(
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<{ code: number; out: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(REPO, 'backend/node_modules/.bin/tsx'),
      [path.join(REPO, 'backend/src/backups/cli.ts'), ...args],
      { cwd: options.cwd, env: { ...process.env, ...options.env } },
      (err, stdout, stderr) =>
        resolve({
          code: err ? Number((err as { code?: number }).code ?? 1) : 0,
          out: stdout + stderr,
          stdout,
        }),
    );
  });
}

/** Polls GET /api/backups/jobs/:id through `get` until the job has ended; `onPoll` sees each answer. */
export async function waitForJob(
  get: (path: string, attempt: number) => Promise<{ status: number; body: any }>,
  id: string,
  onPoll?: (job: any) => void,
): Promise<any> {
  for (let attempt = 0; ; attempt++) {
    const res = await get(`/api/backups/jobs/${id}`, attempt);
    if (res.status !== 200) throw new Error(`job poll answered ${res.status}`);
    onPoll?.(res.body);
    if (res.body.status === 'done' || res.body.status === 'failed') return res.body;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** POST /api/backups on a test app; the job once ended, checked done without an error. */
export async function takeBackup(t: TestApp, token: string): Promise<any> {
  const started = await t.request('POST', '/api/backups', { token });
  expect(started.status).toBe(202);
  const job = await waitForJob((p) => t.request('GET', p, { token }), started.body.id);
  expect(job.error).toBeNull();
  expect(job.status).toBe('done');
  return job;
}

/**
 * A real Kiln process (backend/src/server.ts) on the embedded PostgreSQL it starts itself in
 * `dataDir` (WAL archiving on; live restores possible), signed in as the admin.
 */
export async function startKilnProcess(options: {
  dataDir: string;
  /** More settings (BACKUP_*, …). */
  env?: Record<string, string>;
}) {
  const port = await freePort();
  const pgPort = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const adminPassword = 'kiln-process-password';
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO, 'backend/src/server.ts')],
    {
      cwd: path.join(REPO, 'backend'),
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NODE_ENV: 'test',
        DATA_DIR: options.dataDir,
        PORT: String(port),
        EMBEDDED_POSTGRES_PORT: String(pgPort),
        ADMIN_PASSWORD: adminPassword,
        BACKUP_SCHEDULE: '0 0 1 1 *',
        BACKUP_VERIFY: 'false',
        LOG_LEVEL: 'warn',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Kiln exited:\n${output}`);
      const ok = await fetch(`${baseUrl}/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }

  let token = '';
  /** A request with a bearer credential (the admin's by default); JSON in and out. */
  const request = async (method: string, p: string, body?: unknown, auth?: string) => {
    const res = await fetch(`${baseUrl}${p}`, {
      method,
      headers: {
        ...((auth ?? token) ? { authorization: `Bearer ${auth ?? token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  };
  const signIn = await request('POST', '/api/auth/admin/sessions', {
    username: 'admin@example.com',
    password: adminPassword,
  });
  token = signIn.body.accessToken as string;
  const anonKey = (await request('GET', '/api/metadata/anon-key')).body.anonKey as string;
  const apiKey = (await request('GET', '/api/metadata/api-key')).body.apiKey as string;
  const password = loadOrCreateLocalSecrets(options.dataDir).postgresPassword;
  return {
    baseUrl,
    pgPort,
    token,
    anonKey,
    apiKey,
    request,
    /** SQL as the superuser on the process's database. */
    sql: sqlOn(
      () => `postgres://postgres:${encodeURIComponent(password)}@localhost:${pgPort}/kiln`,
    ),
    output: () => output,
    stop,
  };
}
export type KilnProcess = Awaited<ReturnType<typeof startKilnProcess>>;
