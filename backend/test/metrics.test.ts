import net from 'node:net';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.js';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * GET /metrics (issue 24): Prometheus text over real HTTP, read back with a small parser of the
 * exposition format, while real clients (fetch, socket.io-client) and SQL make the numbers move.
 */
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

let t: TestApp;
let sql: pg.Client;

async function scrape(token: string = t.apiKey): Promise<Sample[]> {
  const res = await t.request('GET', '/metrics', { token });
  expect(res.status, String(res.body)).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(res.body as string);
}

/** The value of the one sample named `name` whose labels include `labels` (undefined: none). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: several samples`);
  return found[0]?.value;
}

/** Scrapes until `check` holds for the samples (requests are counted when they finish). */
async function scrapeUntil(check: (s: Sample[]) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = await scrape();
    if (check(samples)) return samples;
    if (Date.now() > deadline) return samples;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const requestsOf = (samples: Sample[], route: string, statusClass: string, method = 'GET') =>
  value(samples, 'kiln_http_request_duration_seconds_count', {
    method,
    route,
    status_class: statusClass,
  }) ?? 0;

beforeAll(async () => {
  // A port nothing listens on: webhook deliveries to it fail and wait a minute for their retry.
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  t = await startTestApp(
    { webhookRetryBaseMs: 60_000, webhookTimeoutMs: 1000 },
    { METRICS_TOKEN },
    {
      setupSql: `CREATE TABLE public.notes (id serial PRIMARY KEY, body text);
        GRANT SELECT ON public.notes TO anon;
        INSERT INTO public.notes (body) VALUES ('one');`,
    },
  );
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
  const channel = await t.request('POST', '/api/realtime/channels', {
    token: t.apiKey,
    body: { pattern: 'metrics:%', webhookUrls: [`http://127.0.0.1:${deadPort}/hook`] },
  });
  expect(channel.status).toBe(201);
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

describe('GET /metrics access', () => {
  it('is refused without credentials, with a wrong token and to users; admins and METRICS_TOKEN read it', async () => {
    const none = await t.request('GET', '/metrics');
    expect([none.status, none.body.error]).toEqual([401, 'AUTH_INVALID_CREDENTIALS']);
    const wrong = await t.request('GET', '/metrics', { token: `${METRICS_TOKEN}x` });
    expect([wrong.status, wrong.body.error]).toEqual([401, 'AUTH_UNAUTHORIZED']);
    const anon = await t.request('GET', '/metrics', { token: t.anonKey });
    expect([anon.status, anon.body.error]).toEqual([403, 'AUTH_FORBIDDEN']);
    const user = await t.signUpUser();
    expect((await t.request('GET', '/metrics', { token: user.accessToken })).status).toBe(403);
    // The token is a bearer credential only: not a query parameter, not x-api-key.
    const asApiKey = await t.request('GET', '/metrics', {
      headers: { 'x-api-key': METRICS_TOKEN },
    });
    expect(asApiKey.status).toBe(401);

    expect(value(await scrape(t.apiKey), 'kiln_realtime_sockets')).toBeTypeOf('number');
    expect(value(await scrape(await t.adminToken()), 'kiln_realtime_sockets')).toBeTypeOf('number');
    expect(value(await scrape(METRICS_TOKEN), 'kiln_realtime_sockets')).toBeTypeOf('number');
  });

  it('METRICS_TOKEN is off by default (admins only) and must be long enough', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});

describe('HTTP request metrics', () => {
  it('counts requests by method, declared route template and status class, with latency buckets', async () => {
    const before = await scrape();
    const records = '/api/database/records/:table';
    const was = {
      ok: requestsOf(before, records, '2xx'),
      missing: requestsOf(before, records, '4xx'),
      health: requestsOf(before, '/api/health', '2xx'),
      secrets: requestsOf(before, '/api/secrets/*', '4xx'),
      other: requestsOf(before, 'other', '4xx'),
      post: requestsOf(before, records, '4xx', 'POST'),
    };
    // Records reads (the lane), a table that does not exist, a route through the app, a group's
    // guard refusing, an unknown path, a body its `before` parser refuses.
    for (let i = 0; i < 3; i++) {
      const res = await t.request('GET', `/api/database/records/notes?id=eq.${i}`, {
        token: t.anonKey,
      });
      expect(res.status).toBe(200);
    }
    expect(
      (await t.request('GET', '/api/database/records/nope_table', { token: t.anonKey })).status,
    ).toBe(404);
    expect((await t.request('GET', '/api/health')).status).toBe(200);
    expect((await t.request('GET', '/api/secrets')).status).toBe(401);
    expect((await t.request('GET', '/no/such/path/12345')).status).toBe(404);
    const badType = await t.request('POST', '/api/database/records/notes', {
      token: t.anonKey,
      body: '{}',
      headers: { 'content-type': 'application/json; charset=nope' },
    });
    expect(badType.status).toBeGreaterThanOrEqual(400);
    expect(badType.status).toBeLessThan(500);

    const after = await scrapeUntil(
      (s) =>
        requestsOf(s, records, '2xx') >= was.ok + 3 &&
        requestsOf(s, records, '4xx', 'POST') >= was.post + 1 &&
        requestsOf(s, 'other', '4xx') >= was.other + 1,
    );
    expect(requestsOf(after, records, '2xx') - was.ok).toBe(3);
    expect(requestsOf(after, records, '4xx') - was.missing).toBe(1);
    expect(requestsOf(after, '/api/health', '2xx') - was.health).toBe(1);
    expect(requestsOf(after, '/api/secrets/*', '4xx') - was.secrets).toBe(1);
    expect(requestsOf(after, 'other', '4xx') - was.other).toBe(1);
    expect(requestsOf(after, records, '4xx', 'POST') - was.post).toBe(1);
    // The raw URL never becomes a label.
    const routes = new Set(after.map((s) => s.labels.route).filter(Boolean));
    for (const r of routes) expect(r).not.toMatch(/notes|nope_table|12345|\?/);

    // Buckets: cumulative, ending at +Inf with the count; the sum is a positive duration.
    const labels = { method: 'GET', route: records, status_class: '2xx' };
    const buckets = after.filter(
      (s) =>
        s.name === 'kiln_http_request_duration_seconds_bucket' &&
        Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    expect(buckets.map((b) => b.labels.le)).toEqual([
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '30',
      '+Inf',
    ]);
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(buckets.at(-1)!.value).toBe(requestsOf(after, records, '2xx'));
    expect(value(after, 'kiln_http_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
  });
});

describe('scrape-time gauges', () => {
  it('reports each pool and its admission gate', async () => {
    const samples = await scrape();
    for (const pool of ['kiln', 'requests', 'admin']) {
      for (const name of [
        'kiln_db_pool_max_connections',
        'kiln_db_pool_connections',
        'kiln_db_pool_idle_connections',
        'kiln_db_pool_waiting_clients',
      ])
        expect(value(samples, name, { pool }), `${name}{pool=${pool}}`).toBeTypeOf('number');
    }
    // DB_POOL_MAX=5 in the harness; admins get half, rounded up.
    expect(value(samples, 'kiln_db_pool_max_connections', { pool: 'requests' })).toBe(5);
    expect(value(samples, 'kiln_db_pool_max_connections', { pool: 'admin' })).toBe(3);
    expect(value(samples, 'kiln_db_pool_connections', { pool: 'kiln' })).toBeGreaterThan(0);
    expect(value(samples, 'kiln_db_gate_in_use', { pool: 'requests' })).toBe(0);
    expect(value(samples, 'kiln_db_gate_waiting', { pool: 'requests' })).toBe(0);
    // Node.js process metrics come along.
    expect(value(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('follows realtime sockets as they connect and leave', async () => {
    const before = value(await scrape(), 'kiln_realtime_sockets')!;
    const socket: Socket = io(t.baseUrl, {
      transports: ['websocket'],
      auth: { token: t.anonKey },
      reconnection: false,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const connected = await scrapeUntil((s) => value(s, 'kiln_realtime_sockets') === before + 1);
    expect(value(connected, 'kiln_realtime_sockets')).toBe(before + 1);
    socket.disconnect();
    const left = await scrapeUntil((s) => value(s, 'kiln_realtime_sockets') === before);
    expect(value(left, 'kiln_realtime_sockets')).toBe(before);
  });

  it('shows the job backlog by state and the pending webhook deliveries', async () => {
    const before = await scrape();
    expect(value(before, 'kiln_metrics_backlog_up')).toBe(1);
    const queued = value(before, 'kiln_jobs', { state: 'queued' })!;
    expect(value(before, 'kiln_jobs', { state: 'running' })).toBeTypeOf('number');
    expect(value(before, 'kiln_jobs', { state: 'failed' })).toBeTypeOf('number');
    const pending = value(before, 'kiln_webhook_deliveries_pending')!;

    const queue = await t.request('PUT', '/api/jobs/queues/later', {
      token: t.apiKey,
      body: { target: { type: 'http', url: 'http://127.0.0.1:9/never' } },
    });
    expect(queue.status).toBeLessThan(300);
    const job = await t.request('POST', '/api/jobs/queues/later/jobs', {
      token: t.apiKey,
      body: { delaySeconds: 3600 },
    });
    expect(job.status).toBe(201);
    await sql.query(`SELECT realtime.publish('metrics:1', 'ping', '{}')`);

    // The backlog is read at most every 1.5 s: wait for the next read.
    const after = await scrapeUntil(
      (s) =>
        value(s, 'kiln_jobs', { state: 'queued' }) === queued + 1 &&
        value(s, 'kiln_webhook_deliveries_pending') === pending + 1,
    );
    expect(value(after, 'kiln_jobs', { state: 'queued' })).toBe(queued + 1);
    expect(value(after, 'kiln_webhook_deliveries_pending')).toBe(pending + 1);
    expect(value(after, 'kiln_webhook_deliveries_oldest_pending_seconds')).toBeGreaterThanOrEqual(
      0,
    );
  });
});
