/**
 * Stripe over HTTP (`/api/payments/stripe`): checkout and portal sessions for signed-in users
 * (the routes `@insforge/sdk`'s `client.payments.stripe` calls), the admin API over keys,
 * catalog, sync, customers, subscriptions and transactions; and (`/api/webhooks/stripe`) the
 * signed webhook, mounted before body parsing so the signature is checked over the exact bytes.
 */
import {
  archiveStripePriceResponseSchema,
  configureStripeWebhookResponseSchema,
  createCheckoutSessionRequestSchema,
  createCheckoutSessionResponseSchema,
  createCustomerPortalSessionRequestSchema,
  createCustomerPortalSessionResponseSchema,
  createStripePriceRequestSchema,
  createStripeProductRequestSchema,
  deleteStripeProductResponseSchema,
  getStripeConfigResponseSchema,
  getStripeProductResponseSchema,
  getStripeStatusResponseSchema,
  listBySubjectQuerySchema,
  listPaymentCustomersQuerySchema,
  listPaymentCustomersResponseSchema,
  listPaymentTransactionsResponseSchema,
  listStripeCatalogResponseSchema,
  listStripePricesQuerySchema,
  listStripePricesResponseSchema,
  listStripeProductsResponseSchema,
  listStripeSubscriptionsResponseSchema,
  paymentEnvironmentParamsSchema,
  stripePriceParamsSchema,
  stripePriceResponseSchema,
  stripeProductParamsSchema,
  stripeProductResponseSchema,
  stripeWebhookResponseSchema,
  syncPaymentsRequestSchema,
  syncStripeResponseSchema,
  updateStripePriceRequestSchema,
  updateStripeProductRequestSchema,
  upsertStripeConfigRequestSchema,
} from '@kiln/shared-schemas';
import { route, routeWith, type RouteGroup } from '../core/route.js';
import { listCustomers, listTransactions, readRawBody } from './common.js';
import type { StripePayments } from './stripe.js';

const adminRoute = routeWith('admin');
const userRoute = routeWith('user');

const PROVIDER_ERRORS = {
  400: ['PAYMENTS_PROVIDER_REJECTED', 'PAYMENTS_INVALID_KEY'],
  409: ['PAYMENTS_NOT_CONFIGURED'],
  502: ['PAYMENTS_PROVIDER_UNAVAILABLE'],
  503: ['PAYMENTS_KEY_UNREADABLE'],
};
const NOT_FOUND = { ...PROVIDER_ERRORS, 404: ['PAYMENTS_NOT_FOUND'] };

/** What signed-in users call (`client.payments.stripe`). */
export function stripeUserRoutes(stripe: StripePayments): RouteGroup {
  return {
    tag: 'payments',
    access: 'user',
    routes: [
      userRoute({
        method: 'post',
        path: '/:environment/checkout-sessions',
        summary: 'Open a Stripe Checkout session for the signed-in user’s own billing subject',
        description:
          'The subject is the caller (`{type: "user", id: <user id>}`); its Stripe customer is ' +
          'created on its first checkout. successUrl and cancelUrl must be allowed redirect URLs.',
        params: paymentEnvironmentParamsSchema,
        body: createCheckoutSessionRequestSchema,
        responses: { 201: { description: 'Opened', schema: createCheckoutSessionResponseSchema } },
        errors: {
          ...PROVIDER_ERRORS,
          400: [...PROVIDER_ERRORS[400], 'PAYMENTS_REDIRECT_NOT_ALLOWED'],
          403: ['PAYMENTS_SUBJECT_FORBIDDEN'],
          404: ['PAYMENTS_NOT_FOUND'],
        },
        handler: ({ params, body, principal }) =>
          stripe.createCheckoutSession(params.environment, body, principal),
      }),
      userRoute({
        method: 'post',
        path: '/:environment/customer-portal-sessions',
        summary: 'Open a Stripe Billing Portal session for the signed-in user’s own customer',
        params: paymentEnvironmentParamsSchema,
        body: createCustomerPortalSessionRequestSchema,
        responses: {
          201: { description: 'Opened', schema: createCustomerPortalSessionResponseSchema },
        },
        errors: {
          ...PROVIDER_ERRORS,
          400: [...PROVIDER_ERRORS[400], 'PAYMENTS_REDIRECT_NOT_ALLOWED'],
          403: ['PAYMENTS_SUBJECT_FORBIDDEN'],
          404: ['PAYMENTS_CUSTOMER_NOT_FOUND', 'PAYMENTS_NOT_FOUND'],
        },
        handler: ({ params, body, principal }) =>
          stripe.createPortalSession(params.environment, body, principal),
      }),
    ],
  };
}

