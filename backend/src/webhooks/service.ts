/**
 * Incoming webhooks: endpoints (system.incoming_webhooks) and what was delivered to them
 * (system.incoming_webhook_deliveries).
 *
 * A delivery is verified over the exact bytes received (verify.ts), then stored and handed on
 * in one transaction: the delivery row and its job (jobs.enqueue) commit together, so a
 * delivery answered 2xx is handed on exactly once, and a repeat of it (the same idempotency
 * key) finds the stored row and is answered 200 without a second job. A function target gets a
 * queue of its own (`webhooks-in:<name>`, target the function), so its failures are retried
 * by the jobs area like any other job.
 */
import crypto from 'node:crypto';
import type {
  CreateIncomingWebhookRequest,
  IncomingDelivery,
  IncomingDeliveryStatus,
  IncomingWebhook,
  IncomingWebhookTarget,
  IncomingWebhookVerification,
  UpdateIncomingWebhookRequest,
} from '@kiln/shared-schemas';
import type { SecretBox } from '../core/crypto.js';
import type { Database, Tx } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { jsonProblem } from '../core/http.js';
import { JsonNumber, parseJsonExact, stringifyJson } from '../core/json.js';
import { listPage } from '../core/paging.js';
import { PG, pgCode } from '../core/sql.js';
import type { JobsService } from '../jobs/service.js';
import { JOB_STATUS_SQL } from '../jobs/status.js';
import { maskSecret } from '../secrets/service.js';
import { signatureHeaders, standardWebhooksKey, verifyDelivery, type Refusal } from './verify.js';

interface EndpointRow {
  name: string;
  description: string | null;
  scheme: IncomingWebhookVerification['scheme'];
  signature_header: string | null;
  signature_encoding: 'hex' | 'base64' | null;
  signature_prefix: string;
  secret_sealed: string;
  replay_window_seconds: number;
  idempotency_key: string | null;
  target_kind: 'none' | 'queue' | 'function';
  target: string | null;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  received?: number;
  duplicates?: number;
  refused?: number;
  last_received_at?: Date | null;
}

interface DeliveryRow {
  id: string;
  endpoint: string;
  received_at: Date;
  status: IncomingDeliveryStatus;
  verification: string;
  idempotency_key: string | null;
  duplicates: number;
  content_type: string | null;
  size: number;
  headers: Record<string, string> | null;
  payload: unknown;
  body: string | null;
  job_id: string | null;
  job_status: string | null;
  error: string | null;
}

/** The queue that carries a function target's deliveries. */
export const functionQueueName = (endpoint: string) => `webhooks-in:${endpoint}`;

/** Headers never stored with a delivery: credentials, whatever the scheme. */
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'apikey',
]);

const COUNTS = `
  (SELECT count(*) FILTER (WHERE d.status <> 'refused')::int FROM system.incoming_webhook_deliveries d WHERE d.endpoint = e.name) AS received,
  (SELECT coalesce(sum(d.duplicates), 0)::int FROM system.incoming_webhook_deliveries d WHERE d.endpoint = e.name) AS duplicates,
  (SELECT count(*) FILTER (WHERE d.status = 'refused')::int FROM system.incoming_webhook_deliveries d WHERE d.endpoint = e.name) AS refused,
  (SELECT max(d.received_at) FROM system.incoming_webhook_deliveries d WHERE d.endpoint = e.name AND d.status <> 'refused') AS last_received_at`;

const notFound = (name: string) =>
  new AppError(
    404,
    'WEBHOOK_ENDPOINT_NOT_FOUND',
    `No incoming webhook endpoint named "${name}"`,
    'List them with GET /api/webhooks/incoming',
  );

const deliveryNotFound = (name: string, id: string) =>
  new AppError(404, 'WEBHOOK_DELIVERY_NOT_FOUND', `No delivery ${id} to "${name}"`);

/** The queue an endpoint's deliveries go to (none without a target). */
function queueOf(e: EndpointRow): string | undefined {
  if (e.target_kind === 'queue') return e.target!;
  if (e.target_kind === 'function') return functionQueueName(e.name);
  return undefined;
}

