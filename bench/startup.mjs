#!/usr/bin/env node
// Startup benchmark: how long `pnpm start` takes from a clean clone until GET /api/health
// answers, on first run (build + initdb) and on a later run (cached build, existing cluster).
// Baseline, measured in the same run: bare embedded PostgreSQL doing the same cold/warm start
// (initdb + start + SELECT 1, then start + SELECT 1). Prints the ratio Kiln / baseline.
//
// Usage: node bench/startup.mjs [--runs N]   (targets: first run < 15 s, later runs < 3 s)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const work = path.join(repo, 'bench', '.work');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3) || 3;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url, child, timeoutMs) {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`pnpm start exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
}

async function timeKilnStart(cwd, dataDir) {
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    DATA_DIR: dataDir,
    LOG_TO_STDOUT: 'false',
    TURBO_TELEMETRY_DISABLED: '1',
  };
  const started = performance.now();
  const child = spawn('pnpm', ['start'], { cwd, env, stdio: 'ignore', detached: true });
  try {
    await waitFor(`http://127.0.0.1:${port}/api/health`, child, 120_000);
    return performance.now() - started;
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid, 'SIGINT'); // like Ctrl-C: the whole process group
    await exited;
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function timeBarePostgres(cwd, dir, cold) {
  const require = createRequire(path.join(cwd, 'backend', 'package.json'));
  const { default: EmbeddedPostgres } = await import(require.resolve('embedded-postgres'));
  const pg = (await import(require.resolve('pg'))).default;
  const port = await freePort();
  if (cold) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'bench',
    port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  const started = performance.now();
  if (cold) await server.initialise();
  await server.start();
  const client = new pg.Client({
    connectionString: `postgres://postgres:bench@localhost:${port}/postgres`,
  });
  await client.connect();
  await client.query('SELECT 1');
  const ms = performance.now() - started;
  await client.end();
  await server.stop();
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  fs.chmodSync(work, 0o755);
  const cold = [];
  const warm = [];
  const bareCold = [];
  const bareWarm = [];
  for (let i = 0; i < runs; i++) {
    const clone = path.join(work, `clone-${i}`);
    execFileSync('git', ['clone', '-q', repo, clone]);
    execFileSync(
      'pnpm',
      ['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent'],
      { cwd: clone, stdio: 'inherit' },
    );
    const dataDir = path.join(clone, 'data');
    cold.push(await timeKilnStart(clone, dataDir));
    warm.push(await timeKilnStart(clone, dataDir));
    const bareDir = path.join(work, `bare-${i}`, 'postgres');
    bareCold.push(await timeBarePostgres(clone, bareDir, true));
    bareWarm.push(await timeBarePostgres(clone, bareDir, false));
    fs.rmSync(clone, { recursive: true, force: true });
  }
  fs.rmSync(work, { recursive: true, force: true });

  const row = (name, kiln, base, target) =>
    `| ${name} | ${Math.round(median(kiln))} ms | ${Math.round(median(base))} ms | ${(median(kiln) / median(base)).toFixed(1)}x | < ${target} ms | ${median(kiln) < target ? 'met' : 'MISSED'} |`;
  console.log(`startup benchmark, ${runs} run(s), medians; baseline = bare embedded PostgreSQL`);
  console.log('| start | pnpm start → /api/health | baseline | ratio | target | |');
  console.log('|---|---|---|---|---|---|');
  console.log(row('first run (clean clone: build + initdb)', cold, bareCold, 15_000));
  console.log(row('later run (cached build, existing data)', warm, bareWarm, 3_000));
  console.log(
    `raw: first ${cold.map(Math.round).join(', ')} ms; later ${warm.map(Math.round).join(', ')} ms`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
