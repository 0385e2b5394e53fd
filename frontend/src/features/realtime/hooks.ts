/**
 * The Realtime area's reads and writes: channels (GET/POST/PUT/DELETE /api/realtime/channels),
 * stored messages one server page at a time (the total is the X-Total-Count header) and their
 * stats, webhook deliveries and their replay.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  listRealtimeMessagesResponseSchema,
  purgeRealtimeMessagesResponseSchema,
  realtimePermissionsSchema,
  listWebhookDeliveriesResponseSchema,
  RealtimeChannel,
  RealtimeChannelRequest,
  RealtimeConfigResponse,
  RealtimeMessageStatsResponse,
  realtimeMessageResponseSchema,
  replayWebhookDeliveryResponseSchema,
  WebhookDelivery,
} from '@kiln/shared-schemas';
import { api, request } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';
import type { DeliveryStatus } from './search';

export type { RealtimeChannel, WebhookDelivery };
export type StoredMessage = z.infer<typeof listRealtimeMessagesResponseSchema>[number];
type DeliveriesPage = z.infer<typeof listWebhookDeliveriesResponseSchema>;

export const MESSAGES_PAGE = 50;
export const DELIVERIES_PAGE = 50;

const channelPath = (id: string) => `/api/realtime/channels/${encodeURIComponent(id)}`;

export function useChannels() {
  return useQuery({
    queryKey: queryKeys.realtime.channels(),
    queryFn: ({ signal }) =>
      api.get<RealtimeChannel[]>('/api/realtime/channels', undefined, signal),
  });
}

export function useCreateChannel() {
  return useApiMutation({
    mutationFn: (body: RealtimeChannelRequest) =>
      api.post<RealtimeChannel>('/api/realtime/channels', body),
    progress: 'Creating the channel…',
    success: (c) => `Channel ${c.pattern} created`,
    invalidate: [queryKeys.realtime.channels()],
  });
}

export function useUpdateChannel() {
  return useApiMutation({
    mutationFn: ({ id, body }: { id: string; body: Partial<RealtimeChannelRequest> }) =>
      api.put<RealtimeChannel>(channelPath(id), body),
    progress: 'Saving the channel…',
    success: (c) => `Channel ${c.pattern} saved`,
    invalidate: [queryKeys.realtime.channels()],
  });
}

export function useDeleteChannel() {
  return useApiMutation({
    mutationFn: (id: string) =>
      api.delete<z.infer<typeof realtimeMessageResponseSchema>>(channelPath(id)),
    progress: 'Deleting the channel…',
    invalidate: [queryKeys.realtime.channels()],
  });
}

export interface MessageFilters {
  channel?: string;
  event?: string;
  offset: number;
}

/** One page of stored messages, newest first, and how many match in all. */
export function useMessages(f: MessageFilters) {
  return useQuery({
    queryKey: queryKeys.realtime.messages(f),
    queryFn: async ({ signal }) => {
      let total: number | undefined;
      const data = await request<StoredMessage[]>('GET', '/api/realtime/messages', {
        query: { channel: f.channel, event: f.event, limit: MESSAGES_PAGE, offset: f.offset },
        signal,
        onResponse: (res) => {
          const n = Number(res.headers.get('x-total-count'));
          total = Number.isFinite(n) ? n : undefined;
        },
      });
      return { data, total };
    },
    placeholderData: keepPreviousData,
  });
}

export function useMessageStats() {
  return useQuery({
    queryKey: queryKeys.realtime.stats(),
    queryFn: ({ signal }) =>
      api.get<RealtimeMessageStatsResponse>('/api/realtime/messages/stats', undefined, signal),
  });
}

export interface DeliveryFilters {
  status?: DeliveryStatus;
  messageId?: string;
  offset: number;
}

/** While a delivery on the page is pending, the page is read again every 2 s. */
export const DELIVERIES_POLL_MS = 2000;

export function useDeliveries(f: DeliveryFilters) {
  return useQuery({
    queryKey: queryKeys.realtime.deliveries(f),
    queryFn: ({ signal }) =>
      api.get<DeliveriesPage>(
        '/api/realtime/deliveries',
        { status: f.status, messageId: f.messageId, limit: DELIVERIES_PAGE, offset: f.offset },
        signal,
      ),
    placeholderData: keepPreviousData,
    refetchInterval: (q) =>
      q.state.data?.data.some((d) => d.status === 'pending') ? DELIVERIES_POLL_MS : false,
  });
}

export function useReplayDelivery() {
  return useApiMutation({
    mutationFn: (id: string) =>
      api.post<z.infer<typeof replayWebhookDeliveryResponseSchema>>(
        `/api/realtime/deliveries/${encodeURIComponent(id)}/replay`,
      ),
    progress: 'Queueing the delivery again…',
    invalidate: [
      [...queryKeys.realtime.all, 'deliveries'],
      [...queryKeys.realtime.all, 'messages'],
    ],
  });
}

/** Message retention, and the secret webhook receivers verify signatures with. */
export function useRealtimeConfig() {
  return useQuery({
    queryKey: queryKeys.realtime.config(),
    queryFn: ({ signal }) =>
      api.get<RealtimeConfigResponse>('/api/realtime/config', undefined, signal),
  });
}

export function useUpdateRetention() {
  return useApiMutation({
    mutationFn: (retentionDays: number) =>
      api.patch<RealtimeConfigResponse>('/api/realtime/config', { retentionDays }),
    progress: 'Saving the retention…',
    success: (c) =>
      `Messages are kept for ${c.retentionDays} day${c.retentionDays === 1 ? '' : 's'}`,
    invalidate: [queryKeys.realtime.config(), queryKeys.realtime.stats()],
  });
}

/** The RLS policies that decide who may subscribe (realtime.channels) and publish (messages). */
export function useRealtimePermissions() {
  return useQuery({
    queryKey: queryKeys.realtime.permissions(),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof realtimePermissionsSchema>>(
        '/api/realtime/permissions',
        undefined,
        signal,
      ),
  });
}

/** Deletes stored messages older than an instant (of one channel, when given). */
export function usePurgeMessages() {
  return useApiMutation({
    mutationFn: (q: { before: string; channel?: string }) =>
      request<z.infer<typeof purgeRealtimeMessagesResponseSchema>>(
        'DELETE',
        '/api/realtime/messages',
        { query: q },
      ),
    progress: 'Deleting messages…',
    success: (r) => `Deleted ${r.deletedCount} message${r.deletedCount === 1 ? '' : 's'}`,
    invalidate: [queryKeys.realtime.all],
  });
}
