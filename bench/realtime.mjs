#!/usr/bin/env node
// Realtime benchmark (needs `pnpm build`). Two server children on one embedded PostgreSQL:
//  - Kiln (createApp): channel `bench:room`, a table whose INSERT trigger calls
//    realtime.publish(); the message is stored, announced with NOTIFY, fetched and emitted;
//  - baseline: a bare Socket.IO server that LISTENs and emits each NOTIFY payload to one room,
//    fed by a trigger calling pg_notify() directly (the least work the same path can do).
// This process connects N socket.io-client sockets (websocket transport) to each and measures:
//  1. latency from the INSERT to the event arriving at every client (p50, p99), events spaced
//     so they do not overlap;
//  2. broadcast throughput: a burst of messages published in one statement, deliveries/s until
//     every client has every message;
//  3. memory per idle connection: server RSS (after GC) with N subscribed sockets minus before.
// Targets (issue): p99 ≤ 50 ms, ≥ 20,000 deliveries/s to 1,000 sockets.
//
// Usage: node bench/realtime.mjs [--sockets 1000] [--events 100] [--burst 200]
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { asker, requireBackend, serveRssOverIpc, startKiln } from './lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SOCKETS = arg('--sockets', 1000);
const EVENTS = arg('--events', 100);
const BURST = arg('--burst', 200);

const pg = requireBackend('pg');
const { Server } = requireBackend('socket.io');
const { io } = requireBackend('socket.io-client');

