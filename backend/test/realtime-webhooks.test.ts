import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type KilnApp } from '../src/app.js';
import { createLogger } from '../src/core/logger.js';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

/** A local receiver whose answers the test scripts (e.g. 503, 503, 200). */
interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}
function receiver() {
  const received: Received[] = [];
  let script: number[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = script.length ? script.shift()! : 200;
      if (status === 200) received.push({ headers: req.headers, body });
      res.writeHead(status).end();
    });
  });
  return {
    received,
    setScript: (s: number[]) => (script = s),
    start: () =>
      new Promise<string>((r) =>
        server.listen(0, '127.0.0.1', () =>
          r(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`),
        ),
      ),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached in time');
}

let t: TestApp;
let sql: pg.Client;
const hook = receiver();
let hookUrl: string;
let secret: string;
beforeAll(async () => {
  hookUrl = await hook.start();
  t = await startTestApp({
    webhookRetryBaseMs: 50,
    webhookTimeoutMs: 1000,
    webhookRetryPeriodSeconds: 60,
  });
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
  const created = await t.request('POST', '/api/realtime/channels', {
    token: t.apiKey,
    body: { pattern: 'hooks:%', webhookUrls: [hookUrl] },
  });
  expect(created.status).toBe(201);
  secret = (await t.request('GET', '/api/realtime/config', { token: t.apiKey })).body.webhookSecret;
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
  await hook.stop();
});

const deliveries = async (messageId: string) =>
  (
    await sql.query(
      'SELECT status, attempts, last_status FROM realtime.webhook_deliveries WHERE message_id = $1',
      [messageId],
    )
  ).rows;

describe('webhooks', () => {
  it('POSTs each message with the InsForge headers and a verifiable signature', async () => {
    const { rows } = await sql.query(
      `SELECT realtime.publish('hooks:1', 'order.paid', '{"total": 42}') AS id`,
    );
    const id = rows[0].id as string;
    const got = await until(() =>
      hook.received.find((r) => r.headers['x-insforge-message-id'] === id),
    );
    expect(got.headers['x-insforge-event']).toBe('order.paid');
    expect(got.headers['x-insforge-channel']).toBe('hooks:1');
    expect(JSON.parse(got.body)).toMatchObject({
      total: 42,
      meta: { channel: 'hooks:1', messageId: id, senderType: 'system' },
    });
    const timestamp = got.headers['x-kiln-timestamp'] as string;
    const expected = crypto
      .createHmac('sha256', secret)
      .update(`${timestamp}.${got.body}`)
      .digest('hex');
    expect(got.headers['x-kiln-signature']).toBe(`sha256=${expected}`);
    expect(
      await until(async () =>
        (await deliveries(id))[0]?.status === 'delivered' ? deliveries(id) : undefined,
      ),
    ).toEqual([{ status: 'delivered', attempts: 1, last_status: 200 }]);
  });

  it('retries 5xx and 429 with backoff until it lands, exactly once', async () => {
    hook.setScript([503, 429, 500]);
    const { rows } = await sql.query(`SELECT realtime.publish('hooks:2', 'retry.me', '{}') AS id`);
    const id = rows[0].id as string;
    await until(async () => ((await deliveries(id))[0]?.status === 'delivered' ? true : undefined));
    expect(await deliveries(id)).toEqual([{ status: 'delivered', attempts: 4, last_status: 200 }]);
    expect(hook.received.filter((r) => r.headers['x-insforge-message-id'] === id)).toHaveLength(1);
  });

  it('fails fast on other 4xx, and an admin can replay the delivery', async () => {
    hook.setScript([410]);
    const { rows } = await sql.query(`SELECT realtime.publish('hooks:3', 'gone', '{}') AS id`);
    const id = rows[0].id as string;
    await until(async () => ((await deliveries(id))[0]?.status === 'failed' ? true : undefined));
    expect(await deliveries(id)).toEqual([{ status: 'failed', attempts: 1, last_status: 410 }]);
    const list = await t.request('GET', `/api/realtime/deliveries?status=failed&messageId=${id}`, {
      token: t.apiKey,
    });
    expect(list.body.data).toEqual([
      expect.objectContaining({ messageId: id, status: 'failed', lastStatus: 410, url: hookUrl }),
    ]);
    const replay = await t.request(
      'POST',
      `/api/realtime/deliveries/${list.body.data[0].id}/replay`,
      { token: t.apiKey },
    );
    expect(replay.status).toBe(200);
    await until(async () => ((await deliveries(id))[0]?.status === 'delivered' ? true : undefined));
    // Per-message counters in the admin message list.
    const messages = await t.request('GET', '/api/realtime/messages?channel=hooks:3', {
      token: t.apiKey,
    });
    expect(messages.body).toEqual([
      expect.objectContaining({
        id,
        event: 'gone',
        webhooks: { total: 1, pending: 0, delivered: 1, failed: 0 },
        whAudienceCount: 1,
        whDeliveredCount: 1,
      }),
    ]);
    expect(
      (
        await t.request('POST', `/api/realtime/deliveries/${crypto.randomUUID()}/replay`, {
          token: t.apiKey,
        })
      ).status,
    ).toBe(404);
  });

  it('keeps pending deliveries across a restart, and two instances send each one once', async () => {
    // Receiver refuses for now; the app stops with the delivery pending.
    hook.setScript(Array(1000).fill(503));
    const { rows } = await sql.query(
      `SELECT realtime.publish('hooks:4', 'durable', '{"n": 4}') AS id`,
    );
    const id = rows[0].id as string;
    await until(async () => ((await deliveries(id))[0]?.attempts >= 1 ? true : undefined));
    await t.app.close();

    // Two fresh instances on the same database; the receiver accepts again.
    hook.setScript([]);
    const apps: KilnApp[] = [];
    for (let i = 0; i < 2; i++) {
      const app = await createApp(
        { ...t.app.config, webhookRetryBaseMs: 50 },
        { logger: createLogger({ level: 'error', stdout: true }) },
      );
      await app.listen(0, '127.0.0.1');
      apps.push(app);
    }
    try {
      await until(async () =>
        (await deliveries(id))[0]?.status === 'delivered' ? true : undefined,
      );
      for (let i = 0; i < 5; i++)
        await sql.query(
          `SELECT realtime.publish('hooks:5', 'burst', jsonb_build_object('i', ${i}))`,
        );
      await until(() =>
        hook.received.filter((r) => r.headers['x-insforge-event'] === 'burst').length >= 5
          ? true
          : undefined,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(hook.received.filter((r) => r.headers['x-insforge-message-id'] === id)).toHaveLength(
        1,
      );
      expect(hook.received.filter((r) => r.headers['x-insforge-event'] === 'burst')).toHaveLength(
        5,
      );
    } finally {
      for (const app of apps) await app.close();
    }
  });
});

describe('webhooks to private addresses', () => {
  it('are refused without a connection when private networks are not allowed', async () => {
    const guarded = await startTestApp({ webhookAllowPrivateNetworks: false });
    const db = new pg.Client({ connectionString: pgUrl(guarded.database) });
    await db.connect();
    try {
      const before = hook.received.length;
      const created = await guarded.request('POST', '/api/realtime/channels', {
        token: guarded.apiKey,
        body: { pattern: 'guarded:%', webhookUrls: [hookUrl, 'http://localhost:9/x'] },
      });
      expect(created.status).toBe(201);
      const { rows } = await db.query(`SELECT realtime.publish('guarded:1', 'probe', '{}') AS id`);
      const failed = await until(async () => {
        const { rows: ds } = await db.query(
          'SELECT url, status, attempts, last_error FROM realtime.webhook_deliveries WHERE message_id = $1 ORDER BY url',
          [rows[0].id],
        );
        return ds.every((d) => d.status === 'failed') ? ds : undefined;
      });
      // A literal private IP and a name that resolves to one: both refused, once, for good.
      expect(failed).toEqual([
        expect.objectContaining({
          attempts: 1,
          last_error: expect.stringMatching(/127\.0\.0\.1.*private/),
        }),
        expect.objectContaining({
          attempts: 1,
          last_error: expect.stringMatching(/localhost is a private address/),
        }),
      ]);
      expect(hook.received.length).toBe(before);
    } finally {
      await db.end();
      await guarded.stop();
    }
  });

  it('tells private addresses from public ones', async () => {
    const { isPrivateAddress } = await import('../src/core/outbound.js');
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '64:ff9b::a9fe:a9fe',
      '2002:7f00:1::',
      '::7f00:1',
      'fec0::1',
    ])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700::1111', 'example.com'])
      expect(isPrivateAddress(a), a).toBe(false);
  });
});
