/**
 * LOG_PROVIDER=cloudwatch against a local server speaking the CloudWatch Logs JSON protocol:
 * Kiln's real AWS SDK calls ship and read the logs.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../src/core/logger.js';
import { FakeCloudWatch } from './fake-cloudwatch.js';
import { startTestApp, type TestApp } from './helpers.js';

const GROUP = '/kiln/test-group';
let fake: FakeCloudWatch;
let t: TestApp;
/** A logger of our own for postgres.logs, shipped like server.ts's. */
let pg: Logger;

beforeAll(async () => {
  fake = new FakeCloudWatch();
  await fake.start();
  t = await startTestApp(
    {},
    {
      LOG_PROVIDER: 'cloudwatch',
      CLOUDWATCH_ENDPOINT_URL: fake.url,
      CLOUDWATCH_LOG_GROUP: GROUP,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
    },
  );
  pg = createLogger({ level: 'info', stdout: false });
  t.app.logs.attach('postgres.logs', pg);
});
afterAll(async () => {
  await t?.stop();
  await fake?.stop();
});

const admin = (p: string) => t.request('GET', p, { token: t.apiKey });
const recent = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();

describe('CloudWatch log provider', () => {
  it('ships each source to its own stream, creating the group and streams', async () => {
    const marker = crypto.randomBytes(6).toString('hex');
    expect((await t.request('GET', `/api/missing-${marker}`)).status).toBe(404);
    t.app.authLogger.info('signed in', { marker });
    pg.info('database system is ready to accept connections', { marker });

    const res = await admin('/api/logs/sources');
    expect(res.status).toBe(200);
    expect(res.body.provider).toBe('cloudwatch');
    expect(res.body.logGroup).toBe(GROUP);
    expect(res.body.logGroupBytes).toBeGreaterThan(0);
    const byName = Object.fromEntries(res.body.sources.map((s: any) => [s.name, s]));
    for (const name of ['kiln.logs', 'auth.logs', 'postgres.logs']) {
      expect(byName[name].available, name).toBe(true);
      expect(byName[name].sizeBytes, name).toBeNull();
      expect(Date.now() - Date.parse(byName[name].lastEventAt), name).toBeLessThan(60_000);
    }
    // No edge function ran: its stream does not exist yet.
    expect(byName['function.logs']).toMatchObject({ available: false, lastEventAt: null });

    expect(fake.groups.has(GROUP)).toBe(true);
    expect(fake.count('CreateLogGroup')).toBe(1);
    expect([...fake.groups.get(GROUP)!.streams.keys()].sort()).toEqual([
      'auth.logs',
      'kiln.logs',
      'postgres.logs',
    ]);
    // The stored events are the JSON lines, with the lines' own times.
    const auth = fake.events(GROUP, 'auth.logs').find((e) => e.message.includes(marker))!;
    const parsed = JSON.parse(auth.message);
    expect(parsed).toMatchObject({ level: 'info', message: 'signed in', marker });
    expect(auth.timestamp).toBe(Date.parse(parsed.timestamp));
    const access = fake
      .events(GROUP, 'kiln.logs')
      .map((e) => JSON.parse(e.message))
      .find((l) => l.path === `/api/missing-${marker}`);
    expect(access).toMatchObject({ kind: 'access', status: 404 });
    // Signed with the configured credentials and region.
    expect([...fake.credentials]).toEqual(['x@us-east-1']);
  });

  it('batches PutLogEvents and keeps every line in order', async () => {
    const authPuts = () =>
      fake.calls.filter((c) => c.op === 'PutLogEvents' && c.body.logStreamName === 'auth.logs')
        .length;
    const before = authPuts();
    for (let i = 0; i < 2500; i++) t.app.authLogger.info('bulk', { i });
    const bulk = () =>
      fake
        .events(GROUP, 'auth.logs')
        .map((e) => JSON.parse(e.message))
        .filter((l) => l.message === 'bulk')
        .map((l) => l.i);
    // Lines reach the transport through winston's stream a few at a time; reads ship what has
    // arrived, the timer the rest.
    const started = Date.now();
    let reads = 0;
    for (; reads < 50 && bulk().length < 2500; reads++) {
      await admin('/api/logs/sources');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(bulk()).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    // Batched: at most one call per read plus one per flush tick (1 s), never one per line. How
    // many reads it takes depends on how fast winston hands lines over on a loaded machine.
    const puts = authPuts() - before;
    const ticks = Math.ceil((Date.now() - started) / 1000) + 1;
    expect(puts).toBeGreaterThan(0);
    expect(puts).toBeLessThanOrEqual(reads + ticks);
    expect(puts).toBeLessThan(100);
    for (const call of fake.calls.filter((c) => c.op === 'PutLogEvents')) {
      const times = call.body.logEvents.map((e: any) => e.timestamp);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  it('pages a source newest first with FilterLogEvents, keeping ties together', async () => {
    // 120 lines a second apart, ten minutes ago onwards; lines 69-71 share one instant.
    const base = Date.now() - 600_000;
    const times: number[] = [];
    for (let n = 0; n < 120; n++) times.push(base + (n >= 69 && n <= 71 ? 71 : n) * 1000);
    times.forEach((ts, n) =>
      pg.log('info', `line ${n}`, { n, timestamp: new Date(ts).toISOString() }),
    );
    const first = await admin('/api/logs/postgres.logs?limit=50');
    expect(first.status).toBe(200);
    const ns = (page: any) =>
      page.body.logs
        .filter((l: any) => typeof l.metadata.n === 'number')
        .map((l: any) => l.metadata.n);
    // The marker line of the first test is newer than these; drop it from the comparison.
    const firstNs = ns(first);
    expect(firstNs.slice(0, 10)).toEqual([119, 118, 117, 116, 115, 114, 113, 112, 111, 110]);
    expect(first.body.hasMore).toBe(true);
    expect(first.body.total).toBe(121);
    expect(first.body.totalExact).toBe(true);
    const seen = [...firstNs];
    let before = first.body.logs.at(-1).timestamp;
    // The page ends inside the shared instant: all three lines came with it.
    expect(firstNs.slice(-3).sort()).toEqual([69, 70, 71]);
    for (;;) {
      const page = await admin(`/api/logs/postgres.logs?limit=50&before_timestamp=${before}`);
      expect(page.status).toBe(200);
      seen.push(...ns(page));
      if (!page.body.hasMore) break;
      before = page.body.logs.at(-1).timestamp;
    }
    const ordered = seen.slice();
    expect(new Set(seen).size).toBe(120);
    expect(ordered.filter((n) => n < 69 || n > 71)).toEqual(
      Array.from({ length: 120 }, (_, i) => 119 - i).filter((n) => n < 69 || n > 71),
    );
    const filterCalls = fake.calls.filter((c) => c.op === 'FilterLogEvents');
    expect(filterCalls.at(-1)!.body).toMatchObject({
      logGroupName: GROUP,
      logStreamNames: ['postgres.logs'],
      startFromHead: false,
    });
  });

  it('searches with Logs Insights: text in any case, level, source, range, offset', async () => {
    const tag = crypto.randomBytes(4).toString('hex');
    pg.log('error', `ERROR: relation "Orders_${tag}" does not exist`, { timestamp: recent(30) });
    pg.log('info', `autovacuum orders_${tag}`, { timestamp: recent(20) });
    t.app.authLogger.warn(`orders_${tag} export refused`, { timestamp: recent(10) });
    t.app.authLogger.info('nested', { detail: { level: 'error' }, tag, timestamp: recent(5) });

    const q = (qs: string) => admin(`/api/logs/search?${qs}`);
    const all = await q(`q=ORDERS_${tag}`);
    expect(all.status).toBe(200);
    expect(all.body.logs.map((l: any) => `${l.source} ${l.level} ${l.message}`)).toEqual([
      `auth.logs warn orders_${tag} export refused`,
      `postgres.logs info autovacuum orders_${tag}`,
      `postgres.logs error ERROR: relation "Orders_${tag}" does not exist`,
    ]);
    expect(all.body).toMatchObject({ total: 3, totalExact: true, hasMore: false });
    const quoted = await q(`q=${encodeURIComponent(`"Orders_${tag}"`)}`);
    expect(quoted.body.total).toBe(1);
    const errors = await q(`level=error&from=${recent(60)}`);
    expect(errors.body.logs.map((l: any) => l.message)).toEqual([
      `ERROR: relation "Orders_${tag}" does not exist`,
    ]);
    const bySource = await q(`q=orders_${tag}&source=auth.logs`);
    expect(bySource.body.logs).toHaveLength(1);
    const ranged = await q(`q=orders_${tag}&from=${recent(25)}&to=${recent(15)}`);
    expect(ranged.body.logs.map((l: any) => l.message)).toEqual([`autovacuum orders_${tag}`]);
    const second = await q(`q=orders_${tag}&limit=1&offset=1`);
    expect(second.body.logs.map((l: any) => l.message)).toEqual([`autovacuum orders_${tag}`]);
    expect(second.body).toMatchObject({ total: 3, hasMore: true });
    // Insights did the sorting and counting.
    const queries = fake.calls.filter((c) => c.op === 'StartQuery').map((c) => c.body);
    expect(queries.some((b) => /sort @timestamp desc \| limit 2$/.test(b.queryString))).toBe(true);
    expect(queries.some((b) => /stats count\(\*\) as total$/.test(b.queryString))).toBe(true);
    expect(queries.every((b) => b.logGroupName === GROUP)).toBe(true);
    expect(fake.count('GetQueryResults')).toBeGreaterThan(fake.count('StartQuery'));

    const tooDeep = await q('offset=9990&limit=20');
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.body.nextActions).toMatch(/from\/to/);
  });

  it('counts per source and level in time buckets with Logs Insights', async () => {
    const hour = 3600_000;
    const start = Math.floor(Date.now() / hour) * hour - 3 * hour;
    const iso = (ms: number) => new Date(ms).toISOString();
    const stats = await admin(
      `/api/logs/stats/histogram?from=${iso(start)}&to=${iso(start + 3 * hour)}&bucket=1h`,
    );
    expect(stats.status).toBe(200);
    const baseline = stats.body.totals.all;
    // Lines at known times, in the first and third hour.
    const logger = createLogger({ level: 'debug', stdout: false });
    t.app.logs.attach('function.logs', logger);
    logger.info('a', { timestamp: iso(start + 60_000) });
    logger.info('b', { timestamp: iso(start + 120_000) });
    logger.error('c', { timestamp: iso(start + 2 * hour + 5_000) });
    logger.debug('d', { timestamp: iso(start + 2 * hour + 6_000) });
    const res = await admin(
      `/api/logs/stats/histogram?from=${iso(start)}&to=${iso(start + 3 * hour)}&bucket=1h`,
    );
    expect(res.body.buckets).toEqual([iso(start), iso(start + hour), iso(start + 2 * hour)]);
    const fn = Object.fromEntries(
      res.body.series
        .filter((s: any) => s.source === 'function.logs')
        .map((s: any) => [s.level, s.counts]),
    );
    expect(fn).toEqual({ info: [2, 0, 0], error: [0, 0, 1], debug: [0, 0, 1] });
    expect(res.body.totals.all).toBe(baseline + 4);
    expect(res.body.totals.bySource['function.logs']).toBe(4);
    const statsQuery = fake.calls.filter((c) => c.op === 'StartQuery').at(-1)!.body.queryString;
    expect(statsQuery).toContain('stats count(*) as n by @logStream, level, bin(3600s)');
  });

  it('turns CloudWatch failures into 502s and ships queued lines once it is back', async () => {
    fake.failNext('FilterLogEvents', 'InvalidParameterException', 400);
    const failed = await admin('/api/logs/postgres.logs');
    expect(failed.status).toBe(502);
    expect(failed.body).toMatchObject({ error: 'LOG_PROVIDER_ERROR', statusCode: 502 });
    expect(failed.body.message).toContain('InvalidParameterException');

    // Every attempt of the SDK to ship postgres.logs fails once: the lines stay queued and go
    // with a later flush.
    const marker = crypto.randomBytes(6).toString('hex');
    const withMarker = (body: any) =>
      body.logStreamName === 'postgres.logs' &&
      body.logEvents.some((e: any) => e.message.includes(marker));
    fake.failNext('PutLogEvents', 'ServiceUnavailableException', 503, 3, withMarker);
    pg.info(`queued ${marker}`);
    const shipped = () =>
      fake.events(GROUP, 'postgres.logs').filter((e) => e.message.includes(marker)).length;
    for (let i = 0; i < 20 && !shipped(); i++) {
      await admin('/api/logs/sources');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(shipped()).toBe(1);
    // Three refused attempts (the SDK's retries of one flush), then the one that worked.
    expect(fake.calls.filter((c) => c.op === 'PutLogEvents' && withMarker(c.body))).toHaveLength(4);

    // A stream deleted behind Kiln's back is created again.
    fake.groups.get(GROUP)!.streams.delete('auth.logs');
    t.app.authLogger.info(`after delete ${marker}`);
    const page = await admin('/api/logs/auth.logs?limit=5');
    expect(page.body.logs.map((l: any) => l.message)).toContain(`after delete ${marker}`);
  });

  it('answers bad input with 400 and an unknown source with 404, not a CloudWatch call', async () => {
    const reads = ['FilterLogEvents', 'StartQuery', 'DescribeLogGroups', 'DescribeLogStreams'];
    const readCalls = () => fake.calls.filter((c) => reads.includes(c.op)).length;
    const calls = readCalls();
    // An unknown source is a resource that does not exist: 404, still without a call.
    const unknown = await admin('/api/logs/nope');
    expect([unknown.status, unknown.body.error]).toEqual([404, 'LOG_NOT_FOUND']);
    for (const p of [
      '/api/logs/search?level=nope',
      '/api/logs/search?from=soon',
      '/api/logs/postgres.logs?limit=100000',
    ]) {
      const res = await admin(p);
      expect(res.status, p).toBe(400);
      expect(res.body.statusCode, p).toBe(400);
    }
    // Nothing was read from CloudWatch for them.
    expect(readCalls()).toBe(calls);
  });
});
