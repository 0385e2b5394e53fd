import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient } from '@insforge/sdk';
import { createClient as createRedisClient } from 'redis';
import pg from 'pg';
import S3rver from 's3rver';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type KilnApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/core/config.js';
import { createLogger } from '../src/core/logger.js';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';
import { freePort } from './ports.js';

/**
 * Two Kiln instances on one PostgreSQL and one S3-compatible store (s3rver), behind a real nginx
 * on loopback running deploy/nginx.conf: round robin, websocket upgrade, no sticky sessions
 * (clients use the websocket transport, as @insforge/sdk does). Run with realtime
 * fan-out over PostgreSQL NOTIFY and over Redis (redis-server, on a free loopback port).
 * Every answer names the instance that gave it (X-Kiln-Upstream, added by nginx).
 */

function binary(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  const which = spawnSync('which', [name], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error(
    `${name} is not installed: this test runs a real ${name} (apt-get install -y ${name === 'nginx' ? 'nginx' : 'redis-server'}, see README "Tests")`,
  );
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined) {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`${what}: not reached within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * deploy/nginx.conf, the production reference (docker-compose.yml), with its upstream servers
 * and listen address replaced by loopback ports, inside a main config of nginx's own for a
 * foreground process in a temporary directory.
 */
function nginxConfig(dir: string, listen: number, upstreams: number[]): string {
  const site = fs.readFileSync(new URL('../../deploy/nginx.conf', import.meta.url), 'utf8');
  const servers = /^upstream kiln \{\n((?:\s+server [^\n]+\n)+)/m;
  expect(site).toMatch(servers);
  expect(site).toMatch(/^\s+listen 80;$/m);
  const local = site
    .replace(servers, (all, lines: string) =>
      all.replace(lines, upstreams.map((p) => `  server 127.0.0.1:${p};\n`).join('')),
    )
    .replace(/^(\s+)listen 80;$/m, `$1listen 127.0.0.1:${listen};`);
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${local}
}
`;
}

async function startNginx(upstreams: number[]): Promise<string> {
  const bin = binary('nginx');
  const dir = tempDir('kiln-nginx-');
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(dir, port, upstreams));
  let output = '';
  const child = spawn(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('nginx listening', async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${output}`);
    return (await fetch(`${url}/api/health`)).ok;
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${output}`);
  });
  return url;
}

async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const bin = binary('redis-server');
  const dir = tempDir('kiln-redis-');
  const port = await freePort();
  const child = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { cwd: dir, stdio: 'ignore' },
  );
  children.push(child);
  const net = await import('node:net');
  await waitFor('redis listening', () => {
    if (child.exitCode !== null) throw new Error('redis-server exited');
    return new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  });
  return { url: `redis://127.0.0.1:${port}`, child };
}

/** Receives webhook and job HTTP calls. */
function receiver() {
  const hits: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return {
    hits,
    async start() {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('REALTIME_ADAPTER', () => {
  it('is postgres unless set; redis needs REDIS_URL', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).realtimeAdapter).toBe('postgres');
    expect(() => loadConfig({ NODE_ENV: 'test', REALTIME_ADAPTER: 'redis' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'test', REALTIME_ADAPTER: 'kafka' })).toThrow(ConfigError);
    expect(
      loadConfig({ NODE_ENV: 'test', REALTIME_ADAPTER: 'redis', REDIS_URL: 'redis://r:6379' }),
    ).toMatchObject({ realtimeAdapter: 'redis', redisUrl: 'redis://r:6379' });
  });
});

