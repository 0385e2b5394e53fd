/**
 * The Webhooks area's URL state: the endpoint open, the deliveries' status filter and page, and
 * the delivery whose detail is open. Loaded with the route tree: no runtime imports of
 * shared-schemas.
 */
import { optionalEnum, optionalInt, optionalString } from '../../lib/search';

export const incomingStatuses = ['stored', 'queued', 'unrouted', 'refused'] as const;
export type IncomingStatus = (typeof incomingStatuses)[number];

export interface WebhooksSearch {
  /** The endpoint whose settings and deliveries are shown. */
  endpoint?: string;
  status?: IncomingStatus;
  /** Deliveries: the first row of the page. */
  offset?: number;
  /** The delivery whose headers and payload are open. */
  delivery?: string;
}

export function webhooksSearch(s: Record<string, unknown>): WebhooksSearch {
  return {
    endpoint: optionalString(s.endpoint),
    status: optionalEnum(s.status, incomingStatuses),
    offset: optionalInt(s.offset),
    delivery: optionalString(s.delivery),
  };
}
