import { z } from 'zod';
import { paginationQuerySchema, paginationSchema } from './common.js';

/**
 * Incoming webhooks: endpoints that receive signed deliveries from other services at
 * `POST /api/webhooks/in/{name}`, verify them, store them and hand them on.
 */

/** An endpoint's name: the last part of its URL. */
export const incomingWebhookNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'must be 1-63 lowercase letters, digits, "-" or "_", starting with a letter or digit',
  );

/**
 * How a delivery proves it comes from the sender:
 * - `hmac`: HMAC-SHA256 of the raw body with the secret, in `header`, written in `encoding`
 *   after an optional `prefix` (e.g. `sha256=`);
 * - `standard-webhooks`: the Standard Webhooks spec (Svix): `webhook-id`, `webhook-timestamp`,
 *   `webhook-signature: v1,<base64>` (or the `svix-*` names) and a `whsec_` secret;
 * - `github`: `X-Hub-Signature-256: sha256=<hex>`;
 * - `stripe`: `Stripe-Signature: t=<unix time>,v1=<hex>` over `t.body`;
 * - `none`: no signature; the secret is the last part of the URL
 *   (`/api/webhooks/in/{name}/{secret}`).
 */
export const incomingWebhookVerificationSchema = z.discriminatedUnion('scheme', [
  z.object({
    scheme: z.literal('hmac'),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,100}$/, 'must be an HTTP header name')
      .default('x-signature'),
    encoding: z.enum(['hex', 'base64']).default('hex'),
    prefix: z.string().max(50).default(''),
  }),
  z.object({ scheme: z.literal('standard-webhooks') }),
  z.object({ scheme: z.literal('github') }),
  z.object({ scheme: z.literal('stripe') }),
  z.object({ scheme: z.literal('none') }),
]);
export type IncomingWebhookVerification = z.infer<typeof incomingWebhookVerificationSchema>;
export type IncomingWebhookScheme = IncomingWebhookVerification['scheme'];

/**
 * Where a verified delivery goes: nowhere (only stored), a job on a queue of the jobs area
 * (retried by its rules), or an edge function (through a queue Kiln keeps for the endpoint,
 * `webhooks-in:{name}`, so a failing function is retried too).
 */
export const incomingWebhookTargetSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('queue'), queue: z.string().min(1).max(100) }),
  z.object({ type: z.literal('function'), slug: z.string().min(1).max(100) }),
]);
export type IncomingWebhookTarget = z.infer<typeof incomingWebhookTargetSchema>;

/**
 * Where a delivery's deduplication key is read: `header:<name>` (a request header) or a dotted
 * path into the JSON payload (`id`, `data.object.id`, `$.events.0.id`).
 */
export const idempotencyKeySourceSchema = z
  .string()
  .regex(
    /^(header:[A-Za-z0-9-]{1,100}|(\$\.)?[A-Za-z0-9_-]{1,100}(\.[A-Za-z0-9_-]{1,100}){0,15})$/,
    'must be header:<name> or a dotted path into the payload (e.g. data.id)',
  );

const secretSchema = z.string().min(8, 'must be at least 8 characters').max(500);

/** POST /api/webhooks/incoming */
export const createIncomingWebhookRequestSchema = z.object({
  name: incomingWebhookNameSchema,
  description: z.string().max(500).nullable().optional(),
  verification: incomingWebhookVerificationSchema,
  /** Generated when absent (a `whsec_` one for Standard Webhooks and Stripe). */
  secret: secretSchema.optional(),
  /** Timestamped schemes (Standard Webhooks, Stripe): older or newer deliveries are refused. */
  replayWindowSeconds: z.number().int().min(1).max(604_800).default(300),
  /**
   * Deduplication key; when absent, the scheme's own (`header:webhook-id`, `header:x-github-delivery`,
   * `id` for Stripe), none for `hmac` and `none`. `null`: no deduplication.
   */
  idempotencyKey: idempotencyKeySourceSchema.nullable().optional(),
  target: incomingWebhookTargetSchema.default({ type: 'none' }),
  enabled: z.boolean().default(true),
});
export type CreateIncomingWebhookRequest = z.input<typeof createIncomingWebhookRequestSchema>;

