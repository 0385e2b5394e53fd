import * as insforge from '@insforge/shared-schemas';
import Stripe from 'stripe';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJECTED_STRIPE_KEY, startFakeStripe, type FakeStripe } from './fake-stripe.js';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * Stripe payments (issue 23) through `@insforge/sdk`'s `client.payments.stripe` and the admin
 * API, with the official `stripe` client pointed at a local stand-in (fake-stripe.ts): keys,
 * catalog CRUD and sync, checkout for the signed-in user's own subject, signed webhooks applied
 * once, rows under RLS for their owner only, and an application policy gated on an active
 * subscription.
 */
const APP = 'https://app.example.com';
const SECRET_KEY = 'sk_test_51KilnFakeKeyForTests0000abcd';
let t: TestApp;
let fake: FakeStripe;
let db: pg.Client;
const signer = new Stripe('sk_test_signer');

beforeAll(async () => {
  fake = await startFakeStripe();
  t = await startTestApp({}, { STRIPE_API_BASE: fake.url });
  db = new pg.Client({ connectionString: pgUrl(t.database) });
  await db.connect();
  // An application table readable only by users with an active subscription.
  await db.query(`
    CREATE TABLE public.premium_notes (id serial PRIMARY KEY, body text NOT NULL);
    ALTER TABLE public.premium_notes ENABLE ROW LEVEL SECURITY;
    GRANT SELECT ON public.premium_notes TO authenticated;
    CREATE POLICY subscribers_read ON public.premium_notes FOR SELECT TO authenticated
      USING (EXISTS (SELECT 1 FROM payments.subscriptions s
                      WHERE s.user_id = auth.uid() AND s.status = 'active'));
    INSERT INTO public.premium_notes (body) VALUES ('for subscribers');
    -- The same gate in a policy for every role (anon included).
    CREATE TABLE public.member_news (id serial PRIMARY KEY, body text NOT NULL);
    ALTER TABLE public.member_news ENABLE ROW LEVEL SECURITY;
    GRANT SELECT ON public.member_news TO anon, authenticated;
    CREATE POLICY subscribers_read ON public.member_news FOR SELECT
      USING (EXISTS (SELECT 1 FROM payments.subscriptions s
                      WHERE s.user_id = auth.uid() AND s.status = 'active'));
    INSERT INTO public.member_news (body) VALUES ('news');
    NOTIFY kiln_schema_change;`);
  const config = await admin('PUT', '/api/auth/config', { allowedRedirectUrls: [`${APP}/*`] });
  expect(config.status, JSON.stringify(config.body)).toBe(200);
});
afterAll(async () => {
  await db?.end();
  await t?.stop();
  await fake?.close();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });

const webhookUrl = () => `${t.baseUrl}/api/webhooks/stripe/test`;

/** POSTs a Stripe event signed the way Stripe signs it (or with `secret`, when given). */
function sendEvent(
  event: { id: string; type: string; object: Record<string, unknown> },
  secret = fake.webhookSecret(webhookUrl()),
) {
  const payload = JSON.stringify({
    id: event.id,
    object: 'event',
    api_version: '2025-08-27.basil',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    type: event.type,
    data: { object: event.object },
  });
  const header = signer.webhooks.generateTestHeaderString({ payload, secret });
  return t.request('POST', '/api/webhooks/stripe/test', {
    body: payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': header },
  });
}

/** Rows of `sql` as the signed-in user `userId` sees them (RLS applies). */
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

const sockets: Socket[] = [];
afterAll(() => sockets.forEach((s) => s.close()));
function connect(token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(t.baseUrl, {
      transports: ['websocket'],
      auth: { token },
      reconnection: false,
      forceNew: true,
    });
    sockets.push(socket);
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}
const subscribe = (socket: Socket, channel: string) =>
  new Promise<unknown>((resolve) => socket.emit('realtime:subscribe', { channel }, resolve));

let priceId: string;
let productId: string;

