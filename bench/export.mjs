#!/usr/bin/env node
// Export benchmark (needs `pnpm build`): POST /api/database/advance/export of a 1,000,000-row
// table, as SQL and as JSON, while a child process samples its own RSS. Baseline in the same run:
// a bare node:http endpoint streaming the same rows with pg-query-stream (row_to_json), the least
// any streaming exporter has to do. Target: Kiln's RSS growth ≤ 64 MiB.
//
// Usage: node bench/export.mjs [--rows 1000000]
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'backend', 'dist');
const requireBackend = createRequire(path.join(dist, '..', 'package.json'));
const rowsArg = process.argv.indexOf('--rows');
const ROWS = rowsArg >= 0 ? Number(process.argv[rowsArg + 1]) : 1_000_000;

if (process.argv.includes('--server')) await server();
else await driver();

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function server() {
  const { startEmbeddedPostgres } = await import(path.join(dist, 'core/embedded-postgres.js'));
  const { createApp } = await import(path.join(dist, 'app.js'));
  const { loadConfig } = await import(path.join(dist, 'core/config.js'));
  const { createLogger } = await import(path.join(dist, 'core/logger.js'));
  const pg = (await import(requireBackend.resolve('pg'))).default;
  const QueryStream = (await import(requireBackend.resolve('pg-query-stream'))).default;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-export-'));
  fs.chmodSync(dir, 0o755);
  const pgServer = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    port: await freePort(),
    password: 'bench',
    database: 'bench',
    settings: { fsync: 'off', synchronous_commit: 'off' },
  });
  const apiKey = 'ik_' + crypto.randomBytes(32).toString('hex');
  const config = {
    ...loadConfig({
      DATA_DIR: dir,
      ADMIN_PASSWORD: 'bench-admin-pw',
      JWT_SECRET: crypto.randomBytes(32).toString('hex'),
      ACCESS_API_KEY: apiKey,
    }),
    databaseUrl: pgServer.url,
    host: '127.0.0.1',
  };
  const app = await createApp(config, { logger: createLogger({ level: 'error', stdout: true }) });
  const setup = new pg.Client({ connectionString: pgServer.url });
  await setup.connect();
  await setup.query(`
    CREATE TABLE big (id serial PRIMARY KEY, name text NOT NULL, amount numeric(12,2), tags text[], meta jsonb, created_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO big (name, amount, tags, meta)
      SELECT 'row ' || i || ' with ''quotes''', i / 7.0, ARRAY['a' || (i % 10), 'b'], jsonb_build_object('n', i, 'even', i % 2 = 0)
      FROM generate_series(1, ${ROWS}) i;
    ANALYZE big;`);
  await setup.end();
  await app.schemaCache.reload();
  const kiln = await app.listen(0, '127.0.0.1');

  const pool = new pg.Pool({ connectionString: pgServer.url, max: 2 });
  const baseline = http.createServer(async (_req, res) => {
    const client = await pool.connect();
    try {
      res.writeHead(200, { 'content-type': 'application/json' });
      const stream = client.query(
        new QueryStream('SELECT row_to_json(t)::text AS j FROM big t', [], { batchSize: 1000 }),
      );
      let first = true;
      res.write('[');
      for await (const row of stream) {
        if (!res.write((first ? '' : ',') + row.j)) await new Promise((r) => res.once('drain', r));
        first = false;
      }
      res.end(']');
    } finally {
      client.release();
    }
  });
  await new Promise((r) => baseline.listen(0, '127.0.0.1', r));

  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  process.on('message', async (m) => {
    if (m === 'reset') {
      global.gc?.();
      await new Promise((r) => setTimeout(r, 200));
      const rss = process.memoryUsage().rss;
      peak = rss;
      process.send({ rss });
    } else if (m === 'peak') {
      process.send({ peak });
    } else if (m === 'stop') {
      clearInterval(sampler);
      await app.close();
      await pool.end();
      baseline.close();
      await pgServer.stop();
      fs.rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
  });
  process.send({
    kiln: `http://127.0.0.1:${kiln.port}`,
    baseline: `http://127.0.0.1:${baseline.address().port}`,
    apiKey,
  });
}

async function driver() {
  const child = fork(fileURLToPath(import.meta.url), ['--server', '--rows', String(ROWS)], {
    stdio: 'inherit',
    execArgv: ['--expose-gc'],
  });
  const ask = (m) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(m);
    });
  const info = await new Promise((resolve) => child.once('message', resolve));

  async function measure(name, url, init) {
    const { rss: before } = await ask('reset');
    const started = performance.now();
    const res = await fetch(url, init);
    if (!res.ok) throw new Error(`${name}: HTTP ${res.status} ${await res.text()}`);
    let bytes = 0;
    for await (const chunk of res.body) bytes += chunk.length;
    const ms = performance.now() - started;
    const { peak } = await ask('peak');
    return { name, ms, bytes, growthMiB: (peak - before) / 1024 / 1024 };
  }
  const exportReq = (format) => ({
    method: 'POST',
    headers: { authorization: `Bearer ${info.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tables: ['big'], format, includeSchema: true, includeData: true }),
  });
  const results = [
    await measure('baseline: bare pg-query-stream JSON', info.baseline, {}),
    await measure(
      'Kiln export, JSON',
      `${info.kiln}/api/database/advance/export`,
      exportReq('json'),
    ),
    await measure('Kiln export, SQL', `${info.kiln}/api/database/advance/export`, exportReq('sql')),
  ];
  child.send('stop');
  const base = results[0];
  console.log(
    `export benchmark: ${ROWS.toLocaleString('en')} rows; RSS growth sampled every 20 ms in the server process`,
  );
  console.log('| run | time | MB sent | MB/s | RSS growth | time vs baseline | target |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const target = r === base ? '' : r.growthMiB <= 64 ? '≤ 64 MiB: met' : '≤ 64 MiB: MISSED';
    console.log(
      `| ${r.name} | ${(r.ms / 1000).toFixed(1)} s | ${(r.bytes / 1e6).toFixed(0)} | ${(r.bytes / 1e6 / (r.ms / 1000)).toFixed(0)} | ${r.growthMiB.toFixed(1)} MiB | ${(r.ms / base.ms).toFixed(2)}x | ${target} |`,
    );
  }
}