describe.each(['postgres', 'redis'] as const)(
  'two instances behind nginx, realtime over %s',
  { timeout: 60_000 },
  (adapter) => {
    let a: TestApp;
    let b: KilnApp;
    let bDir: string;
    let lb: string;
    let s3: S3rver;
    let s3dir: string;
    const hook = receiver();
    let hookUrl: string;
    const sockets: Socket[] = [];
    const ports = new Map<string, 'A' | 'B'>();
    let redisUrl = '';
    let redis: ChildProcess;
    const keepRedis = (started: { url: string; child: ChildProcess }) => {
      redis = started.child;
      return (redisUrl = started.url);
    };

    beforeAll(async () => {
      hookUrl = await hook.start();
      s3dir = tempDir('kiln-s3rver-');
      s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir });
      const { port: s3port } = await s3.run();
      const endpoint = `http://127.0.0.1:${s3port}`;
      await fetch(`${endpoint}/kiln-files`, { method: 'PUT' });
      const env: Record<string, string> = {
        TRUST_PROXY: 'loopback',
        AUTH_RATE_LIMIT_SIGN_IN: '4',
        JOBS_POLL_INTERVAL_MS: '100',
        REALTIME_ADAPTER: adapter,
        ...(adapter === 'redis' ? { REDIS_URL: await startRedis().then(keepRedis) } : {}),
      };
      a = await startTestApp(
        {
          s3: {
            bucket: 'kiln-files',
            region: 'us-east-1',
            endpoint,
            forcePathStyle: true,
            accessKeyId: 'S3RVER',
            secretAccessKey: 'S3RVER',
            prefix: 'project/',
          },
        },
        env,
      );
      // The second instance: the same settings and database, its own DATA_DIR.
      bDir = tempDir('kiln-instance-b-');
      b = await createApp(
        { ...a.app.config, dataDir: bDir },
        { logger: createLogger({ level: 'error', dir: path.join(bDir, 'logs'), stdout: false }) },
      );
      const bAddress = await b.listen(0, '127.0.0.1');
      const aPort = Number(new URL(a.baseUrl).port);
      ports.set(`127.0.0.1:${aPort}`, 'A');
      ports.set(`127.0.0.1:${bAddress.port}`, 'B');
      lb = await startNginx([aPort, bAddress.port]);
    });

    afterAll(async () => {
      for (const s of sockets) s.disconnect();
      await b?.close();
      await a?.stop();
      await s3?.close();
      await hook.stop();
    });

    /** A request through nginx, with the instance that answered it. */
    const via = async (
      method: string,
      p: string,
      init: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
    ) => {
      const headers: Record<string, string> = { ...init.headers };
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      let body: BodyInit | undefined;
      if (init.body instanceof FormData) body = init.body;
      else if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(lb + p, { method, headers, body });
      const text = await res.text();
      const json = res.headers.get('content-type')?.includes('json') && text;
      const instance = ports.get(res.headers.get('x-kiln-upstream') ?? '');
      expect(instance, `upstream ${res.headers.get('x-kiln-upstream')}`).toBeDefined();
      return { status: res.status, body: json ? JSON.parse(text) : text, instance: instance! };
    };

    const connect = (token: string) =>
      new Promise<Socket>((resolve, reject) => {
        const socket = io(lb, { transports: ['websocket'], auth: { token }, reconnection: false });
        sockets.push(socket);
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    const next = <T = any>(socket: Socket, event: string) =>
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${event} within 5 s`)), 5000);
        socket.once(event, (payload: T) => {
          clearTimeout(timer);
          resolve(payload);
        });
      });

    it('auth, records and storage: what one instance does, the other serves', async () => {
      // Sign up through the balancer; each following call goes to the next instance.
      const sdk = createClient({ baseUrl: lb, anonKey: a.anonKey, isServerMode: true });
      const { data, error } = await sdk.auth.signUp({
        email: `multi-${adapter}@example.com`,
        password: 'correct horse battery',
      });
      expect(error).toBeNull();
      const token = data!.accessToken!;
      const served = new Set<string>();
      for (let i = 0; i < 2; i++) {
        const me = await via('GET', '/api/auth/sessions/current', { token });
        expect(me.status).toBe(200);
        expect(me.body.user.email).toBe(`multi-${adapter}@example.com`);
        served.add(me.instance);
      }
      expect([...served].sort()).toEqual(['A', 'B']);

      // Records: a table made and written on one instance is read on the other (its schema
      // cache reloads when told by the database).
      expect(
        (
          await via('POST', '/api/database/advance/rawsql', {
            token: a.apiKey,
            body: {
              query: `CREATE TABLE public.notes (id serial PRIMARY KEY, body text NOT NULL);
                      GRANT ALL ON public.notes TO authenticated;
                      GRANT USAGE ON SEQUENCE public.notes_id_seq TO authenticated;`,
            },
          })
        ).status,
      ).toBe(200);
      const written = new Set<string>();
      for (let i = 0; i < 2; i++) {
        const res = await waitFor('notes writable', async () => {
          const r = await via('POST', '/api/database/records/notes', {
            token,
            body: [{ body: `note ${i}` }],
          });
          return r.status === 201 ? r : undefined;
        });
        written.add(res.instance);
      }
      const reads = new Set<string>();
      for (let i = 0; i < 2; i++) {
        const res = await via('GET', '/api/database/records/notes?order=id', { token });
        expect(res.status).toBe(200);
        expect(res.body.map((n: { body: string }) => n.body)).toEqual(['note 0', 'note 1']);
        reads.add(res.instance);
      }
      expect([...written, ...reads].sort()).toContain('A');
      expect([...reads].sort()).toEqual(['A', 'B']);

      // Storage: an object uploaded through one instance is downloaded through both.
      expect(
        (
          await via('POST', '/api/storage/buckets', {
            token: a.apiKey,
            body: { bucketName: 'shared', isPublic: false, allowUserUploads: true },
          })
        ).status,
      ).toBe(201);
      const form = new FormData();
      form.append('file', new Blob(['bytes in S3'], { type: 'text/plain' }), 'hello.txt');
      const up = await via('PUT', '/api/storage/buckets/shared/objects/hello.txt', {
        token,
        body: form,
      });
      expect(up.status, JSON.stringify(up.body)).toBe(201);
      const downloads = new Set<string>();
      for (let i = 0; i < 2; i++) {
        const res = await via('GET', '/api/storage/buckets/shared/objects/hello.txt', { token });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body).toBe('bytes in S3');
        downloads.add(res.instance);
      }
      expect([...downloads].sort()).toEqual(['A', 'B']);
      // The bytes are in the shared store, not in either instance's DATA_DIR.
      const stored: string[] = [];
      for await (const item of b.storage.provider.list()) stored.push(item.path);
      expect(stored).toHaveLength(1);
      expect(fs.readdirSync(s3dir, { recursive: true }).join('\n')).toContain('project');
    });

    it('realtime: sockets on both instances see each other’s messages and presence, once', async () => {
      expect(
        (
          await via('POST', '/api/realtime/channels', {
            token: a.apiKey,
            body: { pattern: 'room:%', webhookUrls: [`${hookUrl}/hook`] },
          })
        ).status,
      ).toBe(201);
      // Two websocket connections through the balancer: one lands on each instance.
      const first = await connect(a.apiKey);
      const second = await connect(a.apiKey);
      expect(a.app.realtime.io.of('/').sockets.size).toBe(1);
      expect(b.realtime.io.of('/').sockets.size).toBe(1);

      const joined = next(first, 'presence:join');
      expect(
        await new Promise<any>((r) => first.emit('realtime:subscribe', { channel: 'room:1' }, r)),
      ).toMatchObject({ ok: true });
      const ack = await new Promise<any>((r) =>
        second.emit('realtime:subscribe', { channel: 'room:1' }, r),
      );
      expect(ack).toMatchObject({ ok: true, presence: { total: 2 } });
      expect(ack.presence.members.map((m: { presenceId: string }) => m.presenceId).sort()).toEqual(
        [first.id, second.id].sort(),
      );
      expect((await joined).member.presenceId).toBe(second.id);

      // Each socket publishes; both receive both messages exactly once.
      const got = { first: [] as string[], second: [] as string[] };
      first.on('said', (m: { text: string }) => got.first.push(m.text));
      second.on('said', (m: { text: string }) => got.second.push(m.text));
      first.emit('realtime:publish', { channel: 'room:1', event: 'said', payload: { text: 'a' } });
      second.emit('realtime:publish', {
        channel: 'room:1',
        event: 'said',
        payload: { text: 'b' },
      });
      await waitFor('both messages on both sockets', () =>
        got.first.length >= 2 && got.second.length >= 2 ? true : undefined,
      );
      // A third, published from SQL, marks the end: nothing arrives twice. Its number, which no
      // double holds, reaches both sockets as written (also when Redis carries it).
      const frames: string[][] = [[], []];
      [first, second].forEach((s, i) =>
        s.io.engine.on('packet', (p: { data?: unknown }) => {
          if (typeof p.data === 'string') frames[i]!.push(p.data);
        }),
      );
      const done = Promise.all([next(first, 'end'), next(second, 'end')]);
      const published = await via('POST', '/api/database/advance/rawsql', {
        token: a.apiKey,
        body: {
          query: `SELECT realtime.publish('room:1', 'end', '{"big": 12345678901234567890123}')`,
        },
      });
      expect(published.status, JSON.stringify(published.body)).toBe(200);
      await done;
      for (const f of frames)
        expect(f.find((d) => d.includes('"end"'))).toContain('"big":12345678901234567890123');
      if (adapter === 'redis') {
        // One instance claimed each message and Redis carried it to the other.
        const client = createRedisClient({ url: redisUrl });
        await client.connect();
        expect(await client.keys('kiln-realtime:claim:*')).toHaveLength(3);
        await client.quit();
      }
      expect(got.first.sort()).toEqual(['a', 'b']);
      expect(got.second.sort()).toEqual(['a', 'b']);

      // Each message's webhook is delivered once, though both instances dispatch.
      // Once every delivery is marked delivered after one attempt, any second POST has been made.
      const sql = new pg.Client({ connectionString: pgUrl(a.database) });
      await sql.connect();
      const deliveries = await waitFor('three webhooks delivered', async () => {
        const { rows } = await sql.query<{ status: string; attempts: number }>(
          'SELECT status, attempts FROM realtime.webhook_deliveries',
        );
        return rows.length === 3 && rows.every((r) => r.status === 'delivered') ? rows : undefined;
      });
      await sql.end();
      expect(deliveries.map((d) => d.attempts)).toEqual([1, 1, 1]);
      const ids = hook.hits.map((h) => h.headers['x-insforge-message-id']);
      expect(ids.length).toBe(3);
      expect(new Set(ids).size).toBe(3);

      // A socket leaving on one instance is seen leaving on the other.
      const left = next(first, 'presence:leave');
      second.disconnect();
      expect((await left).member.presenceId).toBe(
        ack.presence.members.find((m: { presenceId: string }) => m.presenceId !== first.id)
          .presenceId,
      );
    });

    // Only with Redis (registered for that run alone).
    if (adapter === 'redis')
      it('when Redis goes away, each instance delivers to its own sockets and keeps running', async () => {
        expect(
          (
            await via('POST', '/api/realtime/channels', {
              token: a.apiKey,
              body: { pattern: 'down:%' },
            })
          ).status,
        ).toBe(201);
        const sockets = [await connect(a.apiKey), await connect(a.apiKey)];
        for (const s of sockets)
          expect(
            await new Promise<any>((r) => s.emit('realtime:subscribe', { channel: 'down:1' }, r)),
          ).toMatchObject({ ok: true });
        const on = (app: KilnApp) =>
          sockets.filter((s) => app.realtime.io.of('/').sockets.has(s.id!)).length;
        expect([on(a.app), on(b)]).toEqual([1, 1]);
        redis.kill('SIGKILL');
        await new Promise((r) => redis.once('exit', r));
        const got = Promise.all(sockets.map((s) => next<{ n: number }>(s, 'after')));
        const sql = new pg.Client({ connectionString: pgUrl(a.database) });
        await sql.connect();
        await sql.query(`SELECT realtime.publish('down:1', 'after', '{"n": 1}')`);
        await sql.end();
        expect((await got).map((m) => m.n)).toEqual([1, 1]);
        expect((await via('GET', '/api/health')).status).toBe(200);
        expect((await via('GET', '/api/health')).status).toBe(200);
      });

    it('jobs run once, and the sign-in rate limit counts across instances', async () => {
      const queue = await via('PUT', '/api/jobs/queues/multi', {
        token: a.apiKey,
        body: { target: { type: 'http', url: `${hookUrl}/job` } },
      });
      expect(queue.status, JSON.stringify(queue.body)).toBeLessThan(300);
      for (let i = 0; i < 6; i++) {
        const res = await via('POST', '/api/jobs/queues/multi/jobs', {
          token: a.apiKey,
          body: { payload: { n: i } },
        });
        expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
      }
      const jobs = () => hook.hits.filter((h) => h.path === '/job');
      // Once every job has succeeded after one attempt, any second run has been made.
      const finished = await waitFor('six jobs succeeded', async () => {
        const list = await via('GET', '/api/jobs/jobs?queue=multi', { token: a.apiKey });
        const data = list.body.data as { status: string; attempts: number }[];
        return data.length === 6 && data.every((j) => j.status === 'succeeded') ? data : undefined;
      });
      expect(finished.map((j) => j.attempts)).toEqual([1, 1, 1, 1, 1, 1]);
      expect(
        jobs()
          .map((h) => (JSON.parse(h.body) as { n: number }).n)
          .sort(),
      ).toEqual([0, 1, 2, 3, 4, 5]);

      // AUTH_RATE_LIMIT_SIGN_IN=4 per address, counted in PostgreSQL: the fifth attempt is
      // refused whichever instance gets it (each instance alone has seen only two or three).
      const statuses: number[] = [];
      const instances = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const res = await via('POST', '/api/auth/sessions', {
          body: { email: `multi-${adapter}@example.com`, password: 'wrong password' },
        });
        statuses.push(res.status);
        instances.add(res.instance);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 429]);
      expect([...instances].sort()).toEqual(['A', 'B']);
    });
  },
);
