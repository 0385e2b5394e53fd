#!/usr/bin/env node
// Records API benchmark. Needs `pnpm build` first (it runs backend/dist).
//
// A child process runs, against one embedded PostgreSQL: Kiln (createApp) and a baseline — a bare
// node:http + pg endpoint running the equivalent hand-written SQL in the same kind of
// transaction (role + claims set, RLS on) with the same pool size. This process drives both with
// autocannon, one after the other, and prints the ratios. The child also times parse + plan + SQL
// generation for a 10-filter, 2-embed query.
//
// Usage: node bench/records.mjs [--seconds 8] [--connections 16] [--profile DIR] [--heap DIR]
//
// --profile DIR writes a CPU profile of the server process during each Kiln run (not the
// baseline's) to DIR/kiln-<n>.cpuprofile, for Chrome DevTools or `node bench/profile-summary.mjs`.
// --heap DIR writes a sampling heap profile of each Kiln run counting every allocation, collected
// or not, to DIR/kiln-<n>.heapprofile (`node bench/profile-summary.mjs` reads it too: bytes
// allocated per request and where).
//
// Besides throughput, latency and CPU per request, each run reports the server process's garbage
// collections (PerformanceObserver 'gc': scavenges, mark-compacts, pause time) per 1,000 requests.
//
// The server child runs with the node flags production starts Kiln with: those of the `start`
// script in package.json (`node <flags> backend/dist/server.js`), which the Dockerfile's CMD and
// backend/package.json must repeat (checked here). The baseline shares that process, so it runs
// with them too.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import inspector from 'node:inspector';
import path from 'node:path';
import { PerformanceObserver, constants as perf } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { dist, postgresCpuUs, productionNodeFlags, requireBackend, startKiln } from './lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const POOL = 10;

if (process.argv.includes('--server')) await server();
else await driver();

