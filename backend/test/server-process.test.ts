import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase, pgUrl } from './helpers.js';
import { freePort } from './ports.js';

/**
 * The real process, as `pnpm start` runs it: backend/dist/server.js (built by `pnpm test` first).
 */
const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  baseUrl: string;
}

const children: ChildProcess[] = [];
const tempDirs: string[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

function startServer(env: Record<string, string>): Running {
  let output = '';
  const child = spawn(process.execPath, [SERVER], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ADMIN_PASSWORD: 'process-test-password',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited, baseUrl: `http://127.0.0.1:${env.PORT}` };
}

async function waitForHealth(server: Running, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (server.child.exitCode !== null) throw new Error(`server exited early:\n${server.output()}`);
    try {
      const res = await fetch(`${server.baseUrl}/api/health`);
      if (res.ok) return Date.now() - started;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no health within ${timeoutMs} ms:\n${server.output()}`);
}

async function stop(server: Running): Promise<number | null> {
  server.child.kill('SIGTERM');
  return server.exited;
}

// Each test starts real server processes: on a loaded machine one start alone can take 20 s.
describe('pnpm start (embedded PostgreSQL under DATA_DIR)', { timeout: 120_000 }, () => {
  it('creates the cluster on first run, reuses it, refuses a second process on the same DATA_DIR, and shuts down cleanly', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-proc-'));
    tempDirs.push(dataDir);
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    };

    // Start-up speed is measured by bench/startup.mjs, not here: a loaded CI machine may be slow.
    const first = startServer(env);
    await waitForHealth(first, 45_000);
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    const secrets = fs.statSync(path.join(dataDir, 'secrets.json'));
    expect(secrets.mode & 0o077).toBe(0);

    // Something to find again after the restart.
    const signUp = await fetch(`${first.baseUrl}/api/auth/users?client_type=mobile`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'persist@example.com', password: 'persist-pass-1' }),
    });
    expect(signUp.status).toBe(201);

    // A second process on the same DATA_DIR fails clearly and leaves the first untouched.
    const second = startServer({ ...env, PORT: String(await freePort()) });
    expect(await second.exited).not.toBe(0);
    expect(second.output()).toMatch(/DATA_DIR .* is in use by another Kiln process \(pid \d+\)/);
    expect((await fetch(`${first.baseUrl}/health/ready`)).status).toBe(200);

    expect(await stop(first)).toBe(0);
    expect(first.output()).toContain('"message":"stopped"');
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'kiln.pid'))).toBe(false);

    const again = startServer(env);
    await waitForHealth(again, 30_000);
    const signIn = await fetch(`${again.baseUrl}/api/auth/sessions?client_type=mobile`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'persist@example.com', password: 'persist-pass-1' }),
    });
    expect(signIn.status).toBe(200);
    expect(await stop(again)).toBe(0);
  });

  it('starts from a DATA_DIR inside a private (0700) directory, as root too', async () => {
    const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-private-'));
    tempDirs.push(privateDir);
    fs.chmodSync(privateDir, 0o700);
    const dataDir = path.join(privateDir, 'data');
    const server = startServer({
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
    });
    await waitForHealth(server, 45_000);
    expect((await fetch(`${server.baseUrl}/health/ready`)).status).toBe(200);
    const clusterPath = path.join(dataDir, 'postgres');
    if (process.getuid?.() === 0) {
      // PostgreSQL runs as the postgres user, which cannot enter the private directory: the
      // cluster lives under /var/lib/kiln and DATA_DIR/postgres links to it.
      expect(fs.lstatSync(clusterPath).isSymbolicLink()).toBe(true);
      const target = fs.realpathSync(clusterPath);
      expect(target.startsWith('/var/lib/kiln/clusters/')).toBe(true);
      tempDirs.push(path.dirname(target));
      expect(fs.statSync(target).uid).not.toBe(0);
    } else {
      expect(fs.lstatSync(clusterPath).isDirectory()).toBe(true);
    }
    expect(fs.existsSync(path.join(clusterPath, 'PG_VERSION'))).toBe(true);
    expect(await stop(server)).toBe(0);
  });

  it('exits with a message naming the bad variable when the config is invalid', async () => {
    const bad = startServer({ PORT: 'not-a-port', JWT_SECRET: 'short' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/PORT: /);
    expect(bad.output()).toMatch(/JWT_SECRET: must be at least 32 characters/);
  });
});

describe(
  'DATA_DIR is private to Kiln (files 0600, folders 0700), and so is mail without SMTP',
  { timeout: 120_000 },
  () => {
    /** Every entry under `dir` (the cluster left out) whose mode is not 0600 (files) / 0700 (folders). */
    function looseEntries(dir: string): string[] {
      const loose: string[] = [];
      const walk = (p: string) => {
        for (const name of fs.readdirSync(p)) {
          const entry = path.join(p, name);
          if (p === dir && name === 'postgres') continue;
          const stat = fs.lstatSync(entry);
          if (stat.isSymbolicLink()) continue;
          const want = stat.isDirectory() ? 0o700 : 0o600;
          // As root, PostgreSQL (running as the postgres user) archives WAL into backups/wal,
          // which it owns: backups/ lets it pass through (group postgres, x only), as DATA_DIR
          // does; the checks below show it can list and read nothing else there.
          const passThrough =
            process.getuid?.() === 0 &&
            p === dir &&
            name === 'backups' &&
            (stat.mode & 0o777) === 0o710;
          if ((stat.mode & 0o777) !== want && !passThrough)
            loose.push(`${path.relative(dir, entry)} ${(stat.mode & 0o777).toString(8)}`);
          if (stat.isDirectory()) walk(entry);
        }
      };
      walk(dir);
      return loose;
    }

    async function until<T>(what: string, check: () => T | undefined, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    it('tightens an old install, keeps new files private, lets PostgreSQL reach only its cluster; mail goes to a private file only outside production', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-modes-'));
      tempDirs.push(dataDir);
      // An install from before Kiln set its modes: open folders and files.
      fs.chmodSync(dataDir, 0o755);
      fs.mkdirSync(path.join(dataDir, 'logs'));
      fs.mkdirSync(path.join(dataDir, 'backups', 'old'), { recursive: true });
      fs.writeFileSync(path.join(dataDir, 'logs', 'kiln1.log'), '{}\n');
      fs.writeFileSync(path.join(dataDir, 'backups', 'old', 'dump.sql'), 'secret rows');
      for (const p of ['logs', 'backups', 'backups/old'])
        fs.chmodSync(path.join(dataDir, p), 0o755);
      for (const p of ['logs/kiln1.log', 'backups/old/dump.sql'])
        fs.chmodSync(path.join(dataDir, p), 0o644);

      const env = {
        DATA_DIR: dataDir,
        PORT: String(await freePort()),
        EMBEDDED_POSTGRES_PORT: String(await freePort()),
        LOG_LEVEL: 'info',
      };
      const mailLog = path.join(dataDir, 'logs', 'mail-dev.log');
      const dev = startServer(env);
      await waitForHealth(dev, 45_000);
      expect(dev.output()).toContain(`is written to the development mail log ${mailLog}`);

      // Some of everything Kiln writes: an upload, a function run, mail, logs.
      const admin = (await (
        await fetch(`${dev.baseUrl}/api/auth/admin/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            username: 'admin@example.com',
            password: 'process-test-password',
          }),
        })
      ).json()) as { accessToken: string };
      const auth = { authorization: `Bearer ${admin.accessToken}` };
      const json = { ...auth, 'content-type': 'application/json' };
      const bucket = await fetch(`${dev.baseUrl}/api/storage/buckets`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ bucketName: 'docs', isPublic: false }),
      });
      expect(bucket.status).toBe(201);
      const form = new FormData();
      form.append('file', new Blob(['private bytes']), 'a.txt');
      const upload = await fetch(`${dev.baseUrl}/api/storage/buckets/docs/objects/a.txt`, {
        method: 'PUT',
        headers: auth,
        body: form,
      });
      expect(upload.status).toBeLessThan(300);
      const fn = await fetch(`${dev.baseUrl}/api/functions`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ name: 'hi', code: 'export default () => new Response("hi");' }),
      });
      expect(fn.status).toBe(201);
      expect(await (await fetch(`${dev.baseUrl}/functions/hi`)).text()).toBe('hi');
      const send = (base: string) =>
        fetch(`${base}/api/auth/email/send-otp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'mailbox@example.com' }),
        });
      expect((await send(dev.baseUrl)).status).toBe(202);
      const code = await until('the development mail log', () => {
        const text = fs.existsSync(mailLog) ? fs.readFileSync(mailLog, 'utf8') : '';
        return /mailbox@example\.com/.test(text) ? /\b(\d{6})\b/.exec(text)?.[1] : undefined;
      });

      expect(looseEntries(dataDir)).toEqual([]);
      expect(fs.existsSync(path.join(dataDir, 'storage'))).toBe(true);
      expect(fs.existsSync(path.join(dataDir, 'deno'))).toBe(true);
      const top = fs.statSync(dataDir);
      if (process.getuid?.() === 0) {
        // The server runs as the postgres user: it passes through DATA_DIR (group, x only) to the
        // cluster it owns, and can neither list DATA_DIR nor read anything else in it.
        const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
        const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
        expect([top.mode & 0o777, top.gid]).toEqual([0o710, gid]);
        const asPostgres = (cmd: string) =>
          spawnSync('/bin/sh', ['-c', cmd], { uid, gid, cwd: '/', encoding: 'utf8' }).status;
        expect(asPostgres(`cat '${dataDir}/postgres/PG_VERSION'`)).toBe(0);
        for (const denied of [
          `ls '${dataDir}'`,
          `ls '${dataDir}/logs'`,
          `cat '${dataDir}/logs/kiln.log'`,
          `cat '${mailLog}'`,
          `cat '${dataDir}/logs/kiln1.log'`,
          `ls '${dataDir}/storage'`,
          `cat '${dataDir}/backups/old/dump.sql'`,
          `ls '${dataDir}/backups'`,
          `cat '${dataDir}/secrets.json'`,
        ])
          expect(asPostgres(denied), denied).not.toBe(0);
      } else {
        expect(top.mode & 0o777).toBe(0o700);
      }
      expect(await stop(dev)).toBe(0);
      // The code is in the private mail log only, not in the main log.
      expect(fs.readFileSync(path.join(dataDir, 'logs', 'kiln.log'), 'utf8')).not.toContain(code);

      // Production without SMTP: nothing is written, the refusal is logged and admins see why.
      const mailBefore = fs.readFileSync(mailLog, 'utf8');
      const { jwtSecret } = JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8'));
      const prod = startServer({ ...env, NODE_ENV: 'production', JWT_SECRET: jwtSecret });
      await waitForHealth(prod, 45_000);
      expect(prod.output()).toMatch(/No SMTP server is configured: Kiln will not send mail/);
      expect((await send(prod.baseUrl)).status).toBe(202);
      await until('the refusal in the log', () =>
        /could not send the .*EMAIL_NOT_CONFIGURED|EMAIL_NOT_CONFIGURED/.test(prod.output())
          ? true
          : undefined,
      );
      expect(prod.output()).toMatch(/email not sent: no SMTP server is configured/);
      const prodAdmin = (await (
        await fetch(`${prod.baseUrl}/api/auth/admin/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            username: 'admin@example.com',
            password: 'process-test-password',
          }),
        })
      ).json()) as { accessToken: string };
      const raw = await fetch(`${prod.baseUrl}/api/email/send-raw`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${prodAdmin.accessToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          to: 'x@example.com',
          subject: 's',
          html: '<p>reset code 123456</p>',
        }),
      });
      expect(raw.status).toBe(503);
      expect(((await raw.json()) as { error: string }).error).toBe('EMAIL_NOT_CONFIGURED');
      expect(await stop(prod)).toBe(0);
      expect(fs.readFileSync(mailLog, 'utf8')).toBe(mailBefore);
      expect(looseEntries(dataDir)).toEqual([]);
    });
  },
);

