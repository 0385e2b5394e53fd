import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import S3rver from 's3rver';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createClient } from '@insforge/sdk';
import { startTestApp, type TestApp } from './helpers.js';

/**
 * The same storage suite against both providers: local disk, and S3 through a real
 * S3-compatible server (s3rver) on loopback, with presigned POST uploads and presigned GETs.
 */
const providers = ['local', 's3'] as const;

describe.each(providers)('storage on %s', (kind) => {
  let t: TestApp;
  let s3server: S3rver | undefined;
  let s3dir: string | undefined;
  let alice: Awaited<ReturnType<TestApp['signUpUser']>>;
  let bob: Awaited<ReturnType<TestApp['signUpUser']>>;

  beforeAll(async () => {
    let overrides = {};
    if (kind === 's3') {
      s3dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-s3rver-'));
      s3server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir });
      const { port } = await s3server.run();
      const endpoint = `http://127.0.0.1:${port}`;
      const client = new S3Client({
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      await client.send(new CreateBucketCommand({ Bucket: 'kiln-files' }));
      client.destroy();
      overrides = {
        s3: {
          bucket: 'kiln-files',
          region: 'us-east-1',
          endpoint,
          forcePathStyle: true,
          accessKeyId: 'S3RVER',
          secretAccessKey: 'S3RVER',
          prefix: 'project/',
        },
      };
    }
    t = await startTestApp({ ...overrides, maxFileSize: 256 * 1024 });
    const admin = (body: unknown) =>
      t.request('POST', '/api/storage/buckets', { token: t.apiKey, body });
    // Users upload into all three (buckets take user uploads only when created so).
    expect(
      (await admin({ bucketName: 'docs', isPublic: false, allowUserUploads: true })).status,
    ).toBe(201);
    expect(
      (await admin({ bucketName: 'avatars', isPublic: true, allowUserUploads: true })).status,
    ).toBe(201);
    expect(
      (
        await admin({
          bucketName: 'images',
          isPublic: false,
          allowUserUploads: true,
          allowedMimeTypes: ['image/*'],
          maxFileSize: 1024,
        })
      ).status,
    ).toBe(201);
    alice = await t.signUpUser();
    bob = await t.signUpUser();
  });
  afterAll(async () => {
    await t?.stop();
    await s3server?.close();
    if (s3dir) fs.rmSync(s3dir, { recursive: true, force: true });
  });

  const storedPaths = async () => {
    // Replaced and deleted bytes are freed after the response.
    await t.app.storage.settled();
    const out: string[] = [];
    for await (const item of t.app.storage.provider.list()) out.push(item.path);
    return out;
  };

  it('uploads, lists, downloads and removes through @insforge/sdk', async () => {
    const docs = alice.client.storage.from('docs');
    const up = await docs.upload(
      'reports/2026 q1.txt',
      new Blob(['quarterly numbers'], { type: 'text/plain' }),
    );
    expect(up.error).toBeNull();
    expect(up.data).toMatchObject({
      key: 'reports/2026 q1.txt',
      bucket: 'docs',
      size: 17,
      mimeType: 'text/plain',
    });
    expect(up.data!.url).toBe(
      `${t.baseUrl}/api/storage/buckets/docs/objects/reports%2F2026%20q1.txt`,
    );

    const down = await docs.download('reports/2026 q1.txt');
    expect(down.error).toBeNull();
    expect(await down.data!.text()).toBe('quarterly numbers');

    await docs.upload('reports/q2.txt', new Blob(['more']));
    await docs.upload('other.txt', new Blob(['x']));
    const listed = await docs.list({ prefix: 'reports/' });
    expect(listed.error).toBeNull();
    expect(listed.data).toMatchObject({ pagination: { offset: 0, total: 2 } });
    // Both names for the list: `data` (contract) and `objects` (the SDK's types).
    expect(listed.data!.objects.map((f) => f.key)).toEqual([
      'reports/2026 q1.txt',
      'reports/q2.txt',
    ]);
    expect(
      (listed.data as unknown as { data: Array<{ key: string }> }).data.map((f) => f.key),
    ).toEqual(['reports/2026 q1.txt', 'reports/q2.txt']);
    const page = await docs.list({ limit: 1, offset: 1 });
    expect(
      (page.data as unknown as { data: Array<{ key: string }> }).data.map((f) => f.key),
    ).toEqual(['reports/2026 q1.txt']);
    const search = await docs.list({ search: 'Q1' });
    expect(search.data!.pagination.total).toBe(1);

    const removed = await docs.remove('other.txt');
    expect(removed.error).toBeNull();
    const gone = await docs.download('other.txt');
    expect(gone.error?.statusCode).toBe(404);
  });

  it('lists one folder level with a delimiter: objects, common prefixes, paged together', async () => {
    const bucket = `tree-${kind}`;
    expect(
      (
        await t.request('POST', '/api/storage/buckets', {
          token: t.apiKey,
          body: { bucketName: bucket, isPublic: false, allowUserUploads: true },
        })
      ).status,
    ).toBe(201);
    const mine = alice.client.storage.from(bucket);
    for (const key of ['a.txt', 'e.txt', 'b/1.txt', 'b/2.txt', 'b/c/3.txt', 'd/4.txt', 'f%/x.txt'])
      expect((await mine.upload(key, new Blob([key]))).error, key).toBeNull();
    // Bob's keys are private: his folder does not show for Alice.
    expect(
      (await bob.client.storage.from(bucket).upload('zz/bob.txt', new Blob(['b']))).error,
    ).toBeNull();
    const list = async (query: Record<string, string>, token = alice.accessToken) => {
      const res = await t.request(
        'GET',
        `/api/storage/buckets/${bucket}/objects?${new URLSearchParams(query)}`,
        { token },
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as {
        data: Array<{ key: string }>;
        objects: Array<{ key: string }>;
        prefixes?: string[];
        pagination: { offset: number; limit: number; total: number };
      };
    };
    const keys = (b: { data: Array<{ key: string }> }) => b.data.map((f) => f.key);

    // The root: folders first (byte order), then the objects directly there.
    const root = await list({ delimiter: '/' });
    expect(root.prefixes).toEqual(['b/', 'd/', 'f%/']);
    expect(keys(root)).toEqual(['a.txt', 'e.txt']);
    expect(root.objects.map((f) => f.key)).toEqual(['a.txt', 'e.txt']);
    expect(root.pagination).toEqual({ offset: 0, limit: 100, total: 5 });
    // Pages cut across folders and objects alike: complete folders whatever the page.
    const first = await list({ delimiter: '/', limit: '2' });
    expect([first.prefixes, keys(first)]).toEqual([['b/', 'd/'], []]);
    const second = await list({ delimiter: '/', limit: '2', offset: '2' });
    expect([second.prefixes, keys(second)]).toEqual([['f%/'], ['a.txt']]);
    expect(second.pagination).toEqual({ offset: 2, limit: 2, total: 5 });
    const past = await list({ delimiter: '/', offset: '9' });
    expect([past.prefixes, keys(past), past.pagination.total]).toEqual([[], [], 5]);
    // One level down; LIKE's wildcards in the prefix are literal.
    const b = await list({ prefix: 'b/', delimiter: '/' });
    expect([b.prefixes, keys(b)]).toEqual([['b/c/'], ['b/1.txt', 'b/2.txt']]);
    const f = await list({ prefix: 'f%/', delimiter: '/' });
    expect([f.prefixes, keys(f)]).toEqual([[], ['f%/x.txt']]);
    // A prefix that is not a whole folder name, and search before grouping.
    expect((await list({ prefix: 'b/c', delimiter: '/' })).prefixes).toEqual(['b/c/']);
    const found = await list({ delimiter: '/', search: '3' });
    expect([found.prefixes, keys(found)]).toEqual([['b/'], []]);
    // The admin sees Bob's folder too.
    expect((await list({ delimiter: '/' }, t.apiKey)).prefixes).toEqual(['b/', 'd/', 'f%/', 'zz/']);

    // Without a delimiter the answer is unchanged: every key under the prefix, no `prefixes`.
    const flat = await list({ prefix: 'b/' });
    expect(keys(flat)).toEqual(['b/1.txt', 'b/2.txt', 'b/c/3.txt']);
    expect(flat).not.toHaveProperty('prefixes');

    for (const delimiter of ['', 'x'.repeat(17)]) {
      const bad = await t.request(
        'GET',
        `/api/storage/buckets/${bucket}/objects?delimiter=${delimiter}`,
        { token: alice.accessToken },
      );
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: 'INVALID_INPUT', statusCode: 400 });
    }
    const removed = await t.request('DELETE', `/api/storage/buckets/${bucket}?force=true`, {
      token: t.apiKey,
    });
    expect(removed.status).toBe(200);
  });

  it(
    kind === 'local' ? 'uses the direct upload strategy' : 'uses presigned POST + confirm-upload',
    async () => {
      const strategy = await t.request('POST', '/api/storage/buckets/docs/upload-strategy', {
        token: alice.accessToken,
        body: { filename: 'strategy.bin', contentType: 'application/octet-stream', size: 3 },
      });
      expect(strategy.status).toBe(200);
      if (kind === 'local') {
        expect(strategy.body).toEqual({
          method: 'direct',
          uploadUrl: `${t.baseUrl}/api/storage/buckets/docs/objects/strategy.bin`,
          key: 'strategy.bin',
          confirmRequired: false,
        });
      } else {
        expect(strategy.body).toMatchObject({
          method: 'presigned',
          key: 'strategy.bin',
          confirmRequired: true,
          fields: expect.any(Object),
          expiresAt: expect.any(String),
        });
        expect(strategy.body.confirmUrl).toBe(
          `${t.baseUrl}/api/storage/buckets/docs/objects/strategy.bin/confirm-upload`,
        );
        // The store itself takes no more than the declared size (not the bucket's limit): bytes
        // that could never be confirmed never land in it.
        const policy = JSON.parse(
          Buffer.from(strategy.body.fields.Policy as string, 'base64').toString(),
        ) as { conditions: unknown[] };
        expect(policy.conditions).toContainEqual(['content-length-range', 0, 3]);
        // Confirming before uploading is refused, and can be repeated once the bytes are there.
        const confirm = (body: { size?: number } = {}) =>
          t.request('POST', '/api/storage/buckets/docs/objects/strategy.bin/confirm-upload', {
            token: alice.accessToken,
            body,
          });
        expect((await confirm()).status).toBe(400);
        const form = new FormData();
        for (const [k, v] of Object.entries(strategy.body.fields as Record<string, string>))
          form.append(k, v);
        form.append('file', new Blob(['abc']), 'strategy.bin');
        const posted = await fetch(strategy.body.uploadUrl, { method: 'POST', body: form });
        expect(posted.status).toBeLessThan(300);
        // A confirm claims only bytes of the size it names: never another upload still being
        // written (stores such as s3rver show an object before it is complete).
        expect((await confirm({ size: 2 })).status).toBe(400);
        const confirmed = await confirm({ size: 3 });
        expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
        expect(confirmed.body).toMatchObject({ key: 'strategy.bin', size: 3 });
        // An untyped file is fine for an image bucket's strategy; its bytes are checked later.
        const imageStrategy = await t.request(
          'POST',
          '/api/storage/buckets/images/upload-strategy',
          {
            token: alice.accessToken,
            body: { filename: 'fake.png', contentType: 'application/octet-stream', size: 5 },
          },
        );
        expect(imageStrategy.status).toBe(200);
        const fake = new FormData();
        for (const [k, v] of Object.entries(imageStrategy.body.fields as Record<string, string>))
          fake.append(k, v);
        fake.append('file', new Blob(['hello']), 'fake.png');
        expect(
          (await fetch(imageStrategy.body.uploadUrl, { method: 'POST', body: fake })).status,
        ).toBeLessThan(300);
        const refused = await t.request(
          'POST',
          '/api/storage/buckets/images/objects/fake.png/confirm-upload',
          { token: alice.accessToken, body: {} },
        );
        expect(refused.status).toBe(400);
        expect(refused.body.error).toBe('STORAGE_INVALID_FILE_TYPE');
      }
      // A content type with control characters is refused.
      const badType = await t.request('POST', '/api/storage/buckets/docs/upload-strategy', {
        token: alice.accessToken,
        body: { filename: 'x.bin', contentType: 'text/html\r\nX-Evil: 1' },
      });
      expect(badType.status).toBe(400);
      const strategyDown = await t.request(
        'GET',
        '/api/storage/buckets/docs/download-strategy/objects/reports%2Fq2.txt?expiresIn=60',
        { token: alice.accessToken },
      );
      expect(strategyDown.body.method).toBe(kind === 'local' ? 'direct' : 'presigned');
      const fetched = await fetch(strategyDown.body.url);
      expect(fetched.status).toBe(200);
      expect(await fetched.text()).toBe('more');
      // The older POST alias answers the same way.
      const legacy = await t.request(
        'POST',
        '/api/storage/buckets/docs/objects/reports%2Fq2.txt/download-strategy',
        { token: alice.accessToken, body: { expiresIn: 60 } },
      );
      expect(legacy.body.method).toBe(strategyDown.body.method);
    },
  );

  it('keeps a private bucket private under RLS: Bob cannot list, read, overwrite or delete Alice’s files', async () => {
    const bobDocs = bob.client.storage.from('docs');
    expect((await bobDocs.list()).data!.objects).toEqual([]);
    expect((await bobDocs.download('reports/q2.txt')).error?.statusCode).toBe(404);
    const overwrite = await bobDocs.upload('reports/q2.txt', new Blob(['hijacked']));
    expect(overwrite.error?.statusCode).toBe(403);
    expect((await bobDocs.remove('reports/q2.txt')).error?.statusCode).toBe(404);
    const many = await bobDocs.remove(['reports/q2.txt']);
    expect(many.data).toEqual({
      results: [{ key: 'reports/q2.txt', status: 'notFound', message: expect.any(String) }],
    });
    expect(
      await (await alice.client.storage.from('docs').download('reports/q2.txt')).data!.text(),
    ).toBe('more');
    // No credential at all: not visible.
    expect(
      (await fetch(`${t.baseUrl}/api/storage/buckets/docs/objects/reports%2Fq2.txt`)).status,
    ).toBe(404);
    // The API key (admin) sees everything.
    const adminList = await t.request('GET', '/api/storage/buckets/docs/objects', {
      token: t.apiKey,
    });
    expect(adminList.body.pagination.total).toBeGreaterThanOrEqual(2);
    // Anonymous callers cannot upload.
    const anon = createClient({
      baseUrl: t.baseUrl,
      anonKey: t.anonKey,
      retryCount: 0,
    }).storage.from('docs');
    expect((await anon.upload('x.txt', new Blob(['x']))).error?.statusCode).toBe(401);
  });

  it('serves public buckets without credentials, with caching headers, ranges and ETags', async () => {
    const avatars = alice.client.storage.from('avatars');
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201b3a4a1a20000000049454e44ae426082',
      'hex',
    );
    const up = await avatars.upload('alice.png', new Blob([png]));
    expect(up.data?.mimeType).toBe('image/png'); // sniffed: the blob had no type
    const url = avatars.getPublicUrl('alice.png').data!.publicUrl;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('content-length')).toBe(String(png.length));
    expect(res.headers.get('cache-control')).toContain('public');
    expect(res.headers.get('last-modified')).toBeTruthy();
    expect(Buffer.from(await res.arrayBuffer())).toEqual(png);
    const etag = res.headers.get('etag')!;
    expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304);

    const partial = await fetch(url, { headers: { range: 'bytes=1-3' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 1-3/${png.length}`);
    expect(Buffer.from(await partial.arrayBuffer())).toEqual(png.subarray(1, 4));
    const suffix = await fetch(url, { headers: { range: 'bytes=-4' } });
    expect(Buffer.from(await suffix.arrayBuffer())).toEqual(png.subarray(png.length - 4));
    for (const bad of [`bytes=${png.length}-`, 'bytes=5-2', 'bytes=abc', 'bytes=-0']) {
      const r = await fetch(url, { headers: { range: bad } });
      expect(r.status, bad).toBe(416);
      expect(r.headers.get('content-range'), bad).toBe(`bytes */${png.length}`);
      expect(r.headers.get('cache-control') ?? '', bad).not.toContain('public');
    }
    // Another unit must be ignored; several ranges are answered with the whole file.
    for (const ignored of ['lines=1-2', 'bytes=0-1,3-4']) {
      const r = await fetch(url, { headers: { range: ignored } });
      expect(r.status, ignored).toBe(200);
      expect(Buffer.from(await r.arrayBuffer())).toEqual(png);
    }
    // If-Range: a range only of the version the client has.
    const current = await fetch(url, { headers: { range: 'bytes=0-1', 'if-range': etag } });
    expect(current.status).toBe(206);
    await current.arrayBuffer();
    const stale = await fetch(url, { headers: { range: 'bytes=0-1', 'if-range': '"old"' } });
    expect(stale.status).toBe(200);
    expect(Buffer.from(await stale.arrayBuffer())).toEqual(png);
    // Images are shown inline, under their name (plain ASCII needs no filename*).
    expect(res.headers.get('content-disposition')).toBe(`inline; filename="alice.png"`);
    expect(res.headers.get('content-security-policy')).toBeNull();
    // Bob can read a public object but not replace it.
    expect(
      (await bob.client.storage.from('avatars').upload('alice.png', new Blob(['x']))).error
        ?.statusCode,
    ).toBe(403);
  });

  it('signs download URLs for private objects: credential-free, tamper-proof, expiring', async () => {
    const docs = alice.client.storage.from('docs');
    const signed = await docs.createSignedUrl('reports/q2.txt', 60);
    expect(signed.error).toBeNull();
    expect(signed.data!.expiresAt).toBeTruthy();
    const ok = await fetch(signed.data!.signedUrl);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('more');
    if (kind === 'local') {
      const tampered = signed.data!.signedUrl.replace(
        /token=(\d+)\./,
        (_m, exp) => `token=${Number(exp) + 1000}.`,
      );
      expect((await fetch(tampered)).status).toBe(403);
      const otherKey = signed.data!.signedUrl.replace(
        'reports%2Fq2.txt',
        'reports%2F2026%20q1.txt',
      );
      expect((await fetch(otherKey)).status).toBe(403);
    }
    const bobSigns = await bob.client.storage.from('docs').createSignedUrl('reports/q2.txt');
    expect(bobSigns.error?.statusCode).toBe(404);
  });

  it('replaces an object in place and removes the old bytes', async () => {
    const docs = alice.client.storage.from('docs');
    await docs.upload('replace.txt', new Blob(['v1']));
    const before = await storedPaths();
    const second = await docs.upload('replace.txt', new Blob(['version two']));
    expect(second.data?.size).toBe(11);
    expect(await (await docs.download('replace.txt')).data!.text()).toBe('version two');
    expect((await storedPaths()).length).toBe(before.length);
  });

  it('lets Kiln pick the key with POST /objects', async () => {
    const form = new FormData();
    form.append('file', new Blob(['auto'], { type: 'text/plain' }), 'My Photo!.txt');
    const res = await fetch(`${t.baseUrl}/api/storage/buckets/docs/objects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.accessToken}` },
      body: form,
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { key: string };
    expect(body.key).toMatch(/^My-Photo--\d+-[a-z0-9]+\.txt$/);
  });

  it('deletes many objects with a result per key', async () => {
    const docs = alice.client.storage.from('docs');
    await docs.upload('batch/1.txt', new Blob(['1']));
    await docs.upload('batch/2.txt', new Blob(['2']));
    const res = await docs.remove(['batch/1.txt', 'batch/2.txt', 'batch/missing.txt', '../escape']);
    expect(res.data).toEqual({
      results: [
        {
          key: '../escape',
          status: 'failed',
          message: expect.stringMatching(/Invalid object key/),
        },
        { key: 'batch/1.txt', status: 'deleted' },
        { key: 'batch/2.txt', status: 'deleted' },
        { key: 'batch/missing.txt', status: 'notFound', message: expect.any(String) },
      ],
    });
    const tooMany = await t.request('DELETE', '/api/storage/buckets/docs/objects', {
      token: alice.accessToken,
      body: { keys: Array.from({ length: 1001 }, (_, i) => `k${i}`) },
    });
    expect(tooMany.status).toBe(400);
  });

  it('refuses bad input with 4xx and stores nothing', async () => {
    const before = await storedPaths();
    const put = (
      key: string,
      content: Blob | string,
      field = 'file',
      bucket = 'docs',
      token = alice.accessToken,
    ) => {
      const form = new FormData();
      form.append(field, typeof content === 'string' ? new Blob([content]) : content, 'f.bin');
      return fetch(`${t.baseUrl}/api/storage/buckets/${bucket}/objects/${key}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error: string; message: string },
      }));
    };
    const cases: Array<[string, Promise<{ status: number; body: { error: string } }>, number]> = [
      ['traversal', put(encodeURIComponent('../../etc/passwd'), 'x'), 400],
      ['dot segment', put(encodeURIComponent('a/./b'), 'x'), 400],
      ['absolute', put(encodeURIComponent('/etc/passwd'), 'x'), 400],
      ['backslash traversal', put(encodeURIComponent('..\\..\\x'), 'x'), 400],
      ['empty segment', put(encodeURIComponent('a//b'), 'x'), 400],
      ['NUL', put(encodeURIComponent('a\u0000b'), 'x'), 400],
      ['too long', put(encodeURIComponent('k'.repeat(1025)), 'x'), 400],
      ['empty file', put('empty.txt', ''), 400],
      ['wrong field', put('field.txt', 'x', 'upload'), 400],
      ['oversize (global limit)', put('big.bin', new Blob([Buffer.alloc(300 * 1024)])), 413],
      [
        'oversize (bucket limit)',
        put('big.png', new Blob([Buffer.alloc(2048)], { type: 'image/png' }), 'file', 'images'),
        413,
      ],
      [
        'mime type not allowed',
        put('doc.txt', new Blob(['hello'], { type: 'text/plain' }), 'file', 'images'),
        400,
      ],
      ['unknown bucket', put('x.txt', 'x', 'file', 'nope'), 404],
    ];
    for (const [name, promise, status] of cases) {
      const res = await promise;
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.body.error, name).toMatch(/^[A-Z_]+$/);
    }
    const json = await t.request('PUT', '/api/storage/buckets/docs/objects/x.txt', {
      token: alice.accessToken,
      body: { not: 'multipart' },
    });
    expect(json.status).toBe(415);
    const strategyTooBig = await t.request('POST', '/api/storage/buckets/images/upload-strategy', {
      token: alice.accessToken,
      body: { filename: 'a.png', contentType: 'image/png', size: 5000 },
    });
    expect(strategyTooBig.status).toBe(413);
    const strategyBadKey = await t.request('POST', '/api/storage/buckets/docs/upload-strategy', {
      token: alice.accessToken,
      body: { filename: '../x' },
    });
    expect(strategyBadKey.status).toBe(400);
    const badList = await t.request('GET', '/api/storage/buckets/docs/objects?limit=5000', {
      token: alice.accessToken,
    });
    expect(badList.status).toBe(400);
    expect((await storedPaths()).sort()).toEqual(before.sort());
  });

  it('aborted uploads leave no object and no bytes behind', async () => {
    const before = await storedPaths();
    const controller = new AbortController();
    const boundary = 'kilnboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(head));
        c.enqueue(new Uint8Array(32 * 1024));
        setTimeout(() => controller.abort(), 100);
      },
    });
    await fetch(`${t.baseUrl}/api/storage/buckets/docs/objects/aborted.bin`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${alice.accessToken}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body: stream,
      signal: controller.signal,
      duplex: 'half',
    } as RequestInit).catch(() => undefined);
    // The upload is stopped and cleaned up by itself: no temp file, no open descriptor, no sweep
    // (that runs only at start). The server gets a moment to have met the upload, then the
    // cleanup is awaited (a loaded machine takes longer than that moment).
    await new Promise((r) => setTimeout(r, 300));
    await expect
      .poll(async () => (await storedPaths()).sort(), { timeout: 20_000, interval: 50 })
      .toEqual(before.sort());
    expect(
      (await alice.client.storage.from('docs').download('aborted.bin')).error?.statusCode,
    ).toBe(404);
  });

  it('answers 413 to an oversized Content-Length before any of the body is sent', async () => {
    const url = new URL(`${t.baseUrl}/api/storage/buckets/docs/objects/huge.bin`);
    // Headers only: the 1 GB body is never written, so only an answer from the headers can come.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(url, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${alice.accessToken}`,
          'content-type': 'multipart/form-data; boundary=x',
          'content-length': String(1e9),
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          resolve({ status: res.statusCode!, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error).toBe('STORAGE_INSUFFICIENT_QUOTA');
  });

  it('refuses a streamed upload with no Content-Length once it passes the limit', async () => {
    const before = await storedPaths();
    const boundary = 'kilnboundary';
    const encoder = new TextEncoder();
    let sent = 0;
    // 4 MiB in 64 KiB chunks against the 256 KiB limit, sent chunked: only the stream can tell.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(
          encoder.encode(
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`,
          ),
        );
      },
      pull(c) {
        if (sent >= 4 * 1024 * 1024) {
          c.enqueue(encoder.encode(`\r\n--${boundary}--\r\n`));
          c.close();
          return;
        }
        c.enqueue(new Uint8Array(64 * 1024).fill(7));
        sent += 64 * 1024;
      },
    });
    const res = await fetch(`${t.baseUrl}/api/storage/buckets/docs/objects/streamed.bin`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${alice.accessToken}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('PAYLOAD_TOO_LARGE');
    expect(
      (await alice.client.storage.from('docs').download('streamed.bin')).error?.statusCode,
    ).toBe(404);
    expect((await storedPaths()).sort()).toEqual(before.sort());
  });

  it('never lets an uploaded page run script on the API origin', async () => {
    const avatars = alice.client.storage.from('avatars');
    const page = '<script>fetch("/api/auth/sessions/current")</script>';
    for (const [key, type] of [
      ['page.html', 'text/html'],
      ['pic.svg', 'image/svg+xml'],
      ['data.xml', 'application/xml'],
    ]) {
      expect((await avatars.upload(key!, new Blob([page], { type }))).error).toBeNull();
      const res = await fetch(avatars.getPublicUrl(key!).data!.publicUrl);
      expect(res.status, key).toBe(200);
      expect(res.headers.get('content-disposition'), key).toMatch(/^attachment;/);
      expect(res.headers.get('content-security-policy'), key).toBe("default-src 'none'; sandbox");
      expect(res.headers.get('x-content-type-options'), key).toBe('nosniff');
      await res.arrayBuffer();
    }
    // Names outside ASCII survive in filename*, with a plain fallback.
    await avatars.upload('résumé (1).txt', new Blob(['cv'], { type: 'text/plain' }));
    const cv = await fetch(avatars.getPublicUrl('résumé (1).txt').data!.publicUrl);
    expect(cv.headers.get('content-disposition')).toBe(
      `inline; filename="r_sum_ (1).txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%281%29.txt`,
    );
    await cv.arrayBuffer();
  });

  it('ties a signed URL to the version it was made for', async () => {
    const docs = alice.client.storage.from('docs');
    await docs.upload('versioned.txt', new Blob(['first'], { type: 'text/plain' }));
    const signed = await docs.createSignedUrl('versioned.txt', 600);
    const url = signed.data!.signedUrl;
    expect(await (await fetch(url)).text()).toBe('first');
    await docs.upload('versioned.txt', new Blob(['second'], { type: 'text/plain' }));
    const after = await fetch(url);
    expect(after.status).toBe(kind === 'local' ? 403 : 404);
    await after.arrayBuffer();
  });

  it('commits nothing when the body after the file part is broken', async () => {
    const docs = alice.client.storage.from('docs');
    await docs.upload('tail.txt', new Blob(['VERSION-1'], { type: 'text/plain' }));
    const before = await storedPaths();
    const boundary = 'kilnboundary';
    const body =
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="tail.txt"\r\n` +
      `Content-Type: text/plain\r\n\r\nVERSION-2\r\n--${boundary}\r\nContent-Disposition: form-da`;
    const res = await fetch(`${t.baseUrl}/api/storage/buckets/docs/objects/tail.txt`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${alice.accessToken}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body,
    });
    expect(res.status).toBe(400);
    await res.arrayBuffer();
    expect(await (await docs.download('tail.txt')).data!.text()).toBe('VERSION-1');
    expect((await storedPaths()).sort()).toEqual(before.sort());
  });

  it('keeps one version when the first uploads of a key race', async () => {
    const docs = alice.client.storage.from('docs');
    const before = (await storedPaths()).length;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        docs.upload('race.txt', new Blob([`writer ${i}`], { type: 'text/plain' })),
      ),
    );
    expect(results.map((r) => r.error)).toEqual(results.map(() => null));
    expect((await storedPaths()).length).toBe(before + 1);
    expect(await (await docs.download('race.txt')).data!.text()).toMatch(/^writer \d$/);
  });

  it('manages buckets (admin only) and refuses to delete a non-empty one unless forced', async () => {
    const list = await t.request('GET', '/api/storage/buckets', { token: t.apiKey });
    expect(list.body.map((b: { name: string }) => b.name)).toEqual(['avatars', 'docs', 'images']);
    expect(
      (await t.request('GET', '/api/storage/buckets', { token: alice.accessToken })).status,
    ).toBe(403);
    expect(
      (
        await t.request('POST', '/api/storage/buckets', {
          token: t.apiKey,
          body: { bucketName: 'docs' },
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await t.request('POST', '/api/storage/buckets', {
          token: t.apiKey,
          body: { bucketName: 'Bad Name' },
        })
      ).status,
    ).toBe(400);
    const patched = await t.request('PATCH', '/api/storage/buckets/images', {
      token: t.apiKey,
      body: { isPublic: true },
    });
    expect(patched.body).toMatchObject({
      name: 'images',
      isPublic: true,
      allowedMimeTypes: ['image/*'],
      maxFileSize: 1024,
    });
    const refused = await t.request('DELETE', '/api/storage/buckets/docs', { token: t.apiKey });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('STORAGE_BUCKET_NOT_EMPTY');
    const before = (await storedPaths()).length;
    const forced = await t.request('DELETE', '/api/storage/buckets/docs?force=true', {
      token: t.apiKey,
    });
    expect(forced.status).toBe(200);
    expect(forced.body.deletedObjects).toBeGreaterThan(0);
    expect((await storedPaths()).length).toBe(before - forced.body.deletedObjects);
    expect(
      (await t.request('GET', '/api/storage/buckets/docs/objects', { token: alice.accessToken }))
        .status,
    ).toBe(404);
  });
});

describe('local storage after a crash', () => {
  it('removes unreferenced bytes and half-written temp files at the next start', async () => {
    const t = await startTestApp();
    try {
      const root = path.join(t.dataDir, 'storage');
      fs.writeFileSync(
        path.join(root, '.tmp', '0b9f6a1e-8c1d-4a57-9b6e-2f3c4d5e6f70'),
        'half an upload',
      );
      fs.mkdirSync(path.join(root, 'ghost', 'ab'), { recursive: true });
      fs.writeFileSync(
        path.join(root, 'ghost', 'ab', 'ab9f6a1e-8c1d-4a57-9b6e-2f3c4d5e6f70'),
        'never recorded',
      );
      // A restart runs the start-up sweep.
      const removed = await t.app.storage.sweep(0);
      expect(removed).toBe(2);
      expect(fs.readdirSync(path.join(root, '.tmp'))).toEqual([]);
      expect(fs.readdirSync(path.join(root, 'ghost', 'ab'))).toEqual([]);
    } finally {
      await t.stop();
    }
  });
});
