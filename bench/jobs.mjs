#!/usr/bin/env node
// Background jobs and schedules benchmark (needs `pnpm build`). One embedded PostgreSQL:
//  - Kiln (createApp in this process): a queue whose target is a SQL function doing nothing
//    (throughput) or a local HTTP endpoint (latency), and a per-second schedule (drift);
//  - baseline: graphile-worker 0.16 used directly (the library under Kiln's jobs) on a database
//    of its own, with a task doing nothing and the same worker concurrency.
// Measures, one phase at a time (the other side idle):
//  1. throughput: N no-op jobs enqueued in one SQL statement, jobs/s until all are done
//     (target: Kiln ≥ 0.8× the library); and the CPU time the phase took (this process, where
//     both workers run, plus the PostgreSQL server's processes): on a machine others load too,
//     the wall-clock ratio moves from run to run, CPU per job much less. Also apart: the
//     enqueue statement's own time, and the rate and CPU (this process, PostgreSQL) of running
//     the jobs once it has committed;
//  2. enqueue-to-start latency with an idle worker: jobs enqueued one at a time from SQL, time
//     until the job's code starts (p50, p99; target p99 ≤ 50 ms);
//  3. drift of a per-second schedule ("* * * * * *"): how long after its second each tick's call
//     arrives, over S seconds (p50, p99; target p99 ≤ 100 ms).
//
// Usage: node bench/jobs.mjs [--jobs 10000] [--samples 200] [--drift-seconds 60] [--concurrency 10]
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { postgresCpuUs, requireBackend, startKiln } from './lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg('--jobs', 10_000);
const SAMPLES = arg('--samples', 200);
const DRIFT_SECONDS = arg('--drift-seconds', 60);
const CONCURRENCY = arg('--concurrency', 10);

const pg = requireBackend('pg');
const { run, runMigrations } = requireBackend('graphile-worker');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const ms = (v) => `${v.toFixed(1)} ms`;

/**
 * CPU seconds used so far by this process and by the PostgreSQL server of `clusterDir` (its
 * postmaster, the backends it has reaped, the ones alive). Linux /proc; 0 for the server elsewhere.
 */
function cpuSeconds(clusterDir) {
  const { node, postgres } = cpuSplit(clusterDir);
  return node + postgres;
}

/** The same, apart: this process's CPU seconds and the PostgreSQL server's. */
function cpuSplit(clusterDir) {
  const self = process.cpuUsage();
  return {
    node: (self.user + self.system) / 1e6,
    postgres: (postgresCpuUs(clusterDir) ?? 0) / 1e6,
  };
}

/** CPU milliseconds per job since `from` (a cpuSplit), apart. */
function cpuPerJob(clusterDir, from, jobs) {
  const now = cpuSplit(clusterDir);
  return {
    node: ((now.node - from.node) * 1000) / jobs,
    postgres: ((now.postgres - from.postgres) * 1000) / jobs,
  };
}

