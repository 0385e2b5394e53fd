#!/usr/bin/env node
// Storage benchmark (needs `pnpm build`). A child process runs Kiln with the local provider
// (DATA_DIR on the same disk as the test file) and samples its RSS; this process:
//  1. uploads a 1 GiB file (multipart PUT, curl -F) and downloads it back to disk (curl -o),
//     against a baseline measured in the same run: `cp` of the same file on the same disk;
//  2. uploads 1,000 objects of 4 KiB with 32 concurrent clients (objects/s), against a baseline
//     of fs.writeFile of the same 1,000 files with the same concurrency.
// Targets: RSS growth ≤ 64 MiB, throughput ≥ 0.5× cp.
//
// Usage: node bench/storage.mjs [--mib 1024]
import { execFile, execFileSync, fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { asker, serveRssOverIpc, startKiln } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const mibArg = process.argv.indexOf('--mib');
const MIB = mibArg >= 0 ? Number(process.argv[mibArg + 1]) : 1024;
const work = path.join(here, '.work', 'storage');

if (process.argv.includes('--server')) await server();
else await driver();

async function server() {
  const dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.chmodSync(dataDir, 0o755);
  const kiln = await startKiln({
    name: 'storage',
    dataDir,
    env: { MAX_FILE_SIZE: String(4 * 1024 ** 3) },
  });
  const url = await kiln.listen();
  serveRssOverIpc(() => kiln.stop());
  process.send({ url, apiKey: kiln.apiKey });
}

async function driver() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  fs.chmodSync(work, 0o755);
  const source = path.join(work, 'source.bin');
  const block = crypto.randomBytes(1024 * 1024);
  const fd = fs.openSync(source, 'w');
  for (let i = 0; i < MIB; i++) fs.writeSync(fd, block);
  fs.closeSync(fd);
  const size = MIB * 1024 * 1024;

  const child = fork(fileURLToPath(import.meta.url), ['--server'], {
    stdio: 'inherit',
    execArgv: [
      '--expose-gc',
      ...(process.env.BENCH_PROFILE
        ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROFILE]
        : []),
    ],
  });
  const ask = asker(child);
  const info = await new Promise((resolve) => child.once('message', resolve));
  const auth = { authorization: `Bearer ${info.apiKey}` };
  const created = await fetch(`${info.url}/api/storage/buckets`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ bucketName: 'bench' }),
  });
  if (created.status !== 201) throw new Error(`bucket: ${created.status}`);

  // Each timing starts with dirty pages flushed (sync), so one run's writeback does not slow the
  // next; three rounds, medians reported (this disk's speed varies from run to run).
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cpRuns = [];
  const upRuns = [];
  const downRuns = [];
  let upPeak = 0;
  let downPeak = 0;
  let before = Infinity;
  let same = true;
  for (let round = 0; round < 3; round++) {
    execFileSync('sync');
    let t0 = performance.now();
    execFileSync('cp', [source, path.join(work, 'copy.bin')]);
    cpRuns.push(performance.now() - t0);
    fs.rmSync(path.join(work, 'copy.bin'));

    execFileSync('sync');
    before = Math.min(before, (await ask('reset')).rss);
    t0 = performance.now();
    // curl streams the multipart body from disk (-F file=@…), as any HTTP client would.
    const status = await new Promise((resolve, reject) => {
      execFile(
        'curl',
        [
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-X',
          'PUT',
          '-H',
          `authorization: Bearer ${info.apiKey}`,
          '-F',
          `file=@${source};type=application/octet-stream`,
          `${info.url}/api/storage/buckets/bench/objects/big.bin`,
        ],
        (err, stdout) => (err ? reject(err) : resolve(stdout.trim())),
      );
    });
    if (status !== '201') throw new Error(`upload: HTTP ${status}`);
    upRuns.push(performance.now() - t0);
    upPeak = Math.max(upPeak, (await ask('peak')).peak);

    execFileSync('sync');
    await ask('reset');
    t0 = performance.now();
    // curl writes the download to disk (a Node client's file writes would dominate the timing).
    await new Promise((resolve, reject) => {
      execFile(
        'curl',
        [
          '-sf',
          '-o',
          path.join(work, 'downloaded.bin'),
          '-H',
          `authorization: Bearer ${info.apiKey}`,
          `${info.url}/api/storage/buckets/bench/objects/big.bin`,
        ],
        (err) => (err ? reject(err) : resolve()),
      );
    });
    downRuns.push(performance.now() - t0);
    downPeak = Math.max(downPeak, (await ask('peak')).peak);
    same &&= fs.statSync(path.join(work, 'downloaded.bin')).size === size;
    fs.rmSync(path.join(work, 'downloaded.bin'));
  }
  const cpMs = median(cpRuns);
  const upMs = median(upRuns);
  const downMs = median(downRuns);

  fs.rmSync(source);

  // 1,000 small objects, 32 at a time.
  const small = crypto.randomBytes(4096);
  const runPool = async (n, concurrency, fn) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) await fn(next++);
      }),
    );
  };
  const smallDir = path.join(work, 'small');
  fs.mkdirSync(smallDir);
  let t0 = performance.now();
  await runPool(1000, 32, (i) => fs.promises.writeFile(path.join(smallDir, `f${i}`), small));
  const fsSmallMs = performance.now() - t0;
  t0 = performance.now();
  await runPool(1000, 32, async (i) => {
    const form = new FormData();
    form.append('file', new Blob([small]), `f${i}.bin`);
    const r = await fetch(`${info.url}/api/storage/buckets/bench/objects/small%2F${i}.bin`, {
      method: 'PUT',
      headers: auth,
      body: form,
    });
    if (r.status !== 201) throw new Error(`small upload ${i}: ${r.status}`);
    await r.arrayBuffer();
  });
  const smallMs = performance.now() - t0;
  child.send('stop');
  fs.rmSync(work, { recursive: true, force: true });

  const mbps = (ms) => (size / 1e6 / (ms / 1000)).toFixed(0);
  const growth = (peak) => ((peak - before) / 1024 / 1024).toFixed(1);
  console.log(
    `storage benchmark: ${MIB} MiB file, local provider, baseline = cp on the same disk (${(cpMs / 1000).toFixed(2)} s, ${mbps(cpMs)} MB/s); medians of 3`,
  );
  console.log('| run | time | MB/s | vs cp (target ≥ 0.5) | server RSS growth (target ≤ 64 MiB) |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| upload (streamed multipart PUT) | ${(upMs / 1000).toFixed(2)} s | ${mbps(upMs)} | ${(cpMs / upMs).toFixed(2)} | ${growth(upPeak)} MiB |`,
  );
  console.log(
    `| download (GET to a file)${same ? '' : ' SIZE MISMATCH'} | ${(downMs / 1000).toFixed(2)} s | ${mbps(downMs)} | ${(cpMs / downMs).toFixed(2)} | ${growth(downPeak)} MiB |`,
  );
  console.log(
    `1,000 × 4 KiB objects, 32 concurrent clients: ${(1000 / (smallMs / 1000)).toFixed(0)} objects/s (baseline fs.writeFile, same concurrency: ${(1000 / (fsSmallMs / 1000)).toFixed(0)} files/s)`,
  );
}
