/**
 * The Webhooks area's reads and writes: incoming webhook endpoints (GET/POST/PATCH/DELETE
 * /api/webhooks/incoming) and their deliveries, one server page at a time.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  CreateIncomingWebhookRequest,
  deleteIncomingWebhookResponseSchema,
  IncomingDelivery,
  IncomingWebhook,
  listIncomingDeliveriesResponseSchema,
  listIncomingWebhooksResponseSchema,
  UpdateIncomingWebhookRequest,
} from '@kiln/shared-schemas';
import { api } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';
import type { IncomingStatus } from './search';

export type { IncomingDelivery, IncomingWebhook };
export type DeliverySummary = z.infer<typeof listIncomingDeliveriesResponseSchema>['data'][number];

export const DELIVERIES_PAGE = 50;

const endpointPath = (name: string) => `/api/webhooks/incoming/${encodeURIComponent(name)}`;

export function useEndpoints() {
  return useQuery({
    queryKey: queryKeys.webhooks.endpoints(),
    queryFn: async ({ signal }) =>
      (
        await api.get<z.infer<typeof listIncomingWebhooksResponseSchema>>(
          '/api/webhooks/incoming',
          undefined,
          signal,
        )
      ).endpoints,
  });
}

/** One endpoint with its secret in full. */
export function useEndpoint(name: string | undefined) {
  return useQuery({
    queryKey: queryKeys.webhooks.endpoint(name ?? ''),
    queryFn: ({ signal }) => api.get<IncomingWebhook>(endpointPath(name!), undefined, signal),
    enabled: !!name,
  });
}

export function useDeliveries(
  name: string | undefined,
  f: { status?: IncomingStatus; offset: number },
) {
  return useQuery({
    queryKey: queryKeys.webhooks.deliveries(name ?? '', f),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof listIncomingDeliveriesResponseSchema>>(
        `${endpointPath(name!)}/deliveries`,
        { status: f.status, offset: f.offset, limit: DELIVERIES_PAGE },
        signal,
      ),
    enabled: !!name,
    placeholderData: keepPreviousData,
  });
}

export function useDelivery(name: string | undefined, id: string | undefined) {
  return useQuery({
    queryKey: queryKeys.webhooks.delivery(name ?? '', id ?? ''),
    queryFn: ({ signal }) =>
      api.get<IncomingDelivery>(`${endpointPath(name!)}/deliveries/${id!}`, undefined, signal),
    enabled: !!name && !!id,
  });
}

export function useCreateEndpoint() {
  return useApiMutation({
    mutationFn: (body: CreateIncomingWebhookRequest) =>
      api.post<IncomingWebhook>('/api/webhooks/incoming', body),
    progress: 'Creating the endpoint…',
    success: (e) => `Endpoint ${e.name} created`,
    invalidate: [queryKeys.webhooks.all],
  });
}

export function useUpdateEndpoint() {
  return useApiMutation({
    mutationFn: ({ name, body }: { name: string; body: UpdateIncomingWebhookRequest }) =>
      api.patch<IncomingWebhook>(endpointPath(name), body),
    progress: 'Saving the endpoint…',
    success: (e) => `Endpoint ${e.name} saved`,
    invalidate: [queryKeys.webhooks.all],
  });
}

/** Hands a stored delivery to the endpoint's target again (a new job). */
export function useRedeliver() {
  return useApiMutation({
    mutationFn: ({ name, id }: { name: string; id: string }) =>
      api.post<IncomingDelivery>(`${endpointPath(name)}/deliveries/${id}/redeliver`),
    progress: 'Handing the delivery on…',
    success: (d) =>
      d.status === 'queued' ? 'Delivery handed on again' : `Delivery ${d.status}: ${d.error ?? ''}`,
    invalidate: [queryKeys.webhooks.all],
  });
}

export function useDeleteEndpoint() {
  return useApiMutation({
    mutationFn: (name: string) =>
      api.delete<z.infer<typeof deleteIncomingWebhookResponseSchema>>(endpointPath(name)),
    progress: 'Deleting the endpoint…',
    invalidate: [queryKeys.webhooks.all],
  });
}
