#!/usr/bin/env node
// Realtime fan-out across two instances (needs `pnpm build` and Debian's redis-server): two Kiln
// server children on one embedded PostgreSQL, half the sockets on each, for REALTIME_ADAPTER
// postgres (NOTIFY: every instance reads each message) and redis (the Socket.IO Redis adapter:
// one instance reads each message, Redis carries it to the other). Messages are published by an
// INSERT whose trigger calls realtime.publish(), on a connection of neither instance.
// Measures, per adapter:
//  1. latency from the INSERT to each delivery (p50, p99) and until every socket has it (p99),
//     events spaced so they do not overlap;
//  2. throughput: a burst published in one statement, deliveries/s until every socket on both
//     instances has every message.
//
// Usage: node bench/realtime-fanout.mjs [--sockets 400] [--events 100] [--burst 200]
import { fork, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { dist, freePort, requireBackend, startKiln } from './lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SOCKETS = arg('--sockets', 400);
const EVENTS = arg('--events', 100);
const BURST = arg('--burst', 200);

const pg = requireBackend('pg');
const { io } = requireBackend('socket.io-client');

/** Instance A: the embedded PostgreSQL, the table and trigger, the channel. */
async function instanceA(env) {
  const kiln = await startKiln({ name: 'fanout', env });
  const url = await kiln.listen();
  const owner = new pg.Client({ connectionString: kiln.pgServer.url });
  await owner.connect();
  await owner.query(`
    CREATE TABLE public.bench_events (id serial PRIMARY KEY);
    CREATE FUNCTION public.bench_publish() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM realtime.publish('bench:room', 'tick', jsonb_build_object('n', NEW.id));
      RETURN NULL;
    END $$;
    CREATE TRIGGER bench_publish AFTER INSERT ON public.bench_events
      FOR EACH ROW EXECUTE FUNCTION public.bench_publish();`);
  await owner.end();
  const res = await fetch(`${url}/api/realtime/channels`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.ACCESS_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ pattern: 'bench:%' }),
  });
  if (res.status !== 201) throw new Error(`channel: ${res.status}`);
  process.on('message', async (m) => {
    if (m === 'stop') {
      await kiln.stop();
      process.exit(0);
    }
  });
  process.send({ url, pgUrl: kiln.pgServer.url });
}

