/**
 * Razorpay over HTTP (`/api/payments/razorpay`): orders and subscriptions for signed-in users
 * (the routes `@insforge/sdk`'s `client.payments.razorpay` calls), the admin API over keys,
 * webhook secret, catalog, sync, customers, subscriptions and transactions; and
 * (`/api/webhooks/razorpay`) the signed webhook, read as raw bytes.
 */
import {
  cancelRazorpaySubscriptionRequestSchema,
  createRazorpayItemRequestSchema,
  createRazorpayOrderRequestSchema,
  createRazorpayOrderResponseSchema,
  createRazorpayPlanRequestSchema,
  createRazorpaySubscriptionRequestSchema,
  createRazorpaySubscriptionResponseSchema,
  emptyPaymentsBodySchema,
  getRazorpayConfigResponseSchema,
  getRazorpayStatusResponseSchema,
  listBySubjectQuerySchema,
  listPaymentCustomersQuerySchema,
  listPaymentCustomersResponseSchema,
  listPaymentTransactionsResponseSchema,
  listRazorpayCatalogResponseSchema,
  listRazorpaySubscriptionsResponseSchema,
  paymentEnvironmentParamsSchema,
  razorpayItemParamsSchema,
  razorpayItemResponseSchema,
  razorpayPlanResponseSchema,
  razorpaySubscriptionParamsSchema,
  razorpaySubscriptionResponseSchema,
  razorpayWebhookResponseSchema,
  razorpayWebhookSetupResponseSchema,
  syncPaymentsRequestSchema,
  syncRazorpayResponseSchema,
  updateRazorpayItemRequestSchema,
  upsertRazorpayConfigRequestSchema,
  verifyRazorpayOrderRequestSchema,
  verifyRazorpayOrderResponseSchema,
  verifyRazorpaySubscriptionRequestSchema,
  verifyRazorpaySubscriptionResponseSchema,
} from '@kiln/shared-schemas';
import { route, routeWith, type RouteGroup } from '../core/route.js';
import { listCustomers, listTransactions, readRawBody } from './common.js';
import type { RazorpayPayments } from './razorpay.js';

const adminRoute = routeWith('admin');
const userRoute = routeWith('user');

const PROVIDER_ERRORS = {
  400: ['PAYMENTS_PROVIDER_REJECTED', 'PAYMENTS_INVALID_KEY'],
  409: ['PAYMENTS_NOT_CONFIGURED'],
  502: ['PAYMENTS_PROVIDER_UNAVAILABLE'],
  503: ['PAYMENTS_KEY_UNREADABLE'],
};
const USER_ERRORS = {
  ...PROVIDER_ERRORS,
  400: [...PROVIDER_ERRORS[400], 'PAYMENTS_REDIRECT_NOT_ALLOWED', 'PAYMENTS_SIGNATURE_INVALID'],
  403: ['PAYMENTS_SUBJECT_FORBIDDEN'],
  404: ['PAYMENTS_NOT_FOUND'],
};

