/**
 * The Payments area's URL state: the provider and environment shown, the tab, and the first row
 * of the page of a list. Loaded with the route tree: no runtime imports of shared-schemas.
 */
import { optionalEnum, optionalInt } from '../../lib/search';

export const providers = ['stripe', 'razorpay'] as const;
export type Provider = (typeof providers)[number];
export const environments = ['test', 'live'] as const;
export type Environment = (typeof environments)[number];
export const paymentTabs = [
  'connection',
  'catalog',
  'customers',
  'subscriptions',
  'transactions',
] as const;
export type PaymentTab = (typeof paymentTabs)[number];

export interface PaymentsSearch {
  /** Default: stripe. */
  provider?: Provider;
  /** Default: test. */
  env?: Environment;
  /** Default: connection. */
  tab?: PaymentTab;
  /** Customers, subscriptions, transactions: the first row of the page. */
  offset?: number;
}

export function paymentsSearch(s: Record<string, unknown>): PaymentsSearch {
  return {
    provider: optionalEnum(s.provider, providers),
    env: optionalEnum(s.env, environments),
    tab: optionalEnum(s.tab, paymentTabs),
    offset: optionalInt(s.offset),
  };
}
