/**
 * Stripe through the official `stripe` client: keys per environment, checkout and portal
 * sessions for a user's own billing subject, the catalog (products, prices), sync, and the
 * signed webhook that keeps customers, subscriptions and transactions in `payments`.
 */
import crypto from 'node:crypto';
import Stripe from 'stripe';
import type {
  PaymentEnvironment,
  StripeConnection,
  StripePrice,
  StripeProduct,
  StripeSubscription,
} from '@kiln/shared-schemas';
import type { z } from 'zod';
import type {
  createCheckoutSessionRequestSchema,
  createCustomerPortalSessionRequestSchema,
  createStripePriceRequestSchema,
  createStripeProductRequestSchema,
  updateStripePriceRequestSchema,
  updateStripeProductRequestSchema,
} from '@kiln/shared-schemas';
import type { SecretBox } from '../core/crypto.js';
import { lockFor, type Database, type Principal, type Tx } from '../core/db.js';
import { AppError } from '../core/errors.js';
import {
  ENVIRONMENTS,
  ProviderConfigs,
  announce,
  checkRedirect,
  claimEvent,
  connectionFields,
  eventResponse,
  failEvent,
  findCustomer,
  finishEvent,
  fromUnix,
  iso,
  maskKey,
  subjectFor,
  subjectFromMetadata,
  subjectMetadata,
  subjectOfCustomer,
  upsertCustomer,
  upsertTransaction,
  userMetadata,
  type ListQuery,
  type Queryable,
  type PaymentsOptions,
  type ProviderConfigRow,
  type ResolvedSubject,
} from './common.js';

type CheckoutRequest = z.output<typeof createCheckoutSessionRequestSchema>;
type PortalRequest = z.output<typeof createCustomerPortalSessionRequestSchema>;

/** The events Kiln asks Stripe to send to its webhook endpoint. */
const WEBHOOK_EVENTS: Stripe.WebhookEndpointCreateParams.EnabledEvent[] = [
  'checkout.session.completed',
  'checkout.session.expired',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
  'product.created',
  'product.updated',
  'product.deleted',
  'price.created',
  'price.updated',
  'price.deleted',
];

/** A Stripe failure as the contract's envelope: the provider's 4xx stay 4xx, the rest 502. */
export function stripeError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (err instanceof Stripe.errors.StripeError) {
    const status = err.statusCode ?? 0;
    if (status === 404 || err.code === 'resource_missing')
      return new AppError(404, 'PAYMENTS_NOT_FOUND', `Stripe: ${err.message}`);
    if (status === 401 || err.type === 'StripeAuthenticationError')
      return new AppError(400, 'PAYMENTS_INVALID_KEY', `Stripe refused the key: ${err.message}`);
    if (status >= 400 && status < 500)
      return new AppError(400, 'PAYMENTS_PROVIDER_REJECTED', `Stripe: ${err.message}`);
    return new AppError(502, 'PAYMENTS_PROVIDER_UNAVAILABLE', `Stripe: ${err.message}`);
  }
  return err;
}

interface ProductRow {
  environment: PaymentEnvironment;
  product_id: string;
  name: string;
  description: string | null;
  active: boolean;
  default_price_id: string | null;
  metadata: Record<string, string>;
  synced_at: Date;
}
interface PriceRow {
  environment: PaymentEnvironment;
  price_id: string;
  product_id: string | null;
  active: boolean;
  currency: string;
  unit_amount: string | null;
  unit_amount_decimal: string | null;
  type: string;
  lookup_key: string | null;
  billing_scheme: string | null;
  tax_behavior: string | null;
  recurring_interval: string | null;
  recurring_interval_count: number | null;
  metadata: Record<string, string>;
  synced_at: Date;
}
interface SubscriptionRow {
  environment: PaymentEnvironment;
  subscription_id: string;
  provider_customer_id: string | null;
  subject_type: string | null;
  subject_id: string | null;
  status: StripeSubscription['status'];
  current_period_start: Date | null;
  current_period_end: Date | null;
  cancel_at_period_end: boolean;
  canceled_at: Date | null;
  metadata: Record<string, string>;
  details: {
    cancelAt?: string | null;
    trialStart?: string | null;
    trialEnd?: string | null;
    latestInvoiceId?: string | null;
    items?: {
      id: string;
      productId: string | null;
      priceId: string | null;
      quantity: number | null;
      metadata: Record<string, string>;
      created: string;
    }[];
  };
  synced_at: Date;
  created_at: Date;
  updated_at: Date;
}