async function kilnServer() {
  const anonKey = 'anon_' + crypto.randomBytes(32).toString('hex');
  // Every benchmark socket comes from this one address: no per-address connection cap.
  const kiln = await startKiln({
    name: 'realtime',
    env: { ACCESS_ANON_KEY: anonKey, REALTIME_MAX_SOCKETS_PER_IP: '0' },
  });
  const url = await kiln.listen();
  const owner = new pg.Client({ connectionString: kiln.pgServer.url });
  await owner.connect();
  await owner.query(`
    CREATE TABLE public.bench_events (id serial PRIMARY KEY, sent_at float8 NOT NULL);
    CREATE FUNCTION public.bench_publish() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM realtime.publish('bench:room', 'tick', jsonb_build_object('n', NEW.id));
      RETURN NULL;
    END $$;
    CREATE TRIGGER bench_publish AFTER INSERT ON public.bench_events
      FOR EACH ROW EXECUTE FUNCTION public.bench_publish();
    CREATE TABLE public.bench_base (id serial PRIMARY KEY, sent_at float8 NOT NULL);
    CREATE FUNCTION public.bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('bench_baseline', json_build_object('n', NEW.id)::text);
      RETURN NULL;
    END $$;
    CREATE TRIGGER bench_notify AFTER INSERT ON public.bench_base
      FOR EACH ROW EXECUTE FUNCTION public.bench_notify();`);
  await owner.end();
  const res = await fetch(`${url}/api/realtime/channels`, {
    method: 'POST',
    headers: { authorization: `Bearer ${kiln.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ pattern: 'bench:%' }),
  });
  if (res.status !== 201) throw new Error(`channel: ${res.status}`);
  serveRssOverIpc(() => kiln.stop());
  process.send({ url, pgUrl: kiln.pgServer.url, apiKey: kiln.apiKey, anonKey });
}

async function baselineServer(pgUrl) {
  const server = http.createServer();
  const ioServer = new Server(server, { serveClient: false });
  ioServer.on('connection', (socket) => {
    socket.on('realtime:subscribe', async ({ channel }, ack) => {
      await socket.join(channel);
      ack({ ok: true, channel });
    });
  });
  const listener = new pg.Client({ connectionString: pgUrl });
  listener.on('error', () => undefined);
  await listener.connect();
  listener.on('notification', (n) => {
    const payload = JSON.parse(n.payload);
    ioServer.to('bench:room').emit('tick', payload);
  });
  await listener.query('LISTEN bench_baseline');
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  serveRssOverIpc(async () => {
    await listener.end();
    ioServer.close();
  });
  process.send({ url: `http://127.0.0.1:${server.address().port}` });
}

async function connectAll(url, token) {
  const sockets = [];
  for (let i = 0; i < SOCKETS; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(SOCKETS, i + 50); j++) {
      batch.push(
        new Promise((resolve, reject) => {
          const s = io(url, {
            transports: ['websocket'],
            auth: token ? { token } : {},
            reconnection: false,
          });
          s.once('connect', () =>
            s.emit('realtime:subscribe', { channel: 'bench:room' }, (ack) =>
              ack?.ok ? resolve(s) : reject(new Error(JSON.stringify(ack))),
            ),
          );
          s.once('connect_error', reject);
        }),
      );
    }
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function measure(name, url, token, db, table) {
  const sockets = await connectAll(url, token);
  // Latency: one event at a time; each delivery's delay from the INSERT being sent.
  const latencies = [];
  const lastArrivals = [];
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
    await db.query(`INSERT INTO public.${table} (sent_at) VALUES (0)`);
    await all;
    lastArrivals.push(performance.now() - sentAt);
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const s of sockets) s.removeAllListeners('tick');

  // Throughput: BURST messages in one statement, until every socket has all of them.
  let count = 0;
  const total = BURST * sockets.length;
  const done = new Promise((resolve) => {
    for (const s of sockets)
      s.on('tick', () => {
        if (++count === total) resolve();
      });
  });
  const started = performance.now();
  await db.query(`INSERT INTO public.${table} (sent_at) SELECT 0 FROM generate_series(1, $1)`, [
    BURST,
  ]);
  await done;
  const seconds = (performance.now() - started) / 1000;
  return {
    name,
    sockets,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    allP99: pct(lastArrivals, 99),
    deliveries: latencies.length,
    perSecond: total / seconds,
  };
}

async function driver() {
  const kilnChild = fork(fileURLToPath(import.meta.url), ['--kiln'], {
    stdio: 'inherit',
    execArgv: ['--expose-gc'],
  });
  const askKiln = asker(kilnChild);
  const kiln = await new Promise((resolve) => kilnChild.once('message', resolve));
  const baseChild = fork(fileURLToPath(import.meta.url), ['--baseline', kiln.pgUrl], {
    stdio: 'inherit',
    execArgv: ['--expose-gc'],
  });
  const askBase = asker(baseChild);
  process.on('exit', () => {
    kilnChild.kill();
    baseChild.kill();
  });
  const base = await new Promise((resolve) => baseChild.once('message', resolve));
  const db = new pg.Client({ connectionString: kiln.pgUrl });
  await db.connect();

  const results = [];
  const memory = {};
  for (const [name, url, token, table, ask] of [
    ['baseline', base.url, undefined, 'bench_base', askBase],
    ['kiln', kiln.url, kiln.anonKey, 'bench_events', askKiln],
  ]) {
    const before = (await ask('reset')).rss;
    const r = await measure(name, url, token, db, table);
    const after = (await ask('reset')).rss;
    memory[name] = (after - before) / r.sockets.length;
    for (const s of r.sockets) s.disconnect();
    results.push(r);
    await new Promise((res) => setTimeout(res, 500));
  }
  await db.end();
  for (const child of [baseChild, kilnChild]) {
    const exited = new Promise((r) => child.once('exit', r));
    child.send('stop');
    await exited;
  }

  const [b, k] = results;
  const f = (x) => x.toFixed(1);
  console.log(
    `\n${SOCKETS} sockets, ${EVENTS} spaced events (${k.deliveries} deliveries), burst of ${BURST}\n`,
  );
  console.log(
    '| server | p50 | p99 | p99 until all sockets | deliveries/s | KiB per idle socket |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.name} | ${f(r.p50)} ms | ${f(r.p99)} ms | ${f(r.allP99)} ms | ${Math.round(r.perSecond)} | ${f(memory[r.name] / 1024)} |`,
    );
  console.log(
    `\nratios (Kiln / baseline): p50 ${f(k.p50 / b.p50)}x, p99 ${f(k.p99 / b.p99)}x, ` +
      `throughput ${(k.perSecond / b.perSecond).toFixed(2)}x, memory per socket ${(memory.kiln / memory.baseline).toFixed(2)}x`,
  );
  console.log(
    `targets: p99 ≤ 50 ms: ${k.p99 <= 50 ? 'met' : 'NOT met'}; ≥ 20,000 deliveries/s: ${k.perSecond >= 20000 ? 'met' : 'NOT met'}`,
  );
  process.exit(0);
}

if (process.argv.includes('--kiln')) await kilnServer();
else if (process.argv.includes('--baseline')) await baselineServer(process.argv.at(-1));
else await driver();
