/**
 * Who may do what in storage (issue 16): every role × operation × kind of bucket, as a table of
 * scenarios with the exact status and error code of each cell.
 *
 * Roles: no credential, the anon key, a signed-in user (alice), another user (bob), an admin (the
 * API key). Operations: list, upload (PUT to a key), download, delete. Buckets: public or private,
 * with or without `allowUserUploads`. The scenarios run in order: lists and downloads first
 * (against the objects made in beforeAll), then uploads, then deletes.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { startTestApp, type TestApp } from './helpers.js';
import {
  describeScenarios,
  runScenario,
  scenarioContext,
  type Scenario as AnyScenario,
  type ScenarioContext,
} from './scenarios.js';

type Actor = 'none' | 'anon' | 'alice' | 'bob' | 'admin';

type Scenario = AnyScenario<Actor>;
/** The error code (an error status), or a check of the answer. */
type Expected = string | ((res: { body: any }) => void);
/** A row's expectation: an error code, or a check. */
const outcome = (expected: Expected | undefined) =>
  typeof expected === 'string' ? { error: expected } : { expect: expected };

/** public / private, without / with user uploads. */
const BUCKETS = {
  pub: { isPublic: true, allowUserUploads: false },
  pubu: { isPublic: true, allowUserUploads: true },
  priv: { isPublic: false, allowUserUploads: false },
  privu: { isPublic: false, allowUserUploads: true },
} as const;
type Bucket = keyof typeof BUCKETS;

// Made in beforeAll: the admin's `a.txt` in every bucket, alice's `alice.txt` in the two buckets
// that take user uploads.
const objects = (bucket: string) => `/api/storage/buckets/${bucket}/objects`;
const object = (bucket: string, key: string) => `${objects(bucket)}/${encodeURIComponent(key)}`;

/** A multipart upload of `content` as the form field `file`. */
const file = (content: string) => {
  const form = new FormData();
  form.append('file', new Blob([content], { type: 'text/plain' }), 'file.txt');
  return form;
};

const lists =
  (...keys: string[]) =>
  (res: { body: any }) =>
    expect(res.body.data.map((o: { key: string }) => o.key)).toEqual(keys);
const bytes = (content: string) => (res: { body: any }) => expect(res.body).toBe(content);
const stored = (bucket: string, key: string) => (res: { body: any }) =>
  expect(res.body).toMatchObject({ bucket, key });

const list = (as: Actor, bucket: Bucket, status: number, expected: Expected) => ({
  name: `${as} lists ${bucket}`,
  as,
  method: 'GET' as const,
  path: objects(bucket),
  status,
  ...outcome(expected),
});
const download = (as: Actor, bucket: Bucket, key: string, status: number, expected: Expected) => ({
  name: `${as} downloads ${bucket}/${key}`,
  as,
  method: 'GET' as const,
  path: object(bucket, key),
  status,
  ...outcome(expected),
});
const upload = (as: Actor, bucket: Bucket, key: string, status: number, expected?: Expected) => ({
  name: `${as} uploads ${bucket}/${key}`,
  as,
  method: 'PUT' as const,
  path: object(bucket, key),
  body: file(`${as} was here`),
  status,
  ...outcome(expected ?? stored(bucket, key)),
});
const remove = (as: Actor, bucket: Bucket, key: string, status: number, expected?: Expected) => ({
  name: `${as} deletes ${bucket}/${key}`,
  as,
  method: 'DELETE' as const,
  path: object(bucket, key),
  status,
  ...outcome(expected ?? ((res: { body: any }) => expect(res.body).toMatchObject({ bucket, key }))),
});

/** `path` is appended as written (`key/action`, already encoded where it needs to be). */
const action = (as: Actor, bucket: Bucket, path: string, status: number, expected: Expected) => ({
  name: `${as} POSTs ${bucket}/${path}`,
  as,
  method: 'POST' as const,
  path: `${objects(bucket)}/${path}`,
  status,
  ...outcome(expected),
});

const NO_CREDENTIAL = 'AUTH_INVALID_CREDENTIALS';
const DENIED = 'STORAGE_PERMISSION_DENIED';
const NOT_FOUND = 'STORAGE_NOT_FOUND';

