/**
 * The Payments area's reads and writes, per provider and environment: the connection (status,
 * keys, sync, Razorpay's webhook secret), the catalog (Stripe products and prices, Razorpay items
 * and plans) and the billing lists (customers, subscriptions, transactions), one server page at a
 * time.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  getRazorpayConfigResponseSchema,
  getStripeConfigResponseSchema,
  listPaymentCustomersResponseSchema,
  listPaymentTransactionsResponseSchema,
  listRazorpayCatalogResponseSchema,
  listRazorpaySubscriptionsResponseSchema,
  listStripeCatalogResponseSchema,
  listStripeSubscriptionsResponseSchema,
  PaymentCustomer,
  PaymentTransaction,
  RazorpayConnection,
  RazorpayItem,
  RazorpayPlan,
  RazorpaySubscription,
  razorpayPlanResponseSchema,
  razorpayWebhookSetupResponseSchema,
  StripeConnection,
  StripePrice,
  StripeProduct,
  StripeSubscription,
  stripePriceResponseSchema,
  stripeProductResponseSchema,
  syncRazorpayResponseSchema,
  syncStripeResponseSchema,
} from '@kiln/shared-schemas';
import { api } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';
import type { Environment, Provider } from './search';

export type {
  PaymentCustomer,
  PaymentTransaction,
  RazorpayConnection,
  RazorpayItem,
  RazorpayPlan,
  RazorpaySubscription,
  StripeConnection,
  StripePrice,
  StripeProduct,
  StripeSubscription,
};

export const LIST_PAGE = 50;

const base = (provider: Provider) => `/api/payments/${provider}`;

/** The connection of each environment (Stripe's and Razorpay's answers in one shape). */
export function useConnections(provider: Provider) {
  return useQuery({
    queryKey: queryKeys.payments.status(provider),
    queryFn: async ({ signal }) => {
      if (provider === 'stripe')
        return (
          await api.get<{ connections: StripeConnection[] }>(
            `${base(provider)}/status`,
            undefined,
            signal,
          )
        ).connections.map((c) => ({ ...c, accountName: c.accountEmail }));
      return (
        await api.get<{ razorpayConnections: RazorpayConnection[] }>(
          `${base(provider)}/status`,
          undefined,
          signal,
        )
      ).razorpayConnections.map((c) => ({ ...c, accountName: c.merchantName }));
    },
  });
}

/** Razorpay's webhook URL and secret for an environment (to enter in Razorpay's dashboard). */
export function useRazorpayWebhook(env: Environment, enabled: boolean) {
  return useQuery({
    queryKey: queryKeys.payments.webhook('razorpay', env),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof razorpayWebhookSetupResponseSchema>>(
        `${base('razorpay')}/${env}/webhook`,
        undefined,
        signal,
      ),
    enabled,
  });
}

export function useStripeCatalog(env: Environment, enabled: boolean) {
  return useQuery({
    queryKey: queryKeys.payments.catalog('stripe', env),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof listStripeCatalogResponseSchema>>(
        `${base('stripe')}/${env}/catalog`,
        undefined,
        signal,
      ),
    enabled,
  });
}

export function useRazorpayCatalog(env: Environment, enabled: boolean) {
  return useQuery({
    queryKey: queryKeys.payments.catalog('razorpay', env),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof listRazorpayCatalogResponseSchema>>(
        `${base('razorpay')}/${env}/catalog`,
        undefined,
        signal,
      ),
    enabled,
  });
}

function useList<T>(
  provider: Provider,
  env: Environment,
  kind: 'customers' | 'subscriptions' | 'transactions',
  offset: number,
  pick: (body: never) => T[],
) {
  return useQuery({
    queryKey: queryKeys.payments.list(provider, env, kind, offset),
    queryFn: async ({ signal }) =>
      pick(
        (await api.get(
          `${base(provider)}/${env}/${kind}`,
          { limit: LIST_PAGE, offset },
          signal,
        )) as never,
      ),
    placeholderData: keepPreviousData,
  });
}

export const useCustomers = (provider: Provider, env: Environment, offset: number) =>
  useList<PaymentCustomer>(
    provider,
    env,
    'customers',
    offset,
    (b: z.infer<typeof listPaymentCustomersResponseSchema>) => b.customers,
  );

export const useTransactions = (provider: Provider, env: Environment, offset: number) =>
  useList<PaymentTransaction>(
    provider,
    env,
    'transactions',
    offset,
    (b: z.infer<typeof listPaymentTransactionsResponseSchema>) => b.transactions,
  );