/** The scheme's own deduplication key, used when an endpoint names none. */
function defaultIdempotencyKey(scheme: IncomingWebhookVerification['scheme']): string | null {
  if (scheme === 'standard-webhooks') return 'header:webhook-id';
  if (scheme === 'github') return 'header:x-github-delivery';
  if (scheme === 'stripe') return 'id';
  return null;
}

function generateSecret(scheme: IncomingWebhookVerification['scheme']): string {
  if (scheme === 'standard-webhooks') return `whsec_${crypto.randomBytes(24).toString('base64')}`;
  if (scheme === 'stripe') return `whsec_${crypto.randomBytes(24).toString('hex')}`;
  return crypto.randomBytes(24).toString('base64url');
}

function verificationOf(r: EndpointRow): IncomingWebhookVerification {
  if (r.scheme === 'hmac')
    return {
      scheme: 'hmac',
      header: r.signature_header ?? 'x-signature',
      encoding: r.signature_encoding ?? 'hex',
      prefix: r.signature_prefix,
    };
  return { scheme: r.scheme };
}

function targetOf(r: EndpointRow): IncomingWebhookTarget {
  if (r.target_kind === 'queue') return { type: 'queue', queue: r.target! };
  if (r.target_kind === 'function') return { type: 'function', slug: r.target! };
  return { type: 'none' };
}

/** The value at a dotted path of parsed JSON (numeric parts index arrays). */
function atPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.replace(/^\$\./, '').split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

export interface IncomingRequest {
  name: string;
  token: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export type ReceiveResult =
  { ok: true; id: string; duplicate: boolean } | { ok: false; reason: Refusal };

export interface IncomingWebhooksOptions {
  apiBaseUrl: () => string;
  maxBodyBytes: number;
  retentionDays: number;
  /** Deepest nesting a JSON body is handed on as JSON with (JSON_MAX_DEPTH); 100 unless given. */
  jsonMaxDepth?: number;
}

export class IncomingWebhooks {
  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    /** The jobs area (built after the receiver is mounted; read when an admin call needs it). */
    private readonly jobsService: () => JobsService,
    private readonly options: IncomingWebhooksOptions,
  ) {}

  get maxBodyBytes(): number {
    return this.options.maxBodyBytes;
  }

  private json(r: EndpointRow, reveal: boolean): IncomingWebhook {
    let secret: string;
    try {
      secret = this.box.decrypt(r.secret_sealed);
    } catch {
      secret = '(unreadable: sealed with another key)';
    }
    return {
      name: r.name,
      description: r.description,
      url: `${this.options.apiBaseUrl()}/api/webhooks/in/${r.name}`,
      verification: verificationOf(r),
      secret: reveal ? secret : maskSecret(secret),
      replayWindowSeconds: r.replay_window_seconds,
      idempotencyKey: r.idempotency_key,
      target: targetOf(r),
      enabled: r.enabled,
      counts: { received: r.received ?? 0, duplicates: r.duplicates ?? 0, refused: r.refused ?? 0 },
      lastReceivedAt: r.last_received_at?.toISOString() ?? null,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    };
  }

  private async row(name: string): Promise<EndpointRow> {
    const { rows } = await this.db.query<EndpointRow>(
      `SELECT e.*, ${COUNTS} FROM system.incoming_webhooks e WHERE e.name = $1`,
      [name],
    );
    if (!rows[0]) throw notFound(name);
    return rows[0];
  }

  async list(): Promise<IncomingWebhook[]> {
    const { rows } = await this.db.query<EndpointRow>(
      `SELECT e.*, ${COUNTS} FROM system.incoming_webhooks e ORDER BY e.name`,
    );
    return rows.map((r) => this.json(r, false));
  }

  async get(name: string): Promise<IncomingWebhook> {
    return this.json(await this.row(name), true);
  }

