/**
 * What both payment providers share: the per-environment keys (sealed at rest), who a billing
 * subject is, paging of the admin lists, the customers / transactions rows and the announcement
 * of an applied provider event (realtime message and job).
 */
import type { Request } from 'express';
import type pg from 'pg';
import type {
  BillingSubject,
  PaymentCustomer,
  PaymentEnvironment,
  PaymentProvider,
  PaymentTransaction,
} from '@kiln/shared-schemas';
import type { SecretBox } from '../core/crypto.js';
import type { Database, Principal, Tx } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { PG, pgCode } from '../core/sql.js';

/** The pool or a transaction: anything that runs a parameterised statement. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

export const ENVIRONMENTS: readonly PaymentEnvironment[] = ['test', 'live'];

export interface PaymentsOptions {
  /** Whether a browser may be sent to this URL (the auth config's allowed redirect URLs). */
  isAllowedRedirect(url: string): Promise<boolean>;
  apiBaseUrl(): string;
  /** STRIPE_API_BASE / RAZORPAY_API_BASE. */
  stripeApiBase?: string;
  razorpayApiBase?: string;
  /** The largest provider webhook read (bytes). */
  maxBodyBytes: number;
}

export interface ProviderConfigRow {
  provider: PaymentProvider;
  environment: PaymentEnvironment;
  key_id: string | null;
  secret_sealed: string;
  webhook_secret_sealed: string | null;
  masked_key: string;
  status: 'connected' | 'error';
  account_id: string | null;
  account_name: string | null;
  account_livemode: boolean | null;
  webhook_endpoint_id: string | null;
  webhook_endpoint_url: string | null;
  webhook_configured_at: Date | null;
  last_synced_at: Date | null;
  last_sync_status: 'succeeded' | 'failed' | null;
  last_sync_error: string | null;
  last_sync_counts: Record<string, number>;
}

/** `sk_test_51…` → `sk_test_…wxyz`: enough to recognise a key, not to use it. */
export function maskKey(key: string): string {
  const tail = key.slice(-4);
  const prefix = /^[a-z]+_(test|live)_/.exec(key)?.[0] ?? /^[a-z]+_/.exec(key)?.[0] ?? '';
  return `${prefix}…${tail}`;
}

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
export const fromUnix = (s: number | null | undefined): Date | null =>
  typeof s === 'number' && s > 0 ? new Date(s * 1000) : null;

/** The keys of one provider, one row per environment that has them. */
export class ProviderConfigs {
  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    private readonly provider: PaymentProvider,
  ) {}

  async get(environment: PaymentEnvironment): Promise<ProviderConfigRow | undefined> {
    const { rows } = await this.db.query<ProviderConfigRow>(
      `SELECT * FROM payments.provider_configs WHERE provider = $1 AND environment = $2`,
      [this.provider, environment],
    );
    return rows[0];
  }

  async require(environment: PaymentEnvironment): Promise<ProviderConfigRow> {
    const row = await this.get(environment);
    if (!row) {
      const name = this.provider === 'stripe' ? 'Stripe' : 'Razorpay';
      throw new AppError(
        409,
        'PAYMENTS_NOT_CONFIGURED',
        `${name} has no ${environment} keys`,
        `Store them with PUT /api/payments/${this.provider}/${environment}/config`,
      );
    }
    return row;
  }

  open(sealed: string): string {
    try {
      return this.box.decrypt(sealed);
    } catch {
      throw new AppError(
        503,
        'PAYMENTS_KEY_UNREADABLE',
        'The stored payment key cannot be decrypted with the current ENCRYPTION_KEY',
        'Store the key again (PUT …/config)',
      );
    }
  }

  seal(value: string): string {
    return this.box.encrypt(value);
  }

  async all(): Promise<Map<PaymentEnvironment, ProviderConfigRow>> {
    const { rows } = await this.db.query<ProviderConfigRow>(
      `SELECT * FROM payments.provider_configs WHERE provider = $1`,
      [this.provider],
    );
    return new Map(rows.map((r) => [r.environment, r]));
  }

  async remove(environment: PaymentEnvironment): Promise<ProviderConfigRow> {
    const { rows } = await this.db.query<ProviderConfigRow>(
      `DELETE FROM payments.provider_configs WHERE provider = $1 AND environment = $2 RETURNING *`,
      [this.provider, environment],
    );
    if (!rows[0]) throw new AppError(404, 'PAYMENTS_NOT_CONFIGURED', 'No keys are stored');
    return rows[0];
  }

  async recordSync(
    environment: PaymentEnvironment,
    outcome: { error?: string; counts: Record<string, number> },
  ): Promise<void> {
    await this.db.query(
      `UPDATE payments.provider_configs
          SET last_synced_at = now(), last_sync_status = $3, last_sync_error = $4,
              last_sync_counts = $5::jsonb, status = $6, updated_at = now()
        WHERE provider = $1 AND environment = $2`,
      [
        this.provider,
        environment,
        outcome.error ? 'failed' : 'succeeded',
        outcome.error ?? null,
        JSON.stringify(outcome.counts),
        outcome.error ? 'error' : 'connected',
      ],
    );
  }
}