const productOut = (r: ProductRow): StripeProduct => ({
  environment: r.environment,
  productId: r.product_id,
  name: r.name,
  description: r.description,
  active: r.active,
  defaultPriceId: r.default_price_id,
  metadata: r.metadata,
  syncedAt: r.synced_at.toISOString(),
});
const priceOut = (r: PriceRow): StripePrice => ({
  environment: r.environment,
  priceId: r.price_id,
  productId: r.product_id,
  active: r.active,
  currency: r.currency,
  unitAmount: r.unit_amount === null ? null : Number(r.unit_amount),
  unitAmountDecimal: r.unit_amount_decimal,
  type: r.type,
  lookupKey: r.lookup_key,
  billingScheme: r.billing_scheme,
  taxBehavior: r.tax_behavior,
  recurringInterval: r.recurring_interval,
  recurringIntervalCount: r.recurring_interval_count,
  metadata: r.metadata,
  syncedAt: r.synced_at.toISOString(),
});
const subscriptionOut = (r: SubscriptionRow): StripeSubscription => ({
  environment: r.environment,
  subscriptionId: r.subscription_id,
  customerId: r.provider_customer_id,
  subjectType: r.subject_type,
  subjectId: r.subject_id,
  status: r.status,
  currentPeriodStart: iso(r.current_period_start),
  currentPeriodEnd: iso(r.current_period_end),
  cancelAtPeriodEnd: r.cancel_at_period_end,
  cancelAt: r.details.cancelAt ?? null,
  canceledAt: iso(r.canceled_at),
  trialStart: r.details.trialStart ?? null,
  trialEnd: r.details.trialEnd ?? null,
  latestInvoiceId: r.details.latestInvoiceId ?? null,
  metadata: userMetadata(r.metadata),
  syncedAt: r.synced_at.toISOString(),
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  items: (r.details.items ?? []).map((i) => ({
    environment: r.environment,
    subscriptionItemId: i.id,
    subscriptionId: r.subscription_id,
    productId: i.productId,
    priceId: i.priceId,
    quantity: i.quantity,
    metadata: i.metadata,
    createdAt: i.created,
    updatedAt: r.updated_at.toISOString(),
  })),
});

const idOf = (v: string | { id: string } | null | undefined): string | null =>
  typeof v === 'string' ? v : (v?.id ?? null);

export class StripePayments {
  readonly configs: ProviderConfigs;
  private readonly clients = new Map<string, Stripe>();

  constructor(
    readonly db: Database,
    box: SecretBox,
    private readonly options: PaymentsOptions,
  ) {
    this.configs = new ProviderConfigs(db, box, 'stripe');
  }

  /** A client for `secretKey`, pointed at STRIPE_API_BASE when set. */
  clientFor(secretKey: string): Stripe {
    const cached = this.clients.get(secretKey);
    if (cached) return cached;
    const config: Stripe.StripeConfig = { maxNetworkRetries: 1, timeout: 20_000 };
    if (this.options.stripeApiBase) {
      const base = new URL(this.options.stripeApiBase);
      config.host = base.hostname;
      config.protocol = base.protocol === 'http:' ? 'http' : 'https';
      config.port = base.port || (base.protocol === 'http:' ? 80 : 443);
    }
    const client = new Stripe(secretKey, config);
    this.clients.set(secretKey, client);
    return client;
  }

  private async client(environment: PaymentEnvironment): Promise<Stripe> {
    const row = await this.configs.require(environment);
    return this.clientFor(this.configs.open(row.secret_sealed));
  }

  private connection(environment: PaymentEnvironment, row?: ProviderConfigRow): StripeConnection {
    return { ...connectionFields(environment, row), accountEmail: row?.account_name ?? null };
  }

  async status(): Promise<StripeConnection[]> {
    const rows = await this.configs.all();
    return ENVIRONMENTS.map((env) => this.connection(env, rows.get(env)));
  }

  async keys() {
    const rows = await this.configs.all();
    return ENVIRONMENTS.map((environment) => ({
      environment,
      value: rows.get(environment)?.masked_key ?? null,
    }));
  }

  webhookUrl(environment: PaymentEnvironment): string {
    return `${this.options.apiBaseUrl().replace(/\/$/, '')}/api/webhooks/stripe/${environment}`;
  }

