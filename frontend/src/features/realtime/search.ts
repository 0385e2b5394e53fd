/**
 * The Realtime area's URL state: the tab; the inspector's channel; the message history's channel
 * and event filters; the deliveries' status and message filters; the page of either list.
 * Loaded with the route tree: no runtime imports of shared-schemas.
 */
import { optionalEnum, optionalInt, optionalString } from '../../lib/search';

export const realtimeTabs = ['channels', 'inspector', 'messages', 'deliveries'] as const;
export type RealtimeTab = (typeof realtimeTabs)[number];

export const deliveryStatuses = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

export interface RealtimeSearch {
  tab?: RealtimeTab;
  /** Inspector: the channel subscribed to. */
  channel?: string;
  /** Messages: channel and event filters (exact names). */
  mchannel?: string;
  event?: string;
  /** Messages: the message whose detail is open. */
  msg?: string;
  /** Deliveries: status, and the message whose deliveries are listed. */
  status?: DeliveryStatus;
  message?: string;
  /** Messages or deliveries: the first row of the page. */
  offset?: number;
}

export function realtimeSearch(s: Record<string, unknown>): RealtimeSearch {
  return {
    tab: optionalEnum(s.tab, realtimeTabs),
    channel: optionalString(s.channel),
    mchannel: optionalString(s.mchannel),
    event: optionalString(s.event),
    msg: optionalString(s.msg),
    status: optionalEnum(s.status, deliveryStatuses),
    message: optionalString(s.message),
    offset: optionalInt(s.offset),
  };
}
