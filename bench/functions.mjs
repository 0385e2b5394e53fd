#!/usr/bin/env node
// Edge functions benchmark (needs `pnpm build`). A child process runs Kiln; this process:
//  1. warm invocation latency: sequential requests (keep-alive) to /functions/hello through Kiln,
//     against the same handler under a bare `Deno.serve` (same Deno binary), in the same run;
//     the overhead Kiln adds is the difference of the medians (goal ≤ 3 ms p50);
//  2. cold start: time of the first call after new code is saved (a new Deno process loads it),
//     against starting `deno run` with the bare server until its first answer (goal ≤ 300 ms).
//
// Usage: node bench/functions.mjs [--requests 2000] [--cold 5]
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { dist, startKiln } from './lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('--requests', 2000);
const COLD = arg('--cold', 5);
const HANDLER = `(req: Request) => new Response('hello ' + new URL(req.url).pathname)`;

async function kilnServer() {
  const kiln = await startKiln({ name: 'functions' });
  const url = await kiln.listen();
  process.on('message', async (m) => {
    if (m === 'stop') {
      await kiln.stop();
      process.exit(0);
    }
  });
  process.send({ url, apiKey: kiln.apiKey });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
  });
}

async function timeRequests(url, n) {
  for (let i = 0; i < 200; i++) await get(url); // warm-up
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const status = await get(url);
    times.push(performance.now() - t0);
    if (status !== 200) throw new Error(`${url}: ${status}`);
  }
  return times;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** The bare baseline: the same handler under Deno.serve, same flags as Kiln's processes. */
async function startBareDeno() {
  const { createRequire } = await import('node:module');
  const require = createRequire(path.join(dist, '..', 'package.json'));
  const functionsPkg = path.dirname(require.resolve('@kiln/functions/package.json'));
  const deno = path.join(
    path.dirname(
      createRequire(path.join(functionsPkg, 'package.json')).resolve('deno/package.json'),
    ),
    'deno',
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-deno-'));
  const file = path.join(dir, 'bare.ts');
  fs.writeFileSync(
    file,
    `Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log('port ' + port) }, ${HANDLER});`,
  );
  const started = performance.now();
  const child = spawn(deno, ['run', '--quiet', '--no-config', '--no-lock', '--allow-net', file], {
    env: { DENO_DIR: path.join(dir, 'cache'), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('port ')) resolve(Number(line.slice(5)));
    });
  });
  const url = `http://127.0.0.1:${port}/functions/hello`;
  await get(url);
  const coldMs = performance.now() - started;
  return {
    url,
    coldMs,
    stop: () => {
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function driver() {
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { stdio: 'inherit' });
  process.on('exit', () => child.kill());
  const info = await new Promise((resolve) => child.once('message', resolve));
  const admin = (method, p, body) =>
    fetch(`${info.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${info.apiKey}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    }).then(async (r) => {
      if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
      return r.json();
    });
  await admin('POST', '/api/functions', {
    name: 'hello',
    slug: 'hello',
    code: `export default ${HANDLER};`,
  });

  // Cold starts: bare deno run vs Kiln's first call after saving new code.
  const bareCold = [];
  let bare;
  for (let i = 0; i < COLD; i++) {
    bare?.stop();
    bare = await startBareDeno();
    bareCold.push(bare.coldMs);
  }
  const kilnCold = [];
  for (let i = 0; i < COLD; i++) {
    await admin('PUT', '/api/functions/hello', {
      code: `export default ${HANDLER}; // version ${i}`,
    });
    const t0 = performance.now();
    await get(`${info.url}/functions/hello`);
    kilnCold.push(performance.now() - t0);
  }

  const direct = await timeRequests(bare.url, REQUESTS);
  const through = await timeRequests(`${info.url}/functions/hello`, REQUESTS);
  bare.stop();
  child.send('stop');
  await new Promise((r) => child.once('exit', r));

  const f = (x) => x.toFixed(2);
  const median = (xs) => pct(xs, 50);
  console.log(`\nwarm invocations: ${REQUESTS} sequential requests each (keep-alive)\n`);
  console.log('| path | p50 | p90 | p99 |');
  console.log('|---|---|---|---|');
  console.log(
    `| bare Deno.serve | ${f(median(direct))} ms | ${f(pct(direct, 90))} ms | ${f(pct(direct, 99))} ms |`,
  );
  console.log(
    `| through Kiln | ${f(median(through))} ms | ${f(pct(through, 90))} ms | ${f(pct(through, 99))} ms |`,
  );
  const added = median(through) - median(direct);
  console.log(
    `\nadded by Kiln at p50: ${f(added)} ms (ratio ${(median(through) / median(direct)).toFixed(2)}x) — target ≤ 3 ms: ${added <= 3 ? 'met' : 'NOT met'}`,
  );
  console.log(`\ncold start (median of ${COLD}):`);
  console.log(`| start | median | runs |`);
  console.log('|---|---|---|');
  console.log(
    `| bare deno run → first answer | ${f(median(bareCold))} ms | ${bareCold.map(f).join(', ')} |`,
  );
  console.log(
    `| Kiln: first call after saving new code | ${f(median(kilnCold))} ms | ${kilnCold.map(f).join(', ')} |`,
  );
  console.log(
    `cold start target ≤ 300 ms: ${median(kilnCold) <= 300 ? 'met' : 'NOT met'} (ratio to bare ${(median(kilnCold) / median(bareCold)).toFixed(2)}x)`,
  );
  process.exit(0);
}

if (process.argv.includes('--server')) await kilnServer();
else await driver();
