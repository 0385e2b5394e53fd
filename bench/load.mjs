#!/usr/bin/env node
// Mixed load benchmark (needs `pnpm build`). A child process runs Kiln (createApp, embedded
// PostgreSQL, local storage); this process signs up N users, gives each its own socket.io-client
// socket subscribed to its own channel, and runs every user as one closed-loop client for the
// duration, each operation chosen at random with these weights:
//   60 % records read   GET  /api/database/records/load_notes?order=id.desc&limit=20 (RLS: own rows)
//   15 % records write  POST /api/database/records/load_notes (return=representation)
//   10 % auth           POST /api/auth/refresh (rotating the refresh token); every 5th: sign-in
//   10 % storage        PUT of a 1 KiB object into a private bucket, or GET of one written before
//    5 % realtime       realtime:publish to the user's own channel, until the event comes back
// Every answer is checked (status, and the body where it says something: the rows are the user's,
// the downloaded bytes are the uploaded ones, the event carries the number sent); anything else
// is an error. Reported: ops/s, p50 and p99 per kind, errors (the target is 0), and the server's
// CPU per operation. `--profile FILE` writes a CPU profile of the server during the measured run
// (summarise it with `node bench/profile-summary.mjs FILE`).
//
// Usage: node bench/load.mjs [--clients 200] [--seconds 60] [--profile FILE]
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { postgresCpuUs, requireBackend, startKiln } from './lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const CLIENTS = Number(arg('clients', 200));
const SECONDS = Number(arg('seconds', 60));
const PROFILE = arg('profile', undefined);
const PASSWORD = 'load-bench-password';

const KINDS = [
  ['read', 60],
  ['write', 15],
  ['auth', 10],
  ['storage', 10],
  ['realtime', 5],
];

