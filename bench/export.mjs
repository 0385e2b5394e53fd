#!/usr/bin/env node
// Export benchmark (needs `pnpm build`): POST /api/database/advance/export of a 1,000,000-row
// table, as SQL and as JSON, while a child process samples its own RSS. Baseline in the same run:
// a bare node:http endpoint streaming the same rows with pg-query-stream (row_to_json), the least
// any streaming exporter has to do. Target: Kiln's RSS growth ≤ 64 MiB.
//
// Usage: node bench/export.mjs [--rows 1000000]
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { asker, requireBackend, serveRssOverIpc, startKiln } from './lib.mjs';

const rowsArg = process.argv.indexOf('--rows');
const ROWS = rowsArg >= 0 ? Number(process.argv[rowsArg + 1]) : 1_000_000;

if (process.argv.includes('--server')) await server();
else await driver();

async function server() {
  const pg = (await import(requireBackend.resolve('pg'))).default;
  const QueryStream = (await import(requireBackend.resolve('pg-query-stream'))).default;
  const kiln = await startKiln({ name: 'export' });
  const { app, pgServer, apiKey } = kiln;
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
  const kilnUrl = await kiln.listen();

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

  serveRssOverIpc(async () => {
    await pool.end();
    baseline.close();
    await kiln.stop();
  });
  process.send({
    kiln: kilnUrl,
    baseline: `http://127.0.0.1:${baseline.address().port}`,
    apiKey,
  });
}

async function driver() {
  const child = fork(fileURLToPath(import.meta.url), ['--server', '--rows', String(ROWS)], {
    stdio: 'inherit',
    execArgv: ['--expose-gc'],
  });
  const ask = asker(child);
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