/** Instance B: the same settings on A's database, its own DATA_DIR. */
async function instanceB(env, pgUrl) {
  const { createApp } = await import(path.join(dist, 'app.js'));
  const { loadConfig } = await import(path.join(dist, 'core/config.js'));
  const { createLogger } = await import(path.join(dist, 'core/logger.js'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-fanout-b-'));
  const app = await createApp(
    {
      ...loadConfig({ DATA_DIR: dataDir, ADMIN_PASSWORD: 'bench-admin-pw', ...env }),
      databaseUrl: pgUrl,
      host: '127.0.0.1',
    },
    { logger: createLogger({ level: 'error', stdout: true }) },
  );
  const { port } = await app.listen(0, '127.0.0.1');
  process.on('message', async (m) => {
    if (m === 'stop') {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }
  });
  process.send({ url: `http://127.0.0.1:${port}` });
}

async function connect(url, token, n) {
  const sockets = [];
  for (let i = 0; i < n; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 50); j++)
      batch.push(
        new Promise((resolve, reject) => {
          const s = io(url, { transports: ['websocket'], auth: { token }, reconnection: false });
          s.once('connect', () =>
            s.emit('realtime:subscribe', { channel: 'bench:room' }, (ack) =>
              ack?.ok ? resolve(s) : reject(new Error(JSON.stringify(ack))),
            ),
          );
          s.once('connect_error', reject);
        }),
      );
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function child(args) {
  const c = fork(fileURLToPath(import.meta.url), args, { stdio: 'inherit' });
  const ready = new Promise((resolve, reject) => {
    c.once('message', resolve);
    c.once('exit', (code) => reject(new Error(`instance exited with ${code}`)));
  });
  return { c, ready };
}

async function run(adapter, redisUrl) {
  const env = {
    ACCESS_ANON_KEY: 'anon_' + crypto.randomBytes(32).toString('hex'),
    ACCESS_API_KEY: 'ik_' + crypto.randomBytes(32).toString('hex'),
    JWT_SECRET: crypto.randomBytes(32).toString('hex'),
    REALTIME_MAX_SOCKETS_PER_IP: '0',
    DB_MAX_CONNECTIONS_PER_CLIENT: '500',
    // Two instances' pools (2.5 × DB_POOL_MAX each) within the embedded server's 100 connections.
    DB_POOL_MAX: '12',
    REALTIME_ADAPTER: adapter,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  };
  const a = child(['--a', JSON.stringify(env)]);
  const infoA = await a.ready;
  const b = child(['--b', JSON.stringify(env), infoA.pgUrl]);
  const infoB = await b.ready;
  const sockets = [
    ...(await connect(infoA.url, env.ACCESS_ANON_KEY, SOCKETS / 2)),
    ...(await connect(infoB.url, env.ACCESS_ANON_KEY, SOCKETS / 2)),
  ];
  const db = new pg.Client({ connectionString: infoA.pgUrl });
  await db.connect();

  const latencies = [];
  const untilAll = [];
  let sentAt = 0;
  let arrived = 0;
  let onAll = () => {};
  for (const s of sockets)
    s.on('tick', () => {
      latencies.push(performance.now() - sentAt);
      if (++arrived === sockets.length) onAll();
    });
  for (let e = 0; e < EVENTS; e++) {
    arrived = 0;
    const all = new Promise((resolve) => (onAll = resolve));
    sentAt = performance.now();
    await db.query('INSERT INTO public.bench_events DEFAULT VALUES');
    await all;
    untilAll.push(performance.now() - sentAt);
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const s of sockets) s.removeAllListeners('tick');

  let count = 0;
  const total = BURST * sockets.length;
  const done = new Promise((resolve) => {
    for (const s of sockets)
      s.on('tick', () => {
        if (++count === total) resolve();
      });
  });
  const started = performance.now();
  await db.query(
    'INSERT INTO public.bench_events SELECT nextval(pg_get_serial_sequence($1, $2)) FROM generate_series(1, $3)',
    ['public.bench_events', 'id', BURST],
  );
  await done;
  const seconds = (performance.now() - started) / 1000;
  await db.end();
  for (const s of sockets) s.disconnect();
  for (const { c } of [b, a]) {
    const exited = new Promise((r) => c.once('exit', r));
    c.send('stop');
    await exited;
  }
  return {
    adapter,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    allP99: pct(untilAll, 99),
    perSecond: total / seconds,
  };
}

async function driver() {
  const port = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  process.on('exit', () => redis.kill());
  await new Promise((r) => setTimeout(r, 300));
  const results = [];
  for (const adapter of ['postgres', 'redis'])
    results.push(await run(adapter, adapter === 'redis' ? `redis://127.0.0.1:${port}` : ''));
  redis.kill();
  const f = (x) => x.toFixed(1);
  console.log(
    `\n2 instances, ${SOCKETS} sockets (half on each), ${EVENTS} spaced events, burst of ${BURST}\n`,
  );
  console.log('| adapter | p50 | p99 | p99 until all sockets | deliveries/s |');
  console.log('|---|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.adapter} | ${f(r.p50)} ms | ${f(r.p99)} ms | ${f(r.allP99)} ms | ${Math.round(r.perSecond)} |`,
    );
  process.exit(0);
}

if (process.argv.includes('--a')) await instanceA(JSON.parse(process.argv.at(-1)));
else if (process.argv.includes('--b'))
  await instanceB(JSON.parse(process.argv.at(-2)), process.argv.at(-1));
else await driver();
