import crypto from 'node:crypto';
import * as insforge from '@insforge/shared-schemas';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJECTED_RAZORPAY_KEY, startFakeRazorpay, type FakeRazorpay } from './fake-razorpay.js';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * Razorpay payments (issue 23) through `@insforge/sdk`'s `client.payments.razorpay` and the
 * admin API, with the official `razorpay` client pointed at a local stand-in (fake-razorpay.ts):
 * keys and webhook secret, catalog and sync, an order paid and verified, a subscription's
 * lifecycle for its owner only, and signed webhooks applied once.
 */
const APP = 'https://shop.example.com';
const KEY_ID = 'rzp_test_KilnKey0001';
const KEY_SECRET = 'razorpay-key-secret-for-tests';
let t: TestApp;
let fake: FakeRazorpay;
let db: pg.Client;
let webhookSecret: string;

beforeAll(async () => {
  fake = await startFakeRazorpay();
  t = await startTestApp({}, { RAZORPAY_API_BASE: fake.url });
  db = new pg.Client({ connectionString: pgUrl(t.database) });
  await db.connect();
  const config = await admin('PUT', '/api/auth/config', { allowedRedirectUrls: [`${APP}/*`] });
  expect(config.status).toBe(200);
});
afterAll(async () => {
  await db?.end();
  await t?.stop();
  await fake?.close();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });
const hmac = (secret: string, data: string) =>
  crypto.createHmac('sha256', secret).update(data).digest('hex');

function sendEvent(eventId: string, event: Record<string, unknown>, secret = webhookSecret) {
  const body = JSON.stringify({ entity: 'event', account_id: 'acc_fake', ...event });
  return t.request('POST', '/api/webhooks/razorpay/test', {
    body,
    headers: {
      'content-type': 'application/json',
      'x-razorpay-signature': hmac(secret, body),
      'x-razorpay-event-id': eventId,
    },
  });
}

async function asUser<T>(userId: string, sql: string): Promise<T[]> {
  await db.query('BEGIN');
  try {
    await db.query('SET LOCAL ROLE authenticated');
    await db.query(`SELECT set_config('request.jwt.claims', $1, true)`, [
      JSON.stringify({ sub: userId, role: 'authenticated' }),
    ]);
    return (await db.query(sql)).rows as T[];
  } finally {
    await db.query('ROLLBACK');
  }
}

/** `value` parses with InsForge's own schema for the route (`@insforge/shared-schemas`). */
function expectInsForgeShape(
  schema: { safeParse(v: unknown): { success: boolean; error?: unknown } },
  value: unknown,
) {
  const result = schema.safeParse(value);
  expect(result.success, JSON.stringify(result.error)).toBe(true);
}

let planId: string;