describe('keys', () => {
  it('refuses a key of the wrong environment, and one Stripe rejects', async () => {
    const wrong = await admin('PUT', '/api/payments/stripe/test/config', {
      secretKey: 'sk_live_abc',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('PAYMENTS_INVALID_KEY');
    const rejected = await admin('PUT', '/api/payments/stripe/test/config', {
      secretKey: REJECTED_STRIPE_KEY,
    });
    expect(rejected.status).toBe(400);
    expect(rejected.body.error).toBe('PAYMENTS_INVALID_KEY');
  });

  it('answers 409 for checkout before any key is stored', async () => {
    const user = await t.signUpUser();
    const { error } = await user.client.payments.stripe.createCheckoutSession('test', {
      mode: 'payment',
      lineItems: [{ priceId: 'price_x', quantity: 1 }],
      successUrl: `${APP}/ok`,
      cancelUrl: `${APP}/cancel`,
    });
    expect(error?.statusCode).toBe(409);
    expect(error?.error).toBe('PAYMENTS_NOT_CONFIGURED');
  });

  it('stores a key sealed, registers the webhook endpoint and reports the connection', async () => {
    const res = await admin('PUT', '/api/payments/stripe/test/config', { secretKey: SECRET_KEY });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectInsForgeShape(insforge.getStripeConfigResponseSchema, res.body);
    expect(res.body.keys).toEqual([
      { environment: 'test', value: 'sk_test_…abcd' },
      { environment: 'live', value: null },
    ]);
    const { rows } = await db.query(
      `SELECT secret_sealed, webhook_secret_sealed FROM payments.provider_configs`,
    );
    expect(rows[0].secret_sealed).not.toContain(SECRET_KEY);
    expect(rows[0].webhook_secret_sealed).toMatch(/^v1:/);
    expect([...fake.state.webhookEndpoints.values()].map((e) => e.url)).toEqual([webhookUrl()]);
    const status = await admin('GET', '/api/payments/stripe/status');
    expectInsForgeShape(insforge.getStripeStatusResponseSchema, status.body);
    expect(status.body.connections[0]).toMatchObject({
      environment: 'test',
      status: 'connected',
      accountId: 'acct_fake',
      accountEmail: 'owner@shop.test',
      webhookEndpointUrl: webhookUrl(),
      lastSyncStatus: 'succeeded',
    });
    expect(status.body.connections[1]).toMatchObject({
      environment: 'live',
      status: 'unconfigured',
    });
  });

  it('is admin-only', async () => {
    const user = await t.signUpUser();
    const res = await t.request('GET', '/api/payments/stripe/status', { token: user.accessToken });
    expect(res.status).toBe(403);
    expect((await t.request('GET', '/api/payments/stripe/config', {})).status).toBe(401);
  });
});

describe('catalog', () => {
  it('creates, reads, changes and archives products and prices at Stripe', async () => {
    const product = await admin('POST', '/api/payments/stripe/test/catalog/products', {
      name: 'Pro',
      description: 'Everything',
      metadata: { tier: 'pro' },
    });
    expect(product.status, JSON.stringify(product.body)).toBe(201);
    productId = product.body.product.productId;
    expectInsForgeShape(insforge.mutateStripeProductResponseSchema, product.body);
    expect(fake.state.products.get(productId)?.name).toBe('Pro');

    const price = await admin('POST', '/api/payments/stripe/test/catalog/prices', {
      productId,
      currency: 'USD',
      unitAmount: 1500,
      recurring: { interval: 'month' },
    });
    expect(price.status, JSON.stringify(price.body)).toBe(201);
    priceId = price.body.price.priceId;
    expectInsForgeShape(insforge.mutateStripePriceResponseSchema, price.body);
    expect(price.body.price).toMatchObject({
      currency: 'usd',
      unitAmount: 1500,
      type: 'recurring',
      recurringInterval: 'month',
      recurringIntervalCount: 1,
    });

    const patched = await admin(
      'PATCH',
      `/api/payments/stripe/test/catalog/products/${productId}`,
      {
        name: 'Pro plan',
      },
    );
    expect(patched.status).toBe(200);
    expect(patched.body.product.name).toBe('Pro plan');

    const got = await admin('GET', `/api/payments/stripe/test/catalog/products/${productId}`);
    expectInsForgeShape(insforge.getStripeProductResponseSchema, got.body);
    expect(got.body.product.name).toBe('Pro plan');
    expect(got.body.prices.map((p: { priceId: string }) => p.priceId)).toEqual([priceId]);

    const oneOff = await admin('POST', '/api/payments/stripe/test/catalog/prices', {
      productId,
      currency: 'usd',
      unitAmount: 900,
    });
    const archived = await admin(
      'DELETE',
      `/api/payments/stripe/test/catalog/prices/${oneOff.body.price.priceId}`,
    );
    expect(archived.status).toBe(200);
    expectInsForgeShape(insforge.archiveStripePriceResponseSchema, archived.body);
    expect(archived.body).toMatchObject({ archived: true, price: { active: false } });

    // Stripe refuses to delete a product with prices: a 4xx, not a 500.
    const refused = await admin(
      'DELETE',
      `/api/payments/stripe/test/catalog/products/${productId}`,
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('PAYMENTS_PROVIDER_REJECTED');

    const bare = await admin('POST', '/api/payments/stripe/test/catalog/products', { name: 'Tmp' });
    const deleted = await admin(
      'DELETE',
      `/api/payments/stripe/test/catalog/products/${bare.body.product.productId}`,
    );
    expect(deleted.body).toEqual({ productId: bare.body.product.productId, deleted: true });
  });

  it('answers 404 for unknown ids and 400 for bad input', async () => {
    expect(
      (await admin('GET', '/api/payments/stripe/test/catalog/products/prod_nope')).status,
    ).toBe(404);
    const missing = await admin('PATCH', '/api/payments/stripe/test/catalog/prices/price_nope', {
      active: false,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('PAYMENTS_NOT_FOUND');
    expect(
      (await admin('POST', '/api/payments/stripe/test/catalog/prices', { productId: 'x' })).status,
    ).toBe(400);
    expect((await admin('PATCH', `/api/payments/stripe/test/catalog/products/x`, {})).status).toBe(
      400,
    );
    expect((await admin('GET', '/api/payments/stripe/staging/catalog')).status).toBe(400);
  });

  it('syncs what was made at Stripe directly', async () => {
    fake.state.products.set('prod_dashboard', {
      id: 'prod_dashboard',
      object: 'product',
      name: 'Made in the Stripe dashboard',
      description: null,
      active: true,
      default_price: null,
      metadata: {},
      created: 1,
    });
    const sync = await admin('POST', '/api/payments/stripe/sync', {});
    expect(sync.status, JSON.stringify(sync.body)).toBe(200);
    expect(sync.body.results).toHaveLength(1);
    expectInsForgeShape(insforge.syncStripePaymentsResponseSchema, sync.body);
    expect(sync.body.results[0].connection.lastSyncCounts).toMatchObject({ products: 2 });
    const catalog = await admin('GET', '/api/payments/stripe/test/catalog');
    expectInsForgeShape(insforge.listStripeCatalogResponseSchema, catalog.body);
    expect(catalog.body.products.map((p: { productId: string }) => p.productId).sort()).toEqual(
      [productId, 'prod_dashboard'].sort(),
    );
    expect(catalog.body.prices).toHaveLength(2);
  });
});

describe('checkout, webhooks and RLS', () => {
  let alice: Awaited<ReturnType<TestApp['signUpUser']>>;
  let bob: Awaited<ReturnType<TestApp['signUpUser']>>;
  let customerId: string;
  const subscriptionId = 'sub_alice_1';

  beforeAll(async () => {
    alice = await t.signUpUser();
    bob = await t.signUpUser();
  });

  const subscription = (status: string, extra: Record<string, unknown> = {}) => ({
    id: subscriptionId,
    object: 'subscription',
    customer: customerId,
    status,
    cancel_at_period_end: false,
    cancel_at: null,
    canceled_at: null,
    trial_start: null,
    trial_end: null,
    created: 1_700_000_000,
    latest_invoice: 'in_1',
    metadata: {},
    items: {
      object: 'list',
      data: [
        {
          id: 'si_1',
          object: 'subscription_item',
          price: { id: priceId, object: 'price', product: productId },
          quantity: 1,
          metadata: {},
          created: 1_700_000_000,
          current_period_start: 1_700_000_000,
          current_period_end: 1_702_592_000,
        },
      ],
    },
    ...extra,
  });

  it('opens a checkout session for the signed-in user, creating their customer once', async () => {
    const { data, error } = await alice.client.payments.stripe.createCheckoutSession('test', {
      mode: 'subscription',
      lineItems: [{ priceId, quantity: 1 }],
      successUrl: `${APP}/thanks`,
      cancelUrl: `${APP}/pricing`,
      subject: { type: 'user', id: alice.userId },
    });
    expect(error).toBeNull();
    expectInsForgeShape(insforge.createCheckoutSessionResponseSchema, data);
    expect(data!.checkoutSession).toMatchObject({
      environment: 'test',
      mode: 'subscription',
      status: 'open',
      subjectType: 'user',
      subjectId: alice.userId,
    });
    expect(data!.checkoutSession.url).toMatch(/^https:\/\/checkout\.stripe\.test\//);
    const sent = fake.state.checkoutSessions.at(-1)!;
    customerId = sent.customer;
    expect(fake.state.customers.get(customerId)).toMatchObject({
      email: alice.email,
      metadata: { kiln_subject_type: 'user', kiln_subject_id: alice.userId },
    });
    expect(sent.line_items).toEqual([{ price: priceId, quantity: '1' }]);
    expect(sent.subscription_data.metadata.kiln_subject_id).toBe(alice.userId);

    // Without a subject, the signed-in user is the subject: the same customer.
    const again = await alice.client.payments.stripe.createCheckoutSession('test', {
      mode: 'payment',
      lineItems: [{ priceId, quantity: 2 }],
      successUrl: `${APP}/thanks`,
      cancelUrl: `${APP}/pricing`,
    });
    expect(again.error).toBeNull();
    expect(fake.state.checkoutSessions.at(-1)!.customer).toBe(customerId);
    expect(fake.state.customers.size).toBe(1);
  });

  it('refuses another user’s subject, a redirect URL not allowed, bad input and anon', async () => {
    const other = await bob.client.payments.stripe.createCheckoutSession('test', {
      mode: 'subscription',
      lineItems: [{ priceId, quantity: 1 }],
      successUrl: `${APP}/thanks`,
      cancelUrl: `${APP}/pricing`,
      subject: { type: 'user', id: alice.userId },
    });
    expect(other.error?.statusCode).toBe(403);
    expect(other.error?.error).toBe('PAYMENTS_SUBJECT_FORBIDDEN');

    const redirect = await bob.client.payments.stripe.createCheckoutSession('test', {
      mode: 'payment',
      lineItems: [{ priceId, quantity: 1 }],
      successUrl: 'https://evil.example.net/phish',
      cancelUrl: `${APP}/pricing`,
    });
    expect(redirect.error?.statusCode).toBe(400);
    expect(redirect.error?.error).toBe('PAYMENTS_REDIRECT_NOT_ALLOWED');

    const bad = await t.request('POST', '/api/payments/stripe/test/checkout-sessions', {
      token: bob.accessToken,
      body: { mode: 'payment', lineItems: [], successUrl: 'nope', cancelUrl: `${APP}/x` },
    });
    expect(bad.status).toBe(400);

    const unknownPrice = await bob.client.payments.stripe.createCheckoutSession('test', {
      mode: 'payment',
      lineItems: [{ priceId: 'price_unknown', quantity: 1 }],
      successUrl: `${APP}/thanks`,
      cancelUrl: `${APP}/pricing`,
    });
    expect(unknownPrice.error?.statusCode).toBe(404);

    const anon = await t.request('POST', '/api/payments/stripe/test/checkout-sessions', {
      token: t.anonKey,
      body: {
        mode: 'payment',
        lineItems: [{ priceId }],
        successUrl: `${APP}/a`,
        cancelUrl: `${APP}/b`,
      },
    });
    expect(anon.status).toBe(401);
  });

  it('applies signed webhooks once; the subscription gates an application policy', async () => {
    // Events reach the owner's realtime channel, and only the owner may subscribe to it.
    const channel = await admin('POST', '/api/realtime/channels', {
      pattern: 'payments:%',
      enabled: true,
    });
    expect(channel.status, JSON.stringify(channel.body)).toBe(201);
    const aliceSocket = await connect(alice.accessToken);
    const bobSocket = await connect(bob.accessToken);
    expect(await subscribe(aliceSocket, `payments:${alice.userId}`)).toMatchObject({ ok: true });
    expect(await subscribe(bobSocket, `payments:${alice.userId}`)).toMatchObject({ ok: false });
    const delivered = new Promise<Record<string, unknown>>((resolve) =>
      aliceSocket.on('customer.subscription.updated', resolve),
    );
    const queue = await admin('PUT', '/api/jobs/queues/payments', {
      target: { type: 'http', url: 'http://127.0.0.1:9/never' },
    });
    expect(queue.status, JSON.stringify(queue.body)).toBe(201);
    const session = fake.state.checkoutSessions[0]!;
    const completed = await sendEvent({
      id: 'evt_checkout_1',
      type: 'checkout.session.completed',
      object: {
        ...session,
        status: 'complete',
        payment_status: 'paid',
        subscription: subscriptionId,
      },
    });
    expect(completed.status, JSON.stringify(completed.body)).toBe(200);
    expectInsForgeShape(insforge.stripeWebhookResponseSchema, completed.body);
    expect(completed.body).toMatchObject({
      received: true,
      handled: true,
      event: { eventId: 'evt_checkout_1', processingStatus: 'processed' },
    });

    const created = await sendEvent({
      id: 'evt_sub_created',
      type: 'customer.subscription.created',
      object: subscription('incomplete'),
    });
    expect(created.body.handled).toBe(true);
    const notYet = await alice.client.database.from('premium_notes').select('body');
    expect(notYet.error).toBeNull();
    expect(notYet.data).toEqual([]);

    const active = await sendEvent({
      id: 'evt_sub_active',
      type: 'customer.subscription.updated',
      object: subscription('active'),
    });
    expect(active.body.handled).toBe(true);
    expect(await delivered).toMatchObject({
      provider: 'stripe',
      status: 'active',
      objectId: subscriptionId,
      userId: alice.userId,
      meta: { channel: `payments:${alice.userId}`, senderType: 'system' },
    });
    const now = await alice.client.database.from('premium_notes').select('body');
    expect(now.data).toEqual([{ body: 'for subscribers' }]);
    const forBob = await bob.client.database.from('premium_notes').select('body');
    expect(forBob.data).toEqual([]);
    // A policy for every role: anon sees nothing (no error), the subscriber sees the row.
    const forAnon = await t.sdk().database.from('member_news').select('body');
    expect(forAnon.error).toBeNull();
    expect(forAnon.data).toEqual([]);
    expect((await alice.client.database.from('member_news').select('body')).data).toEqual([
      { body: 'news' },
    ]);

    // A replay of the older event (same id) is acknowledged and changes nothing.
    const replay = await sendEvent({
      id: 'evt_sub_created',
      type: 'customer.subscription.created',
      object: subscription('incomplete'),
    });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ received: true, handled: false });
    expect((await alice.client.database.from('premium_notes').select('body')).data).toHaveLength(1);

    // Rows are their owner's only.
    const mine = await asUser<{ subscription_id: string; status: string }>(
      alice.userId,
      'SELECT subscription_id, status FROM payments.subscriptions',
    );
    expect(mine).toEqual([{ subscription_id: subscriptionId, status: 'active' }]);
    expect(await asUser(bob.userId, 'SELECT * FROM payments.subscriptions')).toEqual([]);
    // Bob has a customer too (his own checkouts above): he sees it, and only it.
    const bobs = await asUser<{ user_id: string }>(
      bob.userId,
      'SELECT user_id FROM payments.customers',
    );
    expect(bobs).toEqual([{ user_id: bob.userId }]);
    expect(
      await asUser<{ provider_customer_id: string }>(
        alice.userId,
        'SELECT provider_customer_id FROM payments.customers',
      ),
    ).toEqual([{ provider_customer_id: customerId }]);
    expect(await asUser(bob.userId, 'SELECT * FROM payments.products')).not.toEqual([]);
    await expect(asUser(bob.userId, 'SELECT * FROM payments.provider_configs')).rejects.toThrow(
      /permission denied/,
    );

    // Announced: a realtime message for Alice and a job on the `payments` queue, per event.
    const { rows: messages } = await db.query(
      `SELECT event, payload FROM realtime.messages WHERE channel = $1 ORDER BY created_at`,
      [`payments:${alice.userId}`],
    );
    expect(messages.map((m) => m.event)).toEqual([
      'checkout.session.completed',
      'customer.subscription.created',
      'customer.subscription.updated',
    ]);
    expect(messages[2].payload).toMatchObject({ status: 'active', objectId: subscriptionId });
    const { rows: jobs } = await db.query(
      `SELECT payload FROM jobs.jobs WHERE queue = 'payments' ORDER BY created_at`,
    );
    expect(jobs.map((j) => j.payload.eventId)).toEqual([
      'evt_checkout_1',
      'evt_sub_created',
      'evt_sub_active',
    ]);
  });

  it('refuses forged, tampered and unsigned deliveries', async () => {
    const forged = await sendEvent(
      { id: 'evt_forged', type: 'customer.subscription.updated', object: subscription('active') },
      'whsec_not_the_secret',
    );
    expect(forged.status).toBe(400);
    expect(forged.body.error).toBe('PAYMENTS_WEBHOOK_SIGNATURE_INVALID');

    const payload = JSON.stringify({ id: 'evt_t', type: 'x', data: { object: {} } });
    const header = signer.webhooks.generateTestHeaderString({
      payload,
      secret: fake.webhookSecret(webhookUrl()),
    });
    const tampered = await t.request('POST', '/api/webhooks/stripe/test', {
      body: payload.replace('evt_t', 'evt_u'),
      headers: { 'content-type': 'application/json', 'stripe-signature': header },
    });
    expect(tampered.status).toBe(400);
    const unsigned = await t.request('POST', '/api/webhooks/stripe/test', { body: payload });
    expect(unsigned.status).toBe(400);
    const live = await t.request('POST', '/api/webhooks/stripe/live', {
      body: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': header },
    });
    expect(live.status).toBe(409);
    const { rows } = await db.query(
      `SELECT event_id FROM payments.webhook_events WHERE event_id IN ('evt_forged', 'evt_t', 'evt_u')`,
    );
    expect(rows).toEqual([]);
  });

  it('records paid invoices as the owner’s transactions; admin lists them', async () => {
    const paid = await sendEvent({
      id: 'evt_invoice_1',
      type: 'invoice.paid',
      object: {
        id: 'in_1',
        object: 'invoice',
        customer: customerId,
        customer_email: alice.email,
        amount_paid: 1500,
        amount_due: 1500,
        currency: 'usd',
        status: 'paid',
        created: 1_700_000_100,
      },
    });
    expect(paid.body.handled).toBe(true);
    expect(
      await asUser<{ amount: string }>(alice.userId, 'SELECT amount FROM payments.transactions'),
    ).toEqual([{ amount: '1500' }]);
    expect(await asUser(bob.userId, 'SELECT * FROM payments.transactions')).toEqual([]);

    const tx = await admin('GET', '/api/payments/stripe/test/transactions');
    expect(tx.status).toBe(200);
    expectInsForgeShape(insforge.listPaymentTransactionsResponseSchema, tx.body);
    expect(tx.body.transactions).toEqual([
      expect.objectContaining({
        type: 'subscription_invoice',
        status: 'succeeded',
        amount: 1500,
        subjectId: alice.userId,
        providerReferenceId: 'in_1',
      }),
    ]);
    const customers = await admin('GET', '/api/payments/stripe/test/customers?limit=10');
    expect(customers.body.customers).toHaveLength(2);
    expectInsForgeShape(insforge.listPaymentCustomersResponseSchema, customers.body);
    expect(
      customers.body.customers.find(
        (c: { providerCustomerId: string }) => c.providerCustomerId === customerId,
      ),
    ).toEqual(
      expect.objectContaining({
        providerCustomerId: customerId,
        email: alice.email,
        paymentsCount: 1,
        totalSpend: 1500,
        totalSpendCurrency: 'usd',
      }),
    );
    const subs = await admin(
      'GET',
      `/api/payments/stripe/test/subscriptions?subjectType=user&subjectId=${alice.userId}`,
    );
    expectInsForgeShape(insforge.listStripeSubscriptionsResponseSchema, subs.body);
    expect(subs.body.subscriptions).toEqual([
      expect.objectContaining({
        subscriptionId,
        status: 'active',
        customerId,
        currentPeriodEnd: new Date(1_702_592_000_000).toISOString(),
        items: [expect.objectContaining({ priceId, productId, quantity: 1 })],
      }),
    ]);
    expect(
      (await admin('GET', '/api/payments/stripe/test/subscriptions?subjectType=user')).status,
    ).toBe(400);
    const paged = await admin('GET', '/api/payments/stripe/test/subscriptions?offset=1');
    expect(paged.body.subscriptions).toEqual([]);
  });

  it('opens a portal session for the owner only', async () => {
    const { data, error } = await alice.client.payments.stripe.createCustomerPortalSession('test', {
      subject: { type: 'user', id: alice.userId },
      returnUrl: `${APP}/account`,
    });
    expect(error).toBeNull();
    expectInsForgeShape(insforge.createCustomerPortalSessionResponseSchema, data);
    expect(data!.customerPortalSession).toMatchObject({
      status: 'created',
      customerId,
      subjectId: alice.userId,
    });
    expect(fake.state.portalSessions.at(-1)!.customer).toBe(customerId);

    const carol = await t.signUpUser();
    const noCustomer = await carol.client.payments.stripe.createCustomerPortalSession('test', {
      subject: { type: 'user', id: carol.userId },
    });
    expect(noCustomer.error?.statusCode).toBe(404);
    expect(noCustomer.error?.error).toBe('PAYMENTS_CUSTOMER_NOT_FOUND');
    const stolen = await bob.client.payments.stripe.createCustomerPortalSession('test', {
      subject: { type: 'user', id: alice.userId },
    });
    expect(stolen.error?.statusCode).toBe(403);
    const away = await alice.client.payments.stripe.createCustomerPortalSession('test', {
      subject: { type: 'user', id: alice.userId },
      returnUrl: 'https://elsewhere.example.org/',
    });
    expect(away.error?.statusCode).toBe(400);
  });

  it('applies one of two simultaneous deliveries of an event; refuses oversized ones', async () => {
    const event = {
      id: 'evt_concurrent',
      type: 'customer.subscription.updated',
      object: subscription('active', { metadata: { seats: '3' } }),
    };
    const answers = await Promise.all([sendEvent(event), sendEvent(event), sendEvent(event)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.filter((a) => a.body.handled)).toHaveLength(1);
    const { rows } = await db.query(
      `SELECT attempt_count FROM payments.webhook_events WHERE event_id = 'evt_concurrent'`,
    );
    expect(rows).toEqual([{ attempt_count: 1 }]);

    const big = await t.request('POST', '/api/webhooks/stripe/test', {
      body: JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 1) }),
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
    });
    expect(big.status).toBe(413);
  });

  it('creates one customer for simultaneous first checkouts; refuses reserved metadata', async () => {
    const carol = await t.signUpUser();
    const before = fake.state.customers.size;
    const open = () =>
      carol.client.payments.stripe.createCheckoutSession('test', {
        mode: 'payment',
        lineItems: [{ priceId, quantity: 1 }],
        successUrl: `${APP}/thanks`,
        cancelUrl: `${APP}/pricing`,
      });
    const sessions = await Promise.all([open(), open(), open()]);
    expect(sessions.map((r) => r.error)).toEqual([null, null, null]);
    expect(fake.state.customers.size).toBe(before + 1);
    expect(new Set(sessions.map((r) => r.data!.checkoutSession.customerId)).size).toBe(1);

    const reserved = await carol.client.payments.stripe.createCheckoutSession('test', {
      mode: 'payment',
      lineItems: [{ priceId, quantity: 1 }],
      successUrl: `${APP}/thanks`,
      cancelUrl: `${APP}/pricing`,
      metadata: { kiln_subject_id: 'someone-else' },
    });
    expect(reserved.error?.statusCode).toBe(400);
  });

  it('a cancelled subscription closes the gate again', async () => {
    const deleted = await sendEvent({
      id: 'evt_sub_deleted',
      type: 'customer.subscription.deleted',
      object: subscription('canceled', { canceled_at: 1_700_100_000 }),
    });
    expect(deleted.body.handled).toBe(true);
    expect((await alice.client.database.from('premium_notes').select('body')).data).toEqual([]);
  });
});