/** What signed-in users call (`client.payments.razorpay`). */
export function razorpayUserRoutes(razorpay: RazorpayPayments): RouteGroup {
  const change = (kind: 'pause' | 'resume') =>
    userRoute({
      method: 'post',
      path: `/:environment/subscriptions/:subscriptionId/${kind}`,
      summary: `${kind === 'pause' ? 'Pause' : 'Resume'} the caller’s own Razorpay subscription`,
      params: razorpaySubscriptionParamsSchema,
      body: emptyPaymentsBodySchema,
      responses: { 200: razorpaySubscriptionResponseSchema },
      errors: USER_ERRORS,
      handler: ({ params, principal }) =>
        razorpay.changeSubscription(params.environment, params.subscriptionId, { kind }, principal),
    });
  return {
    tag: 'payments',
    access: 'user',
    routes: [
      userRoute({
        method: 'post',
        path: '/:environment/orders',
        summary: 'Create a Razorpay order for the signed-in user (with Checkout options)',
        params: paymentEnvironmentParamsSchema,
        body: createRazorpayOrderRequestSchema,
        responses: { 201: { description: 'Created', schema: createRazorpayOrderResponseSchema } },
        errors: USER_ERRORS,
        handler: ({ params, body, principal }) =>
          razorpay.createOrder(params.environment, body, principal),
      }),
      userRoute({
        method: 'post',
        path: '/:environment/orders/verify',
        summary: 'Verify a Checkout payment’s signature for the caller’s own order',
        params: paymentEnvironmentParamsSchema,
        body: verifyRazorpayOrderRequestSchema,
        responses: { 200: verifyRazorpayOrderResponseSchema },
        errors: USER_ERRORS,
        handler: ({ params, body, principal }) =>
          razorpay.verifyOrder(params.environment, body, principal),
      }),
      userRoute({
        method: 'post',
        path: '/:environment/subscriptions',
        summary: 'Create a Razorpay subscription for the signed-in user’s own billing subject',
        params: paymentEnvironmentParamsSchema,
        body: createRazorpaySubscriptionRequestSchema,
        responses: {
          201: { description: 'Created', schema: createRazorpaySubscriptionResponseSchema },
        },
        errors: USER_ERRORS,
        handler: ({ params, body, principal }) =>
          razorpay.createSubscription(params.environment, body, principal),
      }),
      userRoute({
        method: 'post',
        path: '/:environment/subscriptions/verify',
        summary: 'Verify the authorisation payment’s signature of the caller’s own subscription',
        params: paymentEnvironmentParamsSchema,
        body: verifyRazorpaySubscriptionRequestSchema,
        responses: { 200: verifyRazorpaySubscriptionResponseSchema },
        errors: USER_ERRORS,
        handler: ({ params, body, principal }) =>
          razorpay.verifySubscription(params.environment, body, principal),
      }),
      userRoute({
        method: 'post',
        path: '/:environment/subscriptions/:subscriptionId/cancel',
        summary: 'Cancel the caller’s own Razorpay subscription (now or at the cycle’s end)',
        params: razorpaySubscriptionParamsSchema,
        body: cancelRazorpaySubscriptionRequestSchema,
        responses: { 200: razorpaySubscriptionResponseSchema },
        errors: USER_ERRORS,
        handler: ({ params, body, principal }) =>
          razorpay.changeSubscription(
            params.environment,
            params.subscriptionId,
            { kind: 'cancel', atCycleEnd: body.cancelAtCycleEnd },
            principal,
          ),
      }),
      change('pause'),
      change('resume'),
    ],
  };
}

