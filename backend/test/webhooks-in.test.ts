import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminOnlyScenarios,
  describeScenarios,
  pgUrl,
  startTestApp,
  type Scenario,
  type TestApp,
} from './helpers.js';

/**
 * Incoming webhooks (issue 23) over real HTTP: each verification scheme with a valid, a forged,
 * a stale, a repeated and an oversized delivery; hand-off to a job queue (an SQL target writing a
 * row) and to an edge function (the local Deno runtime); the admin API and its bad input.
 */
const MAX_BODY = 2048;
let t: TestApp;
let db: pg.Client;

beforeAll(async () => {
  t = await startTestApp(
    {},
    { WEBHOOKS_IN_MAX_BODY_BYTES: String(MAX_BODY), JOBS_POLL_INTERVAL_MS: '100' },
    {
      setupSql: `
        CREATE TABLE public.hooks_seen (payload jsonb);
        GRANT SELECT, INSERT ON public.hooks_seen TO project_admin;
        CREATE FUNCTION public.record_hook(p jsonb) RETURNS void LANGUAGE sql
          AS $$ INSERT INTO public.hooks_seen (payload) VALUES (p) $$;`,
    },
  );
  db = new pg.Client({ connectionString: pgUrl(t.database) });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await t?.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });

/** Resolves with `check`'s value once it is truthy (checked every 50 ms, up to `timeoutMs`). */
async function until<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function createEndpoint(body: Record<string, unknown>) {
  const res = await admin('POST', '/api/webhooks/incoming', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { name: string; secret: string; url: string; idempotencyKey: string | null };
}

/** POSTs the exact bytes `body` to an endpoint (`suffix`: the secret path of scheme none). */
function deliver(name: string, body: string, headers: Record<string, string>, suffix = '') {
  return t.request('POST', `/api/webhooks/in/${name}${suffix}`, {
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

const hmacOf = (key: string | Buffer, data: string) =>
  crypto.createHmac('sha256', key).update(data).digest();
const now = () => Math.floor(Date.now() / 1000);

interface SchemeCase {
  name: string;
  create: Record<string, unknown>;
  /** Headers (and path suffix) signing `body` with `secret` at `timestamp`. */
  sign(
    secret: string,
    body: string,
    id: string,
    timestamp: number,
  ): { headers: Record<string, string>; suffix?: string };
  /** Whether the scheme signs a timestamp (a stale one is refused). */
  timestamped: boolean;
  forged: string;
}

const CASES: SchemeCase[] = [
  {
    name: 'hmac-hex',
    create: {
      verification: {
        scheme: 'hmac',
        header: 'X-Shopify-Hmac',
        encoding: 'hex',
        prefix: 'sha256=',
      },
      secret: 'a-shared-hmac-secret',
      idempotencyKey: 'id',
    },
    sign: (secret, body) => ({
      headers: { 'x-shopify-hmac': `sha256=${hmacOf(secret, body).toString('hex')}` },
    }),
    timestamped: false,
    forged: 'WEBHOOK_SIGNATURE_INVALID',
  },
  {
    name: 'hmac-base64',
    create: {
      verification: { scheme: 'hmac', header: 'X-Signature', encoding: 'base64' },
      idempotencyKey: 'header:x-delivery',
    },
    sign: (secret, body, id) => ({
      headers: { 'x-signature': hmacOf(secret, body).toString('base64'), 'x-delivery': id },
    }),
    timestamped: false,
    forged: 'WEBHOOK_SIGNATURE_INVALID',
  },
  {
    name: 'standard',
    create: { verification: { scheme: 'standard-webhooks' } },
    // Signed by the Standard Webhooks reference library.
    sign: (secret, body, id, timestamp) => ({
      headers: {
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': new Webhook(secret).sign(id, new Date(timestamp * 1000), body),
      },
    }),
    timestamped: true,
    forged: 'WEBHOOK_SIGNATURE_INVALID',
  },
  {
    name: 'github',
    create: { verification: { scheme: 'github' } },
    sign: (secret, body, id) => ({
      headers: {
        'x-github-delivery': id,
        'x-github-event': 'push',
        'x-hub-signature-256': `sha256=${hmacOf(secret, body).toString('hex')}`,
      },
    }),
    timestamped: false,
    forged: 'WEBHOOK_SIGNATURE_INVALID',
  },
  {
    name: 'stripe',
    create: { verification: { scheme: 'stripe' } },
    sign: (secret, body, _id, timestamp) => ({
      headers: {
        'stripe-signature': `t=${timestamp},v1=${hmacOf(secret, `${timestamp}.${body}`).toString('hex')},v0=ignored`,
      },
    }),
    timestamped: true,
    forged: 'WEBHOOK_SIGNATURE_INVALID',
  },
  {
    name: 'secret-path',
    create: { verification: { scheme: 'none' }, idempotencyKey: '$.data.id' },
    sign: (secret) => ({ headers: {}, suffix: `/${secret}` }),
    timestamped: false,
    forged: 'WEBHOOK_SECRET_PATH_INVALID',
  },
];

describe.each(CASES)('scheme $name', (c) => {
  let endpoint: { name: string; secret: string };
  const id = `evt_${c.name}_1`;
  // Odd spacing: the signature holds only over the exact bytes sent.
  const body = `{"id": "${id}",  "data": {"id": "${id}"}, "type":"thing.happened"}`;

  beforeAll(async () => {
    endpoint = await createEndpoint({ name: c.name, ...c.create });
  });

  it('stores a valid delivery once, and answers a repeat 200 without storing it again', async () => {
    const signed = c.sign(endpoint.secret, body, id, now());
    const first = await deliver(c.name, body, signed.headers, signed.suffix);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ received: true, duplicate: false });
    const again = await deliver(
      c.name,
      body,
      c.sign(endpoint.secret, body, id, now()).headers,
      signed.suffix,
    );
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ received: true, id: first.body.id, duplicate: true });

    const one = await admin('GET', `/api/webhooks/incoming/${c.name}/deliveries/${first.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      status: 'stored',
      verification: c.name === 'secret-path' ? 'secret-path' : 'verified',
      idempotencyKey: id,
      duplicates: 1,
      size: Buffer.byteLength(body),
      payload: { id, type: 'thing.happened' },
      job: null,
    });
    // Signatures are not kept with the delivery; other headers are.
    const kept = Object.keys(one.body.headers);
    expect(kept).toContain('content-type');
    for (const name of [
      'x-shopify-hmac',
      'x-signature',
      'webhook-signature',
      'x-hub-signature-256',
      'stripe-signature',
    ])
      expect(kept).not.toContain(name);
  });

  it('refuses a forged delivery with 401', async () => {
    const wrong = endpoint.secret.startsWith('whsec_')
      ? `whsec_${crypto.randomBytes(24).toString('base64')}`
      : `${endpoint.secret}-wrong`;
    const signed = c.sign(wrong, body, `${id}-forged`, now());
    const res = await deliver(c.name, body, signed.headers, signed.suffix);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: c.forged, statusCode: 401 });
    // A body changed after signing is refused too.
    if (c.name !== 'secret-path') {
      const good = c.sign(endpoint.secret, body, `${id}-tampered`, now());
      const tampered = await deliver(c.name, body.replace('thing', 'other'), good.headers);
      expect(tampered.body).toMatchObject({ error: 'WEBHOOK_SIGNATURE_INVALID' });
      const unsigned = await deliver(c.name, body, {});
      expect(unsigned.status).toBe(401);
      expect(unsigned.body).toMatchObject({ error: 'WEBHOOK_SIGNATURE_MISSING' });
    }
  });

  // Only the timestamped schemes sign a time (the others rely on the idempotency key).
  if (c.timestamped)
    it('refuses a correctly signed delivery outside the replay window', async () => {
      // 30 s beyond the 300 s window: the test's clock and the server's may read different
      // seconds, so a bare 301 could land on the boundary and be (rightly) accepted.
      for (const at of [now() - 330, now() + 330]) {
        const signed = c.sign(endpoint.secret, body, `${id}-stale-${at}`, at);
        const res = await deliver(c.name, body, signed.headers);
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ error: 'WEBHOOK_TIMESTAMP_STALE' });
      }
    });

  it('refuses an oversized delivery with 413, and counts every refusal', async () => {
    const big = JSON.stringify({ id: `${id}-big`, pad: 'x'.repeat(MAX_BODY) });
    const signed = c.sign(endpoint.secret, big, `${id}-big`, now());
    const res = await deliver(c.name, big, signed.headers, signed.suffix);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: 'PAYLOAD_TOO_LARGE' });

    const got = await admin('GET', `/api/webhooks/incoming/${c.name}`);
    const refused = c.name === 'secret-path' ? 2 : c.timestamped ? 6 : 4;
    expect(got.body.counts).toEqual({ received: 1, duplicates: 1, refused });
    const list = await admin(
      'GET',
      `/api/webhooks/incoming/${c.name}/deliveries?status=refused&limit=2`,
    );
    expect(list.status).toBe(200);
    expect(list.body.pagination).toEqual({ offset: 0, limit: 2, total: refused });
    expect(list.body.data[0]).toMatchObject({
      status: 'refused',
      verification: 'PAYLOAD_TOO_LARGE',
    });
  });
});

describe('hand-off', () => {
  it('hands a verified delivery to a job queue once; the job runs', async () => {
    const queue = await admin('PUT', '/api/jobs/queues/hooks', {
      target: { type: 'sql', function: 'record_hook' },
    });
    expect(queue.status, JSON.stringify(queue.body)).toBe(201);
    const ep = await createEndpoint({
      name: 'to-queue',
      verification: { scheme: 'github' },
      target: { type: 'queue', queue: 'hooks' },
    });
    const body = JSON.stringify({ action: 'opened', number: 7 });
    const headers = {
      'x-github-delivery': 'gh-1',
      'x-hub-signature-256': `sha256=${hmacOf(ep.secret, body).toString('hex')}`,
      authorization: 'Bearer not-to-be-kept',
    };
    const res = await deliver('to-queue', body, headers);
    expect(res.status).toBe(200);
    const dup = await deliver('to-queue', body, headers);
    expect(dup.body).toMatchObject({ id: res.body.id, duplicate: true });

    const seen = await until(async () => {
      const { rows } = await db.query<{ payload: any }>('SELECT payload FROM public.hooks_seen');
      return rows.length ? rows : undefined;
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.payload).toMatchObject({
      endpoint: 'to-queue',
      deliveryId: res.body.id,
      payload: { action: 'opened', number: 7 },
      headers: { 'x-github-delivery': 'gh-1' },
    });
    expect(seen[0]!.payload.headers).not.toHaveProperty('authorization');
    const jobs = await admin('GET', '/api/jobs/jobs?queue=hooks');
    expect(jobs.body.pagination.total).toBe(1);
    const delivery = await until(async () => {
      const d = await admin('GET', `/api/webhooks/incoming/to-queue/deliveries/${res.body.id}`);
      return d.body.job?.status === 'succeeded' ? d.body : undefined;
    });
    expect(delivery).toMatchObject({ status: 'queued', job: { id: jobs.body.data[0].id } });
  });

  it('keeps a delivery whose queue is gone as unrouted', async () => {
    await admin('PUT', '/api/jobs/queues/short-lived', {
      target: { type: 'sql', function: 'record_hook' },
    });
    const ep = await createEndpoint({
      name: 'gone-queue',
      verification: { scheme: 'none' },
      target: { type: 'queue', queue: 'short-lived' },
    });
    expect((await admin('DELETE', '/api/jobs/queues/short-lived')).status).toBe(200);
    const res = await deliver('gone-queue', '{"a":1}', {}, `/${ep.secret}`);
    expect(res.status).toBe(200);
    const d = await admin('GET', `/api/webhooks/incoming/gone-queue/deliveries/${res.body.id}`);
    expect(d.body).toMatchObject({
      status: 'unrouted',
      error: 'The queue "short-lived" does not exist',
    });
    // Once the queue exists again, the delivery is handed on on request (a new job that runs).
    await admin('PUT', '/api/jobs/queues/short-lived', {
      target: { type: 'sql', function: 'record_hook' },
    });
    const again = await admin(
      'POST',
      `/api/webhooks/incoming/gone-queue/deliveries/${res.body.id}/redeliver`,
    );
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ status: 'queued', error: null, payload: { a: 1 } });
    await until(async () => {
      const { rows } = await db.query(
        `SELECT 1 FROM public.hooks_seen WHERE payload->>'deliveryId' = $1`,
        [res.body.id],
      );
      return rows.length > 0;
    });
    // A refused delivery was not kept: nothing to hand on.
    expect((await deliver('gone-queue', '{}', {}, '/wrong')).status).toBe(401);
    const refused = await admin(
      'GET',
      '/api/webhooks/incoming/gone-queue/deliveries?status=refused',
    );
    const nope = await admin(
      'POST',
      `/api/webhooks/incoming/gone-queue/deliveries/${refused.body.data[0].id}/redeliver`,
    );
    expect(nope.status).toBe(409);
    expect(nope.body).toMatchObject({ error: 'WEBHOOK_DELIVERY_REFUSED' });
  });

  it('hands a verified delivery to an edge function (through the endpoint’s queue)', async () => {
    const fn = await admin('POST', '/api/functions', {
      name: 'On hook',
      slug: 'on-hook',
      code: `export default async (req: Request) => {
        const job = await req.json();
        return job.payload?.ok === true && job.endpoint === 'to-function'
          ? Response.json({ handled: job.deliveryId })
          : new Response('unexpected', { status: 500 });
      };`,
    });
    expect(fn.status, JSON.stringify(fn.body)).toBe(201);
    const ep = await createEndpoint({
      name: 'to-function',
      verification: { scheme: 'hmac', header: 'x-sig' },
      target: { type: 'function', slug: 'on-hook' },
    });
    const body = '{"ok":true}';
    const res = await deliver('to-function', body, {
      'x-sig': hmacOf(ep.secret, body).toString('hex'),
    });
    expect(res.status).toBe(200);
    const delivery = await until(async () => {
      const d = await admin('GET', `/api/webhooks/incoming/to-function/deliveries/${res.body.id}`);
      return ['succeeded', 'failed', 'dead'].includes(d.body.job?.status) ? d.body : undefined;
    }, 60_000);
    expect(delivery.job.status).toBe('succeeded');
    const queue = await admin('GET', '/api/jobs/queues/webhooks-in:to-function');
    expect(queue.body.target).toEqual({ type: 'function', slug: 'on-hook' });
    // Deleting the endpoint removes its queue.
    expect((await admin('DELETE', '/api/webhooks/incoming/to-function')).status).toBe(200);
    expect((await admin('GET', '/api/jobs/queues/webhooks-in:to-function')).status).toBe(404);
  }, 90_000);
});

describe('admin API', () => {
  it('creates, lists (secrets masked), reads, changes and deletes endpoints', async () => {
    const created = await createEndpoint({
      name: 'crud',
      description: 'Resend events',
      verification: { scheme: 'standard-webhooks' },
    });
    expect(created).toMatchObject({
      name: 'crud',
      url: `${t.baseUrl}/api/webhooks/in/crud`,
      idempotencyKey: 'header:webhook-id',
      replayWindowSeconds: 300,
      target: { type: 'none' },
      enabled: true,
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const list = await admin('GET', '/api/webhooks/incoming');
    const row = list.body.endpoints.find((e: { name: string }) => e.name === 'crud');
    expect(row.secret).toMatch(/^•+/);
    expect(row.secret).not.toContain(created.secret);
    const changed = await admin('PATCH', '/api/webhooks/incoming/crud', {
      verification: { scheme: 'hmac', header: 'X-Resend-Sig', encoding: 'base64', prefix: 'v1=' },
      secret: 'a-new-secret-value',
      replayWindowSeconds: 60,
      idempotencyKey: null,
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({
      verification: { scheme: 'hmac', header: 'x-resend-sig', encoding: 'base64', prefix: 'v1=' },
      secret: 'a-new-secret-value',
      replayWindowSeconds: 60,
      idempotencyKey: null,
      description: 'Resend events',
    });
    // The secret is stored sealed.
    const { rows } = await db.query(
      `SELECT secret_sealed FROM system.incoming_webhooks WHERE name = 'crud'`,
    );
    expect(rows[0].secret_sealed).not.toContain('a-new-secret-value');
    // Switched off: senders are told to come back later.
    await admin('PATCH', '/api/webhooks/incoming/crud', { enabled: false });
    const off = await deliver('crud', '{}', {});
    expect(off.status).toBe(503);
    expect(off.body).toMatchObject({ error: 'WEBHOOK_ENDPOINT_DISABLED' });
    expect((await admin('DELETE', '/api/webhooks/incoming/crud')).status).toBe(200);
    expect((await admin('GET', '/api/webhooks/incoming/crud')).status).toBe(404);
    const unknown = await deliver('crud', '{}', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'WEBHOOK_ENDPOINT_NOT_FOUND' });
  });
});

const bad = (name: string, body: unknown, status: number, error: string): Scenario => ({
  name,
  as: 'apiKey',
  method: 'POST',
  path: '/api/webhooks/incoming',
  body,
  status,
  error,
});

describeScenarios('admin API: bad input', () => t, [
  bad(
    'a name with capitals',
    { name: 'Bad Name', verification: { scheme: 'github' } },
    400,
    'INVALID_INPUT',
  ),
  bad('an unknown scheme', { name: 'x1', verification: { scheme: 'md5' } }, 400, 'INVALID_INPUT'),
  bad('no verification', { name: 'x2' }, 400, 'INVALID_INPUT'),
  bad(
    'a Standard Webhooks secret that is not whsec_ base64',
    { name: 'x3', verification: { scheme: 'standard-webhooks' }, secret: 'not base64 at all!' },
    400,
    'INVALID_INPUT',
  ),
  bad(
    'a bad idempotency key path',
    { name: 'x4', verification: { scheme: 'github' }, idempotencyKey: 'a..b' },
    400,
    'INVALID_INPUT',
  ),
  bad(
    'a queue that does not exist',
    { name: 'x5', verification: { scheme: 'github' }, target: { type: 'queue', queue: 'nope' } },
    400,
    'WEBHOOK_UNKNOWN_TARGET',
  ),
  bad(
    'a function that does not exist',
    { name: 'x6', verification: { scheme: 'github' }, target: { type: 'function', slug: 'nope' } },
    400,
    'WEBHOOK_UNKNOWN_TARGET',
  ),
  bad(
    'a replay window of 0',
    { name: 'x7', verification: { scheme: 'stripe' }, replayWindowSeconds: 0 },
    400,
    'INVALID_INPUT',
  ),
  {
    name: 'a name that exists',
    as: 'apiKey',
    method: 'POST',
    path: '/api/webhooks/incoming',
    body: { name: 'github', verification: { scheme: 'github' } },
    status: 409,
    error: 'WEBHOOK_ENDPOINT_EXISTS',
  },
  {
    name: 'an empty change',
    as: 'apiKey',
    method: 'PATCH',
    path: '/api/webhooks/incoming/github',
    body: {},
    status: 400,
    error: 'INVALID_INPUT',
  },
  {
    name: 'an unknown endpoint',
    as: 'apiKey',
    method: 'PATCH',
    path: '/api/webhooks/incoming/nope',
    body: { enabled: false },
    status: 404,
    error: 'WEBHOOK_ENDPOINT_NOT_FOUND',
  },
  {
    name: 'deliveries of an unknown endpoint',
    as: 'apiKey',
    method: 'GET',
    path: '/api/webhooks/incoming/nope/deliveries',
    status: 404,
    error: 'WEBHOOK_ENDPOINT_NOT_FOUND',
  },
  {
    name: 'a redelivery for an endpoint without a target',
    as: 'apiKey',
    method: 'POST',
    path: '/api/webhooks/incoming/github/deliveries/00000000-0000-4000-8000-000000000000/redeliver',
    status: 409,
    error: 'WEBHOOK_NO_TARGET',
  },
  {
    name: 'a redelivery of an unknown delivery',
    as: 'apiKey',
    method: 'POST',
    path: '/api/webhooks/incoming/to-queue/deliveries/00000000-0000-4000-8000-000000000000/redeliver',
    status: 404,
    error: 'WEBHOOK_DELIVERY_NOT_FOUND',
  },
  {
    name: 'a delivery id that is not a uuid',
    as: 'apiKey',
    method: 'GET',
    path: '/api/webhooks/incoming/github/deliveries/xyz',
    status: 400,
    error: 'INVALID_INPUT',
  },
]);

describeScenarios(
  'admin API: admins only',
  () => t,
  adminOnlyScenarios([
    ['GET', '/api/webhooks/incoming'],
    ['POST', '/api/webhooks/incoming', { name: 'sneaky', verification: { scheme: 'none' } }],
    ['GET', '/api/webhooks/incoming/github'],
    ['PATCH', '/api/webhooks/incoming/github', { enabled: false }],
    ['DELETE', '/api/webhooks/incoming/github'],
    ['GET', '/api/webhooks/incoming/github/deliveries'],
  ]),
);

describe('edge cases', () => {
  it('keeps the secret of a secret URL out of the access log', async () => {
    const ep = await createEndpoint({ name: 'quiet', verification: { scheme: 'none' } });
    expect((await deliver('quiet', '{}', {}, `/${ep.secret}`)).status).toBe(200);
    const log = path.join(t.dataDir, 'logs', 'kiln.log');
    const line = await until(async () => {
      const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      return text.split('\n').find((l) => l.includes('/api/webhooks/in/quiet'));
    });
    expect(JSON.parse(line)).toMatchObject({
      path: '/api/webhooks/in/quiet/[secret]',
      status: 200,
    });
    expect(fs.readFileSync(log, 'utf8')).not.toContain(ep.secret);
  });

  it('answers a secret sealed with another key with a clear code, not a 500', async () => {
    await createEndpoint({ name: 'resealed', verification: { scheme: 'github' } });
    await db.query(
      `UPDATE system.incoming_webhooks SET secret_sealed = 'v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==:AAAA' WHERE name = 'resealed'`,
    );
    const delivered = await deliver('resealed', '{}', { 'x-hub-signature-256': 'sha256=00' });
    expect(delivered.status).toBe(503);
    expect(delivered.body).toMatchObject({ error: 'WEBHOOK_SECRET_UNREADABLE' });
    const changed = await admin('PATCH', '/api/webhooks/incoming/resealed', { enabled: false });
    expect(changed.status).toBe(409);
    expect(changed.body).toMatchObject({ error: 'WEBHOOK_SECRET_UNREADABLE' });
    const fixed = await admin('PATCH', '/api/webhooks/incoming/resealed', {
      secret: 'a-fresh-secret-value',
    });
    expect(fixed.status).toBe(200);
    expect(fixed.body.secret).toBe('a-fresh-secret-value');
  });

  it('stores simultaneous repeats once and hands them on once', async () => {
    await admin('PUT', '/api/jobs/queues/races', {
      target: { type: 'sql', function: 'record_hook' },
    });
    const ep = await createEndpoint({
      name: 'races',
      verification: { scheme: 'hmac', header: 'x-sig' },
      idempotencyKey: 'id',
      target: { type: 'queue', queue: 'races' },
    });
    const body = '{"id":"same-event"}';
    const headers = { 'x-sig': hmacOf(ep.secret, body).toString('hex') };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => deliver('races', body, headers)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.filter((a) => !a.body.duplicate)).toHaveLength(1);
    const jobs = await admin('GET', '/api/jobs/jobs?queue=races');
    expect(jobs.body.pagination.total).toBe(1);
    const got = await admin('GET', '/api/webhooks/incoming/races');
    expect(got.body.counts).toMatchObject({ received: 1, duplicates: 7 });
  });

  it('refuses a body streamed without a length once it passes the limit', async () => {
    const ep = await createEndpoint({ name: 'streamed', verification: { scheme: 'none' } });
    const { status, text } = await new Promise<{ status: number; text: string }>(
      (resolve, reject) => {
        const url = new URL(`${t.baseUrl}/api/webhooks/in/streamed/${ep.secret}`);
        const req = http.request(
          url,
          { method: 'POST', headers: { 'content-type': 'application/json' } },
          (res) => {
            let data = '';
            res.on('data', (c: Buffer) => (data += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, text: data }));
          },
        );
        req.on('error', reject);
        // Chunked: no Content-Length tells the server the size in advance.
        for (let i = 0; i < 4; i++) req.write('x'.repeat(MAX_BODY / 2));
        req.end();
      },
    );
    expect(status).toBe(413);
    expect(JSON.parse(text)).toMatchObject({ error: 'PAYLOAD_TOO_LARGE' });
    const list = await admin('GET', '/api/webhooks/incoming/streamed/deliveries');
    expect(list.body.data).toMatchObject([
      { status: 'refused', verification: 'PAYLOAD_TOO_LARGE' },
    ]);
  });
});