describe('pnpm start with DATABASE_URL', { timeout: 120_000 }, () => {
  it('two instances started together on one empty database both come up; each migration runs once', async () => {
    const database = await createTestDatabase({ empty: true });
    try {
      const shared = {
        DATABASE_URL: pgUrl(database),
        JWT_SECRET: 'a-shared-jwt-secret-of-at-least-32-characters',
        LOG_LEVEL: 'warn',
      };
      const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-proc-ext-')));
      tempDirs.push(...dirs);
      const servers = await Promise.all(
        dirs.map(async (dir) =>
          startServer({ ...shared, DATA_DIR: dir, PORT: String(await freePort()) }),
        ),
      );
      await Promise.all(servers.map((s) => waitForHealth(s, 45_000)));

      // Keys seeded once: both instances serve the same anon key.
      const tokens = await Promise.all(
        servers.map(async (s) => {
          const res = await fetch(`${s.baseUrl}/api/auth/admin/sessions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              username: 'admin@example.com',
              password: 'process-test-password',
            }),
          });
          const { accessToken } = (await res.json()) as { accessToken: string };
          const key = await fetch(`${s.baseUrl}/api/metadata/anon-key`, {
            headers: { authorization: `Bearer ${accessToken}` },
          });
          return ((await key.json()) as { anonKey: string }).anonKey;
        }),
      );
      expect(tokens[0]).toMatch(/^anon_/);
      expect(tokens[1]).toBe(tokens[0]);

      const client = new pg.Client({ connectionString: pgUrl(database) });
      await client.connect();
      try {
        const { rows } = await client.query(
          'SELECT name, count(*)::int AS n FROM system.migrations GROUP BY name',
        );
        expect(rows.length).toBeGreaterThan(0);
        for (const r of rows) expect(r.n).toBe(1);
        const keys = await client.query(
          `SELECT kind, count(*)::int AS n FROM system.api_keys WHERE expires_at IS NULL GROUP BY kind ORDER BY kind`,
        );
        expect(keys.rows).toEqual([
          { kind: 'anon', n: 1 },
          { kind: 'api', n: 1 },
        ]);
      } finally {
        await client.end();
      }
      for (const s of servers) expect(await stop(s)).toBe(0);
    } finally {
      await dropTestDatabase(database);
    }
  });
});
