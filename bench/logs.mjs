#!/usr/bin/env node
// Logs benchmark (needs `pnpm build`): a 1,000,000-line DATA_DIR/logs/kiln.log (winston JSON
// lines over three days, mixed levels) is generated before Kiln starts; then the admin log API is
// timed for a first page, deep pages via before_timestamp, text searches, a level filter, a time
// range and stats, while the server child samples its own RSS. Baselines in the same run on the
// same file: `tail -n 100`, `grep -c`, and a plain Node readline scan (time and RSS).
// Targets: < 1 s per page, ≤ 64 MiB server RSS growth.
//
// Usage: node bench/logs.mjs [--lines 1000000] [--runs 5]
import { execFileSync, fork, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { asker, serveRssOverIpc, startKiln } from './lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const LINES = Number(arg('--lines', 1_000_000));
const RUNS = Number(arg('--runs', 5));
const NEEDLE = 'needle-in-the-haystack';

async function server(dataDir) {
  const kiln = await startKiln({ name: 'logs', dataDir });
  const url = await kiln.listen();
  serveRssOverIpc(() => kiln.stop());
  process.send({ kiln: url, apiKey: kiln.apiKey });
}

/** Baseline: the least a Node program does to find lines — readline over the whole file. */
async function readlineScan(file, q) {
  const readline = await import('node:readline');
  let peak = process.memoryUsage().rss;
  const before = peak;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  let matches = 0;
  const needle = q.toLowerCase();
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) if (line.toLowerCase().includes(needle)) matches++;
  const ms = performance.now() - started;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  process.send({ ms, matches, growthMiB: (peak - before) / 1024 / 1024 });
}

/** Winston's JSON format writes keys sorted. */
function jsonLine(o) {
  const sorted = {};
  for (const k of Object.keys(o).sort()) sorted[k] = o[k];
  return JSON.stringify(sorted);
}

async function generate(file, lines, end) {
  const span = 3 * 24 * 3600_000;
  const start = end - span;
  const paths = [
    '/api/database/records/posts',
    '/api/auth/sessions',
    '/api/storage/buckets/avatars/objects/a.png',
    '/functions/hello',
    '/api/ai/chat/completion',
    '/api/database/records/comments',
  ];
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out = fs.createWriteStream(file);
  let buf = [];
  const counts = { error: 0, warn: 0, info: 0, debug: 0 };
  for (let i = 0; i < lines; i++) {
    const timestamp = new Date(start + Math.floor((i / lines) * span)).toISOString();
    const x = rnd();
    let o;
    if (x < 0.8) {
      o = {
        durationMs: Math.round(rnd() * 5000) / 100,
        ip: `10.0.${i % 255}.${i % 7}`,
        kind: 'access',
        level: 'info',
        message: 'request',
        method: x < 0.5 ? 'GET' : 'POST',
        path: paths[i % paths.length],
        requestId: `req-${i.toString(36)}`,
        role: x < 0.3 ? 'anon' : 'authenticated',
        service: 'kiln',
        status: x < 0.78 ? 200 : 404,
        timestamp,
        userAgent: `Mozilla/5.0 (X11; Linux x86_64) app/${i % 10}`,
      };
    } else if (x < 0.9) {
      o = {
        level: 'debug',
        message: 'schema cache reloaded',
        service: 'kiln',
        tables: i % 40,
        timestamp,
      };
    } else if (x < 0.97) {
      o = {
        error: `ETIMEDOUT connecting to the webhook receiver #${i % 1000}`,
        level: 'warn',
        message: 'webhook delivery failed, will retry',
        service: 'kiln',
        timestamp,
      };
    } else {
      o = {
        error: {
          message: 'connection terminated unexpectedly',
          stack:
            'Error: connection terminated\n    at Client._handleErrorEvent (pg/lib/client.js:336:17)',
        },
        level: 'error',
        message: 'request failed',
        method: 'POST',
        path: paths[i % paths.length],
        requestId: `req-${i.toString(36)}`,
        service: 'kiln',
        timestamp,
      };
    }
    if (i === Math.floor(lines * 0.37)) o.message = `${NEEDLE} (the one line to find)`;
    counts[o.level]++;
    buf.push(jsonLine(o));
    if (buf.length === 10_000) {
      if (!out.write(buf.join('\n') + '\n')) await new Promise((r) => out.once('drain', r));
      buf = [];
    }
  }
  if (buf.length) out.write(buf.join('\n') + '\n');
  await new Promise((r) => out.end(r));
  return { start, counts };
}