export const useStripeSubscriptions = (env: Environment, offset: number) =>
  useList<StripeSubscription>(
    'stripe',
    env,
    'subscriptions',
    offset,
    (b: z.infer<typeof listStripeSubscriptionsResponseSchema>) => b.subscriptions,
  );

export const useRazorpaySubscriptions = (env: Environment, offset: number) =>
  useList<RazorpaySubscription>(
    'razorpay',
    env,
    'subscriptions',
    offset,
    (b: z.infer<typeof listRazorpaySubscriptionsResponseSchema>) => b.subscriptions,
  );

export type KeysBody =
  { secretKey: string } | { keyId: string; keySecret: string; webhookSecret?: string };

export function useSaveKeys(provider: Provider) {
  return useApiMutation({
    mutationFn: ({ env, body }: { env: Environment; body: KeysBody }) =>
      api.put<
        | z.infer<typeof getStripeConfigResponseSchema>
        | z.infer<typeof getRazorpayConfigResponseSchema>
      >(`${base(provider)}/${env}/config`, body),
    progress: 'Checking the keys with the provider…',
    success: (_d, { env }) => `Connected the ${env} account`,
    invalidate: [queryKeys.payments.all],
  });
}

export function useRemoveKeys(provider: Provider) {
  return useApiMutation({
    mutationFn: (env: Environment) => api.delete(`${base(provider)}/${env}/config`),
    progress: 'Removing the keys…',
    success: (_d, env) => `Disconnected the ${env} account`,
    invalidate: [queryKeys.payments.all],
  });
}

export function useSync(provider: Provider) {
  return useApiMutation({
    mutationFn: (env: Environment) =>
      api.post<
        z.infer<typeof syncStripeResponseSchema> | z.infer<typeof syncRazorpayResponseSchema>
      >(`${base(provider)}/${env}/sync`),
    progress: 'Syncing with the provider…',
    success: (d) => {
      const r = d.results[0];
      const error = r?.connection.lastSyncError;
      return error ? `Sync failed: ${error}` : 'Synced';
    },
    invalidate: [queryKeys.payments.all],
  });
}

export function useRotateRazorpaySecret() {
  return useApiMutation({
    mutationFn: (env: Environment) =>
      api.post<z.infer<typeof razorpayWebhookSetupResponseSchema>>(
        `${base('razorpay')}/${env}/webhook/rotate-secret`,
      ),
    progress: 'Making a new webhook secret…',
    success: 'New webhook secret: enter it in Razorpay’s dashboard',
    invalidate: [queryKeys.payments.all],
  });
}

export function useCreateProduct(env: Environment) {
  return useApiMutation({
    mutationFn: (body: { name: string; description?: string | null }) =>
      api.post<z.infer<typeof stripeProductResponseSchema>>(
        `${base('stripe')}/${env}/catalog/products`,
        body,
      ),
    progress: 'Creating the product at Stripe…',
    success: (d) => `Product ${d.product.name} created`,
    invalidate: [queryKeys.payments.all],
  });
}

export function useCreatePrice(env: Environment) {
  return useApiMutation({
    mutationFn: (body: {
      productId: string;
      currency: string;
      unitAmount: number;
      recurring?: { interval: 'day' | 'week' | 'month' | 'year' };
    }) =>
      api.post<z.infer<typeof stripePriceResponseSchema>>(
        `${base('stripe')}/${env}/catalog/prices`,
        body,
      ),
    progress: 'Creating the price at Stripe…',
    success: 'Price created',
    invalidate: [queryKeys.payments.all],
  });
}

export function useArchivePrice(env: Environment) {
  return useApiMutation({
    mutationFn: (priceId: string) =>
      api.delete(`${base('stripe')}/${env}/catalog/prices/${encodeURIComponent(priceId)}`),
    progress: 'Archiving the price…',
    success: 'Price archived',
    invalidate: [queryKeys.payments.all],
  });
}

export function useCreatePlan(env: Environment) {
  return useApiMutation({
    mutationFn: (body: {
      period: 'daily' | 'weekly' | 'monthly' | 'yearly';
      interval: number;
      item: { name: string; amount: number; currency: string };
    }) =>
      api.post<z.infer<typeof razorpayPlanResponseSchema>>(
        `${base('razorpay')}/${env}/catalog/plans`,
        body,
      ),
    progress: 'Creating the plan at Razorpay…',
    success: 'Plan created',
    invalidate: [queryKeys.payments.all],
  });
}
