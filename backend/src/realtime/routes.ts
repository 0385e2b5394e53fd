/** Admin API for channels, stored messages and webhook deliveries, mounted at /api/realtime. */
import {
  listRealtimeChannelsResponseSchema,
  listRealtimeMessagesQuerySchema,
  listRealtimeMessagesResponseSchema,
  listWebhookDeliveriesQuerySchema,
  listWebhookDeliveriesResponseSchema,
  purgeRealtimeMessagesQuerySchema,
  purgeRealtimeMessagesResponseSchema,
  realtimeChannelRequestSchema,
  realtimeChannelSchema,
  realtimeConfigResponseSchema,
  realtimeIdParamsSchema,
  realtimeMessageResponseSchema,
  realtimeMessageStatsResponseSchema,
  realtimePermissionsSchema,
  replayWebhookDeliveryResponseSchema,
  updateRealtimeChannelRequestSchema,
  updateRealtimeConfigRequestSchema,
} from '@kiln/shared-schemas';
import { route, type RouteGroup } from '../core/route.js';
import type { RealtimeAdmin } from './admin.js';

export function realtimeRoutes(admin: RealtimeAdmin): RouteGroup {
  const channelNotFound = { 404: ['REALTIME_CHANNEL_NOT_FOUND'] };
  return {
    tag: 'realtime',
    access: 'admin',
    routes: [
      route({
        method: 'get',
        path: '/config',
        summary: 'Message retention, and how webhook receivers verify a call',
        responses: { 200: realtimeConfigResponseSchema },
        handler: () => admin.config(),
      }),
      route({
        method: 'patch',
        path: '/config',
        summary: 'Change the message retention',
        body: updateRealtimeConfigRequestSchema,
        responses: { 200: realtimeConfigResponseSchema },
        handler: ({ body }) => admin.setRetention(body.retentionDays),
      }),
      route({
        method: 'get',
        path: '/permissions',
        summary: 'Who may subscribe and publish: the RLS policies of the realtime tables',
        responses: { 200: realtimePermissionsSchema },
        handler: () => admin.permissions(),
      }),
      route({
        method: 'delete',
        path: '/messages',
        summary: 'Delete stored messages older than an instant (of one channel, if given)',
        query: purgeRealtimeMessagesQuerySchema,
        responses: { 200: purgeRealtimeMessagesResponseSchema },
        handler: async ({ query }) => ({
          deletedCount: await admin.purgeMessages(query.before, query.channel),
        }),
      }),
      route({
        method: 'get',
        path: '/deliveries',
        summary: 'Webhook deliveries, newest first',
        query: listWebhookDeliveriesQuerySchema,
        responses: { 200: listWebhookDeliveriesResponseSchema },
        handler: ({ query }) => admin.deliveries(query),
      }),
      route({
        method: 'post',
        path: '/deliveries/:id/replay',
        summary: 'Queue a webhook delivery again',
        params: realtimeIdParamsSchema,
        responses: { 200: replayWebhookDeliveryResponseSchema },
        errors: { 404: ['REALTIME_DELIVERY_NOT_FOUND'] },
        handler: async ({ params: { id } }) => {
          await admin.replay(id);
          return { message: 'Delivery queued again', id };
        },
      }),
      route({
        method: 'get',
        path: '/channels',
        summary: 'Channels (names or % patterns) with their webhooks',
        responses: { 200: listRealtimeChannelsResponseSchema },
        handler: () => admin.channels(),
      }),
      route({
        method: 'post',
        path: '/channels',
        summary: 'Create a channel',
        body: realtimeChannelRequestSchema,
        responses: { 201: { description: 'Created', schema: realtimeChannelSchema } },
        errors: { 409: ['REALTIME_CHANNEL_EXISTS'] },
        handler: ({ body }) => admin.createChannel(body),
      }),
      route({
        method: 'get',
        path: '/channels/:id',
        summary: 'A channel',
        params: realtimeIdParamsSchema,
        responses: { 200: realtimeChannelSchema },
        errors: channelNotFound,
        handler: ({ params }) => admin.channel(params.id),
      }),
      route({
        method: 'put',
        path: '/channels/:id',
        summary: 'Change a channel',
        params: realtimeIdParamsSchema,
        body: updateRealtimeChannelRequestSchema,
        responses: { 200: realtimeChannelSchema },
        errors: { ...channelNotFound, 409: ['DATABASE_DUPLICATE'] },
        handler: ({ params, body }) => admin.updateChannel(params.id, body),
      }),
      route({
        method: 'delete',
        path: '/channels/:id',
        summary: 'Delete a channel',
        params: realtimeIdParamsSchema,
        responses: { 200: realtimeMessageResponseSchema },
        errors: channelNotFound,
        handler: async ({ params }) => ({
          message: `Channel "${await admin.deleteChannel(params.id)}" deleted`,
        }),
      }),
      route({
        method: 'get',
        path: '/messages/stats',
        summary: 'Stored messages: totals and the busiest channels',
        responses: { 200: realtimeMessageStatsResponseSchema },
        handler: () => admin.messageStats(),
      }),
      route({
        method: 'get',
        path: '/messages',
        summary: 'Stored messages, newest first, with their webhook deliveries by status',
        description: 'How many messages match in all is in the `X-Total-Count` header.',
        query: listRealtimeMessagesQuerySchema,
        responses: { 200: listRealtimeMessagesResponseSchema },
        handler: async ({ query, res }) => {
          const { data, pagination } = await admin.messages(query);
          res.setHeader('X-Total-Count', String(pagination.total));
          return data;
        },
      }),
    ],
  };
}