/** The admin API over keys, webhook secret, catalog, sync and the billing lists. */
export function razorpayAdminRoutes(razorpay: RazorpayPayments): RouteGroup {
  return {
    tag: 'payments',
    access: 'admin',
    routes: [
      adminRoute({
        method: 'get',
        path: '/status',
        summary: 'Razorpay connection of each environment',
        responses: { 200: getRazorpayStatusResponseSchema },
        handler: async () => ({ razorpayConnections: await razorpay.status() }),
      }),
      adminRoute({
        method: 'get',
        path: '/config',
        summary: 'Stored Razorpay keys per environment (the secrets masked)',
        responses: { 200: getRazorpayConfigResponseSchema },
        handler: async () => ({ keys: await razorpay.keys() }),
      }),
      adminRoute({
        method: 'post',
        path: '/sync',
        summary: 'Read items, plans and subscriptions back from Razorpay',
        body: syncPaymentsRequestSchema,
        responses: { 200: syncRazorpayResponseSchema },
        errors: PROVIDER_ERRORS,
        handler: ({ body }) => razorpay.sync(body.environment),
      }),
      adminRoute({
        method: 'put',
        path: '/:environment/config',
        summary: 'Store a Razorpay key pair (checked with Razorpay) and webhook secret',
        params: paymentEnvironmentParamsSchema,
        body: upsertRazorpayConfigRequestSchema,
        responses: { 200: getRazorpayConfigResponseSchema },
        errors: PROVIDER_ERRORS,
        handler: ({ params, body }) => razorpay.configure(params.environment, body),
      }),
      adminRoute({
        method: 'delete',
        path: '/:environment/config',
        summary: 'Remove the Razorpay keys of an environment',
        params: paymentEnvironmentParamsSchema,
        responses: { 200: getRazorpayConfigResponseSchema },
        errors: { 404: ['PAYMENTS_NOT_CONFIGURED'] },
        handler: ({ params }) => razorpay.unconfigure(params.environment),
      }),
      adminRoute({
        method: 'post',
        path: '/:environment/sync',
        summary: 'Read one environment back from Razorpay',
        params: paymentEnvironmentParamsSchema,
        responses: { 200: syncRazorpayResponseSchema },
        errors: PROVIDER_ERRORS,
        handler: ({ params }) => razorpay.sync(params.environment),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/webhook',
        summary: 'The webhook URL and secret to enter in Razorpay’s dashboard',
        params: paymentEnvironmentParamsSchema,
        responses: { 200: razorpayWebhookSetupResponseSchema },
        errors: PROVIDER_ERRORS,
        handler: ({ params }) => razorpay.webhookSetup(params.environment),
      }),
      adminRoute({
        method: 'post',
        path: '/:environment/webhook/rotate-secret',
        summary: 'A new webhook secret (enter it in Razorpay’s dashboard)',
        params: paymentEnvironmentParamsSchema,
        responses: { 200: razorpayWebhookSetupResponseSchema },
        errors: PROVIDER_ERRORS,
        handler: ({ params }) => razorpay.webhookSetup(params.environment, true),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/catalog',
        summary: 'Items and plans (as last synced)',
        params: paymentEnvironmentParamsSchema,
        responses: { 200: listRazorpayCatalogResponseSchema },
        handler: ({ params }) => razorpay.catalog(params.environment),
      }),
      adminRoute({
        method: 'post',
        path: '/:environment/catalog/items',
        summary: 'Create an item at Razorpay',
        params: paymentEnvironmentParamsSchema,
        body: createRazorpayItemRequestSchema,
        responses: { 201: { description: 'Created', schema: razorpayItemResponseSchema } },
        errors: PROVIDER_ERRORS,
        handler: ({ params, body }) => razorpay.createItem(params.environment, body),
      }),
      adminRoute({
        method: 'patch',
        path: '/:environment/catalog/items/:itemId',
        summary: 'Change an item at Razorpay',
        params: razorpayItemParamsSchema,
        body: updateRazorpayItemRequestSchema,
        responses: { 200: razorpayItemResponseSchema },
        errors: { ...PROVIDER_ERRORS, 404: ['PAYMENTS_NOT_FOUND'] },
        handler: ({ params, body }) => razorpay.updateItem(params.environment, params.itemId, body),
      }),
      adminRoute({
        method: 'post',
        path: '/:environment/catalog/plans',
        summary: 'Create a plan (and its item) at Razorpay',
        params: paymentEnvironmentParamsSchema,
        body: createRazorpayPlanRequestSchema,
        responses: { 201: { description: 'Created', schema: razorpayPlanResponseSchema } },
        errors: PROVIDER_ERRORS,
        handler: ({ params, body }) => razorpay.createPlan(params.environment, body),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/subscriptions',
        summary: 'Subscriptions, newest first',
        params: paymentEnvironmentParamsSchema,
        query: listBySubjectQuerySchema,
        responses: { 200: listRazorpaySubscriptionsResponseSchema },
        handler: async ({ params, query }) => ({
          subscriptions: await razorpay.listSubscriptions(params.environment, query),
        }),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/customers',
        summary: 'Customers (billing subjects at Razorpay), newest first',
        params: paymentEnvironmentParamsSchema,
        query: listPaymentCustomersQuerySchema,
        responses: { 200: listPaymentCustomersResponseSchema },
        handler: async ({ params, query }) => ({
          customers: await listCustomers(razorpay.db, 'razorpay', params.environment, query),
        }),
      }),
      adminRoute({
        method: 'get',
        path: '/:environment/transactions',
        summary: 'Payments and failures, newest first',
        params: paymentEnvironmentParamsSchema,
        query: listBySubjectQuerySchema,
        responses: { 200: listPaymentTransactionsResponseSchema },
        handler: async ({ params, query }) => ({
          transactions: await listTransactions(razorpay.db, 'razorpay', params.environment, query),
        }),
      }),
    ],
  };
}

export function razorpayWebhookRoutes(
  razorpay: RazorpayPayments,
  maxBodyBytes: number,
): RouteGroup {
  return {
    tag: 'payments',
    access: 'anyone',
    routes: [
      route({
        method: 'post',
        path: '/:environment',
        summary: 'Receive a Razorpay webhook event',
        description:
          'Verified with the webhook secret over the exact bytes (X-Razorpay-Signature); an ' +
          'event id (X-Razorpay-Event-Id) seen before is acknowledged and not applied again.',
        params: paymentEnvironmentParamsSchema,
        bodyType: 'any',
        responses: { 200: razorpayWebhookResponseSchema },
        errors: {
          400: ['PAYMENTS_WEBHOOK_SIGNATURE_INVALID'],
          409: ['PAYMENTS_NOT_CONFIGURED'],
          413: ['PAYLOAD_TOO_LARGE'],
          503: ['PAYMENTS_KEY_UNREADABLE'],
        },
        handler: async ({ params, req }) => {
          const body = await readRawBody(req, maxBodyBytes);
          const header = (name: string) => {
            const v = req.headers[name];
            return typeof v === 'string' ? v : undefined;
          };
          return razorpay.receiveWebhook(params.environment, body, {
            signature: header('x-razorpay-signature'),
            eventId: header('x-razorpay-event-id'),
          });
        },
      }),
    ],
  };
}
