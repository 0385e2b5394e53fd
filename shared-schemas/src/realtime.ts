import { z } from 'zod';
import { paginationSchema } from './common.js';

const uuid = z.guid({ error: 'must be a UUID' });

/** `{id}` in the path of a channel or a webhook delivery. */
export const realtimeIdParamsSchema = z.object({ id: uuid });

/** POST /api/realtime/channels (PUT takes any subset). */
export const realtimeChannelRequestSchema = z.object({
  pattern: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9_.:@/%-]+$/, 'letters, digits and _ . : @ / - with % as a wildcard'),
  description: z.string().max(1000).nullable().optional(),
  webhookUrls: z.array(z.url()).max(20).optional(),
  enabled: z.boolean().default(true),
});
export type RealtimeChannelRequest = z.input<typeof realtimeChannelRequestSchema>;

/** PUT /api/realtime/channels/{id} */
export const updateRealtimeChannelRequestSchema = realtimeChannelRequestSchema.partial();

export const realtimeChannelSchema = z.object({
  id: z.string(),
  /** A channel name, or a pattern with % wildcards (`chat:%`). */
  pattern: z.string(),
  description: z.string().nullable(),
  webhookUrls: z.array(z.string()),
  enabled: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type RealtimeChannel = z.infer<typeof realtimeChannelSchema>;

/** GET /api/realtime/channels: a bare array. */
export const listRealtimeChannelsResponseSchema = z.array(realtimeChannelSchema);

export const realtimeMessageResponseSchema = z.object({ message: z.string() });

/** GET /api/realtime/config: retention and how webhook receivers verify a call. */
export const realtimeConfigResponseSchema = z.object({
  retentionDays: z.number().int(),
  webhookSecret: z.string(),
  signature: z.string(),
});
export type RealtimeConfigResponse = z.infer<typeof realtimeConfigResponseSchema>;

/** PATCH /api/realtime/config */
export const updateRealtimeConfigRequestSchema = z
  .object({ retentionDays: z.number().int().min(1).max(3650) })
  .strict();

/** DELETE /api/realtime/messages */
export const purgeRealtimeMessagesQuerySchema = z.object({
  before: z.iso.datetime({ offset: true }),
  channel: z.string().max(255).optional(),
});
export const purgeRealtimeMessagesResponseSchema = z.object({ deletedCount: z.number().int() });

/** GET /api/realtime/deliveries */
export const listWebhookDeliveriesQuerySchema = z.object({
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
  messageId: z.guid().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type ListWebhookDeliveriesQuery = z.infer<typeof listWebhookDeliveriesQuerySchema>;

export const webhookDeliverySchema = z.object({
  id: z.string(),
  messageId: z.string(),
  url: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  /** The receiver's last HTTP status. */
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  /** When pending: the next attempt. */
  nextAttemptAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  deliveredAt: z.iso.datetime().nullable(),
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

export const listWebhookDeliveriesResponseSchema = z.object({
  data: z.array(webhookDeliverySchema),
  pagination: paginationSchema,
});

/** POST /api/realtime/deliveries/{id}/replay */
export const replayWebhookDeliveryResponseSchema = z.object({
  message: z.string(),
  id: z.string(),
});

/** GET /api/realtime/messages/stats */
export const realtimeMessageStatsResponseSchema = z.object({
  totalMessages: z.number().int(),
  /** Delivered of the webhook deliveries that finished (delivered or failed), 0 when none. */
  whDeliveryRate: z.number().min(0).max(1),
  /** The busiest events (at most 20). */
  topEvents: z.array(z.object({ eventName: z.string(), count: z.number().int() })),
  /** As GET /api/realtime/config. */
  retentionDays: z.number().int().positive(),
  lastHour: z.number().int(),
  lastDay: z.number().int(),
  oldestMessageAt: z.iso.datetime().nullable(),
  topChannels: z.array(
    z.object({
      channel: z.string(),
      messages: z.number().int(),
      lastMessageAt: z.iso.datetime(),
    }),
  ),
});
export type RealtimeMessageStatsResponse = z.infer<typeof realtimeMessageStatsResponseSchema>;

/** GET /api/realtime/messages */
export const listRealtimeMessagesQuerySchema = z.object({
  channel: z.string().max(255).optional(),
  event: z.string().max(255).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type ListRealtimeMessagesQuery = z.infer<typeof listRealtimeMessagesQuerySchema>;

export const realtimeStoredMessageSchema = z.object({
  id: z.string(),
  channel: z.string(),
  event: z.string(),
  /** InsForge's names for `event` and `channel`; the channel row it was published under. */
  eventName: z.string(),
  channelName: z.string(),
  channelId: z.string().nullable(),
  payload: z.unknown(),
  senderType: z.enum(['system', 'user']),
  senderId: z.string().nullable(),
  createdAt: z.iso.datetime(),
  /** InsForge's counters: webhook deliveries in all (`webhooks.total`) and delivered. */
  whAudienceCount: z.number().int(),
  whDeliveredCount: z.number().int(),
  /** Webhook deliveries of this message, by status. */
  webhooks: z.object({
    total: z.number().int(),
    pending: z.number().int(),
    delivered: z.number().int(),
    failed: z.number().int(),
  }),
});

/**
 * GET /api/realtime/messages: a bare array, as InsForge answers; how many match in all is in the
 * `X-Total-Count` header.
 */
export const listRealtimeMessagesResponseSchema = z.array(realtimeStoredMessageSchema);
