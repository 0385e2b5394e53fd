import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseDisposition } from 'content-disposition';
import { parse as parseCsv } from 'csv-parse/sync';
import { startTestApp, type TestApp } from './helpers.js';

/**
 * The HTTP details Kiln leaves to the libraries that solve them (issue 16): byte ranges through
 * Express's `req.range()` (range-parser), conditional requests through `req.fresh` (fresh),
 * Content-Disposition through `content-disposition`; CSV is written by PostgreSQL (records/sql.ts
 * wrapAsCsv) and read back here with csv-parse. Each case is
 * one the hand-written versions got wrong or did not handle, or one they got right and must keep.
 */
let t: TestApp;
let user: Awaited<ReturnType<TestApp['signUpUser']>>;
const bytes = Buffer.from('0123456789abcdefghij'); // 20 bytes
let url: string;

const CELLS = [
  'plain',
  'comma, inside',
  'quote " inside',
  '"quoted"',
  'line\nbreak',
  'carriage\rreturn',
  'crlf\r\nend',
  '=1+1',
  '+SUM(A1:A2)',
  '-5',
  '@cmd',
  '\ttab first',
  'ünïcödé ✓',
  '',
];

beforeAll(async () => {
  const values = CELLS.map((c, i) => `(${i + 1}, ${"'" + c.replace(/'/g, "''") + "'"})`).join(',');
  t = await startTestApp(
    {},
    {},
    {
      setupSql: `CREATE TABLE public.cells (id int PRIMARY KEY, v text, n int, b boolean, j jsonb);
        INSERT INTO public.cells (id, v) VALUES ${values};
        INSERT INTO public.cells VALUES (100, NULL, -7, true, '{"a": "x,\\"y\\""}'), (101, NULL, 0, false, '[1, "two"]');`,
    },
  );
  const bucket = await t.request('POST', '/api/storage/buckets', {
    token: t.apiKey,
    body: { bucketName: 'pub', isPublic: true, allowUserUploads: true },
  });
  expect(bucket.status).toBe(201);
  user = await t.signUpUser();
  const pub = user.client.storage.from('pub');
  expect((await pub.upload('file.bin', new Blob([bytes]))).error).toBeNull();
  url = pub.getPublicUrl('file.bin').data!.publicUrl;
});
afterAll(async () => {
  await t?.stop();
});