/** The admin API over keys, catalog, sync, customers, subscriptions and transactions. */
export function stripeAdminRoutes(stripe: StripePayments): RouteGroup {
  return {
    tag: 'payments',
    access: 'admin',
    routes: [
      adminRoute({
        method: 'get',
        path: '/status',
        summary: 'Stripe connection of each environment',
        responses: { 200: getStripeStatusResponseSchema },
        handler: async () => ({ connections: await stripe.status() }),
      }),
      adminRoute({
        method: 'get',
        path: '/config',
        summary: 'Stored Stripe keys per environment (masked)',
        responses: { 200: getStripeConfigResponseSchema },
        handler: async () => ({ keys: await stripe.keys() }),
      }),
      adminRoute({
        method: 'post',
        path: '/sync',
        summary: 'Read the catalog and subscriptions back from Stripe',
        body: syncPaymentsRequestSchema,
        responses: { 200: syncStripeResponseSchema },
        errors: PROVIDER_ERRORS,
        handler: ({ body }) => stripe.sync(body.environment),
      }),
      adminRoute({
        method: 'put',
        path: '/:environment/config',
        summary: 'Store a Stripe secret key (checked with Stripe; registers the webhook, syncs)',
        params: paymentEnvironmentParamsSchema,
        body: upsertStripeConfigRequestSchema,
        responses: { 200: getStripeConfigResponseSchema },
        errors: PROVIDER_ERRORS,
        handler: ({ params, body }) => stripe.configure(params.environment, body.secretKey),
      }),
      adminRoute({
        method: 'delete',
        path: '/:environment/config',
        summary: 'Remove the Stripe key of an environment (and its webhook endpoint)',
        params: paymentEnvironmentParamsSchema,
        responses: { 200: getStripeConfigResponseSchema },
        errors: { ...PROVIDER_ERRORS, 404: ['PAYMENTS_NOT_CONFIGURED'] },
        handler: ({ params }) => stripe.unconfigure(params.environment),
      }),
      adminRoute({
        method: 'post',
        path: '/:environment/sync',
        summary: 'Read one environment’s catalog and subscriptions back from Stripe',
        params: paymentEnvironmentParamsSchema,
        responses: { 200: syncStripeResponseSchema },
        errors: PROVIDER_ERRORS,
        handler: ({ params }) => stripe.sync(params.environment),
      }),
      adminRoute({
        method: 'post',
        path: '/:environment/webhook',
        summary: 'Register Kiln’s webhook endpoint with Stripe again (a new signing secret)',
        params: paymentEnvironmentParamsSchema,
        responses: { 200: configureStripeWebhookResponseSchema },
        errors: PROVIDER_ERRORS,
        handler: ({ params }) => stripe.configureWebhook(params.environment),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/catalog',
        summary: 'Products and prices (as last synced)',
        params: paymentEnvironmentParamsSchema,
        responses: { 200: listStripeCatalogResponseSchema },
        handler: async ({ params }) => ({
          products: await stripe.listProducts(params.environment),
          prices: await stripe.listPrices(params.environment),
        }),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/catalog/products',
        summary: 'Products',
        params: paymentEnvironmentParamsSchema,
        responses: { 200: listStripeProductsResponseSchema },
        handler: async ({ params }) => ({
          products: await stripe.listProducts(params.environment),
        }),
      }),
      adminRoute({
        method: 'post',
        path: '/:environment/catalog/products',
        summary: 'Create a product at Stripe',
        params: paymentEnvironmentParamsSchema,
        body: createStripeProductRequestSchema,
        responses: { 201: { description: 'Created', schema: stripeProductResponseSchema } },
        errors: PROVIDER_ERRORS,
        handler: ({ params, body }) => stripe.createProduct(params.environment, body),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/catalog/products/:productId',
        summary: 'A product and its prices',
        params: stripeProductParamsSchema,
        responses: { 200: getStripeProductResponseSchema },
        errors: { 404: ['PAYMENTS_NOT_FOUND'] },
        handler: ({ params }) => stripe.getProduct(params.environment, params.productId),
      }),
      adminRoute({
        method: 'patch',
        path: '/:environment/catalog/products/:productId',
        summary: 'Change a product at Stripe',
        params: stripeProductParamsSchema,
        body: updateStripeProductRequestSchema,
        responses: { 200: stripeProductResponseSchema },
        errors: NOT_FOUND,
        handler: ({ params, body }) =>
          stripe.updateProduct(params.environment, params.productId, body),
      }),
      adminRoute({
        method: 'delete',
        path: '/:environment/catalog/products/:productId',
        summary: 'Delete a product at Stripe (one without prices)',
        params: stripeProductParamsSchema,
        responses: { 200: deleteStripeProductResponseSchema },
        errors: NOT_FOUND,
        handler: ({ params }) => stripe.deleteProduct(params.environment, params.productId),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/catalog/prices',
        summary: 'Prices, optionally of one product',
        params: paymentEnvironmentParamsSchema,
        query: listStripePricesQuerySchema,
        responses: { 200: listStripePricesResponseSchema },
        handler: async ({ params, query }) => ({
          prices: await stripe.listPrices(params.environment, query.productId),
        }),
      }),
      adminRoute({
        method: 'post',
        path: '/:environment/catalog/prices',
        summary: 'Create a price at Stripe',
        params: paymentEnvironmentParamsSchema,
        body: createStripePriceRequestSchema,
        responses: { 201: { description: 'Created', schema: stripePriceResponseSchema } },
        errors: PROVIDER_ERRORS,
        handler: ({ params, body }) => stripe.createPrice(params.environment, body),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/catalog/prices/:priceId',
        summary: 'A price',
        params: stripePriceParamsSchema,
        responses: { 200: stripePriceResponseSchema },
        errors: { 404: ['PAYMENTS_NOT_FOUND'] },
        handler: ({ params }) => stripe.getPrice(params.environment, params.priceId),
      }),
      adminRoute({
        method: 'patch',
        path: '/:environment/catalog/prices/:priceId',
        summary: 'Change a price at Stripe',
        params: stripePriceParamsSchema,
        body: updateStripePriceRequestSchema,
        responses: { 200: stripePriceResponseSchema },
        errors: NOT_FOUND,
        handler: ({ params, body }) => stripe.updatePrice(params.environment, params.priceId, body),
      }),
      adminRoute({
        method: 'delete',
        path: '/:environment/catalog/prices/:priceId',
        summary: 'Archive a price at Stripe (prices cannot be deleted)',
        params: stripePriceParamsSchema,
        responses: { 200: archiveStripePriceResponseSchema },
        errors: NOT_FOUND,
        handler: ({ params }) => stripe.archivePrice(params.environment, params.priceId),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/subscriptions',
        summary: 'Subscriptions, newest first',
        params: paymentEnvironmentParamsSchema,
        query: listBySubjectQuerySchema,
        responses: { 200: listStripeSubscriptionsResponseSchema },
        handler: async ({ params, query }) => ({
          subscriptions: await stripe.listSubscriptions(params.environment, query),
        }),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/customers',
        summary: 'Customers (billing subjects at Stripe), newest first',
        params: paymentEnvironmentParamsSchema,
        query: listPaymentCustomersQuerySchema,
        responses: { 200: listPaymentCustomersResponseSchema },
        handler: async ({ params, query }) => ({
          customers: await listCustomers(stripe.db, 'stripe', params.environment, query),
        }),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/transactions',
        summary: 'Payments, invoices and failures, newest first',
        params: paymentEnvironmentParamsSchema,
        query: listBySubjectQuerySchema,
        responses: { 200: listPaymentTransactionsResponseSchema },
        handler: async ({ params, query }) => ({
          transactions: await listTransactions(stripe.db, 'stripe', params.environment, query),
        }),
      }),
    ],
  };
}

export function stripeWebhookRoutes(stripe: StripePayments, maxBodyBytes: number): RouteGroup {
  return {
    tag: 'payments',
    access: 'anyone',
    routes: [
      route({
        method: 'post',
        path: '/:environment',
        summary: 'Receive a Stripe webhook event',
        description:
          'Verified with the endpoint’s signing secret over the exact bytes; an event id seen ' +
          'before is acknowledged and not applied again.',
        params: paymentEnvironmentParamsSchema,
        bodyType: 'any',
        responses: { 200: stripeWebhookResponseSchema },
        errors: {
          400: ['PAYMENTS_WEBHOOK_SIGNATURE_INVALID'],
          409: ['PAYMENTS_NOT_CONFIGURED'],
          413: ['PAYLOAD_TOO_LARGE'],
          503: ['PAYMENTS_KEY_UNREADABLE'],
        },
        handler: async ({ params, req }) => {
          const body = await readRawBody(req, maxBodyBytes);
          const signature = req.headers['stripe-signature'];
          return stripe.receiveWebhook(
            params.environment,
            body,
            typeof signature === 'string' ? signature : undefined,
          );
        },
      }),
    ],
  };
}