  /**
   * Stores a secret key after Stripe accepts it (the account is read with it), registers Kiln's
   * webhook endpoint with the account (its signing secret is stored sealed too), then syncs.
   */
  async configure(environment: PaymentEnvironment, secretKey: string) {
    const expected = environment === 'live' ? /^(sk|rk)_live_/ : /^(sk|rk)_test_/;
    if (!expected.test(secretKey))
      throw new AppError(
        400,
        'PAYMENTS_INVALID_KEY',
        `A ${environment} Stripe key starts with sk_${environment}_ (or rk_${environment}_)`,
      );
    const stripe = this.clientFor(secretKey);
    try {
      const account = await stripe.accounts.retrieveCurrent();
      const previous = await this.configs.get(environment);
      const url = this.webhookUrl(environment);
      const endpoint = await stripe.webhookEndpoints.create({
        url,
        enabled_events: WEBHOOK_EVENTS,
        description: 'Kiln payments',
      });
      if (previous?.webhook_endpoint_id && previous.secret_sealed) {
        // The endpoint registered with the previous key: best effort, it may be gone already.
        const old = this.clientFor(this.configs.open(previous.secret_sealed));
        await old.webhookEndpoints.del(previous.webhook_endpoint_id).catch(() => undefined);
      }
      await this.db.query(
        `INSERT INTO payments.provider_configs (provider, environment, secret_sealed,
            webhook_secret_sealed, masked_key, status, account_id, account_name, account_livemode,
            webhook_endpoint_id, webhook_endpoint_url, webhook_configured_at)
         VALUES ('stripe', $1, $2, $3, $4, 'connected', $5, $6, $7, $8, $9, now())
         ON CONFLICT (provider, environment) DO UPDATE SET
           secret_sealed = EXCLUDED.secret_sealed,
           webhook_secret_sealed = EXCLUDED.webhook_secret_sealed,
           masked_key = EXCLUDED.masked_key, status = 'connected',
           account_id = EXCLUDED.account_id, account_name = EXCLUDED.account_name,
           account_livemode = EXCLUDED.account_livemode,
           webhook_endpoint_id = EXCLUDED.webhook_endpoint_id,
           webhook_endpoint_url = EXCLUDED.webhook_endpoint_url,
           webhook_configured_at = now(), updated_at = now()`,
        [
          environment,
          this.configs.seal(secretKey),
          endpoint.secret ? this.configs.seal(endpoint.secret) : null,
          maskKey(secretKey),
          account.id,
          account.email ?? null,
          environment === 'live',
          endpoint.id,
          url,
        ],
      );
    } catch (err) {
      throw stripeError(err);
    }
    await this.syncEnvironment(environment);
    return { keys: await this.keys() };
  }

  async unconfigure(environment: PaymentEnvironment) {
    const row = await this.configs.remove(environment);
    if (row.webhook_endpoint_id) {
      const stripe = this.clientFor(this.configs.open(row.secret_sealed));
      await stripe.webhookEndpoints.del(row.webhook_endpoint_id).catch(() => undefined);
    }
    return { keys: await this.keys() };
  }

  /** Registers the webhook endpoint again (a new signing secret). */
  async configureWebhook(environment: PaymentEnvironment) {
    const row = await this.configs.require(environment);
    await this.configure(environment, this.configs.open(row.secret_sealed));
    return { connection: this.connection(environment, await this.configs.get(environment)) };
  }

  // -------------------------------------------------------------------------------------------
  // Checkout and portal
  // -------------------------------------------------------------------------------------------

  /** The subject's Stripe customer, created (and mapped) on its first checkout. */
  private async customerFor(
    environment: PaymentEnvironment,
    stripe: Stripe,
    subject: ResolvedSubject,
    email: string | null | undefined,
  ): Promise<string> {
    return this.db.transaction(async (tx) => {
      await lockFor(tx, `payments:stripe:${environment}:${subject.type}:${subject.id}`);
      const existing = await findCustomer(tx, 'stripe', environment, subject);
      if (existing) return existing.provider_customer_id;
      let userEmail = email ?? null;
      if (!userEmail && subject.userId) {
        const { rows } = await tx.query<{ email: string }>(
          `SELECT email FROM auth.users WHERE id = $1`,
          [subject.userId],
        );
        userEmail = rows[0]?.email ?? null;
      }
      const customer = await stripe.customers.create({
        email: userEmail ?? undefined,
        metadata: subjectMetadata(subject),
      });
      await upsertCustomer(tx, 'stripe', environment, {
        providerCustomerId: customer.id,
        subject,
        email: customer.email ?? userEmail,
        name: customer.name ?? null,
        metadata: customer.metadata,
        providerCreatedAt: fromUnix(customer.created),
      });
      return customer.id;
    });
  }