async function get(headers: Record<string, string>, target = url) {
  const res = await fetch(target, { headers });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

describe('storage downloads: ranges (req.range)', () => {
  it('refuses an unsatisfiable or malformed byte range with 416 and Content-Range: bytes */size', async () => {
    for (const range of [
      'bytes=20-',
      'bytes=25-30',
      'bytes=20-25,30-40', // several ranges, none satisfiable
      'bytes=5-2',
      'bytes=-0',
      'bytes=x-5',
      'bytes=1-3,', // an empty range in a list
    ]) {
      const { res, body } = await get({ range });
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-range'), range).toBe('bytes */20');
      expect(JSON.parse(body.toString()).error, range).toBe('STORAGE_INVALID_RANGE');
      // An error answer describes no version of the file.
      expect(res.headers.get('etag'), range).toBeNull();
    }
  });

  it('combines overlapping and adjacent ranges into one 206; disjoint ones get the whole file', async () => {
    const combined = await get({ range: 'bytes=0-3,2-5,6-7' });
    expect(combined.res.status).toBe(206);
    expect(combined.res.headers.get('content-range')).toBe('bytes 0-7/20');
    expect(combined.body).toEqual(bytes.subarray(0, 8));

    const disjoint = await get({ range: 'bytes=0-1,10-11' });
    expect(disjoint.res.status).toBe(200);
    expect(disjoint.res.headers.get('content-range')).toBeNull();
    expect(disjoint.body).toEqual(bytes);

    // A satisfiable range next to an unsatisfiable one is served.
    const partly = await get({ range: 'bytes=2-4,50-60' });
    expect(partly.res.status).toBe(206);
    expect(partly.res.headers.get('content-range')).toBe('bytes 2-4/20');
    expect(partly.body).toEqual(bytes.subarray(2, 5));
  });

  it('serves a suffix longer than the file whole, and clamps an end past it', async () => {
    const suffix = await get({ range: 'bytes=-1000' });
    expect(suffix.res.status).toBe(206);
    expect(suffix.res.headers.get('content-range')).toBe('bytes 0-19/20');
    expect(suffix.body).toEqual(bytes);
    const clamped = await get({ range: 'bytes=15-999' });
    expect(clamped.res.status).toBe(206);
    expect(clamped.res.headers.get('content-range')).toBe('bytes 15-19/20');
    expect(clamped.body).toEqual(bytes.subarray(15));
  });
});

describe('storage downloads: conditional requests (fresh)', () => {
  it('answers If-None-Match and If-Modified-Since with 304 while the file is unchanged', async () => {
    const first = await get({});
    const etag = first.res.headers.get('etag')!;
    const lastModified = first.res.headers.get('last-modified')!;
    expect(etag).toMatch(/^"[^"]+"$/);

    const unchanged: Array<Record<string, string>> = [
      { 'if-none-match': etag },
      { 'if-none-match': `W/${etag}` },
      { 'if-none-match': `"other", ${etag}` },
      { 'if-none-match': '*' },
      { 'if-modified-since': lastModified },
      { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() },
      // fetch() sends this with any conditional header; it is for caches, not for Kiln.
      { 'if-none-match': etag, 'cache-control': 'no-cache' },
    ];
    for (const headers of unchanged) {
      const { res, body } = await get(headers);
      expect(res.status, JSON.stringify(headers)).toBe(304);
      expect(body.length).toBe(0);
      expect(res.headers.get('etag')).toBe(etag);
    }
    const changed: Array<Record<string, string>> = [
      { 'if-none-match': '"other"' },
      { 'if-modified-since': new Date(Date.parse(lastModified) - 60_000).toUTCString() },
    ];
    for (const headers of changed) {
      const { res, body } = await get(headers);
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(body).toEqual(bytes);
    }
  });
});

describe('Content-Disposition (content-disposition)', () => {
  async function disposition(key: string, type = 'text/plain') {
    const pub = user.client.storage.from('pub');
    expect((await pub.upload(key, new Blob(['x'], { type }))).error).toBeNull();
    const res = await fetch(pub.getPublicUrl(key).data!.publicUrl);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    return res.headers.get('content-disposition')!;
  }

  it('sends an ASCII name plainly, and any other name as filename*=UTF-8 with an ASCII fallback', async () => {
    expect(await disposition('plain-name.txt')).toBe('inline; filename="plain-name.txt"');
    expect(await disposition('日本語 ファイル.txt')).toBe(
      `inline; filename="___ ____.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%20%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB.txt`,
    );
    expect(await disposition('page.html', 'text/html')).toBe('attachment; filename="page.html"');
    expect(await disposition("it's (1).txt")).toBe(`inline; filename="it's (1).txt"`);
    // Names a quoted string cannot carry safely: a standard parser reads back the stored name.
    for (const name of ['naïve café.txt', 'quote"back\\slash.txt', '100% 𝔘nicode.txt']) {
      const header = await disposition(name);
      // The quoted fallback is printable ASCII without quotes, backslashes or %.
      expect(header, name).toMatch(/^inline; filename="[\x20-\x7e]+"; filename\*=UTF-8''/);
      expect(/filename="([^"]*)"/.exec(header)![1], name).not.toMatch(/["\\%]/);
      const parsed = parseDisposition(header);
      expect(parsed.type, name).toBe('inline');
      expect(parsed.parameters.filename, name).toBe(name);
    }
  });

  it('names the database export as an attachment', async () => {
    const res = await fetch(`${t.baseUrl}/api/database/advance/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tables: ['cells'], format: 'json' }),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    const parsed = parseDisposition(res.headers.get('content-disposition')!);
    expect(parsed.type).toBe('attachment');
    expect(parsed.parameters.filename).toMatch(/^kiln-export-[\dT-]+Z\.json$/);
  });
});

describe("CSV (PostgreSQL's record quoting, as PostgREST)", () => {
  it('quotes commas, quotes and line breaks, and keeps every text cell exactly as stored', async () => {
    const res = await t.request('GET', '/api/database/records/cells?order=id', {
      token: t.apiKey,
      headers: { accept: 'text/csv' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = res.body as string;
    const lines = text.split('\n');
    expect(lines[0]).toBe('id,v,n,b,j');
    expect(lines).toContain('3,"quote "" inside",,,');
    expect(lines).toContain('2,"comma, inside",,,');
    // No formula-injection rewriting: the API's CSV is data, read by programs (sql.ts wrapAsCsv).
    expect(lines).toContain('8,=1+1,,,');
    expect(lines).toContain('10,-5,,,');
    expect(lines).toContain('11,@cmd,,,');
    // Booleans are t/f, JSON is jsonb's text, backslashes are doubled (PostgREST's CSV).
    expect(lines).toContain('100,,-7,t,"{""a"": ""x,\\\\""y\\\\""""}"');
    expect(lines).toContain('101,,0,f,"[1, ""two""]"');
    expect(text.endsWith('\n')).toBe(false);

    // Any RFC 4180 reader gets back exactly the text that is stored.
    const records = parseCsv(text, { columns: true }) as Array<Record<string, string>>;
    expect(records.slice(0, CELLS.length).map((r) => r.v)).toEqual(CELLS);
    expect(records.find((r) => r.id === '100')).toEqual({
      id: '100',
      v: '',
      n: '-7',
      b: 't',
      j: '{"a": "x,\\\\"y\\\\""}',
    });
  });
});