async function server() {
  const { buildReadPlan } = await import(path.join(dist, 'database/records/plan.js'));
  const { compileRead, wrapAsJson, SqlParams, Aliases } = await import(
    path.join(dist, 'database/records/sql.js')
  );
  const pg = (await import(requireBackend.resolve('pg'))).default;
  const kiln = await startKiln({ name: 'records', overrides: { dbPoolMax: POOL } });
  const { app, pgServer } = kiln;

  const setup = new pg.Client({ connectionString: pgServer.url });
  await setup.connect();
  await setup.query(`
    CREATE TABLE bench_authors (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE bench_tags (id serial PRIMARY KEY, label text NOT NULL);
    CREATE TABLE bench_notes (
      id serial PRIMARY KEY,
      owner uuid NOT NULL,
      author_id integer REFERENCES bench_authors (id),
      tag_id integer REFERENCES bench_tags (id),
      body text NOT NULL,
      score integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE bench_notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON bench_notes FOR ALL TO authenticated USING (owner = auth.uid());
    INSERT INTO bench_authors (name) SELECT 'author ' || i FROM generate_series(1, 100) i;
    INSERT INTO bench_tags (label) SELECT 'tag ' || i FROM generate_series(1, 20) i;
  `);
  const signUp = await app.auth.signUp(
    { email: 'bench@example.com', password: 'bench-password' },
    { clientType: 'mobile', byAdmin: false },
  );
  const { user, accessToken } = signUp.session;
  await setup.query(
    `INSERT INTO bench_notes (owner, author_id, tag_id, body, score)
     SELECT $1, 1 + i % 100, 1 + i % 20, 'note ' || i, i % 1000 FROM generate_series(1, 10000) i`,
    [user.id],
  );
  await setup.query('ANALYZE');
  await setup.end();
  await app.schemaCache.reload();
  const kilnUrl = await kiln.listen();

  // Baseline: the same transaction shape, hand-written SQL, no framework.
  const pool = new pg.Pool({ connectionString: pgServer.url, max: POOL });
  pool.on('error', () => {});
  const claims = pg.escapeLiteral(
    JSON.stringify({ sub: user.id, role: 'authenticated', email: user.email }),
  );
  const begin = `BEGIN READ ONLY; SET LOCAL ROLE authenticated; SELECT set_config('request.jwt.claims', ${claims}, true)`;
  const queries = {
    '/pk': `SELECT coalesce(json_agg(t), '[]')::text AS body FROM (SELECT * FROM bench_notes WHERE id = $1) t`,
    '/embed': `SELECT coalesce(json_agg(t), '[]')::text AS body FROM (
       SELECT n.*, json_build_object('id', a.id, 'name', a.name) AS author
       FROM bench_notes n LEFT JOIN bench_authors a ON a.id = n.author_id WHERE n.id = $1) t`,
  };
  const baseline = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const client = await pool.connect();
    try {
      await client.query(begin);
      const { rows } = await client.query(queries[url.pathname], [url.searchParams.get('id')]);
      await client.query('COMMIT');
      res.writeHead(200, { 'content-type': 'application/json' }).end(rows[0].body);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      res.writeHead(500).end(String(err));
    } finally {
      client.release();
    }
  });
  await new Promise((r) => baseline.listen(0, '127.0.0.1', r));

  // parse + plan + SQL for a 10-filter, 2-embed query
  const table = app.schemaCache.getTable('public', 'bench_notes');
  const query = {
    select: ['id,body,score,author:author_id(id,name),tag:tag_id(label)'],
    score: ['gte.10'],
    id: ['lt.5000'],
    body: ['like.note*'],
    author_id: ['in.(1,2,3,4,5)'],
    tag_id: ['not.is.null'],
    created_at: ['lt.2100-01-01'],
    owner: ['not.is.null'],
    or: ['(score.lt.500,score.gt.900)'],
    'author.name': ['like.author*'],
    'tag.label': ['neq.x'],
    order: ['score.desc,id'],
    limit: ['20'],
  };
  const run = () => {
    const node = buildReadPlan(app.schemaCache, { table, query });
    const params = new SqlParams();
    const compiled = compileRead(node, params, new Aliases());
    return wrapAsJson(compiled.rows, compiled.count);
  };
  for (let i = 0; i < 2000; i++) run();
  const samples = [];
  for (let i = 0; i < 20000; i++) {
    const t0 = process.hrtime.bigint();
    run();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  samples.sort((a, b) => a - b);
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, v[0]])).toString();
  const base = [];
  for (let i = 0; i < 20000; i++) {
    const t0 = process.hrtime.bigint();
    new URLSearchParams(qs).forEach(() => {});
    base.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  base.sort((a, b) => a - b);

  process.send({
    kiln: kilnUrl,
    baseline: `http://127.0.0.1:${baseline.address().port}`,
    token: accessToken,
    micro: {
      medianUs: samples[samples.length >> 1],
      p99Us: samples[Math.floor(samples.length * 0.99)],
      urlParseMedianUs: base[base.length >> 1],
    },
  });
  // Garbage collections so far: count and pause time by kind, and the longest pause.
  const gc = { scavenges: 0, majors: 0, pauseMs: 0, maxPauseMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.detail?.kind === perf.NODE_PERFORMANCE_GC_MINOR) gc.scavenges++;
      else if (entry.detail?.kind === perf.NODE_PERFORMANCE_GC_MAJOR) gc.majors++;
      gc.pauseMs += entry.duration;
      gc.maxPauseMs = Math.max(gc.maxPauseMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  let profiler;
  let heapSession;
  process.on('message', async (m) => {
    if (m?.heap === 'start') {
      heapSession = new inspector.Session();
      heapSession.connect();
      // Every allocation sampled, also those the next scavenge or mark-compact collects.
      await new Promise((r) =>
        heapSession.post(
          'HeapProfiler.startSampling',
          {
            samplingInterval: 4096,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          },
          r,
        ),
      );
      process.send({ started: true });
      return;
    }
    if (m?.heap === 'stop') {
      heapSession.post('HeapProfiler.stopSampling', (err, { profile }) => {
        writeFileSync(m.file, JSON.stringify({ ...profile, requests: m.requests }));
        heapSession.disconnect();
        process.send({ written: m.file });
      });
      return;
    }
    if (m?.profile === 'start') {
      profiler = new inspector.Session();
      profiler.connect();
      await new Promise((r) =>
        profiler.post('Profiler.enable', () => profiler.post('Profiler.start', r)),
      );
      process.send({ started: true });
      return;
    }
    if (m?.profile === 'stop') {
      profiler.post('Profiler.stop', (err, { profile }) => {
        writeFileSync(m.file, JSON.stringify(profile));
        profiler.disconnect();
        process.send({ written: m.file });
      });
      return;
    }
    if (m === 'cpu') {
      const { user, system } = process.cpuUsage();
      // Let the observer see the collections of the run that just ended.
      await new Promise((r) => setImmediate(r));
      process.send({
        cpuUs: user + system,
        pgUs: postgresCpuUs(kiln.pgDataDir),
        gc: { ...gc },
        rssMb: process.memoryUsage().rss / 2 ** 20,
      });
      gc.maxPauseMs = 0; // the longest pause is per run (between two 'cpu' readings)
      return;
    }
    if (m !== 'stop') return;
    await pool.end();
    baseline.close();
    await kiln.stop();
    process.exit(0);
  });
}

async function driver() {
  const autocannon = (await import('autocannon')).default;
  const nodeFlags = productionNodeFlags();
  const seconds = arg('seconds', 8);
  const connections = arg('connections', 16);
  const child = fork(fileURLToPath(import.meta.url), ['--server'], {
    stdio: 'inherit',
    execArgv: [...process.execArgv, ...nodeFlags],
  });
  const info = await new Promise((resolve) => child.once('message', resolve));
  // CPU time the server process spent (Kiln and the baseline share it, and run one at a time):
  // per request, it is the figure the machine's load moves least.
  const cpu = () =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send('cpu');
    });
  const profileDir = process.argv.includes('--profile')
    ? process.argv[process.argv.indexOf('--profile') + 1]
    : undefined;
  const ask = (message) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(message);
    });
  const heapDir = process.argv.includes('--heap')
    ? process.argv[process.argv.indexOf('--heap') + 1]
    : undefined;
  let profiles = 0;
  let heaps = 0;
  const measured = async (url, headers, profile = false) => {
    if (profile && profileDir) await ask({ profile: 'start' });
    if (profile && heapDir) await ask({ heap: 'start' });
    const before = await cpu();
    const result = await load(url, headers);
    const after = await cpu();
    const n = Math.max(1, result.requests.total);
    result.cpuPerRequestUs = (after.cpuUs - before.cpuUs) / n;
    result.pgPerRequestUs = after.pgUs === undefined ? NaN : (after.pgUs - before.pgUs) / n;
    const per1000 = (key) => ((after.gc[key] - before.gc[key]) * 1000) / n;
    result.gc = {
      scavenges: per1000('scavenges'),
      majors: per1000('majors'),
      pauseUsPerRequest: per1000('pauseMs'),
      maxPauseMs: after.gc.maxPauseMs,
      rssMb: after.rssMb,
    };
    if (profile && profileDir)
      await ask({ profile: 'stop', file: path.join(profileDir, `kiln-${++profiles}.cpuprofile`) });
    if (profile && heapDir)
      await ask({
        heap: 'stop',
        file: path.join(heapDir, `kiln-${++heaps}.heapprofile`),
        requests: n,
      });
    return result;
  };

  const load = (url, headers) =>
    new Promise((resolve, reject) => {
      let i = 0;
      autocannon(
        {
          url,
          connections,
          duration: seconds,
          headers,
          requests: [
            {
              setupRequest: (req) => ({
                ...req,
                path: req.path.replace('ID', String(1 + (i++ % 10000))),
              }),
            },
          ],
        },
        (err, result) => (err ? reject(err) : resolve(result)),
      );
    });
  const auth = { authorization: `Bearer ${info.token}` };
  const scenarios = [
    [
      'GET by primary key (RLS on)',
      `${info.kiln}/api/database/records/bench_notes?id=eq.ID`,
      `${info.baseline}/pk?id=ID`,
    ],
    [
      'one-level embed (to-one)',
      `${info.kiln}/api/database/records/bench_notes?select=*,author:author_id(id,name)&id=eq.ID`,
      `${info.baseline}/embed?id=ID`,
    ],
  ];
  const rows = [];
  for (const [name, kilnUrl, baseUrl] of scenarios) {
    await load(baseUrl, {}); // warm both
    await load(kilnUrl, auth);
    const b = await measured(baseUrl, {});
    const k = await measured(kilnUrl, auth, true);
    if (k.non2xx || b.non2xx)
      throw new Error(`${name}: non-2xx responses (kiln ${k.non2xx}, baseline ${b.non2xx})`);
    rows.push({
      name,
      kilnRps: k.requests.average,
      baseRps: b.requests.average,
      kilnP99: k.latency.p99,
      baseP99: b.latency.p99,
      kilnCpu: k.cpuPerRequestUs,
      baseCpu: b.cpuPerRequestUs,
      kilnPg: k.pgPerRequestUs,
      basePg: b.pgPerRequestUs,
      kilnGc: k.gc,
      baseGc: b.gc,
    });
  }
  child.send('stop');

  console.log(
    `records benchmark: ${seconds}s per run, ${connections} connections, pool ${POOL}, baseline = node:http + pg, same SQL shape; server process: node ${nodeFlags.join(' ') || '(no flags)'} (as pnpm start)`,
  );
  console.log(
    '| scenario | Kiln req/s | baseline req/s | ratio (target ≥ 0.8) | Kiln p99 | baseline p99 | p99 ratio (target ≤ 1.5) | server CPU µs/req Kiln / baseline | PostgreSQL CPU µs/req Kiln / baseline |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${Math.round(r.kilnRps)} | ${Math.round(r.baseRps)} | ${(r.kilnRps / r.baseRps).toFixed(2)} | ${r.kilnP99} ms | ${r.baseP99} ms | ${(r.kilnP99 / Math.max(r.baseP99, 1)).toFixed(2)} | ${Math.round(r.kilnCpu)} / ${Math.round(r.baseCpu)} | ${Math.round(r.kilnPg)} / ${Math.round(r.basePg)} |`,
    );
  }
  console.log(
    'garbage collection in the server process, per 1,000 requests: scavenges, mark-compacts, pause ms (longest single pause of the run)',
  );
  const gcText = (g) =>
    `${g.scavenges.toFixed(1)} scavenges, ${g.majors.toFixed(2)} mark-compacts, ${g.pauseUsPerRequest.toFixed(1)} ms (longest ${g.maxPauseMs.toFixed(1)} ms)`;
  for (const r of rows)
    console.log(
      `  ${r.name}: Kiln ${gcText(r.kilnGc)}; baseline ${gcText(r.baseGc)}; server RSS after the Kiln run ${Math.round(r.kilnGc.rssMb)} MB`,
    );
  const m = info.micro;
  console.log(
    `parse + plan + SQL, 10 filters + 2 embeds: median ${m.medianUs.toFixed(1)} µs (target ≤ 50 µs: ${(m.medianUs / 50).toFixed(2)} of budget), p99 ${m.p99Us.toFixed(1)} µs; ` +
      `baseline URLSearchParams parse of the same query: median ${m.urlParseMedianUs.toFixed(1)} µs (ratio ${(m.medianUs / m.urlParseMedianUs).toFixed(1)}x)`,
  );
}
