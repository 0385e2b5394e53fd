import { spawn, type ChildProcess } from 'node:child_process';
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

describe('pnpm start (embedded PostgreSQL under DATA_DIR)', () => {
  it('creates the cluster on first run, reuses it, refuses a second process on the same DATA_DIR, and shuts down cleanly', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-proc-'));
    tempDirs.push(dataDir);
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    };

    const first = startServer(env);
    const firstMs = await waitForHealth(first, 15_000);
    expect(firstMs).toBeLessThan(15_000);
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
    const againMs = await waitForHealth(again, 15_000);
    expect(againMs).toBeLessThan(5_000);
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
    await waitForHealth(server, 15_000);
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

describe('pnpm start with DATABASE_URL', () => {
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
      await Promise.all(servers.map((s) => waitForHealth(s, 20_000)));

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
