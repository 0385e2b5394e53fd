import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeLogger, createLogger } from '../src/core/logger.js';
import { FileLogProvider } from '../src/logs/providers/file.js';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
let logsDir: string;
beforeAll(async () => {
  t = await startTestApp();
  logsDir = path.join(t.dataDir, 'logs');
});
afterAll(async () => {
  await t?.stop();
});

const admin = (p: string) => t.request('GET', p, { token: t.apiKey });

/** A winston-shaped JSON line (sorted keys, like winston's JSON format writes them). */
function line(fields: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.entries(fields).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify(sorted) + '\n';
}

const BASE = Date.parse('2026-03-01T00:00:00.000Z');
const at = (seconds: number) => new Date(BASE + seconds * 1000).toISOString();

async function eventually<T>(fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('log API access', () => {
  it('is for admins only', async () => {
    expect((await t.request('GET', '/api/logs/sources')).status).toBe(401);
    const anon = await t.request('GET', '/api/logs/sources', { token: t.anonKey });
    expect(anon.status).toBe(403);
    const user = await t.signUpUser();
    const asUser = await t.request('GET', '/api/logs/kiln.logs', { token: user.accessToken });
    expect(asUser.status).toBe(403);
    expect(asUser.body.error).toBe('AUTH_FORBIDDEN');
    const token = await t.adminToken();
    expect((await t.request('GET', '/api/logs/sources', { token })).status).toBe(200);
    // The audit routes still answer under /api/logs/audits.
    expect((await admin('/api/logs/audits')).status).toBe(200);
  });
});

describe('file provider over HTTP', () => {
  // function.logs: 250 lines, one a second, over three files (the rotation's naming: the live
  // file, then functions1.log, functions2.log, older and older). Lines 99, 100 and 101 (counting
  // from the newest, 0-based) share one millisecond.
  const fnLines: { ts: string; n: number }[] = [];
  beforeAll(() => {
    for (let n = 0; n < 250; n++) {
      let s = n;
      if (n === 148 || n === 149) s = 150; // with 150: three lines at the same instant
      fnLines.push({ ts: at(s), n });
    }
    const files = [fnLines.slice(0, 80), fnLines.slice(80, 170), fnLines.slice(170)];
    const names = ['functions2.log', 'functions1.log', 'functions.log'];
    files.forEach((chunk, i) => {
      fs.writeFileSync(
        path.join(logsDir, names[i]!),
        chunk
          .map((l) =>
            line({
              timestamp: l.ts,
              level: 'info',
              message: `call ${l.n}`,
              n: l.n,
              service: 'kiln',
            }),
          )
          .join(''),
      );
    });
  });

  it('lists the sources with sizes and availability', async () => {
    const res = await admin('/api/logs/sources');
    expect(res.status).toBe(200);
    expect(res.body.provider).toBe('file');
    const byName = Object.fromEntries(res.body.sources.map((s: any) => [s.name, s]));
    expect(Object.keys(byName).sort()).toEqual([
      'auth.logs',
      'function.logs',
      'kiln.logs',
      'postgres.logs',
    ]);
    const fnSize = ['functions.log', 'functions1.log', 'functions2.log']
      .map((f) => fs.statSync(path.join(logsDir, f)).size)
      .reduce((a, b) => a + b, 0);
    expect(byName['function.logs']).toMatchObject({
      available: true,
      sizeBytes: fnSize,
      files: 3,
    });
    expect(Date.parse(byName['function.logs'].lastEventAt)).toBeGreaterThan(0);
    expect(byName['kiln.logs'].available).toBe(true);
    expect(byName['kiln.logs'].sizeBytes).toBeGreaterThan(0);
    // The auth logger's file exists from the start.
    expect(byName['auth.logs'].available).toBe(true);
  });

  it('pages a source newest first across rotated files, never splitting a millisecond', async () => {
    const first = await admin('/api/logs/function.logs?limit=100');
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(250);
    expect(first.body.totalExact).toBe(true);
    expect(first.body.hasMore).toBe(true);
    const nsOf = (logs: any[]) => logs.map((l) => l.metadata.n);
    // Newest first: n 249 … 150, then 149 and 148 share 150's instant and come along.
    expect(first.body.logs).toHaveLength(102);
    expect(nsOf(first.body.logs)).toEqual(
      Array.from({ length: 102 }, (_, i) => 249 - i).map((n) => n),
    );
    expect(first.body.logs[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      source: 'function.logs',
      timestamp: at(249),
      level: 'info',
      message: 'call 249',
      metadata: { n: 249, service: 'kiln' },
      // InsForge's names for the same line.
      eventMessage: 'call 249',
      body: { level: 'info', n: 249, service: 'kiln' },
    });
    // A line keeps its id from one read to the next; different lines have different ids.
    const again = await admin('/api/logs/function.logs?limit=1');
    expect(again.body.logs[0].id).toBe(first.body.logs[0].id);
    expect(new Set(first.body.logs.map((l: { id: string }) => l.id)).size).toBe(102);
    const seen: number[] = nsOf(first.body.logs);
    let before = first.body.logs.at(-1).timestamp;
    for (;;) {
      const page = await admin(`/api/logs/function.logs?limit=100&before_timestamp=${before}`);
      expect(page.status).toBe(200);
      for (const l of page.body.logs) expect(l.timestamp < before).toBe(true);
      seen.push(...nsOf(page.body.logs));
      if (!page.body.hasMore) break;
      before = page.body.logs.at(-1).timestamp;
    }
    // Every line exactly once, newest to oldest.
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => 249 - i));
    // Epoch milliseconds work as a cursor too.
    const byMs = await admin(`/api/logs/function.logs?limit=5&before_timestamp=${BASE + 10_000}`);
    expect(nsOf(byMs.body.logs)).toEqual([9, 8, 7, 6, 5]);
    const none = await admin(`/api/logs/function.logs?before_timestamp=${at(0)}`);
    expect(none.body).toMatchObject({ logs: [], hasMore: false, total: 250 });
  });

  describe('search', () => {
    // postgres.logs: lines chosen for the filters.
    beforeAll(() => {
      const rows = [
        { timestamp: at(1000), level: 'info', message: 'database system is ready' },
        { timestamp: at(1001), level: 'warn', message: 'WARNING: checkpoints are too frequent' },
        { timestamp: at(1002), level: 'error', message: 'ERROR: relation "Orders" does not exist' },
        // A nested level must not count as the line's level …
        { timestamp: at(1003), level: 'info', message: 'nested', detail: { level: 'error' } },
        // … and the line's own level counts even when a nested one differs.
        {
          timestamp: at(1004),
          level: 'error',
          message: 'FATAL: terminating',
          zz: { level: 'info' },
        },
        { timestamp: at(1005), level: 'info', message: 'say "hi" to C:\\data' },
        { timestamp: at(1006), level: 'debug', message: 'autovacuum: orders' },
      ];
      fs.writeFileSync(path.join(logsDir, 'postgres.log'), rows.map((r) => line(r)).join(''));
    });
    const search = (qs: string) => admin(`/api/logs/search?${qs}`);
    const messages = (res: any) => res.body.logs.map((l: any) => l.message);

    it('finds text in any case, as it appears in the line, with the total', async () => {
      const res = await search('source=postgres.logs&q=ORDERS');
      expect(res.status).toBe(200);
      expect(messages(res)).toEqual([
        'autovacuum: orders',
        'ERROR: relation "Orders" does not exist',
      ]);
      expect(res.body).toMatchObject({ total: 2, totalExact: true, hasMore: false });
      // Quotes and backslashes are matched as written, not as JSON escapes.
      const quoted = await search(
        `source=postgres.logs&q=${encodeURIComponent('"hi" to C:\\data')}`,
      );
      expect(messages(quoted)).toEqual(['say "hi" to C:\\data']);
      expect((await search('source=postgres.logs&q=nothing-like-this')).body).toMatchObject({
        logs: [],
        total: 0,
        totalExact: true,
      });
    });

    it('filters by the line’s own level, time range and source', async () => {
      const errors = await search('source=postgres.logs&level=error');
      expect(messages(errors)).toEqual([
        'FATAL: terminating',
        'ERROR: relation "Orders" does not exist',
      ]);
      expect(errors.body.total).toBe(2);
      const range = await search(`source=postgres.logs&from=${at(1001)}&to=${at(1004)}`);
      expect(messages(range)).toEqual([
        'nested',
        'ERROR: relation "Orders" does not exist',
        'WARNING: checkpoints are too frequent',
      ]);
      const both = await search(`source=postgres.logs&level=error&q=relation&to=${at(1003)}`);
      expect(messages(both)).toEqual(['ERROR: relation "Orders" does not exist']);
    });

    it('pages with offset and merges all sources newest first', async () => {
      const all = await search(`q=call%201&source=function.logs&limit=1000`);
      // "call 1", "call 10".."call 19", "call 100".."call 199"
      expect(all.body.total).toBe(111);
      const pages: string[] = [];
      for (let offset = 0; offset < 111; offset += 25) {
        const page = await search(`q=call%201&source=function.logs&limit=25&offset=${offset}`);
        expect(page.body.total).toBe(111);
        expect(page.body.hasMore).toBe(offset + 25 < 111);
        pages.push(...messages(page));
      }
      expect(pages).toEqual(messages(all));
      // Without a source: postgres.logs and function.logs interleave by time.
      fs.appendFileSync(
        path.join(logsDir, 'functions.log'),
        line({ timestamp: at(1003.5), level: 'warn', message: 'call late', n: 999 }),
      );
      const merged = await search(`from=${at(1002)}&to=${at(1005)}`);
      expect(merged.body.logs.map((l: any) => `${l.source} ${l.message}`)).toEqual([
        'postgres.logs FATAL: terminating',
        'function.logs call late',
        'postgres.logs nested',
        'postgres.logs ERROR: relation "Orders" does not exist',
      ]);
      expect(merged.body.total).toBe(4);
    });
  });

  it('per source: entries of the last 24 hours and the newest write (InsForge’s stats)', async () => {
    const res = await admin('/api/logs/stats');
    expect(res.status).toBe(200);
    const sources = (await admin('/api/logs/sources')).body.sources;
    // One row per source that has written anything, its newest write as /sources reports it
    // (function.logs is not written to while the tests run; kiln.logs is).
    expect(res.body.map((s: any) => s.source)).toEqual(
      sources.filter((s: any) => s.lastEventAt).map((s: any) => s.name),
    );
    const fn = sources.find((s: any) => s.name === 'function.logs');
    // function.logs' lines are from March 2026: none in the last 24 hours.
    expect(res.body.find((s: any) => s.source === 'function.logs')).toEqual({
      source: 'function.logs',
      count: 0,
      lastActivity: fn.lastEventAt,
    });
  });

  it('counts per source and level in time buckets', async () => {
    const res = await admin(`/api/logs/stats/histogram?from=${at(0)}&to=${at(3600 * 2)}&bucket=1h`);
    expect(res.status).toBe(200);
    expect(res.body.bucketSeconds).toBe(3600);
    expect(res.body.buckets).toEqual([at(0), at(3600)]);
    const series = Object.fromEntries(
      res.body.series.map((s: any) => [`${s.source}/${s.level}`, s.counts]),
    );
    // function.logs: 250 info lines in the first hour, "call late" (warn) too; postgres.logs
    // lines at 1000 s … 1006 s.
    expect(series).toEqual({
      'function.logs/info': [250, 0],
      'function.logs/warn': [1, 0],
      'postgres.logs/error': [2, 0],
      'postgres.logs/warn': [1, 0],
      'postgres.logs/info': [3, 0],
      'postgres.logs/debug': [1, 0],
    });
    expect(res.body.totals).toEqual({
      all: 258,
      bySource: { 'kiln.logs': 0, 'function.logs': 251, 'auth.logs': 0, 'postgres.logs': 7 },
      byLevel: { error: 2, warn: 2, info: 253, debug: 1 },
    });
    // Buckets start on whole multiples of their size.
    const minutes = await admin(`/api/logs/stats/histogram?from=${at(90)}&to=${at(300)}&bucket=2m`);
    expect(minutes.body.buckets).toEqual([at(0), at(120), at(240)]);
    expect(
      minutes.body.series.find((s: any) => s.source === 'function.logs' && s.level === 'info')
        .counts,
    ).toEqual([120, 120, 10]);
    // Defaults: the last 24 hours.
    const def = await admin('/api/logs/stats/histogram');
    expect(def.status).toBe(200);
    expect(Date.parse(def.body.to) - Date.parse(def.body.from)).toBeGreaterThanOrEqual(86_400_000);
  });

  it('finds the API’s own access lines and the auth logger’s lines', async () => {
    const marker = crypto.randomBytes(8).toString('hex');
    expect((await t.request('GET', `/api/no-such-route-${marker}`)).status).toBe(404);
    const hit = await eventually(async () => {
      const res = await admin(`/api/logs/search?source=kiln.logs&q=${marker}`);
      return res.body.logs.length ? res.body.logs[0] : undefined;
    });
    expect(hit).toMatchObject({
      source: 'kiln.logs',
      level: 'info',
      message: 'request',
      metadata: {
        kind: 'access',
        method: 'GET',
        path: `/api/no-such-route-${marker}`,
        status: 404,
      },
    });
    t.app.authLogger.warn('sign-in refused', { email: `${marker}@example.com` });
    const auth = await eventually(async () => {
      const res = await admin('/api/logs/auth.logs?limit=10');
      return res.body.logs.find((l: any) => l.metadata.email === `${marker}@example.com`);
    });
    expect(auth).toMatchObject({ level: 'warn', message: 'sign-in refused' });
    expect(fs.readFileSync(path.join(logsDir, 'auth.log'), 'utf8')).toContain(marker);
  });

  it('answers bad input with 400 and an unknown source with 404, in the error envelope', async () => {
    const bad = [
      '/api/logs/search?source=nope',
      '/api/logs/search?level=loud',
      '/api/logs/search?from=yesterday',
      `/api/logs/search?from=${at(10)}&to=${at(5)}`,
      '/api/logs/search?limit=0',
      '/api/logs/search?limit=1001',
      '/api/logs/search?offset=-1',
      '/api/logs/search?offset=100001',
      `/api/logs/search?q=${'x'.repeat(501)}`,
      '/api/logs/search?limit=1&limit=2',
      '/api/logs/kiln.logs?limit=abc',
      '/api/logs/kiln.logs?before_timestamp=2026-13-45',
      '/api/logs/kiln.logs?before_timestamp=2026-01-01',
      '/api/logs/stats/histogram?bucket=0',
      '/api/logs/stats/histogram?bucket=5y',
      `/api/logs/stats/histogram?from=${at(0)}&to=${at(86_400 * 30)}&bucket=1m`,
      `/api/logs/stats/histogram?from=${at(10)}&to=${at(10)}`,
    ];
    for (const p of bad) {
      const res = await admin(p);
      expect(res.status, p).toBe(400);
      expect(res.body, p).toMatchObject({ error: 'INVALID_INPUT', statusCode: 400 });
      expect(res.body.message, p).toBeTruthy();
    }
    // An unknown source in the path is a resource that does not exist.
    const unknown = await admin('/api/logs/nope.logs');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'LOG_NOT_FOUND', statusCode: 404 });
    expect(unknown.body.message).toContain('nope.logs');
    expect(unknown.body.nextActions).toContain('kiln.logs');
  });
});

