/**
 * Razorpay through the official `razorpay` client: keys per environment, orders and their
 * payment verification, subscriptions (create, verify, cancel, pause, resume) for a user's own
 * billing subject, the catalog (items, plans), sync, and the signed webhook.
 */
import crypto from 'node:crypto';
import Razorpay from 'razorpay';
import {
  validatePaymentVerification,
  validateWebhookSignature,
} from 'razorpay/dist/utils/razorpay-utils.js';
import type {
  createRazorpayItemRequestSchema,
  createRazorpayOrderRequestSchema,
  createRazorpayPlanRequestSchema,
  createRazorpaySubscriptionRequestSchema,
  PaymentEnvironment,
  RazorpayConnection,
  RazorpayItem,
  RazorpayOrder,
  RazorpayPlan,
  RazorpaySubscription,
  updateRazorpayItemRequestSchema,
} from '@kiln/shared-schemas';
import type { z } from 'zod';
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
  failEvent,
  findCustomer,
  finishEvent,
  fromUnix,
  iso,
  maskKey,
  mayActFor,
  subjectFor,
  subjectFromMetadata,
  subjectMetadata,
  subjectOfCustomer,
  upsertCustomer,
  upsertTransaction,
  userMetadata,
  type ListQuery,
  type PaymentsOptions,
  type ProviderConfigRow,
  type Queryable,
  type ResolvedSubject,
} from './common.js';

/** A Razorpay entity as its JSON arrives (the client's own types are partial). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Entity = Record<string, any>;

/** A Razorpay failure as the contract's envelope: the provider's 4xx stay 4xx, the rest 502. */
export function razorpayError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const e = err as { statusCode?: number; error?: { code?: string; description?: string } };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 0;
  const text = e?.error?.description ?? (err instanceof Error ? err.message : 'no answer');
  if (status === 404) return new AppError(404, 'PAYMENTS_NOT_FOUND', `Razorpay: ${text}`);
  if (status === 401)
    return new AppError(400, 'PAYMENTS_INVALID_KEY', `Razorpay refused the key: ${text}`);
  if (status >= 400 && status < 500)
    return new AppError(400, 'PAYMENTS_PROVIDER_REJECTED', `Razorpay: ${text}`);
  return new AppError(502, 'PAYMENTS_PROVIDER_UNAVAILABLE', `Razorpay: ${text}`);
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
const numOrNull = (v: unknown): number | null =>
  typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : null;
const notesOf = (v: unknown): Record<string, string> =>
  v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Entity).map(([k, x]) => [k, String(x)]))
    : {};