/** PATCH /api/webhooks/incoming/{name}: at least one field. */
export const updateIncomingWebhookRequestSchema = z
  .object({
    description: z.string().max(500).nullable().optional(),
    verification: incomingWebhookVerificationSchema.optional(),
    secret: secretSchema.optional(),
    replayWindowSeconds: z.number().int().min(1).max(604_800).optional(),
    idempotencyKey: idempotencyKeySourceSchema.nullable().optional(),
    target: incomingWebhookTargetSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change');
export type UpdateIncomingWebhookRequest = z.input<typeof updateIncomingWebhookRequestSchema>;

export const incomingWebhookParamsSchema = z.object({ name: z.string() });

export const incomingWebhookCountsSchema = z.object({
  /** Verified deliveries stored (each once, whatever its duplicates). */
  received: z.number().int(),
  /** Repeats of a stored delivery (same idempotency key), answered 200 and not handed on. */
  duplicates: z.number().int(),
  /** Deliveries refused: bad or missing signature, stale timestamp, too large. */
  refused: z.number().int(),
});

export const incomingWebhookSchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  /** Where senders deliver (for `none`, followed by `/{secret}`). */
  url: z.string(),
  verification: z.discriminatedUnion('scheme', [
    z.object({
      scheme: z.literal('hmac'),
      header: z.string(),
      encoding: z.enum(['hex', 'base64']),
      prefix: z.string(),
    }),
    z.object({ scheme: z.literal('standard-webhooks') }),
    z.object({ scheme: z.literal('github') }),
    z.object({ scheme: z.literal('stripe') }),
    z.object({ scheme: z.literal('none') }),
  ]),
  /** The secret in full (GET of one endpoint, create, update); masked in the list. */
  secret: z.string(),
  replayWindowSeconds: z.number().int(),
  idempotencyKey: z.string().nullable(),
  target: incomingWebhookTargetSchema,
  enabled: z.boolean(),
  counts: incomingWebhookCountsSchema,
  lastReceivedAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type IncomingWebhook = z.infer<typeof incomingWebhookSchema>;

export const listIncomingWebhooksResponseSchema = z.object({
  endpoints: z.array(incomingWebhookSchema),
});

export const deleteIncomingWebhookResponseSchema = z.object({
  success: z.literal(true),
  message: z.string(),
});

/**
 * `verified` (signature checked), `secret-path` (scheme `none`: the URL's secret matched), or
 * the code a refused delivery was answered with.
 */
export const deliveryVerificationSchema = z.string();

/**
 * stored: kept, no target; queued: handed to a job (see `job`); unrouted: the target could not
 * take it (its queue is gone; `error` says so); refused: not verified (nothing of it is kept
 * but its size, time and reason).
 */
export const deliveryStatusSchema = z.enum(['stored', 'queued', 'unrouted', 'refused']);
export type IncomingDeliveryStatus = z.infer<typeof deliveryStatusSchema>;

export const incomingDeliverySummarySchema = z.object({
  id: z.uuid(),
  endpoint: z.string(),
  receivedAt: z.iso.datetime(),
  status: deliveryStatusSchema,
  verification: deliveryVerificationSchema,
  idempotencyKey: z.string().nullable(),
  duplicates: z.number().int(),
  contentType: z.string().nullable(),
  size: z.number().int(),
  /** The job the delivery was handed to, with its current status. */
  job: z.object({ id: z.uuid(), status: z.string().nullable() }).nullable(),
  error: z.string().nullable(),
});

export const incomingDeliverySchema = incomingDeliverySummarySchema.extend({
  /** Request headers, without credentials and signatures. */
  headers: z.record(z.string(), z.string()).nullable(),
  /** The body parsed as JSON, or the body as text when it is not JSON. */
  payload: z.unknown(),
});
export type IncomingDelivery = z.infer<typeof incomingDeliverySchema>;

export const listIncomingDeliveriesQuerySchema = paginationQuerySchema.extend({
  status: deliveryStatusSchema.optional(),
});

export const listIncomingDeliveriesResponseSchema = z.object({
  data: z.array(incomingDeliverySummarySchema),
  pagination: paginationSchema,
});

export const incomingDeliveryParamsSchema = z.object({ name: z.string(), id: z.uuid() });

/** POST /api/webhooks/in/{name}: what the sender hears back. */
export const incomingDeliveryAcceptedSchema = z.object({
  received: z.literal(true),
  id: z.uuid(),
  /** A repeat of a delivery already stored (same idempotency key): not handed on again. */
  duplicate: z.boolean(),
});

export const incomingReceiveParamsSchema = z.object({
  name: z.string(),
  token: z.string().optional(),
});
