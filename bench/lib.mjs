// Shared pieces of the benchmarks: ports, an embedded PostgreSQL + Kiln app in the calling
// process (the benchmark's server child), and RSS sampling answered over IPC.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const dist = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'backend',
  'dist',
);
export const requireBackend = createRequire(path.join(dist, '..', 'package.json'));

/**
 * The node flags production starts Kiln with: those of the `start` script in package.json
 * (`node <flags> backend/dist/server.js`), which backend/package.json's `start` and the
 * Dockerfile's CMD must repeat (checked here: a benchmark refuses to run when they differ). Every
 * benchmark that starts the server (records.mjs's child, spawnBuiltServer) starts it with these.
 */
export function productionNodeFlags() {
  const root = new URL('../', import.meta.url);
  const flagsIn = (text, entry) => {
    const match = new RegExp(`node((?:\\s+--[^\\s"]+)*)\\s+${entry}`).exec(text);
    if (!match) throw new Error(`no 'node … ${entry}' in ${text}`);
    return match[1].trim().split(/\s+/).filter(Boolean);
  };
  const scripts = (file) => JSON.parse(fs.readFileSync(new URL(file, root), 'utf8')).scripts;
  const flags = flagsIn(scripts('package.json').start, 'backend/dist/server.js');
  const others = {
    'backend/package.json': flagsIn(scripts('backend/package.json').start, 'dist/server.js'),
    Dockerfile: JSON.parse(
      /^CMD (\[.*\])$/m.exec(fs.readFileSync(new URL('Dockerfile', root), 'utf8'))[1],
    ).slice(1, -1),
  };
  for (const [where, theirs] of Object.entries(others))
    if (theirs.join(' ') !== flags.join(' '))
      throw new Error(`${where} starts node with [${theirs}], pnpm start with [${flags}]`);
  return flags;
}

/** The command line of the built server as production runs it: node, its flags, server.js. */
export function builtServerArgs() {
  return [...productionNodeFlags(), path.join(dist, 'server.js')];
}

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Embedded PostgreSQL + createApp() listening on loopback, with an API key for the driver. */
export async function startKiln({ name, dataDir, env = {}, overrides = {} }) {
  const { startEmbeddedPostgres } = await import(path.join(dist, 'core/embedded-postgres.js'));
  const { createApp } = await import(path.join(dist, 'app.js'));
  const { loadConfig } = await import(path.join(dist, 'core/config.js'));
  const { createLogger } = await import(path.join(dist, 'core/logger.js'));
  const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-bench-${name}-`));
  fs.chmodSync(pgDir, 0o755);
  const data = dataDir ?? pgDir;
  fs.mkdirSync(data, { recursive: true });
  const pgServer = await startEmbeddedPostgres({
    dataDir: path.join(pgDir, 'pg'),
    port: await freePort(),
    password: 'bench',
    database: 'bench',
    settings: { fsync: 'off', synchronous_commit: 'off' },
  });
  const apiKey = 'ik_' + crypto.randomBytes(32).toString('hex');
  const config = {
    ...loadConfig({
      DATA_DIR: data,
      ADMIN_PASSWORD: 'bench-admin-pw',
      JWT_SECRET: crypto.randomBytes(32).toString('hex'),
      ACCESS_API_KEY: apiKey,
      // One load generator is one client: give it the whole pool, as the baselines have it
      // (fair shares between clients are tested in backend/test/db-fairness.test.ts).
      DB_MAX_CONNECTIONS_PER_CLIENT: '500',
      ...env,
    }),
    databaseUrl: pgServer.url,
    host: '127.0.0.1',
    ...overrides,
  };
  const app = await createApp(config, { logger: createLogger({ level: 'error', stdout: true }) });
  return {
    app,
    pgServer,
    pgDataDir: path.join(pgDir, 'pg'),
    apiKey,
    async listen() {
      const { port } = await app.listen(0, '127.0.0.1');
      app.config.apiBaseUrl = `http://127.0.0.1:${port}`;
      return app.config.apiBaseUrl;
    },
    async stop() {
      await app.close();
      await pgServer.stop();
      fs.rmSync(pgDir, { recursive: true, force: true });
    },
  };
}

/**
 * Samples this process's RSS every 20 ms and answers the driver's 'reset' (baseline after GC),
 * 'mark' (baseline as the heap is) and 'peak' messages; 'stop' runs `onStop` and exits.
 */
export function serveRssOverIpc(onStop) {
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  process.on('message', async (m) => {
    if (m === 'reset' || m === 'mark') {
      // 'reset' collects garbage first (needs --expose-gc); 'mark' leaves the heap as it is.
      if (m === 'reset') global.gc?.();
      await new Promise((r) => setTimeout(r, 200));
      peak = process.memoryUsage().rss;
      process.send({ rss: peak });
    } else if (m === 'peak') {
      process.send({ peak });
    } else if (m === 'stop') {
      clearInterval(sampler);
      await onStop();
      process.exit(0);
    }
  });
}

/** The driver side: send a message to the child and wait for its answer. */
export function asker(child) {
  return (m) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(m);
    });
}

/**
 * The built server (backend/dist/server.js) as its own process on free loopback ports, with a
 * fresh DATA_DIR and embedded PostgreSQL, ready (/health/ready) when this resolves; node runs with
 * production's flags (productionNodeFlags). For the browser benchmarks, which measure what a real
 * deployment serves.
 */
export async function spawnBuiltServer({ name, env = {} }) {
  const { spawn } = await import('node:child_process');
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-bench-${name}-`));
  const server = spawn(process.execPath, builtServerArgs(), {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      API_BASE_URL: baseUrl,
      DATA_DIR: dataDir,
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      LOG_TO_STDOUT: 'false',
      ...env,
    },
    stdio: 'ignore',
  });
  const stop = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`);
      if (i > 480) throw new Error('the server did not become ready in 120 s');
      try {
        if ((await fetch(`${baseUrl}/health/ready`)).ok) break;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { baseUrl, stop };
}

/** Debian's Chromium through the frontend's Playwright, with the browser tests' flags. */
export async function launchChromium() {
  const requireFromFrontend = createRequire(
    path.join(dist, '..', '..', 'frontend', 'package.json'),
  );
  const { chromium } = requireFromFrontend('@playwright/test');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * CPU time (µs, user + system) used so far by a PostgreSQL cluster's processes: the postmaster,
 * the backends it has reaped (its children's times) and the ones alive, read from /proc: what the
 * database spent, beside what the server spent. Undefined where /proc is not there.
 */
export function postgresCpuUs(pgDataDir) {
  try {
    const postmaster = Number(
      fs.readFileSync(path.join(pgDataDir, 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    let ticks = 0;
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat;
      try {
        stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      // Fields after the command name (which may hold spaces): f[0] is field 3 (state).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const [ppid, utime, stime, cutime, cstime] = [f[1], f[11], f[12], f[13], f[14]].map(Number);
      if (Number(entry) === postmaster) ticks += utime + stime + cutime + cstime;
      else if (ppid === postmaster) ticks += utime + stime;
    }
    return ticks * (1e6 / 100); // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