  /** 400 for a secret the scheme cannot use, or a target that does not exist. */
  private async check(
    scheme: IncomingWebhookVerification['scheme'],
    secret: string,
    target: IncomingWebhookTarget | undefined,
  ): Promise<void> {
    if (scheme === 'standard-webhooks' && !standardWebhooksKey(secret))
      throw new AppError(
        400,
        'INVALID_INPUT',
        'A Standard Webhooks secret is whsec_ followed by at least 16 bytes in base64',
      );
    if (scheme === 'none' && !/^[A-Za-z0-9_-]+$/.test(secret))
      throw new AppError(
        400,
        'INVALID_INPUT',
        'The secret of a scheme "none" endpoint is part of its URL: use A-Z, a-z, 0-9, "-" and "_"',
      );
    if (target?.type === 'queue') {
      const { rowCount } = await this.db.query('SELECT 1 FROM jobs.queues WHERE name = $1', [
        target.queue,
      ]);
      if (!rowCount)
        throw new AppError(
          400,
          'WEBHOOK_UNKNOWN_TARGET',
          `No queue named "${target.queue}"`,
          'Create it with PUT /api/jobs/queues/{name}',
        );
    } else if (target?.type === 'function') {
      try {
        await this.jobsService().checkTarget({ type: 'function', slug: target.slug });
      } catch (err) {
        if (err instanceof AppError) throw new AppError(400, 'WEBHOOK_UNKNOWN_TARGET', err.message);
        throw err;
      }
    }
  }

  /** The function target's queue follows the endpoint's target (gone when it is another). */
  private async syncFunctionQueue(name: string, target: IncomingWebhookTarget): Promise<void> {
    const queue = functionQueueName(name);
    if (target.type === 'function') {
      await this.jobsService().putQueue(queue, {
        target: { type: 'function', slug: target.slug },
        maxAttempts: 5,
        backoffMs: 1000,
        backoffMaxMs: 3_600_000,
        timeoutMs: 30_000,
        concurrency: null,
        userEnqueue: false,
      });
    } else {
      await this.db.query('DELETE FROM jobs.queues WHERE name = $1', [queue]);
    }
  }