describe('the logger', () => {
  it('does not format lines no transport writes, and writes every line some transport wants', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-logger-'));
    try {
      let read = 0;
      const meta = {
        get detail() {
          read++;
          return 'x';
        },
      };
      const logger = createLogger({ level: 'warn', dir, stdout: false });
      logger.debug('not wanted', meta);
      logger.info('not wanted either', meta);
      expect(read).toBe(0); // formatting would read the field
      logger.warn('wanted', meta);
      expect(read).toBeGreaterThan(0);
      // The level is read at each call: lowering it later is honoured.
      logger.level = 'debug';
      logger.debug('now wanted');
      logger.child({ requestId: 'r-1' }).info('from a child');
      await closeLogger(logger);
      const lines = fs
        .readFileSync(path.join(dir, 'kiln.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.message)).toEqual(['wanted', 'now wanted', 'from a child']);
      expect(lines[2].requestId).toBe('r-1');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('file provider internals', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-logs-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('pages, searches and counts a 200,000-line file by reading chunks, with estimates when counting would take long', async () => {
    const dir = tmp();
    const out = fs.openSync(path.join(dir, 'kiln.log'), 'w');
    let errors = 0;
    let batch = '';
    for (let i = 0; i < 200_000; i++) {
      const level = i % 50 === 0 ? 'error' : i % 3 === 0 ? 'debug' : 'info';
      if (level === 'error') errors++;
      batch += line({
        timestamp: new Date(BASE + i * 500).toISOString(),
        level,
        message: i === 123_456 ? 'the needle' : `request ${i}`,
        path: `/api/things/${i % 97}`,
        service: 'kiln',
      });
      if (batch.length > 1 << 20) {
        fs.writeSync(out, batch);
        batch = '';
      }
    }
    fs.writeSync(out, batch + '{"level":"info","message":"half-writ');
    fs.closeSync(out);
    // Counting gets all the time it needs here (the default budget is 250 ms, which a loaded
    // machine can exceed); the estimate is checked below with no budget at all.
    const p = new FileLogProvider(dir, { countBudgetMs: 60_000 });
    const first = await p.list('kiln.logs', { limit: 3 });
    expect(first.logs.map((l) => l.message)).toEqual([
      'request 199999',
      'request 199998',
      'request 199997',
    ]);
    expect(first.total).toBe(200_000); // the unfinished last line is not counted
    // Binary search for a deep cursor.
    const deep = await p.list('kiln.logs', { limit: 2, beforeMs: BASE + 1000 * 500 + 1 });
    expect(deep.logs.map((l) => l.message)).toEqual(['request 1000', 'request 999']);
    const needle = await p.search({ q: 'THE NEEDLE', limit: 10, offset: 0 });
    expect(needle.logs.map((l) => l.timestamp)).toEqual([
      new Date(BASE + 123_456 * 500).toISOString(),
    ]);
    expect(needle).toMatchObject({ total: 1, totalExact: true });
    const exact = await p.search({ level: 'error', limit: 5, offset: 10 });
    expect(exact.total).toBe(errors);
    expect(exact.logs.map((l) => l.message)).toEqual(
      [10, 11, 12, 13, 14].map((k) => `request ${(3999 - k) * 50}`),
    );
    // No time to count: the total is extrapolated from what was scanned.
    const hurried = new FileLogProvider(dir, { countBudgetMs: 0 });
    const est = await hurried.search({ level: 'error', limit: 5, offset: 0 });
    expect(est.totalExact).toBe(false);
    expect(est.hasMore).toBe(true);
    expect(Math.abs(est.total - errors) / errors).toBeLessThan(0.1);
    const stats = await p.stats({ fromMs: BASE, toMs: BASE + 100_000_000, bucketMs: 10_000_000 });
    expect(stats.totals.all).toBe(200_000);
    expect(stats.totals.byLevel.error).toBe(errors);
    expect(stats.series.find((s) => s.level === 'error')!.counts[0]).toBe(400);
  });

  it('skips a line longer than 4 MiB and keeps its neighbours', async () => {
    const dir = tmp();
    fs.writeFileSync(
      path.join(dir, 'postgres.log'),
      line({ timestamp: at(1), level: 'info', message: 'before' }) +
        line({ timestamp: at(2), level: 'info', message: 'x'.repeat(5 << 20) }) +
        line({ timestamp: at(3), level: 'info', message: 'after' }),
    );
    const p = new FileLogProvider(dir);
    const page = await p.list('postgres.logs', { limit: 10 });
    expect(page.logs.map((l) => l.message)).toEqual(['after', 'before']);
    const found = await p.search({ q: 'before', source: 'postgres.logs', limit: 10, offset: 0 });
    expect(found.logs).toHaveLength(1);
  });
});

describe('rotation from config', () => {
  let small: TestApp;
  beforeAll(async () => {
    small = await startTestApp({}, { LOG_FILE_MAX_MB: '1', LOG_FILE_MAX_FILES: '3' });
  });
  afterAll(async () => {
    await small?.stop();
  });

  it('rotates auth.log by LOG_FILE_MAX_MB / LOG_FILE_MAX_FILES and reads across the files', async () => {
    const pad = 'p'.repeat(400);
    for (let i = 0; i < 7000; i++) small.app.authLogger.info(`event ${i}`, { i, pad });
    const dir = path.join(small.dataDir, 'logs');
    const res = await eventually(async () => {
      const r = await small.request('GET', '/api/logs/auth.logs?limit=1', { token: small.apiKey });
      return r.body.logs[0]?.metadata.i === 6999 ? r : undefined;
    });
    const files = fs.readdirSync(dir).filter((f) => /^auth\d*\.log$/.test(f));
    expect(files.sort()).toEqual(['auth.log', 'auth1.log', 'auth2.log']);
    for (const f of files)
      expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(1.1 * 2 ** 20);
    // The oldest lines went with the rotation; what is kept pages back without gaps.
    const total = res.body.total;
    expect(total).toBeGreaterThan(4000);
    expect(total).toBeLessThan(7000);
    const last = await small.request(
      'GET',
      `/api/logs/auth.logs?limit=1000&before_timestamp=${res.body.logs[0].timestamp}`,
      {
        token: small.apiKey,
      },
    );
    const is = last.body.logs.map((l: any) => l.metadata.i);
    for (let k = 1; k < is.length; k++) expect(is[k]).toBeLessThan(is[k - 1]);
  });
});