async function until(check, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

/** A loopback endpoint that calls `onHit(path)` when a request arrives and answers 200. */
async function receiver(onHit) {
  const server = http.createServer((req, res) => {
    onHit(req.url, performance.now());
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

const kiln = await startKiln({
  name: 'jobs',
  env: {
    JOBS_WORKER_CONCURRENCY: String(CONCURRENCY),
    JOBS_POLL_INTERVAL_MS: '1000',
    DB_POOL_MAX: String(CONCURRENCY + 10),
  },
});
const baseUrl = await kiln.listen();
const owner = new pg.Client({ connectionString: kiln.pgServer.url });
await owner.connect();
const admin = async (method, path, body) => {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${kiln.apiKey}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
};

let hits = [];
const sink = await receiver((path, at) => hits.push({ path, at }));

const results = {};
try {
  // ---- 1. throughput ------------------------------------------------------------------------
  await owner.query(`CREATE FUNCTION public.bench_noop(payload jsonb) RETURNS void
    LANGUAGE sql AS $$ SELECT $$`);
  await owner.query('GRANT EXECUTE ON FUNCTION public.bench_noop(jsonb) TO project_admin');
  await admin('PUT', '/api/jobs/queues/noop', {
    target: { type: 'sql', function: 'public.bench_noop' },
  });
  let started = performance.now();
  let cpuStarted = cpuSeconds(kiln.pgServer.clusterDir);
  await owner.query(
    `SELECT jobs.enqueue('noop', jsonb_build_object('i', g)) FROM generate_series(1, $1) g`,
    [JOBS],
  );
  results.kilnEnqueueMs = performance.now() - started;
  const kilnRunFrom = cpuSplit(kiln.pgServer.clusterDir);
  // Polled with a question as cheap as the baseline's (a count of the finished rows would cost
  // the Kiln side more and more PostgreSQL time as they pile up).
  await until(async () => {
    const { rows } = await owner.query(
      `SELECT NOT EXISTS (SELECT 1 FROM jobs.jobs WHERE queue = 'noop'
                             AND status IN ('queued', 'running', 'failed')) AS done`,
    );
    return rows[0].done;
  });
  const kilnSeconds = (performance.now() - started) / 1000;
  results.kilnThroughput = JOBS / kilnSeconds;
  results.kilnRunRate = JOBS / (kilnSeconds - results.kilnEnqueueMs / 1000);
  results.kilnRunCpu = cpuPerJob(kiln.pgServer.clusterDir, kilnRunFrom, JOBS);
  results.kilnCpuMs = ((cpuSeconds(kiln.pgServer.clusterDir) - cpuStarted) * 1000) / JOBS;
  const { rows: succeeded } = await owner.query(
    `SELECT count(*)::int AS n FROM jobs.jobs WHERE queue = 'noop' AND status = 'succeeded'`,
  );
  if (succeeded[0].n !== JOBS) throw new Error(`${succeeded[0].n} of ${JOBS} jobs succeeded`);

  // ---- 2. latency (Kiln) --------------------------------------------------------------------
  await admin('PUT', '/api/jobs/queues/latency', {
    target: { type: 'http', url: `${sink.url}/lat` },
  });
  const kilnLatency = [];
  for (let i = 0; i < SAMPLES; i++) {
    hits = [];
    const t0 = performance.now();
    await owner.query(`SELECT jobs.enqueue('latency', jsonb_build_object('i', $1::int))`, [i]);
    await until(async () => hits.length > 0);
    kilnLatency.push(hits[0].at - t0);
    await sleep(10);
  }
  results.kilnLatency = kilnLatency;

  // ---- 3. schedule drift ----------------------------------------------------------------------
  hits = [];
  const schedule = await admin('POST', '/api/schedules', {
    name: 'Every second',
    cronSchedule: '* * * * * *',
    functionUrl: `${sink.url}/tick`,
    httpMethod: 'POST',
  });
  const wallOffset = Date.now() - performance.now();
  await sleep(DRIFT_SECONDS * 1000 + 500);
  await admin('PATCH', `/api/schedules/${schedule.id}`, { isActive: false });
  const drift = hits
    .filter((h) => h.path === '/tick')
    .map((h) => (h.at + wallOffset) % 1000)
    .map((d) => (d > 900 ? d - 1000 : d)); // early arrivals (clock skew) as negatives
  results.drift = drift;
} finally {
  await owner.end();
  await kiln.stop();
  sink.close();
}

// ---- baseline: graphile-worker directly ---------------------------------------------------
{
  const { startEmbeddedPostgres } = await import(
    new URL('../backend/dist/core/embedded-postgres.js', import.meta.url).href
  );
  const os = await import('node:os');
  const { freePort } = await import('./lib.mjs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-graphile-'));
  fs.chmodSync(dir, 0o755);
  const server = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    port: await freePort(),
    password: 'bench',
    database: 'graphile',
    settings: { fsync: 'off', synchronous_commit: 'off' },
  });
  const pool = new pg.Pool({ connectionString: server.url, max: CONCURRENCY + 2 });
  pool.on('error', () => {}); // connections ended by the server's shutdown at the end
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    await runMigrations({ pgPool: pool });
    let latencyHit;
    const runner = await run({
      pgPool: pool,
      concurrency: CONCURRENCY,
      pollInterval: 1000,
      noHandleSignals: true,
      logger: new (requireBackend('graphile-worker').Logger)(() => () => {}),
      taskList: {
        noop: async () => {},
        lat: async () => {
          latencyHit?.(performance.now());
        },
      },
    });
    const started = performance.now();
    const cpuStarted = cpuSeconds(server.clusterDir);
    await client.query(
      `SELECT graphile_worker.add_job('noop', json_build_object('i', g)) FROM generate_series(1, $1) g`,
      [JOBS],
    );
    results.baselineEnqueueMs = performance.now() - started;
    const baselineRunFrom = cpuSplit(server.clusterDir);
    await until(async () => {
      const { rows } = await client.query(
        'SELECT NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs) AS done',
      );
      return rows[0].done;
    });
    const baselineSeconds = (performance.now() - started) / 1000;
    results.baselineThroughput = JOBS / baselineSeconds;
    results.baselineRunRate = JOBS / (baselineSeconds - results.baselineEnqueueMs / 1000);
    results.baselineRunCpu = cpuPerJob(server.clusterDir, baselineRunFrom, JOBS);
    results.baselineCpuMs = ((cpuSeconds(server.clusterDir) - cpuStarted) * 1000) / JOBS;
    const baselineLatency = [];
    for (let i = 0; i < SAMPLES; i++) {
      const hit = new Promise((r) => (latencyHit = r));
      const t0 = performance.now();
      await client.query(`SELECT graphile_worker.add_job('lat', json_build_object('i', $1::int))`, [
        i,
      ]);
      baselineLatency.push((await hit) - t0);
      await sleep(10);
    }
    results.baselineLatency = baselineLatency;
    await runner.stop();
  } finally {
    await client.end();
    await pool.end();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ratio = results.kilnThroughput / results.baselineThroughput;
console.log(`\nBackground jobs (${JOBS} no-op jobs, worker concurrency ${CONCURRENCY})`);
console.log('| measure | Kiln | graphile-worker alone | ratio | target |');
console.log('|---|---|---|---|---|');
console.log(
  `| throughput | ${results.kilnThroughput.toFixed(0)} jobs/s | ${results.baselineThroughput.toFixed(0)} jobs/s | ${ratio.toFixed(2)} | ≥ 0.8: ${ratio >= 0.8 ? 'met' : 'not met'} |`,
);
console.log(
  `| CPU per job (this process + PostgreSQL) | ${results.kilnCpuMs.toFixed(2)} ms | ${results.baselineCpuMs.toFixed(2)} ms | ${(results.baselineCpuMs / results.kilnCpuMs).toFixed(2)} | |`,
);
console.log(
  `| of which the enqueue statement (${JOBS} jobs, one transaction) | ${(results.kilnEnqueueMs / 1000).toFixed(2)} s | ${(results.baselineEnqueueMs / 1000).toFixed(2)} s | ${(results.baselineEnqueueMs / results.kilnEnqueueMs).toFixed(2)} | |`,
);
console.log(
  `| after it commits: running them (jobs/s) | ${results.kilnRunRate.toFixed(0)} jobs/s | ${results.baselineRunRate.toFixed(0)} jobs/s | ${(results.kilnRunRate / results.baselineRunRate).toFixed(2)} | |`,
);
{
  const k = results.kilnRunCpu;
  const b = results.baselineRunCpu;
  console.log(
    `| CPU per job while running them, this process + PostgreSQL | ${k.node.toFixed(2)} + ${k.postgres.toFixed(2)} ms | ${b.node.toFixed(2)} + ${b.postgres.toFixed(2)} ms | ${((b.node + b.postgres) / (k.node + k.postgres)).toFixed(2)} | |`,
  );
}
for (const p of [50, 99]) {
  const k = pct(results.kilnLatency, p);
  const b = pct(results.baselineLatency, p);
  console.log(
    `| enqueue → start p${p} (${SAMPLES} jobs, idle worker) | ${ms(k)} | ${ms(b)} | ${(k / b).toFixed(2)} | ${p === 99 ? `≤ 50 ms: ${k <= 50 ? 'met' : 'not met'}` : ''} |`,
  );
}
const d50 = pct(results.drift, 50);
const d99 = pct(results.drift, 99);
console.log(
  `| per-second schedule drift p50 / p99 (${results.drift.length} ticks in ${DRIFT_SECONDS} s) | ${ms(d50)} / ${ms(d99)} | | | ≤ 100 ms p99: ${d99 <= 100 ? 'met' : 'not met'} |`,
);
process.exit(0);