interface OrderRow {
  id: string;
  environment: PaymentEnvironment;
  status: RazorpayOrder['status'];
  subject_type: string | null;
  subject_id: string | null;
  user_id: string | null;
  customer_name: string | null;
  customer_email: string | null;
  customer_contact: string | null;
  order_id: string | null;
  receipt: string | null;
  amount: string;
  amount_paid: string | null;
  amount_due: string | null;
  currency: string;
  attempts: number | null;
  verified_payment_id: string | null;
  verified_at: Date | null;
  notes: Record<string, string>;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

const orderOut = (r: OrderRow): RazorpayOrder => ({
  id: r.id,
  environment: r.environment,
  status: r.status,
  subjectType: r.subject_type,
  subjectId: r.subject_id,
  customerName: r.customer_name,
  customerEmail: r.customer_email,
  customerContact: r.customer_contact,
  orderId: r.order_id,
  receipt: r.receipt,
  amount: Number(r.amount),
  amountPaid: r.amount_paid === null ? null : Number(r.amount_paid),
  amountDue: r.amount_due === null ? null : Number(r.amount_due),
  currency: r.currency,
  attempts: r.attempts,
  verifiedPaymentId: r.verified_payment_id,
  verifiedAt: iso(r.verified_at),
  notes: userMetadata(r.notes),
  lastError: r.last_error,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

interface SubscriptionRow {
  environment: PaymentEnvironment;
  subscription_id: string;
  plan_id: string | null;
  provider_customer_id: string | null;
  subject_type: string | null;
  subject_id: string | null;
  user_id: string | null;
  status: RazorpaySubscription['status'];
  current_period_start: Date | null;
  current_period_end: Date | null;
  metadata: Record<string, string>;
  details: Entity;
  synced_at: Date;
  created_at: Date;
  updated_at: Date;
}

const subscriptionOut = (r: SubscriptionRow): RazorpaySubscription => {
  const d = r.details;
  return {
    environment: r.environment,
    subscriptionId: r.subscription_id,
    planId: r.plan_id ?? '',
    customerId: r.provider_customer_id,
    subjectType: r.subject_type,
    subjectId: r.subject_id,
    status: r.status,
    currentStart: iso(r.current_period_start),
    currentEnd: iso(r.current_period_end),
    endedAt: iso(fromUnix(d.ended_at)),
    quantity: numOrNull(d.quantity),
    chargeAt: iso(fromUnix(d.charge_at)),
    startAt: iso(fromUnix(d.start_at)),
    endAt: iso(fromUnix(d.end_at)),
    totalCount: numOrNull(d.total_count),
    authAttempts: numOrNull(d.auth_attempts),
    paidCount: numOrNull(d.paid_count),
    remainingCount: numOrNull(d.remaining_count),
    shortUrl: str(d.short_url),
    hasScheduledChanges: d.has_scheduled_changes === true,
    changeScheduledAt: iso(fromUnix(d.change_scheduled_at)),
    offerId: str(d.offer_id),
    authorizationPaymentId: str(d.kiln_authorization_payment_id),
    authorizationVerifiedAt: str(d.kiln_authorization_verified_at),
    notes: userMetadata(r.metadata),
    providerCreatedAt: iso(fromUnix(d.created_at)),
    syncedAt: r.synced_at.toISOString(),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
};

const itemOut = (environment: PaymentEnvironment, r: Entity): RazorpayItem => ({
  environment,
  itemId: r.item_id,
  name: r.name,
  description: r.description,
  active: r.active,
  amount: r.amount === null ? null : Number(r.amount),
  unitAmount: r.unit_amount === null ? null : Number(r.unit_amount),
  currency: r.currency,
  type: r.type,
  providerCreatedAt: iso(r.provider_created_at),
  syncedAt: (r.synced_at as Date).toISOString(),
});

const planOut = (environment: PaymentEnvironment, r: Entity): RazorpayPlan => ({
  environment,
  planId: r.plan_id,
  itemId: r.item_id,
  period: r.period,
  interval: r.interval,
  amount: r.amount === null ? null : Number(r.amount),
  unitAmount: r.unit_amount === null ? null : Number(r.unit_amount),
  currency: r.currency,
  active: r.active,
  notes: r.notes,
  providerCreatedAt: iso(r.provider_created_at),
  syncedAt: (r.synced_at as Date).toISOString(),
});

type Verify = { subscriptionId?: string; orderId?: string; paymentId: string; signature: string };

export class RazorpayPayments {
  readonly configs: ProviderConfigs;

  constructor(
    readonly db: Database,
    box: SecretBox,
    private readonly options: PaymentsOptions,
  ) {
    this.configs = new ProviderConfigs(db, box, 'razorpay');
  }

  /** A client for the key pair, pointed at RAZORPAY_API_BASE when set. */
  clientFor(keyId: string, keySecret: string): Razorpay {
    const client = new Razorpay({ key_id: keyId, key_secret: keySecret });
    if (this.options.razorpayApiBase) {
      // The client takes no host option: its HTTP instance (axios) gets the base URL.
      const api = client.api as unknown as { rq: { defaults: { baseURL?: string } } };
      api.rq.defaults.baseURL = this.options.razorpayApiBase.replace(/\/$/, '');
    }
    return client;
  }

  private async open(environment: PaymentEnvironment) {
    const row = await this.configs.require(environment);
    const secret = this.configs.open(row.secret_sealed);
    return { row, keyId: row.key_id!, secret, client: this.clientFor(row.key_id!, secret) };
  }

  private connection(environment: PaymentEnvironment, row?: ProviderConfigRow): RazorpayConnection {
    return { ...connectionFields(environment, row), merchantName: row?.account_name ?? null };
  }

  async status(): Promise<RazorpayConnection[]> {
    const rows = await this.configs.all();
    return ENVIRONMENTS.map((env) => this.connection(env, rows.get(env)));
  }

  async keys() {
    const rows = await this.configs.all();
    return ENVIRONMENTS.flatMap((environment) => {
      const row = rows.get(environment);
      return [
        // The key ID is public (Checkout is given it); the secrets are never shown.
        { environment, keyType: 'api_key' as const, value: row?.key_id ?? null },
        { environment, keyType: 'api_secret' as const, value: row ? '••••••••' : null },
        {
          environment,
          keyType: 'webhook_secret' as const,
          value: row?.webhook_secret_sealed ? '••••••••' : null,
        },
      ];
    });
  }

  webhookUrl(environment: PaymentEnvironment): string {
    return `${this.options.apiBaseUrl().replace(/\/$/, '')}/api/webhooks/razorpay/${environment}`;
  }

  /**
   * Stores a key pair after Razorpay accepts it (one order listed with it). The webhook secret
   * is the one given, else a new random one (shown by GET …/webhook, to paste into Razorpay).
   */
  async configure(
    environment: PaymentEnvironment,
    body: { keyId: string; keySecret: string; webhookSecret?: string },
  ) {
    const expected = environment === 'live' ? /^rzp_live_/ : /^rzp_test_/;
    if (!expected.test(body.keyId))
      throw new AppError(
        400,
        'PAYMENTS_INVALID_KEY',
        `A ${environment} Razorpay key ID starts with rzp_${environment}_`,
      );
    try {
      await this.clientFor(body.keyId, body.keySecret).orders.all({ count: 1 });
    } catch (err) {
      throw razorpayError(err);
    }
    const previous = await this.configs.get(environment);
    const webhookSecret =
      body.webhookSecret ||
      (previous?.webhook_secret_sealed
        ? this.configs.open(previous.webhook_secret_sealed)
        : crypto.randomBytes(24).toString('base64url'));
    await this.db.query(
      `INSERT INTO payments.provider_configs (provider, environment, key_id, secret_sealed,
          webhook_secret_sealed, masked_key, status, account_livemode, webhook_endpoint_url,
          webhook_configured_at)
       VALUES ('razorpay', $1, $2, $3, $4, $5, 'connected', $6, $7, now())
       ON CONFLICT (provider, environment) DO UPDATE SET key_id = EXCLUDED.key_id,
         secret_sealed = EXCLUDED.secret_sealed,
         webhook_secret_sealed = EXCLUDED.webhook_secret_sealed,
         masked_key = EXCLUDED.masked_key, status = 'connected',
         account_livemode = EXCLUDED.account_livemode,
         webhook_endpoint_url = EXCLUDED.webhook_endpoint_url, updated_at = now()`,
      [
        environment,
        body.keyId,
        this.configs.seal(body.keySecret),
        this.configs.seal(webhookSecret),
        maskKey(body.keyId),
        environment === 'live',
        this.webhookUrl(environment),
      ],
    );
    await this.syncEnvironment(environment);
    return { keys: await this.keys() };
  }

  async unconfigure(environment: PaymentEnvironment) {
    await this.configs.remove(environment);
    return { keys: await this.keys() };
  }

  async webhookSetup(environment: PaymentEnvironment, rotate = false) {
    const row = await this.configs.require(environment);
    let secret = row.webhook_secret_sealed ? this.configs.open(row.webhook_secret_sealed) : '';
    if (rotate || !secret) {
      secret = crypto.randomBytes(24).toString('base64url');
      await this.db.query(
        `UPDATE payments.provider_configs SET webhook_secret_sealed = $2,
            webhook_configured_at = now(), updated_at = now()
          WHERE provider = 'razorpay' AND environment = $1`,
        [environment, this.configs.seal(secret)],
      );
    }
    return {
      connection: this.connection(environment, await this.configs.get(environment)),
      webhookUrl: this.webhookUrl(environment),
      webhookSecret: secret,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Orders
  // -------------------------------------------------------------------------------------------

  private checkoutBase(
    keyId: string,
    b: {
      description?: string | null;
      customerName?: string | null;
      customerEmail?: string | null;
      customerContact?: string | null;
      callbackUrl?: string | null;
    },
  ) {
    return {
      key: keyId,
      description: b.description ?? null,
      prefill: {
        name: b.customerName ?? null,
        email: b.customerEmail ?? null,
        contact: b.customerContact ?? null,
      },
      callback_url: b.callbackUrl ?? null,
    };
  }

  async createOrder(
    environment: PaymentEnvironment,
    body: z.output<typeof createRazorpayOrderRequestSchema>,
    principal: Principal,
  ) {
    await checkRedirect(this.options, 'callbackUrl', body.callbackUrl);
    const subject = await subjectFor(this.db, principal, body.subject, false);
    const { keyId, client } = await this.open(environment);
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO payments.orders (environment, subject_type, subject_id, user_id, customer_name,
          customer_email, customer_contact, receipt, amount, currency, notes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb) RETURNING id`,
      [
        environment,
        subject?.type ?? null,
        subject?.id ?? null,
        subject?.userId ?? null,
        body.customerName ?? null,
        body.customerEmail ?? null,
        body.customerContact ?? null,
        body.receipt ?? null,
        body.amount,
        body.currency,
        JSON.stringify(body.notes ?? {}),
      ],
    );
    const id = rows[0]!.id;
    let order: Entity;
    try {
      order = (await client.orders.create({
        amount: body.amount,
        currency: body.currency,
        receipt: body.receipt ?? undefined,
        notes: { ...body.notes, ...subjectMetadata(subject), kiln_order_id: id },
      })) as Entity;
    } catch (err) {
      const mapped = razorpayError(err);
      await this.db.query(
        `UPDATE payments.orders SET status = 'failed', last_error = $2, updated_at = now()
          WHERE id = $1`,
        [id, mapped instanceof Error ? mapped.message.slice(0, 500) : String(mapped)],
      );
      throw mapped;
    }
    const updated = await this.db.query<OrderRow>(
      `UPDATE payments.orders SET status = $2, order_id = $3, amount_paid = $4, amount_due = $5,
          attempts = $6, updated_at = now()
        WHERE id = $1 RETURNING *`,
      [
        id,
        order.status ?? 'created',
        order.id,
        numOrNull(order.amount_paid),
        numOrNull(order.amount_due),
        numOrNull(order.attempts),
      ],
    );
    return {
      order: orderOut(updated.rows[0]!),
      checkoutOptions: {
        ...this.checkoutBase(keyId, body),
        amount: body.amount,
        currency: body.currency,
        order_id: String(order.id),
      },
    };
  }

  /** Whether Razorpay signed `payment|subscription` or `order|payment` with the key secret. */
  private verifies(v: Verify, secret: string): boolean {
    try {
      return v.orderId
        ? validatePaymentVerification(
            { order_id: v.orderId, payment_id: v.paymentId },
            v.signature,
            secret,
          )
        : validatePaymentVerification(
            { subscription_id: v.subscriptionId!, payment_id: v.paymentId },
            v.signature,
            secret,
          );
    } catch {
      return false;
    }
  }

  async verifyOrder(environment: PaymentEnvironment, v: Verify, principal: Principal) {
    const { secret } = await this.open(environment);
    const { rows } = await this.db.query<OrderRow>(
      `SELECT * FROM payments.orders WHERE environment = $1 AND order_id = $2`,
      [environment, v.orderId],
    );
    const row = rows[0];
    if (!row || !mayActFor(principal, row.user_id))
      throw new AppError(404, 'PAYMENTS_NOT_FOUND', `No order ${v.orderId}`);
    if (!this.verifies(v, secret))
      throw new AppError(
        400,
        'PAYMENTS_SIGNATURE_INVALID',
        'The payment signature does not verify for this order',
      );
    const order = await this.db.transaction(async (tx) => {
      const updated = await tx.query<OrderRow>(
        `UPDATE payments.orders SET status = 'paid', verified_payment_id = $2,
            verified_at = coalesce(verified_at, now()), amount_paid = amount, amount_due = 0,
            updated_at = now()
          WHERE id = $1 RETURNING *`,
        [row.id, v.paymentId],
      );
      await this.recordOrderPayment(tx, environment, updated.rows[0]!, v.paymentId);
      return updated.rows[0]!;
    });
    return { verified: true, order: orderOut(order) };
  }

  private async recordOrderPayment(
    tx: Tx,
    environment: PaymentEnvironment,
    order: OrderRow,
    paymentId: string,
  ) {
    await upsertTransaction(tx, {
      provider: 'razorpay',
      environment,
      type: 'one_time_payment',
      status: 'succeeded',
      subject: order.subject_type
        ? { type: order.subject_type, id: order.subject_id!, userId: order.user_id }
        : null,
      customerEmail: order.customer_email,
      referenceId: paymentId,
      referenceType: 'payment',
      amount: Number(order.amount),
      currency: order.currency,
      description: order.receipt,
      paidAt: new Date(),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Subscriptions
  // -------------------------------------------------------------------------------------------

  private async upsertSubscription(
    q: Queryable,
    environment: PaymentEnvironment,
    s: Entity,
    known?: ResolvedSubject | null,
    extra: Entity = {},
  ): Promise<SubscriptionRow & { user_id: string | null }> {
    const subject =
      known ??
      (await subjectFromMetadata(q, notesOf(s.notes))) ??
      (await subjectOfCustomer(q, 'razorpay', environment, str(s.customer_id)));
    const { rows } = await q.query<SubscriptionRow>(
      `INSERT INTO payments.subscriptions (provider, environment, subscription_id, plan_id,
          provider_customer_id, subject_type, subject_id, user_id, status, current_period_start,
          current_period_end, canceled_at, metadata, details, created_at)
       VALUES ('razorpay', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb,
               coalesce($14, now()))
       ON CONFLICT (provider, environment, subscription_id) DO UPDATE SET
         plan_id = EXCLUDED.plan_id,
         provider_customer_id = coalesce(EXCLUDED.provider_customer_id, payments.subscriptions.provider_customer_id),
         subject_type = coalesce(EXCLUDED.subject_type, payments.subscriptions.subject_type),
         subject_id = coalesce(EXCLUDED.subject_id, payments.subscriptions.subject_id),
         user_id = coalesce(EXCLUDED.user_id, payments.subscriptions.user_id),
         status = EXCLUDED.status, current_period_start = EXCLUDED.current_period_start,
         current_period_end = EXCLUDED.current_period_end, canceled_at = EXCLUDED.canceled_at,
         metadata = EXCLUDED.metadata,
         details = payments.subscriptions.details || EXCLUDED.details,
         synced_at = now(), updated_at = now()
       RETURNING *`,
      [
        environment,
        s.id,
        str(s.plan_id),
        str(s.customer_id),
        subject?.type ?? null,
        subject?.id ?? null,
        subject?.userId ?? null,
        s.status,
        fromUnix(s.current_start),
        fromUnix(s.current_end),
        s.status === 'cancelled' ? (fromUnix(s.ended_at) ?? new Date()) : null,
        JSON.stringify(notesOf(s.notes)),
        JSON.stringify({ ...s, ...extra }),
        fromUnix(s.created_at),
      ],
    );
    return rows[0]!;
  }

  /** The subject's Razorpay customer, created (and mapped) when details to create one exist. */
  private async customerFor(
    environment: PaymentEnvironment,
    client: Razorpay,
    subject: ResolvedSubject,
    b: {
      customerName?: string | null;
      customerEmail?: string | null;
      customerContact?: string | null;
    },
  ): Promise<string | undefined> {
    return this.db.transaction(async (tx) => {
      await lockFor(tx, `payments:razorpay:${environment}:${subject.type}:${subject.id}`);
      const existing = await findCustomer(tx, 'razorpay', environment, subject);
      if (existing) return existing.provider_customer_id;
      let email = b.customerEmail ?? null;
      if (!email && subject.userId) {
        const { rows } = await tx.query<{ email: string }>(
          `SELECT email FROM auth.users WHERE id = $1`,
          [subject.userId],
        );
        email = rows[0]?.email ?? null;
      }
      if (!email && !b.customerContact) return undefined;
      const customer = (await client.customers.create({
        name: b.customerName ?? email ?? undefined,
        email: email ?? undefined,
        contact: b.customerContact ?? undefined,
        fail_existing: 0,
        notes: subjectMetadata(subject),
      })) as Entity;
      await upsertCustomer(tx, 'razorpay', environment, {
        providerCustomerId: customer.id,
        subject,
        email: str(customer.email) ?? email,
        name: str(customer.name),
        phone: str(customer.contact),
        metadata: notesOf(customer.notes),
        providerCreatedAt: fromUnix(customer.created_at),
      });
      return String(customer.id);
    });
  }

  async createSubscription(
    environment: PaymentEnvironment,
    body: z.output<typeof createRazorpaySubscriptionRequestSchema>,
    principal: Principal,
  ) {
    await checkRedirect(this.options, 'callbackUrl', body.callbackUrl);
    const subject = (await subjectFor(this.db, principal, body.subject, true))!;
    const { keyId, client } = await this.open(environment);
    try {
      const customerId = await this.customerFor(environment, client, subject, body);
      const created = (await client.subscriptions.create({
        plan_id: body.planId,
        total_count: body.totalCount,
        end_at: body.endAt,
        quantity: body.quantity,
        start_at: body.startAt,
        expire_by: body.expireBy,
        customer_notify:
          body.customerNotify === undefined ? undefined : body.customerNotify ? 1 : 0,
        offer_id: body.offerId ?? undefined,
        customer_id: customerId,
        notes: { ...body.notes, ...subjectMetadata(subject) },
      } as Parameters<typeof client.subscriptions.create>[0])) as Entity;
      const row = await this.upsertSubscription(this.db, environment, created, subject);
      return {
        subscription: subscriptionOut(row),
        checkoutOptions: {
          ...this.checkoutBase(keyId, body),
          subscription_id: String(created.id),
        },
      };
    } catch (err) {
      throw razorpayError(err);
    }
  }

  private async ownSubscription(
    environment: PaymentEnvironment,
    subscriptionId: string,
    principal: Principal,
  ): Promise<SubscriptionRow> {
    const { rows } = await this.db.query<SubscriptionRow>(
      `SELECT * FROM payments.subscriptions
        WHERE provider = 'razorpay' AND environment = $1 AND subscription_id = $2`,
      [environment, subscriptionId],
    );
    const row = rows[0];
    if (!row || !mayActFor(principal, row.user_id))
      throw new AppError(404, 'PAYMENTS_NOT_FOUND', `No subscription ${subscriptionId}`);
    return row;
  }

  async verifySubscription(environment: PaymentEnvironment, v: Verify, principal: Principal) {
    const { secret, client } = await this.open(environment);
    await this.ownSubscription(environment, v.subscriptionId!, principal);
    if (!this.verifies(v, secret))
      throw new AppError(
        400,
        'PAYMENTS_SIGNATURE_INVALID',
        'The payment signature does not verify for this subscription',
      );
    try {
      const fresh = (await client.subscriptions.fetch(v.subscriptionId!)) as Entity;
      const row = await this.upsertSubscription(this.db, environment, fresh, undefined, {
        kiln_authorization_payment_id: v.paymentId,
        kiln_authorization_verified_at: new Date().toISOString(),
      });
      return { verified: true, subscription: subscriptionOut(row) };
    } catch (err) {
      throw razorpayError(err);
    }
  }

  async changeSubscription(
    environment: PaymentEnvironment,
    subscriptionId: string,
    change: { kind: 'cancel'; atCycleEnd: boolean } | { kind: 'pause' } | { kind: 'resume' },
    principal: Principal,
  ) {
    const { client } = await this.open(environment);
    await this.ownSubscription(environment, subscriptionId, principal);
    try {
      const s = (
        change.kind === 'cancel'
          ? await client.subscriptions.cancel(subscriptionId, change.atCycleEnd)
          : change.kind === 'pause'
            ? await client.subscriptions.pause(subscriptionId, { pause_at: 'now' })
            : await client.subscriptions.resume(subscriptionId, { resume_at: 'now' })
      ) as Entity;
      return {
        subscription: subscriptionOut(await this.upsertSubscription(this.db, environment, s)),
      };
    } catch (err) {
      throw razorpayError(err);
    }
  }

  async listSubscriptions(environment: PaymentEnvironment, q: ListQuery) {
    const { rows } = await this.db.query<SubscriptionRow>(
      `SELECT * FROM payments.subscriptions WHERE provider = 'razorpay' AND environment = $1
          AND ($2::text IS NULL OR (subject_type = $2 AND subject_id = $3))
        ORDER BY created_at DESC, subscription_id LIMIT $4 OFFSET $5`,
      [environment, q.subjectType ?? null, q.subjectId ?? null, q.limit, q.offset],
    );
    return rows.map(subscriptionOut);
  }

  // -------------------------------------------------------------------------------------------
  // Catalog, sync
  // -------------------------------------------------------------------------------------------

  private async upsertItem(q: Queryable, environment: PaymentEnvironment, i: Entity) {
    const { rows } = await q.query(
      `INSERT INTO payments.items (environment, item_id, name, description, active, amount,
          unit_amount, currency, type, provider_created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (environment, item_id) DO UPDATE SET name = EXCLUDED.name,
         description = EXCLUDED.description, active = EXCLUDED.active, amount = EXCLUDED.amount,
         unit_amount = EXCLUDED.unit_amount, currency = EXCLUDED.currency, type = EXCLUDED.type,
         provider_created_at = EXCLUDED.provider_created_at, synced_at = now()
       RETURNING *`,
      [
        environment,
        i.id,
        i.name,
        str(i.description),
        i.active !== false,
        numOrNull(i.amount),
        numOrNull(i.unit_amount ?? i.amount),
        i.currency,
        str(i.type),
        fromUnix(i.created_at),
      ],
    );
    return rows[0]!;
  }

  private async upsertPlan(q: Queryable, environment: PaymentEnvironment, p: Entity) {
    const item = (p.item ?? {}) as Entity;
    if (item.id) await this.upsertItem(q, environment, { ...item, type: item.type ?? 'plan' });
    const { rows } = await q.query(
      `INSERT INTO payments.plans (environment, plan_id, item_id, period, "interval", amount,
          unit_amount, currency, active, notes, provider_created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)
       ON CONFLICT (environment, plan_id) DO UPDATE SET item_id = EXCLUDED.item_id,
         period = EXCLUDED.period, "interval" = EXCLUDED."interval", amount = EXCLUDED.amount,
         unit_amount = EXCLUDED.unit_amount, currency = EXCLUDED.currency,
         active = EXCLUDED.active, notes = EXCLUDED.notes, synced_at = now()
       RETURNING *`,
      [
        environment,
        p.id,
        item.id ?? '',
        p.period,
        Number(p.interval),
        numOrNull(item.amount),
        numOrNull(item.unit_amount ?? item.amount),
        item.currency ?? 'INR',
        item.active !== false,
        JSON.stringify(notesOf(p.notes)),
        fromUnix(p.created_at),
      ],
    );
    return rows[0]!;
  }

  async catalog(environment: PaymentEnvironment) {
    const items = await this.db.query(
      `SELECT * FROM payments.items WHERE environment = $1 ORDER BY name, item_id`,
      [environment],
    );
    const plans = await this.db.query(
      `SELECT * FROM payments.plans WHERE environment = $1 ORDER BY plan_id`,
      [environment],
    );
    return {
      items: items.rows.map((r) => itemOut(environment, r)),
      plans: plans.rows.map((r) => planOut(environment, r)),
    };
  }

  async createItem(
    environment: PaymentEnvironment,
    body: z.output<typeof createRazorpayItemRequestSchema>,
  ) {
    const { client } = await this.open(environment);
    try {
      const item = (await client.items.create({
        name: body.name,
        description: body.description ?? undefined,
        amount: body.amount,
        currency: body.currency,
      })) as Entity;
      return { item: itemOut(environment, await this.upsertItem(this.db, environment, item)) };
    } catch (err) {
      throw razorpayError(err);
    }
  }

  async updateItem(
    environment: PaymentEnvironment,
    itemId: string,
    body: z.output<typeof updateRazorpayItemRequestSchema>,
  ) {
    const { client } = await this.open(environment);
    try {
      const item = (await client.items.edit(itemId, {
        name: body.name,
        description: body.description ?? undefined,
        amount: body.amount,
        currency: body.currency,
        active: body.active,
      } as Parameters<typeof client.items.edit>[1])) as Entity;
      return { item: itemOut(environment, await this.upsertItem(this.db, environment, item)) };
    } catch (err) {
      throw razorpayError(err);
    }
  }

  async createPlan(
    environment: PaymentEnvironment,
    body: z.output<typeof createRazorpayPlanRequestSchema>,
  ) {
    const { client } = await this.open(environment);
    try {
      const plan = (await client.plans.create({
        period: body.period,
        interval: body.interval,
        item: {
          name: body.item.name,
          description: body.item.description ?? undefined,
          amount: body.item.amount,
          currency: body.item.currency,
        },
        notes: body.notes,
      } as Parameters<typeof client.plans.create>[0])) as Entity;
      return { plan: planOut(environment, await this.upsertPlan(this.db, environment, plan)) };
    } catch (err) {
      throw razorpayError(err);
    }
  }

  async sync(environment: PaymentEnvironment | 'all') {
    const rows = await this.configs.all();
    const envs = environment === 'all' ? ENVIRONMENTS.filter((e) => rows.has(e)) : [environment];
    if (environment !== 'all') await this.configs.require(environment);
    const results = [];
    for (const env of envs) results.push(await this.syncEnvironment(env));
    return { results };
  }

  /** Pages through one of the client's `all` listings (Razorpay caps a page at 100). */
  private async everything(list: (p: { count: number; skip: number }) => Promise<unknown>) {
    const out: Entity[] = [];
    for (let skip = 0; ; skip += 100) {
      const page = (await list({ count: 100, skip })) as { items?: Entity[] };
      const items = page.items ?? [];
      out.push(...items);
      if (items.length < 100) return out;
    }
  }

  private async syncEnvironment(environment: PaymentEnvironment) {
    const { client } = await this.open(environment);
    let counts: Record<string, number> = {};
    let error: string | null = null;
    try {
      const items = await this.everything((p) => client.items.all(p));
      const plans = await this.everything((p) => client.plans.all(p));
      const subscriptions = await this.everything((p) => client.subscriptions.all(p));
      await this.db.transaction(async (tx) => {
        for (const i of items) await this.upsertItem(tx, environment, i);
        for (const p of plans) await this.upsertPlan(tx, environment, p);
        for (const s of subscriptions) await this.upsertSubscription(tx, environment, s);
      });
      counts = {
        items: items.length,
        plans: plans.length,
        customers: 0,
        subscriptions: subscriptions.length,
        invoices: 0,
        payments: 0,
      };
      await this.configs.recordSync(environment, { counts });
    } catch (err) {
      const mapped = razorpayError(err);
      error = mapped instanceof Error ? mapped.message : String(mapped);
      await this.configs.recordSync(environment, { error, counts: {} });
    }
    const zero = { items: 0, plans: 0, customers: 0, subscriptions: 0, invoices: 0, payments: 0 };
    return {
      environment,
      status: error ? ('failed' as const) : ('succeeded' as const),
      connection: this.connection(environment, await this.configs.get(environment)),
      syncCounts: { ...zero, ...counts },
      error,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Webhook
  // -------------------------------------------------------------------------------------------

  /**
   * A delivery from Razorpay: `X-Razorpay-Signature` is checked over the exact bytes with the
   * webhook secret (the client's `validateWebhookSignature`); the event id
   * (`X-Razorpay-Event-Id`) makes a repeat a no-op; the change and its announcements commit
   * together.
   */
  async receiveWebhook(
    environment: PaymentEnvironment,
    body: Buffer,
    headers: { signature?: string; eventId?: string },
  ) {
    const row = await this.configs.require(environment);
    if (!row.webhook_secret_sealed)
      throw new AppError(409, 'PAYMENTS_NOT_CONFIGURED', 'No Razorpay webhook secret is stored');
    const secret = this.configs.open(row.webhook_secret_sealed);
    let valid = false;
    try {
      valid =
        !!headers.signature &&
        validateWebhookSignature(body.toString('utf8'), headers.signature, secret);
    } catch {
      valid = false;
    }
    if (!valid)
      throw new AppError(
        400,
        'PAYMENTS_WEBHOOK_SIGNATURE_INVALID',
        'The Razorpay signature does not verify',
      );
    let event: Entity;
    try {
      event = JSON.parse(body.toString('utf8')) as Entity;
    } catch {
      throw new AppError(400, 'INVALID_INPUT', 'The webhook body is not JSON');
    }
    const type = typeof event.event === 'string' ? event.event : 'unknown';
    // Razorpay names each event in a header; a body without one is identified by its bytes.
    const eventId =
      headers.eventId ?? `sha256:${crypto.createHash('sha256').update(body).digest('hex')}`;
    const payload = (event.payload ?? {}) as Entity;
    const entityKind = ['subscription', 'payment', 'order'].find((k) => payload[k]?.entity);
    const record = {
      provider: 'razorpay' as const,
      environment,
      eventId,
      eventType: type,
      livemode: environment === 'live',
      accountId: str(event.account_id),
      objectType: entityKind ?? null,
      objectId: entityKind ? str(payload[entityKind].entity.id) : null,
    };
    try {
      const result = await this.db.transaction(async (tx) => {
        if (!(await claimEvent(tx, record))) return undefined;
        const handled = await this.apply(tx, environment, type, payload);
        await finishEvent(tx, 'razorpay', environment, eventId, handled !== null);
        if (handled)
          await announce(tx, [handled.subject?.userId], {
            provider: 'razorpay',
            environment,
            eventId,
            type,
            objectId: record.objectId,
            status: handled.status,
            subjectType: handled.subject?.type ?? null,
            subjectId: handled.subject?.id ?? null,
          });
        return handled !== null;
      });
      return { received: true, handled: result ?? false };
    } catch (err) {
      await failEvent(this.db, record, err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  private async apply(
    tx: Tx,
    environment: PaymentEnvironment,
    type: string,
    payload: Entity,
  ): Promise<{ subject: ResolvedSubject | null; status: string | null } | null> {
    if (type.startsWith('subscription.') && payload.subscription?.entity) {
      const row = await this.upsertSubscription(tx, environment, payload.subscription.entity);
      const subject = row.subject_type
        ? { type: row.subject_type, id: row.subject_id!, userId: row.user_id }
        : null;
      const payment = payload.payment?.entity as Entity | undefined;
      if (type === 'subscription.charged' && payment?.id) {
        await upsertTransaction(tx, {
          provider: 'razorpay',
          environment,
          type: 'subscription_invoice',
          status: 'succeeded',
          subject,
          providerCustomerId: row.provider_customer_id,
          customerEmail: str(payment.email),
          referenceId: payment.id,
          referenceType: 'payment',
          amount: numOrNull(payment.amount),
          currency: str(payment.currency),
          paidAt: new Date(),
          providerCreatedAt: fromUnix(payment.created_at),
        });
      }
      return { subject, status: row.status };
    }
    if ((type === 'payment.captured' || type === 'payment.failed') && payload.payment?.entity) {
      const payment = payload.payment.entity as Entity;
      const orderId = str(payment.order_id);
      const { rows } = orderId
        ? await tx.query<OrderRow>(
            `SELECT * FROM payments.orders WHERE environment = $1 AND order_id = $2`,
            [environment, orderId],
          )
        : { rows: [] as OrderRow[] };
      const order = rows[0];
      const subject = order?.subject_type
        ? { type: order.subject_type, id: order.subject_id!, userId: order.user_id }
        : await subjectOfCustomer(tx, 'razorpay', environment, str(payment.customer_id));
      const captured = type === 'payment.captured';
      if (order)
        await tx.query(
          `UPDATE payments.orders SET status = $2, amount_paid = CASE WHEN $3 THEN amount ELSE amount_paid END,
              amount_due = CASE WHEN $3 THEN 0 ELSE amount_due END, updated_at = now()
            WHERE id = $1`,
          [order.id, captured ? 'paid' : 'attempted', captured],
        );
      await upsertTransaction(tx, {
        provider: 'razorpay',
        environment,
        type: captured ? 'one_time_payment' : 'failed_payment',
        status: captured ? 'succeeded' : 'failed',
        subject,
        providerCustomerId: str(payment.customer_id),
        customerEmail: str(payment.email),
        referenceId: payment.id,
        referenceType: 'payment',
        amount: numOrNull(payment.amount),
        currency: str(payment.currency),
        description: str(payment.description),
        paidAt: captured ? new Date() : null,
        failedAt: captured ? null : new Date(),
        providerCreatedAt: fromUnix(payment.created_at),
      });
      return { subject, status: str(payment.status) };
    }
    return null;
  }
}