  async createCheckoutSession(
    environment: PaymentEnvironment,
    body: CheckoutRequest,
    principal: Principal,
  ) {
    await checkRedirect(this.options, 'successUrl', body.successUrl);
    await checkRedirect(this.options, 'cancelUrl', body.cancelUrl);
    const subject = await subjectFor(
      this.db,
      principal,
      body.subject,
      body.mode === 'subscription',
    );
    const stripe = await this.client(environment);
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO payments.checkout_sessions (environment, mode, subject_type, subject_id, user_id,
          customer_email)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [
        environment,
        body.mode,
        subject?.type ?? null,
        subject?.id ?? null,
        subject?.userId ?? null,
        body.customerEmail ?? null,
      ],
    );
    const id = rows[0]!.id;
    try {
      const customer = subject
        ? await this.customerFor(environment, stripe, subject, body.customerEmail)
        : undefined;
      const metadata = { ...body.metadata, ...subjectMetadata(subject), kiln_checkout_id: id };
      const session = await stripe.checkout.sessions.create(
        {
          mode: body.mode,
          line_items: body.lineItems.map((l) => ({ price: l.priceId, quantity: l.quantity })),
          success_url: body.successUrl,
          cancel_url: body.cancelUrl,
          client_reference_id: id,
          customer,
          customer_email: customer ? undefined : (body.customerEmail ?? undefined),
          metadata,
          ...(body.mode === 'subscription'
            ? { subscription_data: { metadata: { ...body.metadata, ...subjectMetadata(subject) } } }
            : { payment_intent_data: { metadata } }),
        },
        body.idempotencyKey ? { idempotencyKey: body.idempotencyKey } : undefined,
      );
      await this.db.query(
        `UPDATE payments.checkout_sessions SET status = 'open', checkout_session_id = $2,
            provider_customer_id = $3, url = $4, payment_status = $5, updated_at = now()
          WHERE id = $1`,
        [
          id,
          session.id,
          idOf(session.customer) ?? customer ?? null,
          session.url,
          session.payment_status,
        ],
      );
    } catch (err) {
      await this.db.query(
        `UPDATE payments.checkout_sessions SET status = 'failed', last_error = $2, updated_at = now()
          WHERE id = $1`,
        [id, err instanceof Error ? err.message.slice(0, 500) : String(err)],
      );
      throw stripeError(err);
    }
    return { checkoutSession: await this.checkoutSession(id) };
  }

  private async checkoutSession(id: string) {
    const { rows } = await this.db.query(`SELECT * FROM payments.checkout_sessions WHERE id = $1`, [
      id,
    ]);
    const r = rows[0]!;
    return {
      id: r.id as string,
      environment: r.environment,
      mode: r.mode,
      status: r.status,
      paymentStatus: r.payment_status,
      subjectType: r.subject_type,
      subjectId: r.subject_id,
      customerEmail: r.customer_email,
      checkoutSessionId: r.checkout_session_id,
      customerId: r.provider_customer_id,
      paymentIntentId: r.payment_intent_id,
      subscriptionId: r.subscription_id,
      url: r.url,
      lastError: r.last_error,
      createdAt: (r.created_at as Date).toISOString(),
      updatedAt: (r.updated_at as Date).toISOString(),
    };
  }

  async createPortalSession(
    environment: PaymentEnvironment,
    body: PortalRequest,
    principal: Principal,
  ) {
    await checkRedirect(this.options, 'returnUrl', body.returnUrl);
    const subject = (await subjectFor(this.db, principal, body.subject, true))!;
    const stripe = await this.client(environment);
    const customer = await findCustomer(this.db, 'stripe', environment, subject);
    if (!customer)
      throw new AppError(
        404,
        'PAYMENTS_CUSTOMER_NOT_FOUND',
        'This billing subject has no Stripe customer yet (it is created by its first checkout)',
      );
    const now = new Date().toISOString();
    try {
      const session = await stripe.billingPortal.sessions.create({
        customer: customer.provider_customer_id,
        return_url: body.returnUrl,
        configuration: body.configuration,
      });
      return {
        customerPortalSession: {
          id: crypto.randomUUID(),
          environment,
          status: 'created' as const,
          subjectType: subject.type,
          subjectId: subject.id,
          customerId: customer.provider_customer_id,
          returnUrl: body.returnUrl ?? null,
          configuration: body.configuration ?? null,
          url: session.url,
          lastError: null,
          createdAt: now,
          updatedAt: now,
        },
      };
    } catch (err) {
      throw stripeError(err);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Catalog
  // -------------------------------------------------------------------------------------------

  private async upsertProduct(q: Queryable, env: PaymentEnvironment, p: Stripe.Product) {
    const { rows } = await q.query<ProductRow>(
      `INSERT INTO payments.products (environment, product_id, name, description, active,
          default_price_id, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (environment, product_id) DO UPDATE SET name = EXCLUDED.name,
         description = EXCLUDED.description, active = EXCLUDED.active,
         default_price_id = EXCLUDED.default_price_id, metadata = EXCLUDED.metadata,
         synced_at = now()
       RETURNING *`,
      [
        env,
        p.id,
        p.name,
        p.description ?? null,
        p.active,
        idOf(p.default_price as string | Stripe.Price | null),
        JSON.stringify(p.metadata ?? {}),
      ],
    );
    return rows[0]!;
  }

  private async upsertPrice(q: Queryable, env: PaymentEnvironment, p: Stripe.Price) {
    const { rows } = await q.query<PriceRow>(
      `INSERT INTO payments.prices (environment, price_id, product_id, active, currency,
          unit_amount, unit_amount_decimal, type, lookup_key, billing_scheme, tax_behavior,
          recurring_interval, recurring_interval_count, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb)
       ON CONFLICT (environment, price_id) DO UPDATE SET product_id = EXCLUDED.product_id,
         active = EXCLUDED.active, currency = EXCLUDED.currency,
         unit_amount = EXCLUDED.unit_amount, unit_amount_decimal = EXCLUDED.unit_amount_decimal,
         type = EXCLUDED.type, lookup_key = EXCLUDED.lookup_key,
         billing_scheme = EXCLUDED.billing_scheme, tax_behavior = EXCLUDED.tax_behavior,
         recurring_interval = EXCLUDED.recurring_interval,
         recurring_interval_count = EXCLUDED.recurring_interval_count,
         metadata = EXCLUDED.metadata, synced_at = now()
       RETURNING *`,
      [
        env,
        p.id,
        idOf(p.product as string | Stripe.Product),
        p.active,
        p.currency,
        p.unit_amount ?? null,
        p.unit_amount_decimal ?? null,
        p.type,
        p.lookup_key ?? null,
        p.billing_scheme ?? null,
        p.tax_behavior ?? null,
        p.recurring?.interval ?? null,
        p.recurring?.interval_count ?? null,
        JSON.stringify(p.metadata ?? {}),
      ],
    );
    return rows[0]!;
  }

  async listProducts(env: PaymentEnvironment) {
    const { rows } = await this.db.query<ProductRow>(
      `SELECT * FROM payments.products WHERE environment = $1 ORDER BY name, product_id`,
      [env],
    );
    return rows.map(productOut);
  }

  async listPrices(env: PaymentEnvironment, productId?: string) {
    const { rows } = await this.db.query<PriceRow>(
      `SELECT * FROM payments.prices WHERE environment = $1
          AND ($2::text IS NULL OR product_id = $2)
        ORDER BY product_id, unit_amount, price_id`,
      [env, productId ?? null],
    );
    return rows.map(priceOut);
  }

  async getProduct(env: PaymentEnvironment, productId: string) {
    const { rows } = await this.db.query<ProductRow>(
      `SELECT * FROM payments.products WHERE environment = $1 AND product_id = $2`,
      [env, productId],
    );
    if (!rows[0]) throw new AppError(404, 'PAYMENTS_NOT_FOUND', `No product ${productId}`);
    return { product: productOut(rows[0]), prices: await this.listPrices(env, productId) };
  }

  async getPrice(env: PaymentEnvironment, priceId: string) {
    const { rows } = await this.db.query<PriceRow>(
      `SELECT * FROM payments.prices WHERE environment = $1 AND price_id = $2`,
      [env, priceId],
    );
    if (!rows[0]) throw new AppError(404, 'PAYMENTS_NOT_FOUND', `No price ${priceId}`);
    return { price: priceOut(rows[0]) };
  }

  async createProduct(
    env: PaymentEnvironment,
    body: z.output<typeof createStripeProductRequestSchema>,
  ) {
    const stripe = await this.client(env);
    try {
      const product = await stripe.products.create(
        {
          name: body.name,
          description: body.description ?? undefined,
          active: body.active,
          metadata: body.metadata,
        },
        body.idempotencyKey ? { idempotencyKey: body.idempotencyKey } : undefined,
      );
      return { product: productOut(await this.upsertProduct(this.db, env, product)) };
    } catch (err) {
      throw stripeError(err);
    }
  }

  async updateProduct(
    env: PaymentEnvironment,
    productId: string,
    body: z.output<typeof updateStripeProductRequestSchema>,
  ) {
    const stripe = await this.client(env);
    try {
      const product = await stripe.products.update(productId, {
        name: body.name,
        // Stripe clears a field given as an empty string.
        description: body.description === null ? '' : body.description,
        active: body.active,
        metadata: body.metadata,
      });
      return { product: productOut(await this.upsertProduct(this.db, env, product)) };
    } catch (err) {
      throw stripeError(err);
    }
  }

  async deleteProduct(env: PaymentEnvironment, productId: string) {
    const stripe = await this.client(env);
    try {
      const result = await stripe.products.del(productId);
      await this.db.query(
        `DELETE FROM payments.products WHERE environment = $1 AND product_id = $2`,
        [env, productId],
      );
      return { productId, deleted: result.deleted };
    } catch (err) {
      throw stripeError(err);
    }
  }

  async createPrice(
    env: PaymentEnvironment,
    body: z.output<typeof createStripePriceRequestSchema>,
  ) {
    const stripe = await this.client(env);
    try {
      const price = await stripe.prices.create(
        {
          product: body.productId,
          currency: body.currency,
          unit_amount: body.unitAmount,
          lookup_key: body.lookupKey ?? undefined,
          active: body.active,
          recurring: body.recurring
            ? { interval: body.recurring.interval, interval_count: body.recurring.intervalCount }
            : undefined,
          tax_behavior: body.taxBehavior,
          metadata: body.metadata,
        },
        body.idempotencyKey ? { idempotencyKey: body.idempotencyKey } : undefined,
      );
      return { price: priceOut(await this.upsertPrice(this.db, env, price)) };
    } catch (err) {
      throw stripeError(err);
    }
  }

  async updatePrice(
    env: PaymentEnvironment,
    priceId: string,
    body: z.output<typeof updateStripePriceRequestSchema>,
  ) {
    const stripe = await this.client(env);
    try {
      const price = await stripe.prices.update(priceId, {
        active: body.active,
        lookup_key: body.lookupKey === null ? '' : body.lookupKey,
        tax_behavior: body.taxBehavior,
        metadata: body.metadata,
      });
      return { price: priceOut(await this.upsertPrice(this.db, env, price)) };
    } catch (err) {
      throw stripeError(err);
    }
  }

  /** Stripe prices cannot be deleted: they are archived (active: false). */
  async archivePrice(env: PaymentEnvironment, priceId: string) {
    const stripe = await this.client(env);
    try {
      const price = await stripe.prices.update(priceId, { active: false });
      return { price: priceOut(await this.upsertPrice(this.db, env, price)), archived: true };
    } catch (err) {
      throw stripeError(err);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Subscriptions, sync
  // -------------------------------------------------------------------------------------------

  private async upsertSubscription(
    q: Queryable,
    env: PaymentEnvironment,
    s: Stripe.Subscription,
  ): Promise<{ userId: string | null; subject: ResolvedSubject | null }> {
    const customerId = idOf(s.customer as string | Stripe.Customer);
    const subject =
      (await subjectOfCustomer(q, 'stripe', env, customerId)) ??
      (await subjectFromMetadata(q, s.metadata));
    const items = s.items?.data ?? [];
    // Since API version 2025-03-31 the period lives on the items.
    const legacy = s as unknown as { current_period_start?: number; current_period_end?: number };
    const periodStart = legacy.current_period_start ?? items[0]?.current_period_start;
    const periodEnd = legacy.current_period_end ?? items[0]?.current_period_end;
    const details: SubscriptionRow['details'] = {
      cancelAt: iso(fromUnix(s.cancel_at)),
      trialStart: iso(fromUnix(s.trial_start)),
      trialEnd: iso(fromUnix(s.trial_end)),
      latestInvoiceId: idOf(s.latest_invoice as string | { id: string } | null),
      items: items.map((i) => ({
        id: i.id,
        productId: idOf(i.price?.product as string | Stripe.Product | undefined),
        priceId: i.price?.id ?? null,
        quantity: i.quantity ?? null,
        metadata: i.metadata ?? {},
        created: (fromUnix(i.created) ?? new Date()).toISOString(),
      })),
    };
    await q.query(
      `INSERT INTO payments.subscriptions (provider, environment, subscription_id,
          provider_customer_id, subject_type, subject_id, user_id, status, current_period_start,
          current_period_end, cancel_at_period_end, canceled_at, metadata, details, created_at)
       VALUES ('stripe', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb,
               coalesce($14, now()))
       ON CONFLICT (provider, environment, subscription_id) DO UPDATE SET
         provider_customer_id = EXCLUDED.provider_customer_id,
         subject_type = coalesce(EXCLUDED.subject_type, payments.subscriptions.subject_type),
         subject_id = coalesce(EXCLUDED.subject_id, payments.subscriptions.subject_id),
         user_id = coalesce(EXCLUDED.user_id, payments.subscriptions.user_id),
         status = EXCLUDED.status, current_period_start = EXCLUDED.current_period_start,
         current_period_end = EXCLUDED.current_period_end,
         cancel_at_period_end = EXCLUDED.cancel_at_period_end,
         canceled_at = EXCLUDED.canceled_at, metadata = EXCLUDED.metadata,
         details = EXCLUDED.details, synced_at = now(), updated_at = now()`,
      [
        env,
        s.id,
        customerId,
        subject?.type ?? null,
        subject?.id ?? null,
        subject?.userId ?? null,
        s.status,
        fromUnix(periodStart),
        fromUnix(periodEnd),
        s.cancel_at_period_end ?? false,
        fromUnix(s.canceled_at),
        JSON.stringify(s.metadata ?? {}),
        JSON.stringify(details),
        fromUnix(s.created),
      ],
    );
    return { userId: subject?.userId ?? null, subject };
  }

  async listSubscriptions(env: PaymentEnvironment, q: ListQuery) {
    const { rows } = await this.db.query<SubscriptionRow>(
      `SELECT * FROM payments.subscriptions WHERE provider = 'stripe' AND environment = $1
          AND ($2::text IS NULL OR (subject_type = $2 AND subject_id = $3))
        ORDER BY created_at DESC, subscription_id LIMIT $4 OFFSET $5`,
      [env, q.subjectType ?? null, q.subjectId ?? null, q.limit, q.offset],
    );
    return rows.map(subscriptionOut);
  }

  /** Catalog and subscriptions of each configured environment, read back from Stripe. */
  async sync(environment: PaymentEnvironment | 'all') {
    const rows = await this.configs.all();
    const envs = environment === 'all' ? ENVIRONMENTS.filter((e) => rows.has(e)) : [environment];
    if (environment !== 'all') await this.configs.require(environment);
    const results = [];
    for (const env of envs) results.push(await this.syncEnvironment(env));
    return { results };
  }

  private async syncEnvironment(env: PaymentEnvironment) {
    const stripe = await this.client(env);
    let summary = null;
    try {
      const products: Stripe.Product[] = [];
      for await (const p of stripe.products.list({ limit: 100 })) products.push(p);
      const prices: Stripe.Price[] = [];
      for await (const p of stripe.prices.list({ limit: 100 })) prices.push(p);
      const subscriptions: Stripe.Subscription[] = [];
      for await (const s of stripe.subscriptions.list({ limit: 100, status: 'all' }))
        subscriptions.push(s);
      summary = await this.db.transaction(async (tx) => {
        for (const p of products) await this.upsertProduct(tx, env, p);
        for (const p of prices) await this.upsertPrice(tx, env, p);
        await tx.query(
          `DELETE FROM payments.prices WHERE environment = $1 AND NOT (price_id = ANY($2))`,
          [env, prices.map((p) => p.id)],
        );
        await tx.query(
          `DELETE FROM payments.products WHERE environment = $1 AND NOT (product_id = ANY($2))`,
          [env, products.map((p) => p.id)],
        );
        let unmapped = 0;
        for (const s of subscriptions) {
          const { subject } = await this.upsertSubscription(tx, env, s);
          if (!subject) unmapped++;
        }
        const deleted = await tx.query(
          `DELETE FROM payments.subscriptions WHERE provider = 'stripe' AND environment = $1
              AND NOT (subscription_id = ANY($2))`,
          [env, subscriptions.map((s) => s.id)],
        );
        return {
          environment: env,
          synced: subscriptions.length,
          unmapped,
          deleted: deleted.rowCount ?? 0,
          counts: {
            products: products.length,
            prices: prices.length,
            subscriptions: subscriptions.length,
          },
        };
      });
      await this.configs.recordSync(env, { counts: summary.counts });
    } catch (err) {
      const mapped = stripeError(err);
      await this.configs.recordSync(env, {
        error: mapped instanceof Error ? mapped.message : String(mapped),
        counts: {},
      });
    }
    const row = await this.configs.get(env);
    return {
      environment: env,
      connection: this.connection(env, row),
      subscriptions: summary
        ? {
            environment: env,
            synced: summary.synced,
            unmapped: summary.unmapped,
            deleted: summary.deleted,
          }
        : null,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Webhook
  // -------------------------------------------------------------------------------------------

  /**
   * A delivery from Stripe: the signature is checked over the exact bytes with the endpoint's
   * signing secret (`stripe.webhooks.constructEvent`); an event id seen before is acknowledged
   * and not applied again; the change and its announcements commit together.
   */
  async receiveWebhook(env: PaymentEnvironment, body: Buffer, signature: string | undefined) {
    const row = await this.configs.require(env);
    if (!row.webhook_secret_sealed)
      throw new AppError(409, 'PAYMENTS_NOT_CONFIGURED', 'No Stripe webhook secret is stored');
    const secret = this.configs.open(row.webhook_secret_sealed);
    const stripe = this.clientFor(this.configs.open(row.secret_sealed));
    if (!signature)
      throw new AppError(400, 'PAYMENTS_WEBHOOK_SIGNATURE_INVALID', 'Stripe-Signature is missing');
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(body, signature, secret);
    } catch (err) {
      throw new AppError(
        400,
        'PAYMENTS_WEBHOOK_SIGNATURE_INVALID',
        `The Stripe signature does not verify: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const object = event.data.object as { id?: string; object?: string };
    const record = {
      provider: 'stripe' as const,
      environment: env,
      eventId: event.id,
      eventType: event.type,
      livemode: event.livemode,
      accountId: event.account ?? null,
      objectType: object.object ?? null,
      objectId: object.id ?? null,
    };
    try {
      const result = await this.db.transaction(async (tx) => {
        const claimed = await claimEvent(tx, record);
        if (!claimed) return undefined;
        const handled = await this.apply(tx, env, event);
        const done = await finishEvent(tx, 'stripe', env, event.id, handled !== null);
        if (handled)
          await announce(tx, [handled.userId], {
            provider: 'stripe',
            environment: env,
            eventId: event.id,
            type: event.type,
            objectId: object.id ?? null,
            status: handled.status,
            subjectType: handled.subject?.type ?? null,
            subjectId: handled.subject?.id ?? null,
          });
        return { handled: handled !== null, event: done };
      });
      if (!result) {
        // A replay: acknowledged (Stripe stops retrying), nothing applied.
        return { received: true, handled: false };
      }
      return { received: true, handled: result.handled, event: eventResponse(result.event) };
    } catch (err) {
      await failEvent(this.db, record, err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  /** Applies one event; null when Kiln keeps nothing for its type. */
  private async apply(
    tx: Tx,
    env: PaymentEnvironment,
    event: Stripe.Event,
  ): Promise<{
    userId: string | null;
    subject: ResolvedSubject | null;
    status: string | null;
  } | null> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.expired': {
        const s = event.data.object;
        const customerId = idOf(s.customer as string | Stripe.Customer | null);
        const subject =
          (await subjectFromMetadata(tx, s.metadata)) ??
          (await subjectOfCustomer(tx, 'stripe', env, customerId));
        await tx.query(
          `UPDATE payments.checkout_sessions SET status = $2, payment_status = $3,
              provider_customer_id = coalesce($4, provider_customer_id), payment_intent_id = $5,
              subscription_id = $6, updated_at = now()
            WHERE checkout_session_id = $1 AND environment = $7`,
          [
            s.id,
            event.type === 'checkout.session.completed' ? 'completed' : 'expired',
            s.payment_status,
            customerId,
            idOf(s.payment_intent as string | Stripe.PaymentIntent | null),
            idOf(s.subscription as string | Stripe.Subscription | null),
            env,
          ],
        );
        if (event.type === 'checkout.session.completed' && s.mode === 'payment') {
          await upsertTransaction(tx, {
            provider: 'stripe',
            environment: env,
            type: 'one_time_payment',
            status: s.payment_status === 'paid' ? 'succeeded' : 'pending',
            subject,
            providerCustomerId: customerId,
            customerEmail: s.customer_details?.email ?? s.customer_email ?? null,
            referenceId: idOf(s.payment_intent as string | null) ?? s.id,
            referenceType: s.payment_intent ? 'payment_intent' : 'checkout_session',
            amount: s.amount_total ?? null,
            currency: s.currency ?? null,
            paidAt: s.payment_status === 'paid' ? new Date(event.created * 1000) : null,
            providerCreatedAt: fromUnix(s.created),
          });
        }
        return { userId: subject?.userId ?? null, subject, status: s.status ?? null };
      }
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
      case 'customer.subscription.paused':
      case 'customer.subscription.resumed': {
        const s = event.data.object;
        const { userId, subject } = await this.upsertSubscription(tx, env, s);
        return { userId, subject, status: s.status };
      }
      case 'invoice.paid':
      case 'invoice.payment_failed': {
        const inv = event.data.object;
        const customerId = idOf(inv.customer as string | Stripe.Customer | null);
        const subject = await subjectOfCustomer(tx, 'stripe', env, customerId);
        const paid = event.type === 'invoice.paid';
        await upsertTransaction(tx, {
          provider: 'stripe',
          environment: env,
          type: paid ? 'subscription_invoice' : 'failed_payment',
          status: paid ? 'succeeded' : 'failed',
          subject,
          providerCustomerId: customerId,
          customerEmail: inv.customer_email ?? null,
          referenceId: inv.id!,
          referenceType: 'invoice',
          amount: paid ? inv.amount_paid : inv.amount_due,
          currency: inv.currency,
          description: inv.description ?? null,
          paidAt: paid ? new Date(event.created * 1000) : null,
          failedAt: paid ? null : new Date(event.created * 1000),
          providerCreatedAt: fromUnix(inv.created),
        });
        return { userId: subject?.userId ?? null, subject, status: inv.status ?? null };
      }
      case 'product.created':
      case 'product.updated':
        await this.upsertProduct(tx, env, event.data.object);
        return { userId: null, subject: null, status: null };
      case 'product.deleted':
        await tx.query(`DELETE FROM payments.products WHERE environment = $1 AND product_id = $2`, [
          env,
          event.data.object.id,
        ]);
        return { userId: null, subject: null, status: null };
      case 'price.created':
      case 'price.updated':
        await this.upsertPrice(tx, env, event.data.object);
        return { userId: null, subject: null, status: null };
      case 'price.deleted':
        await tx.query(`DELETE FROM payments.prices WHERE environment = $1 AND price_id = $2`, [
          env,
          event.data.object.id,
        ]);
        return { userId: null, subject: null, status: null };
      default:
        return null;
    }
  }
}