const SCENARIOS: Scenario[] = [
  // ---- list: what RLS lets each caller see (a private bucket lists empty, it is no 404) --------
  list('none', 'pub', 200, lists('a.txt')),
  list('none', 'pubu', 200, lists('a.txt', 'alice.txt')),
  list('none', 'priv', 200, lists()),
  list('none', 'privu', 200, lists()),
  list('anon', 'pub', 200, lists('a.txt')),
  list('anon', 'pubu', 200, lists('a.txt', 'alice.txt')),
  list('anon', 'priv', 200, lists()),
  list('anon', 'privu', 200, lists()),
  list('alice', 'pub', 200, lists('a.txt')),
  list('alice', 'pubu', 200, lists('a.txt', 'alice.txt')),
  list('alice', 'priv', 200, lists()),
  list('alice', 'privu', 200, lists('alice.txt')),
  list('bob', 'pub', 200, lists('a.txt')),
  list('bob', 'pubu', 200, lists('a.txt', 'alice.txt')),
  list('bob', 'priv', 200, lists()),
  list('bob', 'privu', 200, lists()),
  list('admin', 'pub', 200, lists('a.txt')),
  list('admin', 'pubu', 200, lists('a.txt', 'alice.txt')),
  list('admin', 'priv', 200, lists('a.txt')),
  list('admin', 'privu', 200, lists('a.txt', 'alice.txt')),
  {
    name: 'anon lists a bucket that does not exist',
    as: 'anon',
    method: 'GET',
    path: objects('nope'),
    status: 404,
    error: NOT_FOUND,
  },

  // ---- download: a private object another caller may not read is a 404 (not revealed) ---------
  download('none', 'pub', 'a.txt', 200, bytes('admin was here')),
  download('none', 'pubu', 'alice.txt', 200, bytes('alice was here')),
  download('none', 'priv', 'a.txt', 404, NOT_FOUND),
  download('none', 'privu', 'alice.txt', 404, NOT_FOUND),
  download('anon', 'pub', 'a.txt', 200, bytes('admin was here')),
  download('anon', 'pubu', 'alice.txt', 200, bytes('alice was here')),
  download('anon', 'priv', 'a.txt', 404, NOT_FOUND),
  download('anon', 'privu', 'alice.txt', 404, NOT_FOUND),
  download('alice', 'pub', 'a.txt', 200, bytes('admin was here')),
  download('alice', 'priv', 'a.txt', 404, NOT_FOUND),
  download('alice', 'privu', 'alice.txt', 200, bytes('alice was here')),
  download('bob', 'pubu', 'alice.txt', 200, bytes('alice was here')),
  download('bob', 'priv', 'a.txt', 404, NOT_FOUND),
  download('bob', 'privu', 'alice.txt', 404, NOT_FOUND),
  download('admin', 'priv', 'a.txt', 200, bytes('admin was here')),
  download('admin', 'privu', 'alice.txt', 200, bytes('alice was here')),
  download('admin', 'pub', 'missing.txt', 404, NOT_FOUND),

  // ---- upload: admins anywhere; users only where allowUserUploads, never over another's -------
  upload('none', 'pubu', 'none.txt', 401, NO_CREDENTIAL),
  upload('anon', 'pub', 'anon.txt', 401, DENIED),
  upload('anon', 'pubu', 'anon.txt', 401, DENIED),
  upload('anon', 'priv', 'anon.txt', 401, DENIED),
  upload('anon', 'privu', 'anon.txt', 401, DENIED),
  upload('alice', 'pub', 'alice-2.txt', 403, DENIED),
  upload('alice', 'priv', 'alice-2.txt', 403, DENIED),
  upload('alice', 'pubu', 'alice-2.txt', 201),
  upload('alice', 'privu', 'alice-2.txt', 201),
  // Replacing her own object is hers to do; bob replacing it is refused by the objects policy.
  upload('alice', 'privu', 'alice.txt', 201),
  upload('bob', 'pubu', 'alice.txt', 403, DENIED),
  upload('bob', 'privu', 'alice.txt', 403, DENIED),
  upload('bob', 'pubu', 'a.txt', 403, DENIED),
  upload('admin', 'pub', 'b.txt', 201),
  upload('admin', 'priv', 'b.txt', 201),
  upload('admin', 'privu', 'alice-2.txt', 201),
  upload('admin', 'pub', '../escape.txt', 400, 'STORAGE_INVALID_PARAMETER'),
  upload('admin', 'nope' as Bucket, 'x.txt', 404, NOT_FOUND),

  // ---- delete: what the caller may not delete is a 404, even when it may read it -------------
  remove('none', 'pub', 'a.txt', 401, NO_CREDENTIAL),
  remove('anon', 'pub', 'a.txt', 404, NOT_FOUND),
  remove('anon', 'priv', 'a.txt', 404, NOT_FOUND),
  remove('alice', 'pub', 'a.txt', 404, NOT_FOUND),
  remove('alice', 'priv', 'a.txt', 404, NOT_FOUND),
  remove('bob', 'pubu', 'alice.txt', 404, NOT_FOUND),
  remove('bob', 'privu', 'alice.txt', 404, NOT_FOUND),
  remove('alice', 'pubu', 'alice.txt', 200),
  remove('alice', 'privu', 'alice.txt', 200),
  remove('alice', 'privu', 'alice.txt', 404, NOT_FOUND),
  remove('admin', 'pub', 'a.txt', 200),
  remove('admin', 'priv', 'a.txt', 200),
  remove('admin', 'privu', 'alice-2.txt', 200),

  // ---- actions on an object (POST …/<key>/<action>): who may, and what is no action ----------
  action('none', 'pub', 'b.txt/download-strategy', 200, (res) =>
    expect(res.body).toMatchObject({ method: 'direct', expiresAt: null }),
  ),
  action('none', 'priv', 'b.txt/download-strategy', 404, NOT_FOUND),
  action('admin', 'priv', 'b.txt/download-strategy', 200, (res) =>
    expect(res.body.url).toContain('?token='),
  ),
  action('none', 'pub', 'b.txt/confirm-upload', 401, NO_CREDENTIAL),
  action('alice', 'pub', 'b.txt/confirm-upload', 404, NOT_FOUND),
  // The key is URL-encoded whole: an encoded slash does not name an action.
  action('admin', 'pub', encodeURIComponent('b.txt/confirm-upload'), 404, 'NOT_FOUND'),
  action('none', 'pub', 'b.txt/confirm-upload/', 404, 'NOT_FOUND'),
  action('admin', 'pub', 'b.txt', 404, 'NOT_FOUND'),
  action('admin', 'pub', 'confirm-upload', 400, 'STORAGE_INVALID_PARAMETER'),
  action('none', 'pub', 'confirm-upload', 401, NO_CREDENTIAL),
  action('none', 'pub', 'download-strategy', 400, 'STORAGE_INVALID_PARAMETER'),
];

let t: TestApp;
// Alice and bob are the runner's `user` and `otherUser`; the admin here is the API key.
const principals = {
  alice: async (ctx: ScenarioContext) => (await ctx.account('user')).accessToken,
  bob: async (ctx: ScenarioContext) => (await ctx.account('otherUser')).accessToken,
  admin: (ctx: ScenarioContext) => ctx.t.apiKey,
};

beforeAll(async () => {
  t = await startTestApp();
  const ctx = scenarioContext(t, principals);
  for (const [bucketName, flags] of Object.entries(BUCKETS)) {
    const res = await t.request('POST', '/api/storage/buckets', {
      token: t.apiKey,
      body: { bucketName, ...flags },
    });
    expect(res.status).toBe(201);
    await runScenario(ctx, upload('admin', bucketName as Bucket, 'a.txt', 201));
  }
  for (const bucket of ['pubu', 'privu'] as const) {
    await runScenario(ctx, upload('alice', bucket, 'alice.txt', 201));
  }
}, 60_000);
afterAll(() => t?.stop());

describeScenarios('storage: role × operation × bucket', () => t, SCENARIOS, principals);