export function connectionFields(environment: PaymentEnvironment, row?: ProviderConfigRow) {
  return {
    environment,
    status: row ? row.status : ('unconfigured' as const),
    accountId: row?.account_id ?? null,
    accountLivemode: row?.account_livemode ?? null,
    webhookEndpointId: row?.webhook_endpoint_id ?? null,
    webhookEndpointUrl: row?.webhook_endpoint_url ?? null,
    webhookConfiguredAt: iso(row?.webhook_configured_at),
    maskedKey: row?.masked_key ?? null,
    lastSyncedAt: iso(row?.last_synced_at),
    lastSyncStatus: row?.last_sync_status ?? null,
    lastSyncError: row?.last_sync_error ?? null,
    lastSyncCounts: row?.last_sync_counts ?? {},
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ResolvedSubject {
  type: string;
  id: string;
  /** The Kiln user the subject is, when it is one. */
  userId: string | null;
}

/**
 * The billing subject a request acts for. A signed-in user acts for themselves only
 * (`{type: 'user', id: <their id>}`, the default); an admin or the API key names any subject,
 * which maps to a user when it is `{type: 'user'}` with an existing user's id.
 */
export async function subjectFor(
  db: Database,
  principal: Principal,
  subject: BillingSubject | undefined,
  required: boolean,
): Promise<ResolvedSubject | null> {
  if (principal.role === 'authenticated' && principal.sub) {
    if (subject && !(subject.type === 'user' && subject.id === principal.sub)) {
      throw new AppError(
        403,
        'PAYMENTS_SUBJECT_FORBIDDEN',
        'A signed-in user may only act for their own billing subject ({"type": "user", "id": <their user id>})',
      );
    }
    return { type: 'user', id: principal.sub, userId: principal.sub };
  }
  if (!subject) {
    if (required)
      throw new AppError(400, 'INVALID_INPUT', 'subject is required when not signed in as a user');
    return null;
  }
  let userId: string | null = null;
  if (subject.type === 'user' && UUID.test(subject.id)) {
    const { rows } = await db.query(`SELECT 1 FROM auth.users WHERE id = $1`, [subject.id]);
    if (rows.length) userId = subject.id;
  }
  return { type: subject.type, id: subject.id, userId };
}

/** Whether the caller may act on a row belonging to `userId` (its owner, or an admin). */
export function mayActFor(principal: Principal, userId: string | null): boolean {
  if (principal.role === 'project_admin') return true;
  return !!principal.sub && principal.sub === userId;
}

export async function checkRedirect(
  options: PaymentsOptions,
  field: string,
  url: string | null | undefined,
): Promise<void> {
  if (!url) return;
  if (!(await options.isAllowedRedirect(url))) {
    throw new AppError(
      400,
      'PAYMENTS_REDIRECT_NOT_ALLOWED',
      `${field} "${url.slice(0, 200)}" is not an allowed redirect URL`,
      'Add it to allowedRedirectUrls in PUT /api/auth/config',
    );
  }
}

/** The body's exact bytes (signatures are over them), or 413 beyond `limit`. */
export async function readRawBody(req: Request, limit: number): Promise<Buffer> {
  const tooLarge = () => {
    req.resume();
    return new AppError(413, 'PAYLOAD_TOO_LARGE', `The webhook is larger than ${limit} bytes`);
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------
// Customers and transactions (both providers)
// ---------------------------------------------------------------------------------------------

export async function findCustomer(
  q: Queryable,
  provider: PaymentProvider,
  environment: PaymentEnvironment,
  subject: { type: string; id: string },
): Promise<{ provider_customer_id: string } | undefined> {
  const { rows } = await q.query<{ provider_customer_id: string }>(
    `SELECT provider_customer_id FROM payments.customers
      WHERE provider = $1 AND environment = $2 AND subject_type = $3 AND subject_id = $4
        AND NOT deleted`,
    [provider, environment, subject.type, subject.id],
  );
  return rows[0];
}

export interface CustomerInput {
  providerCustomerId: string;
  subject: ResolvedSubject | null;
  email?: string | null;
  name?: string | null;
  phone?: string | null;
  deleted?: boolean;
  metadata?: Record<string, string>;
  providerCreatedAt?: Date | null;
}

export async function upsertCustomer(
  q: Queryable,
  provider: PaymentProvider,
  environment: PaymentEnvironment,
  c: CustomerInput,
): Promise<void> {
  await q.query(
    `INSERT INTO payments.customers (provider, environment, provider_customer_id, subject_type,
        subject_id, user_id, email, name, phone, deleted, metadata, provider_created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12)
     ON CONFLICT (provider, environment, provider_customer_id) DO UPDATE SET
       subject_type = coalesce(EXCLUDED.subject_type, payments.customers.subject_type),
       subject_id = coalesce(EXCLUDED.subject_id, payments.customers.subject_id),
       user_id = coalesce(EXCLUDED.user_id, payments.customers.user_id),
       email = coalesce(EXCLUDED.email, payments.customers.email),
       name = coalesce(EXCLUDED.name, payments.customers.name),
       phone = coalesce(EXCLUDED.phone, payments.customers.phone),
       deleted = EXCLUDED.deleted, metadata = EXCLUDED.metadata,
       provider_created_at = coalesce(EXCLUDED.provider_created_at, payments.customers.provider_created_at),
       synced_at = now()`,
    [
      provider,
      environment,
      c.providerCustomerId,
      c.subject?.type ?? null,
      c.subject?.id ?? null,
      c.subject?.userId ?? null,
      c.email ?? null,
      c.name ?? null,
      c.phone ?? null,
      c.deleted ?? false,
      JSON.stringify(c.metadata ?? {}),
      c.providerCreatedAt ?? null,
    ],
  );
}

/** The subject (and user) a provider customer id was mapped to. */
export async function subjectOfCustomer(
  q: Queryable,
  provider: PaymentProvider,
  environment: PaymentEnvironment,
  customerId: string | null | undefined,
): Promise<ResolvedSubject | null> {
  if (!customerId) return null;
  const { rows } = await q.query<{ subject_type: string; subject_id: string; user_id: string }>(
    `SELECT subject_type, subject_id, user_id FROM payments.customers
      WHERE provider = $1 AND environment = $2 AND provider_customer_id = $3`,
    [provider, environment, customerId],
  );
  const r = rows[0];
  return r?.subject_type ? { type: r.subject_type, id: r.subject_id, userId: r.user_id } : null;
}

/** A subject written into provider metadata (`kiln_subject_type` / `kiln_subject_id`). */
export async function subjectFromMetadata(
  q: Queryable,
  metadata: Record<string, string> | null | undefined,
): Promise<ResolvedSubject | null> {
  const type = metadata?.kiln_subject_type;
  const id = metadata?.kiln_subject_id;
  if (!type || !id) return null;
  let userId: string | null = null;
  if (type === 'user' && UUID.test(id)) {
    const { rows } = await q.query(`SELECT 1 FROM auth.users WHERE id = $1`, [id]);
    if (rows.length) userId = id;
  }
  return { type, id, userId };
}

export function subjectMetadata(subject: ResolvedSubject | null): Record<string, string> {
  return subject ? { kiln_subject_type: subject.type, kiln_subject_id: subject.id } : {};
}

/** Provider metadata without Kiln's own keys. */
export function userMetadata(metadata: Record<string, string> | null | undefined) {
  return Object.fromEntries(
    Object.entries(metadata ?? {}).filter(([k]) => !k.startsWith('kiln_')),
  ) as Record<string, string>;
}

export interface TransactionInput {
  provider: PaymentProvider;
  environment: PaymentEnvironment;
  type: PaymentTransaction['type'];
  status: PaymentTransaction['status'];
  subject: ResolvedSubject | null;
  providerCustomerId?: string | null;
  customerEmail?: string | null;
  referenceId: string;
  referenceType: string;
  amount?: number | null;
  amountRefunded?: number | null;
  currency?: string | null;
  description?: string | null;
  paidAt?: Date | null;
  failedAt?: Date | null;
  refundedAt?: Date | null;
  providerCreatedAt?: Date | null;
}

export async function upsertTransaction(q: Queryable, t: TransactionInput): Promise<void> {
  await q.query(
    `INSERT INTO payments.transactions (provider, environment, type, status, subject_type,
        subject_id, user_id, provider_customer_id, customer_email_snapshot, provider_reference_id,
        provider_reference_type, amount, amount_refunded, currency, description, paid_at,
        failed_at, refunded_at, provider_created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
     ON CONFLICT (provider, environment, provider_reference_type, provider_reference_id)
     DO UPDATE SET type = EXCLUDED.type, status = EXCLUDED.status,
       subject_type = coalesce(EXCLUDED.subject_type, payments.transactions.subject_type),
       subject_id = coalesce(EXCLUDED.subject_id, payments.transactions.subject_id),
       user_id = coalesce(EXCLUDED.user_id, payments.transactions.user_id),
       provider_customer_id = coalesce(EXCLUDED.provider_customer_id, payments.transactions.provider_customer_id),
       amount = EXCLUDED.amount, amount_refunded = EXCLUDED.amount_refunded,
       currency = EXCLUDED.currency, paid_at = coalesce(EXCLUDED.paid_at, payments.transactions.paid_at),
       failed_at = EXCLUDED.failed_at, refunded_at = EXCLUDED.refunded_at, updated_at = now()`,
    [
      t.provider,
      t.environment,
      t.type,
      t.status,
      t.subject?.type ?? null,
      t.subject?.id ?? null,
      t.subject?.userId ?? null,
      t.providerCustomerId ?? null,
      t.customerEmail ?? null,
      t.referenceId,
      t.referenceType,
      t.amount ?? null,
      t.amountRefunded ?? null,
      t.currency ?? null,
      t.description ?? null,
      t.paidAt ?? null,
      t.failedAt ?? null,
      t.refundedAt ?? null,
      t.providerCreatedAt ?? null,
    ],
  );
}

interface TransactionRow {
  environment: PaymentEnvironment;
  provider: PaymentProvider;
  type: PaymentTransaction['type'];
  status: PaymentTransaction['status'];
  subject_type: string | null;
  subject_id: string | null;
  provider_customer_id: string | null;
  customer_email_snapshot: string | null;
  provider_reference_id: string;
  provider_reference_type: string;
  amount: string | null;
  amount_refunded: string | null;
  currency: string | null;
  description: string | null;
  paid_at: Date | null;
  failed_at: Date | null;
  refunded_at: Date | null;
  provider_created_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const num = (v: string | number | null) => (v === null ? null : Number(v));

export interface ListQuery {
  limit: number;
  offset: number;
  subjectType?: string;
  subjectId?: string;
}

export async function listTransactions(
  db: Database,
  provider: PaymentProvider,
  environment: PaymentEnvironment,
  q: ListQuery,
): Promise<PaymentTransaction[]> {
  const { rows } = await db.query<TransactionRow>(
    `SELECT * FROM payments.transactions
      WHERE provider = $1 AND environment = $2
        AND ($3::text IS NULL OR (subject_type = $3 AND subject_id = $4))
      ORDER BY created_at DESC, id LIMIT $5 OFFSET $6`,
    [provider, environment, q.subjectType ?? null, q.subjectId ?? null, q.limit, q.offset],
  );
  return rows.map((r) => ({
    environment: r.environment,
    provider: r.provider,
    type: r.type,
    status: r.status,
    subjectType: r.subject_type,
    subjectId: r.subject_id,
    providerCustomerId: r.provider_customer_id,
    customerEmailSnapshot: r.customer_email_snapshot,
    providerReferenceId: r.provider_reference_id,
    providerReferenceType: r.provider_reference_type,
    amount: num(r.amount),
    amountRefunded: num(r.amount_refunded),
    currency: r.currency,
    description: r.description,
    paidAt: iso(r.paid_at),
    failedAt: iso(r.failed_at),
    refundedAt: iso(r.refunded_at),
    providerCreatedAt: iso(r.provider_created_at),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  }));
}

export async function listCustomers(
  db: Database,
  provider: PaymentProvider,
  environment: PaymentEnvironment,
  q: { limit: number; offset: number },
): Promise<PaymentCustomer[]> {
  const { rows } = await db.query<{
    provider_customer_id: string;
    email: string | null;
    name: string | null;
    phone: string | null;
    deleted: boolean;
    metadata: Record<string, string>;
    provider_created_at: Date | null;
    synced_at: Date;
    payments_count: number;
    last_payment_at: Date | null;
    total_spend: string | null;
    currency: string | null;
  }>(
    `SELECT c.*, coalesce(t.n, 0)::int AS payments_count, t.last_at AS last_payment_at,
            t.total AS total_spend, t.currency
       FROM payments.customers c
       LEFT JOIN LATERAL (
         SELECT count(*) AS n, max(paid_at) AS last_at,
                CASE WHEN count(DISTINCT currency) = 1 THEN sum(amount) END AS total,
                CASE WHEN count(DISTINCT currency) = 1 THEN min(currency) END AS currency
           FROM payments.transactions x
          WHERE x.provider = c.provider AND x.environment = c.environment
            AND x.provider_customer_id = c.provider_customer_id AND x.status = 'succeeded'
       ) t ON true
      WHERE c.provider = $1 AND c.environment = $2
      ORDER BY c.created_at DESC, c.provider_customer_id LIMIT $3 OFFSET $4`,
    [provider, environment, q.limit, q.offset],
  );
  return rows.map((r) => ({
    environment,
    provider,
    providerCustomerId: r.provider_customer_id,
    email: r.email,
    name: r.name,
    phone: r.phone,
    deleted: r.deleted,
    metadata: userMetadata(r.metadata),
    providerCreatedAt: iso(r.provider_created_at),
    syncedAt: r.synced_at.toISOString(),
    paymentsCount: r.payments_count,
    lastPaymentAt: iso(r.last_payment_at),
    totalSpend: r.total_spend === null ? null : Number(r.total_spend),
    totalSpendCurrency: r.currency,
    paymentMethodBrand: null,
    paymentMethodLast4: null,
    countryCode: null,
  }));
}

// ---------------------------------------------------------------------------------------------
// Provider webhook events: idempotency and announcements
// ---------------------------------------------------------------------------------------------

export interface EventRecord {
  provider: PaymentProvider;
  environment: PaymentEnvironment;
  eventId: string;
  eventType: string;
  livemode: boolean;
  accountId?: string | null;
  objectType?: string | null;
  objectId?: string | null;
}

export interface EventRow {
  environment: PaymentEnvironment;
  event_id: string;
  event_type: string;
  livemode: boolean;
  account_id: string | null;
  object_type: string | null;
  object_id: string | null;
  processing_status: 'pending' | 'processed' | 'failed' | 'ignored';
  attempt_count: number;
  last_error: string | null;
  received_at: Date;
  processed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * Claims an event id in `tx`: the row when this delivery is to be applied (first time, or a
 * retry of one that failed), `undefined` when it was applied before (a replay).
 */
export async function claimEvent(tx: Tx, e: EventRecord): Promise<EventRow | undefined> {
  const { rows } = await tx.query<EventRow>(
    `INSERT INTO payments.webhook_events (provider, environment, event_id, event_type, livemode,
        account_id, object_type, object_id, processing_status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')
     ON CONFLICT (provider, environment, event_id) DO UPDATE
       SET attempt_count = payments.webhook_events.attempt_count + 1, updated_at = now(),
           processing_status = 'pending'
       WHERE payments.webhook_events.processing_status = 'failed'
     RETURNING *`,
    [
      e.provider,
      e.environment,
      e.eventId,
      e.eventType,
      e.livemode,
      e.accountId ?? null,
      e.objectType ?? null,
      e.objectId ?? null,
    ],
  );
  return rows[0];
}

export async function finishEvent(
  tx: Tx,
  provider: PaymentProvider,
  environment: PaymentEnvironment,
  eventId: string,
  handled: boolean,
): Promise<EventRow> {
  const { rows } = await tx.query<EventRow>(
    `UPDATE payments.webhook_events SET processing_status = $4, processed_at = now(),
            last_error = NULL, updated_at = now()
      WHERE provider = $1 AND environment = $2 AND event_id = $3 RETURNING *`,
    [provider, environment, eventId, handled ? 'processed' : 'ignored'],
  );
  return rows[0]!;
}

/** Records a failure outside the rolled-back transaction, so the provider's retry re-applies. */
export async function failEvent(db: Database, e: EventRecord, error: string): Promise<void> {
  await db.query(
    `INSERT INTO payments.webhook_events (provider, environment, event_id, event_type, livemode,
        processing_status, last_error)
     VALUES ($1, $2, $3, $4, $5, 'failed', $6)
     ON CONFLICT (provider, environment, event_id) DO UPDATE
       SET processing_status = 'failed', last_error = EXCLUDED.last_error, updated_at = now()`,
    [e.provider, e.environment, e.eventId, e.eventType, e.livemode, error.slice(0, 1000)],
  );
}

export async function findEvent(
  db: Database,
  provider: PaymentProvider,
  environment: PaymentEnvironment,
  eventId: string,
): Promise<EventRow | undefined> {
  const { rows } = await db.query<EventRow>(
    `SELECT * FROM payments.webhook_events WHERE provider = $1 AND environment = $2 AND event_id = $3`,
    [provider, environment, eventId],
  );
  return rows[0];
}

export function eventResponse(r: EventRow) {
  return {
    environment: r.environment,
    eventId: r.event_id,
    eventType: r.event_type,
    livemode: r.livemode,
    accountId: r.account_id,
    objectType: r.object_type,
    objectId: r.object_id,
    processingStatus: r.processing_status,
    attemptCount: r.attempt_count,
    lastError: r.last_error,
    receivedAt: r.received_at.toISOString(),
    processedAt: iso(r.processed_at),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** The queue an application may create to react to payment events (`payments`). */
export const PAYMENTS_QUEUE = 'payments';

/**
 * Announces an applied event, in the event's transaction (so it is sent only if the change
 * commits): a realtime message on `payments:<user id>` for the user it concerns, and a job on
 * the `payments` queue when the application created one.
 */
export async function announce(
  tx: Tx,
  userIds: Iterable<string | null | undefined>,
  payload: {
    provider: PaymentProvider;
    environment: PaymentEnvironment;
    eventId: string;
    type: string;
    objectId: string | null;
    status: string | null;
    subjectType: string | null;
    subjectId: string | null;
  },
): Promise<void> {
  for (const userId of new Set([...userIds].filter((u): u is string => !!u))) {
    await tx.query(`SELECT realtime.publish($1, $2, $3::jsonb)`, [
      `payments:${userId}`,
      payload.type,
      JSON.stringify({ ...payload, userId }),
    ]);
  }
  await tx.query('SAVEPOINT payments_job');
  try {
    await tx.query(`SELECT jobs.enqueue($1, $2::jsonb, $3::jsonb)`, [
      PAYMENTS_QUEUE,
      JSON.stringify({ ...payload, userIds: [...new Set([...userIds].filter(Boolean))] }),
      JSON.stringify({ dedupKey: `${payload.provider}:${payload.environment}:${payload.eventId}` }),
    ]);
  } catch (err) {
    // No `payments` queue: the application does not want jobs (a foreign-key violation if it
    // went between the check and the insert).
    const code = pgCode(err);
    if (code !== PG.undefinedObject && code !== PG.foreignKeyViolation) throw err;
    await tx.query('ROLLBACK TO SAVEPOINT payments_job');
  }
}