function timeCommand(cmd, args) {
  const started = performance.now();
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - started;
  return { ms, out: res.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function driver() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-logs-'));
  const file = path.join(dataDir, 'logs', 'kiln.log');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const end = Date.now();
  let t0 = performance.now();
  const { start, counts } = await generate(file, LINES, end);
  const size = fs.statSync(file).size;
  console.log(
    `generated ${LINES.toLocaleString('en')} lines, ${(size / 1e6).toFixed(0)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
      `(error ${counts.error}, warn ${counts.warn}, info ${counts.info}, debug ${counts.debug})`,
  );
  // Same starting point for everyone: the file in the page cache.
  execFileSync('cat', [file], { stdio: ['ignore', 'ignore', 'ignore'] });

  // Baselines.
  const baselines = {
    tail: timeCommand('tail', ['-n', '100', file]),
    grepNeedle: timeCommand('grep', ['-i', '-c', '-F', NEEDLE, file]),
    grepSessions: timeCommand('grep', ['-i', '-c', '-F', 'sessions', file]),
    grepError: timeCommand('grep', ['-c', '-F', '"level":"error"', file]),
  };
  const readline = await new Promise((resolve, reject) => {
    const c = fork(fileURLToPath(import.meta.url), ['--readline', '--file', file, '--q', NEEDLE]);
    c.once('message', resolve);
    c.once('error', reject);
  });

  const child = fork(fileURLToPath(import.meta.url), ['--server', '--data', dataDir], {
    stdio: 'inherit',
    execArgv: ['--expose-gc'],
  });
  const ask = asker(child);
  const info = await new Promise((resolve) => child.once('message', resolve));
  const get = async (p) => {
    const res = await fetch(info.kiln + p, { headers: { authorization: `Bearer ${info.apiKey}` } });
    const body = await res.json();
    if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${JSON.stringify(body)}`);
    return body;
  };

  try {
    await run(ask, get, { start, end, size, baselines, readline });
  } finally {
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function run(ask, get, { start, end, size, baselines, readline }) {
  let t0;
  const { rss: startRss } = await ask('reset');
  let overallPeak = startRss;
  const results = [];
  /** Times `runs` requests; `paths` is a path, or a function of the previous answer. */
  async function measure(name, paths, { runs = RUNS, isPage = true } = {}) {
    const { rss: before } = await ask('reset');
    const times = [];
    let body;
    for (let r = 0; r < runs; r++) {
      const p = typeof paths === 'function' ? paths(body) : paths;
      t0 = performance.now();
      body = await get(p);
      times.push(performance.now() - t0);
    }
    const { peak } = await ask('peak');
    overallPeak = Math.max(overallPeak, peak);
    results.push({
      name,
      first: times[0],
      median: median(times),
      max: Math.max(...times),
      n: times.length,
      growthMiB: (peak - before) / 1024 / 1024,
      total: body.total ?? body.totals?.all,
      exact: body.totalExact,
      isPage,
    });
    return body;
  }

  const iso = (ms) => new Date(ms).toISOString();
  const span = end - start;
  // Cold: the first request counts the file's lines (remembered afterwards).
  await measure(
    'first page, 100 newest (cold: counts the lines)',
    '/api/logs/kiln.logs?limit=100',
    { runs: 1 },
  );
  await measure('first page, 100 newest', '/api/logs/kiln.logs?limit=100');
  const deepCursor = iso(start + span * 0.05);
  await measure(
    'deep page via before_timestamp (5% into the file)',
    `/api/logs/kiln.logs?limit=100&before_timestamp=${deepCursor}`,
  );
  // Walking back page by page from the deep cursor.
  await measure(
    "paging on from there: 20 pages, each before the last one's oldest line",
    (prev) =>
      `/api/logs/kiln.logs?limit=100&before_timestamp=${prev ? prev.logs.at(-1).timestamp : deepCursor}`,
    { runs: 20 },
  );
  await measure(
    `text search, one match ("${NEEDLE}": scans the whole file)`,
    `/api/logs/search?q=${NEEDLE}&limit=50`,
  );
  await measure(
    'text search, common ("sessions", 1 line in 7)',
    '/api/logs/search?q=sessions&limit=50',
  );
  await measure('level filter (error)', '/api/logs/search?level=error&limit=50');
  await measure(
    'level filter + offset 5,000 (warn)',
    '/api/logs/search?level=warn&source=kiln.logs&offset=5000&limit=50',
  );
  await measure(
    'time range: one hour mid-file',
    `/api/logs/search?from=${iso(start + span / 2)}&to=${iso(start + span / 2 + 3600_000)}&limit=100`,
  );
  await measure('stats: last 24 h, hourly buckets', '/api/logs/stats/histogram?bucket=1h', {
    runs: 3,
    isPage: false,
  });
  await measure(
    'stats: whole file (3 days), hourly buckets',
    `/api/logs/stats/histogram?from=${iso(start)}&to=${iso(end + 1)}&bucket=1h`,
    { runs: 3, isPage: false },
  );
  const f = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
  console.log(
    `\nlogs benchmark: ${LINES.toLocaleString('en')} lines, ${(size / 1e6).toFixed(0)} MB kiln.log; ` +
      `${RUNS} runs each unless noted; RSS sampled every 20 ms in the server process`,
  );
  console.log('| request | first | median | max | runs | total (exact?) | RSS growth | < 1 s |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const total =
      r.total === undefined
        ? ''
        : `${r.total.toLocaleString('en')}${r.exact === false ? ' (estimate)' : r.exact ? ' (exact)' : ''}`;
    const target = r.isPage ? (r.max < 1000 ? 'met' : 'MISSED') : r.max < 1000 ? 'met' : 'n/a';
    console.log(
      `| ${r.name} | ${f(r.first)} | ${f(r.median)} | ${f(r.max)} | ${r.n} | ${total} | ${r.growthMiB.toFixed(1)} MiB | ${target} |`,
    );
  }
  const overall = (overallPeak - startRss) / 1024 / 1024;
  console.log(
    `\nserver RSS growth over the whole run: ${overall.toFixed(1)} MiB (target ≤ 64 MiB: ${overall <= 64 ? 'met' : 'MISSED'})`,
  );
  console.log('\n| baseline on the same file | time | result |');
  console.log('|---|---|---|');
  console.log(
    `| \`tail -n 100\` | ${f(baselines.tail.ms)} | ${baselines.tail.out.split('\n').length - 1} lines |`,
  );
  console.log(
    `| \`grep -i -c -F ${NEEDLE}\` | ${f(baselines.grepNeedle.ms)} | ${baselines.grepNeedle.out.trim()} |`,
  );
  console.log(
    `| \`grep -i -c -F sessions\` | ${f(baselines.grepSessions.ms)} | ${baselines.grepSessions.out.trim()} |`,
  );
  console.log(
    `| \`grep -c -F '"level":"error"'\` | ${f(baselines.grepError.ms)} | ${baselines.grepError.out.trim()} |`,
  );
  console.log(
    `| Node readline scan (lowercase + includes) | ${f(readline.ms)} | ${readline.matches} match, RSS growth ${readline.growthMiB.toFixed(1)} MiB |`,
  );
}

if (process.argv.includes('--server')) await server(arg('--data'));
else if (process.argv.includes('--readline')) await readlineScan(arg('--file'), arg('--q'));
else await driver();