describe('keys and webhook secret', () => {
  it('refuses a key of the wrong environment and one Razorpay rejects', async () => {
    const live = await admin('PUT', '/api/payments/razorpay/test/config', {
      keyId: 'rzp_live_x',
      keySecret: 's',
    });
    expect(live.status).toBe(400);
    const rejected = await admin('PUT', '/api/payments/razorpay/test/config', {
      keyId: REJECTED_RAZORPAY_KEY,
      keySecret: 's',
    });
    expect(rejected.status).toBe(400);
    expect(rejected.body.error).toBe('PAYMENTS_INVALID_KEY');
    expect((await admin('PUT', '/api/payments/razorpay/test/config', {})).status).toBe(400);
  });

  it('stores the key pair sealed, shows the webhook setup and rotates its secret', async () => {
    const res = await admin('PUT', '/api/payments/razorpay/test/config', {
      keyId: KEY_ID,
      keySecret: KEY_SECRET,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectInsForgeShape(insforge.getRazorpayConfigResponseSchema, res.body);
    expect(res.body.keys.slice(0, 2)).toEqual([
      { environment: 'test', keyType: 'api_key', value: KEY_ID },
      { environment: 'test', keyType: 'api_secret', value: '••••••••' },
    ]);
    const { rows } = await db.query(
      `SELECT secret_sealed FROM payments.provider_configs WHERE provider = 'razorpay'`,
    );
    expect(rows[0].secret_sealed).not.toContain(KEY_SECRET);
    const setup = await admin('GET', '/api/payments/razorpay/test/webhook');
    expect(setup.body.webhookUrl).toBe(`${t.baseUrl}/api/webhooks/razorpay/test`);
    const rotated = await admin('POST', '/api/payments/razorpay/test/webhook/rotate-secret');
    expectInsForgeShape(insforge.rotateRazorpayWebhookSecretResponseSchema, rotated.body);
    expect(rotated.body.webhookSecret).not.toBe(setup.body.webhookSecret);
    webhookSecret = rotated.body.webhookSecret;
    const status = await admin('GET', '/api/payments/razorpay/status');
    expectInsForgeShape(insforge.getRazorpayStatusResponseSchema, status.body);
    expect(status.body.razorpayConnections[0]).toMatchObject({
      environment: 'test',
      status: 'connected',
      maskedKey: 'rzp_test_…0001',
    });
    const user = await t.signUpUser();
    expect(
      (await t.request('GET', '/api/payments/razorpay/config', { token: user.accessToken })).status,
    ).toBe(403);
  });
});

describe('catalog', () => {
  it('creates and changes items, creates plans, and syncs what was made at Razorpay', async () => {
    const item = await admin('POST', '/api/payments/razorpay/test/catalog/items', {
      name: 'Sticker',
      amount: 9900,
      currency: 'inr',
    });
    expect(item.status, JSON.stringify(item.body)).toBe(201);
    expectInsForgeShape(insforge.mutateRazorpayItemResponseSchema, item.body);
    expect(item.body.item).toMatchObject({ name: 'Sticker', amount: 9900, currency: 'INR' });
    const patched = await admin(
      'PATCH',
      `/api/payments/razorpay/test/catalog/items/${item.body.item.itemId}`,
      { name: 'Big sticker' },
    );
    expect(patched.body.item.name).toBe('Big sticker');
    expect(
      (await admin('PATCH', '/api/payments/razorpay/test/catalog/items/item_nope', { name: 'x' }))
        .status,
    ).toBe(404);

    const plan = await admin('POST', '/api/payments/razorpay/test/catalog/plans', {
      period: 'monthly',
      interval: 1,
      item: { name: 'Gold', amount: 29900, currency: 'INR' },
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    planId = plan.body.plan.planId;
    expectInsForgeShape(insforge.mutateRazorpayPlanResponseSchema, plan.body);
    expect(plan.body.plan).toMatchObject({ period: 'monthly', interval: 1, amount: 29900 });
    expect(
      (
        await admin('POST', '/api/payments/razorpay/test/catalog/plans', {
          period: 'hourly',
          interval: 1,
          item: { name: 'x', amount: 1, currency: 'INR' },
        })
      ).status,
    ).toBe(400);

    fake.state.plans.set('plan_direct', {
      id: 'plan_direct',
      entity: 'plan',
      interval: 1,
      period: 'yearly',
      item: { id: 'item_direct', name: 'Made at Razorpay', amount: 100000, currency: 'INR' },
      notes: {},
      created_at: 1,
    });
    const sync = await admin('POST', '/api/payments/razorpay/sync', { environment: 'test' });
    expect(sync.status, JSON.stringify(sync.body)).toBe(200);
    expectInsForgeShape(insforge.syncRazorpayPaymentsResponseSchema, sync.body);
    expect(sync.body.results[0]).toMatchObject({
      status: 'succeeded',
      syncCounts: { plans: 2, items: 1 },
    });
    const catalog = await admin('GET', '/api/payments/razorpay/test/catalog');
    expectInsForgeShape(insforge.listRazorpayCatalogResponseSchema, catalog.body);
    expect(catalog.body.plans.map((p: { planId: string }) => p.planId).sort()).toEqual(
      [planId, 'plan_direct'].sort(),
    );
    expect(catalog.body.items.map((i: { name: string }) => i.name)).toContain('Made at Razorpay');
  });
});

describe('orders', () => {
  it('creates an order for the signed-in user and verifies its payment signature', async () => {
    const buyer = await t.signUpUser();
    const other = await t.signUpUser();
    const { data, error } = await buyer.client.payments.razorpay.createOrder('test', {
      amount: 50000,
      currency: 'inr',
      receipt: 'receipt-1',
      callbackUrl: `${APP}/paid`,
      customerEmail: buyer.email,
    });
    expect(error).toBeNull();
    expectInsForgeShape(insforge.createRazorpayOrderResponseSchema, data);
    expect(data!.order).toMatchObject({
      status: 'created',
      amount: 50000,
      currency: 'INR',
      subjectType: 'user',
      subjectId: buyer.userId,
    });
    expect(data!.checkoutOptions).toMatchObject({
      key: KEY_ID,
      amount: 50000,
      order_id: data!.order.orderId,
      callback_url: `${APP}/paid`,
      prefill: { email: buyer.email },
    });
    const orderId = data!.order.orderId!;
    expect(fake.state.orders.get(orderId)!.notes.kiln_subject_id).toBe(buyer.userId);

    const paymentId = 'pay_test_1';
    const forged = await buyer.client.payments.razorpay.verifyOrder('test', {
      orderId,
      paymentId,
      signature: hmac('not-the-secret', `${orderId}|${paymentId}`),
    });
    expect(forged.error?.statusCode).toBe(400);
    expect(forged.error?.error).toBe('PAYMENTS_SIGNATURE_INVALID');
    const signature = hmac(KEY_SECRET, `${orderId}|${paymentId}`);
    const notTheirs = await other.client.payments.razorpay.verifyOrder('test', {
      orderId,
      paymentId,
      signature,
    });
    expect(notTheirs.error?.statusCode).toBe(404);

    const verified = await buyer.client.payments.razorpay.verifyOrder('test', {
      orderId,
      paymentId,
      signature,
    });
    expect(verified.error).toBeNull();
    expectInsForgeShape(insforge.verifyRazorpayOrderResponseSchema, verified.data);
    expect(verified.data).toMatchObject({
      verified: true,
      order: { status: 'paid', verifiedPaymentId: paymentId, amountDue: 0 },
    });
    expect(
      await asUser<{ amount: string }>(buyer.userId, 'SELECT amount FROM payments.transactions'),
    ).toEqual([{ amount: '50000' }]);
    expect(await asUser(other.userId, 'SELECT * FROM payments.transactions')).toEqual([]);
    expect(await asUser(other.userId, 'SELECT * FROM payments.orders')).toEqual([]);

    const away = await buyer.client.payments.razorpay.createOrder('test', {
      amount: 50000,
      currency: 'INR',
      callbackUrl: 'https://elsewhere.example.org/cb',
    });
    expect(away.error?.statusCode).toBe(400);
    expect(away.error?.error).toBe('PAYMENTS_REDIRECT_NOT_ALLOWED');
    const bad = await buyer.client.payments.razorpay.createOrder('test', {
      amount: -1,
      currency: 'INR',
    });
    expect(bad.error?.statusCode).toBe(400);
    const tooSmall = await buyer.client.payments.razorpay.createOrder('test', {
      amount: 5,
      currency: 'INR',
    });
    expect(tooSmall.error?.statusCode).toBe(400);
    expect(tooSmall.error?.error).toBe('PAYMENTS_PROVIDER_REJECTED');
  });
});

describe('subscriptions and webhooks', () => {
  it('runs a subscription’s lifecycle for its owner only; webhooks apply once', async () => {
    const owner = await t.signUpUser();
    const stranger = await t.signUpUser();
    const rzp = owner.client.payments.razorpay;
    const refused = await stranger.client.payments.razorpay.createSubscription('test', {
      planId,
      totalCount: 12,
      subject: { type: 'user', id: owner.userId },
    });
    expect(refused.error?.statusCode).toBe(403);
    const noEnd = await t.request('POST', '/api/payments/razorpay/test/subscriptions', {
      token: owner.accessToken,
      body: { planId, subject: { type: 'user', id: owner.userId } },
    });
    expect(noEnd.status).toBe(400);

    const { data, error } = await rzp.createSubscription('test', {
      planId,
      totalCount: 12,
      subject: { type: 'user', id: owner.userId },
    });
    expect(error).toBeNull();
    expectInsForgeShape(insforge.createRazorpaySubscriptionResponseSchema, data);
    const sub = data!.subscription;
    expect(sub).toMatchObject({
      planId,
      status: 'created',
      totalCount: 12,
      subjectId: owner.userId,
    });
    expect(data!.checkoutOptions).toMatchObject({
      key: KEY_ID,
      subscription_id: sub.subscriptionId,
    });
    expect(sub.customerId).toMatch(/^cust_/);
    expect(fake.state.customers.get(sub.customerId!)!.email).toBe(owner.email);

    const paymentId = 'pay_auth_1';
    const verified = await rzp.verifySubscription('test', {
      subscriptionId: sub.subscriptionId,
      paymentId,
      signature: hmac(KEY_SECRET, `${paymentId}|${sub.subscriptionId}`),
    });
    expect(verified.error).toBeNull();
    expectInsForgeShape(insforge.verifyRazorpaySubscriptionResponseSchema, verified.data);
    expect(verified.data!.subscription.authorizationPaymentId).toBe(paymentId);

    // Razorpay activates it after the authorisation and says so by webhook.
    const remote = fake.state.subscriptions.get(sub.subscriptionId)!;
    remote.status = 'active';
    remote.current_start = 1_700_000_000;
    remote.current_end = 1_702_592_000;
    const activated = await sendEvent('evt_rzp_1', {
      event: 'subscription.activated',
      payload: { subscription: { entity: remote } },
    });
    expect(activated.status, JSON.stringify(activated.body)).toBe(200);
    expect(activated.body).toEqual({ received: true, handled: true });
    expectInsForgeShape(insforge.razorpayWebhookResponseSchema, activated.body);
    expect(
      await asUser<{ status: string }>(owner.userId, 'SELECT status FROM payments.subscriptions'),
    ).toEqual([{ status: 'active' }]);
    expect(await asUser(stranger.userId, 'SELECT * FROM payments.subscriptions')).toEqual([]);

    // A replay of a stale event (same id) is acknowledged and ignored; a forged one refused.
    const replay = await sendEvent('evt_rzp_1', {
      event: 'subscription.activated',
      payload: { subscription: { entity: { ...remote, status: 'created' } } },
    });
    expect(replay.body).toEqual({ received: true, handled: false });
    const forged = await sendEvent(
      'evt_rzp_forged',
      { event: 'subscription.cancelled', payload: { subscription: { entity: remote } } },
      'wrong-secret',
    );
    expect(forged.status).toBe(400);
    expect(forged.body.error).toBe('PAYMENTS_WEBHOOK_SIGNATURE_INVALID');

    const charged = await sendEvent('evt_rzp_2', {
      event: 'subscription.charged',
      payload: {
        subscription: { entity: remote },
        payment: {
          entity: { id: 'pay_charge_1', amount: 29900, currency: 'INR', created_at: 1_700_000_050 },
        },
      },
    });
    expect(charged.body.handled).toBe(true);
    const { rows: messages } = await db.query(
      `SELECT event FROM realtime.messages WHERE channel = $1 ORDER BY created_at`,
      [`payments:${owner.userId}`],
    );
    expect(messages.map((m) => m.event)).toEqual([
      'subscription.activated',
      'subscription.charged',
    ]);

    const strangerPause = await stranger.client.payments.razorpay.pauseSubscription(
      'test',
      sub.subscriptionId,
    );
    expect(strangerPause.error?.statusCode).toBe(404);
    const paused = await rzp.pauseSubscription('test', sub.subscriptionId);
    expect(paused.error).toBeNull();
    expect(paused.data!.subscription.status).toBe('paused');
    expectInsForgeShape(insforge.pauseRazorpaySubscriptionResponseSchema, paused.data);
    const again = await rzp.pauseSubscription('test', sub.subscriptionId);
    expect(again.error?.statusCode).toBe(400);
    const resumed = await rzp.resumeSubscription('test', sub.subscriptionId);
    expect(resumed.data!.subscription.status).toBe('active');
    const cancelled = await rzp.cancelSubscription('test', sub.subscriptionId);
    expect(cancelled.error).toBeNull();
    expect(cancelled.data!.subscription).toMatchObject({ status: 'cancelled' });
    expect(cancelled.data!.subscription.endedAt).not.toBeNull();

    const subs = await admin(
      'GET',
      `/api/payments/razorpay/test/subscriptions?subjectType=user&subjectId=${owner.userId}`,
    );
    expectInsForgeShape(insforge.listRazorpaySubscriptionsResponseSchema, subs.body);
    expect(subs.body.subscriptions).toEqual([
      expect.objectContaining({ subscriptionId: sub.subscriptionId, status: 'cancelled' }),
    ]);
    const customers = await admin('GET', '/api/payments/razorpay/test/customers');
    expectInsForgeShape(insforge.listPaymentCustomersResponseSchema, customers.body);
    expect(customers.body.customers).toEqual([
      expect.objectContaining({ providerCustomerId: sub.customerId, email: owner.email }),
    ]);
    const transactions = await admin('GET', '/api/payments/razorpay/test/transactions?limit=1');
    expectInsForgeShape(insforge.listPaymentTransactionsResponseSchema, transactions.body);
    expect(transactions.body.transactions).toEqual([
      expect.objectContaining({
        type: 'subscription_invoice',
        providerReferenceId: 'pay_charge_1',
        subjectId: owner.userId,
      }),
    ]);
  });

  it('marks an order paid when Razorpay reports the payment captured', async () => {
    const buyer = await t.signUpUser();
    const { data } = await buyer.client.payments.razorpay.createOrder('test', {
      amount: 12300,
      currency: 'INR',
    });
    const orderId = data!.order.orderId!;
    const captured = await sendEvent('evt_rzp_captured', {
      event: 'payment.captured',
      payload: {
        payment: {
          entity: {
            id: 'pay_cap_1',
            order_id: orderId,
            amount: 12300,
            currency: 'INR',
            status: 'captured',
          },
        },
      },
    });
    expect(captured.body.handled).toBe(true);
    expect(
      await asUser<{ status: string }>(buyer.userId, 'SELECT status FROM payments.orders'),
    ).toEqual([{ status: 'paid' }]);
    const unknown = await sendEvent('evt_rzp_other', { event: 'refund.created', payload: {} });
    expect(unknown.body).toEqual({ received: true, handled: false });
  });
});