  async create(input: CreateIncomingWebhookRequest): Promise<IncomingWebhook> {
    const v = input.verification;
    const secret = input.secret ?? generateSecret(v.scheme);
    const target = input.target ?? { type: 'none' };
    await this.check(v.scheme, secret, target);
    const hmac = v.scheme === 'hmac' ? v : undefined;
    try {
      await this.db.query(
        `INSERT INTO system.incoming_webhooks (name, description, scheme, signature_header,
           signature_encoding, signature_prefix, secret_sealed, replay_window_seconds,
           idempotency_key, target_kind, target, enabled)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          input.name,
          input.description ?? null,
          v.scheme,
          hmac ? (hmac.header ?? 'x-signature').toLowerCase() : null,
          hmac ? (hmac.encoding ?? 'hex') : null,
          hmac?.prefix ?? '',
          this.box.encrypt(secret),
          input.replayWindowSeconds ?? 300,
          input.idempotencyKey === undefined
            ? defaultIdempotencyKey(v.scheme)
            : input.idempotencyKey,
          target.type,
          target.type === 'queue' ? target.queue : target.type === 'function' ? target.slug : null,
          input.enabled ?? true,
        ],
      );
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation)
        throw new AppError(
          409,
          'WEBHOOK_ENDPOINT_EXISTS',
          `An incoming webhook endpoint named "${input.name}" exists already`,
          `Change it with PATCH /api/webhooks/incoming/${input.name}`,
        );
      throw err;
    }
    await this.syncFunctionQueue(input.name, target);
    return this.get(input.name);
  }

  async update(name: string, input: UpdateIncomingWebhookRequest): Promise<IncomingWebhook> {
    const current = await this.row(name);
    const v = input.verification ?? verificationOf(current);
    const secret = input.secret ?? this.openSecret(current);
    await this.check(v.scheme, secret, input.target);
    const target = input.target ?? targetOf(current);
    const hmac = v.scheme === 'hmac' ? v : undefined;
    await this.db.query(
      `UPDATE system.incoming_webhooks SET description = $2, scheme = $3, signature_header = $4,
         signature_encoding = $5, signature_prefix = $6, secret_sealed = $7,
         replay_window_seconds = $8, idempotency_key = $9, target_kind = $10, target = $11,
         enabled = $12, updated_at = now()
       WHERE name = $1`,
      [
        name,
        input.description === undefined ? current.description : input.description,
        v.scheme,
        hmac ? (hmac.header ?? 'x-signature').toLowerCase() : null,
        hmac ? (hmac.encoding ?? 'hex') : null,
        hmac?.prefix ?? '',
        input.secret === undefined ? current.secret_sealed : this.box.encrypt(input.secret),
        input.replayWindowSeconds ?? current.replay_window_seconds,
        input.idempotencyKey === undefined ? current.idempotency_key : input.idempotencyKey,
        target.type,
        target.type === 'queue' ? target.queue : target.type === 'function' ? target.slug : null,
        input.enabled ?? current.enabled,
      ],
    );
    if (input.target) await this.syncFunctionQueue(name, target);
    return this.get(name);
  }

  async delete(name: string): Promise<void> {
    const { rowCount } = await this.db.query(
      'DELETE FROM system.incoming_webhooks WHERE name = $1',
      [name],
    );
    if (!rowCount) throw notFound(name);
    await this.db.query('DELETE FROM jobs.queues WHERE name = $1', [functionQueueName(name)]);
  }

  /** The endpoint a delivery is for, or 404 (503 when it is switched off). */
  async endpointFor(name: string): Promise<EndpointRow> {
    const { rows } = await this.db.query<EndpointRow>(
      'SELECT * FROM system.incoming_webhooks WHERE name = $1',
      [name],
    );
    const row = rows[0];
    if (!row) throw notFound(name);
    if (!row.enabled)
      throw new AppError(
        503,
        'WEBHOOK_ENDPOINT_DISABLED',
        `The endpoint "${name}" is switched off; deliver again later`,
      );
    return row;
  }

  /** Counts a delivery refused before it was read (too large). */
  async refuse(
    endpoint: string,
    reason: string,
    size: number,
    contentType: string | undefined,
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO system.incoming_webhook_deliveries (endpoint, status, verification, size, content_type)
       VALUES ($1, 'refused', $2, $3, $4)`,
      [endpoint, reason, size, contentType ?? null],
    );
  }

  /** The endpoint's secret; 409 (503 for a delivery) when it was sealed with another key. */
  private openSecret(r: EndpointRow, status = 409): string {
    try {
      return this.box.decrypt(r.secret_sealed);
    } catch {
      throw new AppError(
        status,
        'WEBHOOK_SECRET_UNREADABLE',
        `The secret of "${r.name}" was sealed with another encryption key`,
        'Set ENCRYPTION_KEY_PREVIOUS to that key and restart, or set a new secret',
      );
    }
  }

  /** Verifies, stores and hands on one delivery (see the header comment). */
  async receive(endpoint: EndpointRow, req: IncomingRequest): Promise<ReceiveResult> {
    const verification = verificationOf(endpoint);
    const secret = this.openSecret(endpoint, 503);
    const contentType =
      typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : undefined;
    const result = verifyDelivery({
      verification,
      secret,
      replayWindowSeconds: endpoint.replay_window_seconds,
      body: req.body,
      headers: req.headers,
      token: req.token,
      now: Math.floor(Date.now() / 1000),
    });
    if (!result.ok) {
      await this.refuse(endpoint.name, result.reason, req.body.length, contentType);
      return result;
    }

    const text = req.body.toString('utf8');
    let payload: unknown = text;
    let isJson = false;
    try {
      // Numbers as sent (core/json.ts): the job gets them exactly, as the stored payload has them.
      const parsed = parseJsonExact(text);
      // JSON nested without bound (or with a NUL jsonb cannot hold) is kept as the text it is:
      // handing it on would walk it past the stack's depth.
      if (!jsonProblem(parsed, this.options.jsonMaxDepth ?? 100)) {
        payload = parsed;
        isJson = true;
      }
    } catch {
      // Not JSON: kept as text.
    }
    const omit = new Set([...CREDENTIAL_HEADERS, ...signatureHeaders(verification)]);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || omit.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const key = this.idempotencyKey(
      endpoint.idempotency_key,
      headers,
      req.headers,
      isJson ? payload : undefined,
    );

    return this.db.transaction(async (tx) => {
      const inserted = await tx.query<{ id: string; received_at: Date }>(
        `INSERT INTO system.incoming_webhook_deliveries (endpoint, status, verification,
           idempotency_key, content_type, size, headers, payload, body)
         VALUES ($1, 'stored', $2, $3, $4, $5, $6, $7::jsonb, $8)
         ON CONFLICT (endpoint, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING id, received_at`,
        [
          endpoint.name,
          result.verification,
          key,
          contentType ?? null,
          req.body.length,
          JSON.stringify(headers),
          isJson ? text : null,
          isJson ? null : text,
        ],
      );
      const row = inserted.rows[0];
      if (!row) {
        const { rows } = await tx.query<{ id: string }>(
          `UPDATE system.incoming_webhook_deliveries SET duplicates = duplicates + 1
            WHERE endpoint = $1 AND idempotency_key = $2 RETURNING id`,
          [endpoint.name, key],
        );
        return { ok: true, id: rows[0]!.id, duplicate: true };
      }
      await this.handOn(tx, endpoint, {
        id: row.id,
        received_at: row.received_at,
        headers,
        payload,
      });
      return { ok: true, id: row.id, duplicate: false };
    });
  }

  /**
   * Enqueues a stored delivery's job on the endpoint's target (in the caller's transaction) and
   * marks it queued; a delivery whose queue is gone is kept as unrouted, saying why. Nothing for
   * an endpoint without a target.
   */
  private async handOn(
    tx: Tx,
    endpoint: EndpointRow,
    d: { id: string; received_at: Date; headers: Record<string, string>; payload: unknown },
  ): Promise<void> {
    const queue = queueOf(endpoint);
    if (!queue) return;
    const job = {
      endpoint: endpoint.name,
      deliveryId: d.id,
      receivedAt: d.received_at.toISOString(),
      headers: d.headers,
      payload: d.payload,
    };
    await tx.query('SAVEPOINT hand_on');
    try {
      const { rows } = await tx.query<{ id: string }>(
        `SELECT jobs.enqueue($1, $2::jsonb, '{}'::jsonb) AS id`,
        [queue, stringifyJson(job)],
      );
      await tx.query(
        `UPDATE system.incoming_webhook_deliveries SET status = 'queued', job_id = $2, error = NULL
          WHERE id = $1`,
        [d.id, rows[0]!.id],
      );
    } catch (err) {
      // The queue is gone (jobs.enqueue says so; a foreign-key violation if it went in between):
      // the delivery stays stored, and says why it went nowhere.
      const code = pgCode(err);
      if (code !== PG.undefinedObject && code !== PG.foreignKeyViolation) throw err;
      await tx.query('ROLLBACK TO SAVEPOINT hand_on');
      await tx.query(
        `UPDATE system.incoming_webhook_deliveries SET status = 'unrouted', error = $2 WHERE id = $1`,
        [d.id, `The queue "${queue}" does not exist`],
      );
    }
  }

  /**
   * Hands a stored delivery to the endpoint's current target again (after fixing a function, or
   * a delivery left unrouted): a new job, whatever became of the previous one.
   */
  async redeliver(name: string, id: string): Promise<IncomingDelivery> {
    const endpoint = await this.row(name);
    if (!queueOf(endpoint))
      throw new AppError(
        409,
        'WEBHOOK_NO_TARGET',
        `The endpoint "${name}" hands deliveries to nothing`,
        `Give it a target with PATCH /api/webhooks/incoming/${name}`,
      );
    await this.db.transaction(async (tx) => {
      // The payload as text too: handed on with its numbers exactly as stored (core/json.ts).
      const { rows } = await tx.query<DeliveryRow & { payload_text: string | null }>(
        `SELECT *, payload::text AS payload_text FROM system.incoming_webhook_deliveries
          WHERE endpoint = $1 AND id = $2 FOR UPDATE`,
        [name, id],
      );
      const d = rows[0];
      if (!d) throw deliveryNotFound(name, id);
      if (d.status === 'refused')
        throw new AppError(
          409,
          'WEBHOOK_DELIVERY_REFUSED',
          'A refused delivery was not kept and cannot be handed on',
        );
      await this.handOn(tx, endpoint, {
        id: d.id,
        received_at: d.received_at,
        headers: d.headers ?? {},
        payload: d.payload_text !== null ? parseJsonExact(d.payload_text) : d.body,
      });
    });
    return this.delivery(name, id);
  }

  private idempotencyKey(
    source: string | null,
    stored: Record<string, string>,
    raw: IncomingRequest['headers'],
    payload: unknown,
  ): string | null {
    if (!source) return null;
    let value: unknown;
    if (source.startsWith('header:')) {
      const name = source.slice(7).toLowerCase();
      value = stored[name] ?? raw[name];
      // Standard Webhooks senders may use the svix- names.
      if (value === undefined && name === 'webhook-id') value = raw['svix-id'];
      if (Array.isArray(value)) value = value[0];
    } else {
      value = atPath(payload, source);
      if (value instanceof JsonNumber) value = value.text;
    }
    if (typeof value !== 'string' && typeof value !== 'number') return null;
    const text = String(value);
    if (!text) return null;
    return text.length <= 200 ? text : crypto.createHash('sha256').update(text).digest('hex');
  }

  async deliveries(
    name: string,
    q: { status?: IncomingDeliveryStatus; limit: number; offset: number },
  ): Promise<{
    data: Omit<IncomingDelivery, 'headers' | 'payload'>[];
    pagination: { offset: number; limit: number; total: number };
  }> {
    await this.row(name);
    const page = await listPage<DeliveryRow & Record<string, unknown>>(this.db, {
      select: DELIVERY_SUMMARY,
      from: 'system.incoming_webhook_deliveries d LEFT JOIN jobs.jobs j ON j.id = d.job_id',
      countFrom: 'system.incoming_webhook_deliveries d',
      filters: [
        { column: 'd.endpoint', type: 'text', value: name },
        { column: 'd.status', type: 'text', value: q.status },
      ],
      orderBy: 'd.received_at DESC, d.id',
      limit: q.limit,
      offset: q.offset,
    });
    return { data: page.rows.map(summaryJson), pagination: page.pagination };
  }

  async delivery(name: string, id: string): Promise<IncomingDelivery> {
    const { rows } = await this.db.query<DeliveryRow>(
      `SELECT ${DELIVERY_SUMMARY}, d.headers, d.payload, d.body
         FROM system.incoming_webhook_deliveries d LEFT JOIN jobs.jobs j ON j.id = d.job_id
        WHERE d.endpoint = $1 AND d.id = $2`,
      [name, id],
    );
    const r = rows[0];
    if (!r) throw deliveryNotFound(name, id);
    return { ...summaryJson(r), headers: r.headers, payload: r.payload ?? r.body };
  }

  /** Deliveries older than the retention (WEBHOOKS_IN_RETENTION_DAYS) go. */
  async prune(): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM system.incoming_webhook_deliveries
        WHERE received_at < now() - make_interval(days => $1)`,
      [this.options.retentionDays],
    );
    return rowCount ?? 0;
  }
}

const DELIVERY_SUMMARY = `d.id, d.endpoint, d.received_at, d.status, d.verification,
  d.idempotency_key, d.duplicates, d.content_type, d.size, d.job_id,
  ${JOB_STATUS_SQL} AS job_status, d.error`;

function summaryJson(r: DeliveryRow): Omit<IncomingDelivery, 'headers' | 'payload'> {
  return {
    id: r.id,
    endpoint: r.endpoint,
    receivedAt: r.received_at.toISOString(),
    status: r.status,
    verification: r.verification,
    idempotencyKey: r.idempotency_key,
    duplicates: r.duplicates,
    contentType: r.content_type,
    size: r.size,
    job: r.job_id ? { id: r.job_id, status: r.job_status } : null,
    error: r.error,
  };
}