async function server() {
  const pg = (await import(requireBackend.resolve('pg'))).default;
  const anonKey = 'anon_' + crypto.randomBytes(32).toString('hex');
  const kiln = await startKiln({
    name: 'load',
    env: {
      ACCESS_ANON_KEY: anonKey,
      // Every client comes from this one address: no per-address socket cap, and sign-up /
      // sign-in limits that a crowd behind one address would need anyway.
      REALTIME_MAX_SOCKETS_PER_IP: '0',
      AUTH_RATE_LIMIT_SIGN_IN: '1000000',
      AUTH_RATE_LIMIT_SIGN_UP: '1000000',
      DB_POOL_MAX: '20',
    },
  });
  const url = await kiln.listen();
  const owner = new pg.Client({ connectionString: kiln.pgServer.url });
  await owner.connect();
  await owner.query(`
    CREATE TABLE public.load_notes (
      id bigserial PRIMARY KEY,
      owner uuid NOT NULL DEFAULT auth.uid(),
      body text NOT NULL,
      score integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX load_notes_owner ON public.load_notes (owner, id DESC);
    ALTER TABLE public.load_notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON public.load_notes FOR ALL TO authenticated
      USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());
    GRANT SELECT, INSERT, UPDATE, DELETE ON public.load_notes TO authenticated;
    GRANT USAGE ON SEQUENCE public.load_notes_id_seq TO authenticated;`);
  await owner.end();
  const admin = { authorization: `Bearer ${kiln.apiKey}`, 'content-type': 'application/json' };
  for (const [path, body] of [
    ['/api/realtime/channels', { pattern: 'load:%' }],
    ['/api/storage/buckets', { bucketName: 'load', isPublic: false, allowUserUploads: true }],
  ]) {
    const res = await fetch(url + path, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  }
  let profiler;
  process.on('message', async (m) => {
    if (m === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send({ cpuUs: user + system, pgUs: postgresCpuUs(kiln.pgDataDir) });
    } else if (m === 'profile-start') {
      profiler = new inspector.Session();
      profiler.connect();
      await new Promise((r) =>
        profiler.post('Profiler.enable', () => profiler.post('Profiler.start', r)),
      );
      process.send({ started: true });
    } else if (m?.profileStop) {
      profiler.post('Profiler.stop', (err, { profile }) => {
        writeFileSync(m.profileStop, JSON.stringify(profile));
        profiler.disconnect();
        process.send({ written: m.profileStop });
      });
    } else if (m === 'stop') {
      await kiln.stop();
      process.exit(0);
    }
  });
  process.send({ url, anonKey });
}

const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function driver() {
  const { io } = requireBackend('socket.io-client');
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { stdio: 'inherit' });
  process.on('exit', () => child.kill());
  const ask = (m) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(m);
    });
  const { url, anonKey } = await new Promise((resolve) => child.once('message', resolve));
  const anon = { authorization: `Bearer ${anonKey}`, 'content-type': 'application/json' };

  // ---- the clients: a user, a session, a socket on the user's own channel each --------------
  const setupStarted = performance.now();
  const clients = [];
  for (let i = 0; i < CLIENTS; i += 20) {
    const batch = [];
    for (let j = i; j < Math.min(CLIENTS, i + 20); j++) batch.push(newClient(j));
    clients.push(...(await Promise.all(batch)));
  }
  console.log(
    `load benchmark: ${CLIENTS} clients (a user, a session and a socket each) ready in ` +
      `${((performance.now() - setupStarted) / 1000).toFixed(1)} s; running ${SECONDS} s`,
  );

  async function newClient(n) {
    const email = `load-${n}-${crypto.randomBytes(4).toString('hex')}@example.com`;
    const res = await fetch(`${url}/api/auth/users?client_type=mobile`, {
      method: 'POST',
      headers: anon,
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    const body = await res.json();
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`sign-up: ${res.status} ${JSON.stringify(body)}`);
    const client = {
      n,
      email,
      userId: body.user.id,
      accessToken: body.accessToken,
      refreshToken: body.refreshToken,
      channel: `load:${body.user.id}`,
      objects: [],
      authOps: 0,
      waiting: new Map(),
    };
    client.socket = await new Promise((resolve, reject) => {
      const s = io(url, {
        transports: ['websocket'],
        auth: { token: client.accessToken },
        reconnection: false,
      });
      s.once('connect', () =>
        s.emit('realtime:subscribe', { channel: client.channel }, (ack) =>
          ack?.ok ? resolve(s) : reject(new Error(`subscribe: ${JSON.stringify(ack)}`)),
        ),
      );
      s.once('connect_error', reject);
    });
    client.socket.on('load.ping', (msg) => {
      const done = client.waiting.get(msg.n);
      if (done) done(msg);
    });
    client.socket.on('realtime:error', (err) => {
      for (const done of client.waiting.values()) done({ error: err });
    });
    return client;
  }

  const headers = (c) => ({ authorization: `Bearer ${c.accessToken}` });
  const expect = (cond, what) => {
    if (!cond) throw new Error(what);
  };
  let counter = 0;
  const ops = {
    async read(c) {
      const res = await fetch(
        `${url}/api/database/records/load_notes?select=id,owner,body&order=id.desc&limit=20`,
        { headers: headers(c) },
      );
      const rows = await res.json();
      expect(res.status === 200, `read ${res.status} ${JSON.stringify(rows)}`);
      expect(
        rows.every((r) => r.owner === c.userId),
        'read: a row of another user',
      );
    },
    async write(c) {
      const res = await fetch(`${url}/api/database/records/load_notes`, {
        method: 'POST',
        headers: {
          ...headers(c),
          'content-type': 'application/json',
          prefer: 'return=representation',
        },
        body: JSON.stringify([{ body: `note ${++counter}`, score: counter % 100 }]),
      });
      const rows = await res.json();
      expect(res.status === 201, `write ${res.status} ${JSON.stringify(rows)}`);
      expect(rows[0]?.owner === c.userId, 'write: not owned by the writer');
    },
    async auth(c) {
      // Every 5th auth operation signs in with the password (a new session); the rest refresh.
      const signIn = ++c.authOps % 5 === 0;
      const res = signIn
        ? await fetch(`${url}/api/auth/sessions?client_type=mobile`, {
            method: 'POST',
            headers: anon,
            body: JSON.stringify({ email: c.email, password: PASSWORD }),
          })
        : await fetch(`${url}/api/auth/refresh?client_type=mobile`, {
            method: 'POST',
            headers: { ...headers(c), 'content-type': 'application/json' },
            body: JSON.stringify({ refreshToken: c.refreshToken }),
          });
      const body = await res.json();
      expect(
        res.status === 200 && body.accessToken && body.refreshToken,
        `auth ${res.status} ${JSON.stringify(body)}`,
      );
      c.accessToken = body.accessToken;
      c.refreshToken = body.refreshToken;
    },
    async storage(c) {
      if (c.objects.length && Math.random() < 0.5) {
        const { key, bytes } = c.objects[Math.floor(Math.random() * c.objects.length)];
        const res = await fetch(
          `${url}/api/storage/buckets/load/objects/${encodeURIComponent(key)}`,
          {
            headers: headers(c),
          },
        );
        const got = Buffer.from(await res.arrayBuffer());
        expect(res.status === 200, `download ${res.status} ${got.toString().slice(0, 200)}`);
        expect(got.equals(bytes), 'download: other bytes than uploaded');
        return;
      }
      const key = `${c.userId}/${c.objects.length}.bin`;
      const bytes = crypto.randomBytes(1024);
      const form = new FormData();
      form.append('file', new Blob([bytes]), 'x.bin');
      const res = await fetch(
        `${url}/api/storage/buckets/load/objects/${encodeURIComponent(key)}`,
        {
          method: 'PUT',
          headers: headers(c),
          body: form,
        },
      );
      const body = await res.json();
      expect(
        res.status === 201 || res.status === 200,
        `upload ${res.status} ${JSON.stringify(body)}`,
      );
      if (c.objects.length < 20) c.objects.push({ key, bytes });
    },
    async realtime(c) {
      const n = ++counter;
      const arrived = new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          c.waiting.delete(n);
          reject(new Error('realtime: the event did not come back within 10 s'));
        }, 10_000);
        c.waiting.set(n, (msg) => {
          clearTimeout(timer);
          c.waiting.delete(n);
          if (msg.error) reject(new Error(`realtime: ${JSON.stringify(msg.error)}`));
          else resolve(msg);
        });
      });
      c.socket.emit('realtime:publish', { channel: c.channel, event: 'load.ping', payload: { n } });
      const msg = await arrived;
      expect(
        msg.meta?.channel === c.channel && msg.meta?.senderId === c.userId,
        'realtime: wrong meta',
      );
    },
  };

  const total = KINDS.reduce((s, [, w]) => s + w, 0);
  const pick = () => {
    let r = Math.random() * total;
    for (const [kind, w] of KINDS) if ((r -= w) < 0) return kind;
    return KINDS[0][0];
  };
  const stats = Object.fromEntries(KINDS.map(([k]) => [k, { ms: [], errors: 0, firstErrors: [] }]));

  if (PROFILE) await ask('profile-start');
  const cpu0 = await ask('cpu');
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < deadline) {
        const kind = pick();
        const t0 = performance.now();
        try {
          await ops[kind](c);
          stats[kind].ms.push(performance.now() - t0);
        } catch (err) {
          stats[kind].errors++;
          if (stats[kind].firstErrors.length < 3)
            stats[kind].firstErrors.push(String(err?.message ?? err));
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu1 = await ask('cpu');
  if (PROFILE) await ask({ profileStop: PROFILE });

  let allOps = 0;
  let allErrors = 0;
  const rows = [];
  for (const [kind] of KINDS) {
    const s = stats[kind];
    const sorted = s.ms.sort((a, b) => a - b);
    allOps += sorted.length;
    allErrors += s.errors;
    rows.push(
      `| ${kind} | ${sorted.length} | ${(sorted.length / elapsed).toFixed(0)} | ` +
        `${sorted.length ? pct(sorted, 50).toFixed(1) : '-'} ms | ${sorted.length ? pct(sorted, 99).toFixed(1) : '-'} ms | ${s.errors} |`,
    );
  }
  console.log('| kind | operations | ops/s | p50 | p99 | errors |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(
    `| all | ${allOps} | ${(allOps / elapsed).toFixed(0)} | | | ${allErrors} |\n` +
      `${elapsed.toFixed(1)} s; server CPU ${((cpu1.cpuUs - cpu0.cpuUs) / allOps).toFixed(0)} µs/op` +
      (cpu1.pgUs !== undefined
        ? `, PostgreSQL CPU ${((cpu1.pgUs - cpu0.pgUs) / allOps).toFixed(0)} µs/op`
        : '') +
      `; load average ${(await import('node:os'))
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  );
  for (const [kind] of KINDS)
    for (const e of stats[kind].firstErrors) console.log(`error (${kind}): ${e}`);
  for (const c of clients) c.socket.disconnect();
  const exited = new Promise((r) => child.once('exit', r));
  child.send('stop');
  await exited;
  process.exit(allErrors ? 1 : 0);
}

if (process.argv.includes('--server')) await server();
else await driver();
