import { z } from 'zod';

/**
 * Payments through Stripe and Razorpay, as `@insforge/sdk`'s `client.payments` calls them, plus
 * the admin API over each provider's keys, catalog, customers, subscriptions and transactions.
 * Field names and shapes are InsForge's (the SDK and its dashboard read them); amounts are in the
 * currency's smallest unit, times are ISO strings.
 */

const stringMap = z.record(z.string(), z.string());
const iso = z.string();

/** Each provider has two independent accounts: `test` and `live`. */
export const paymentEnvironmentSchema = z.enum(['test', 'live']);
export type PaymentEnvironment = z.infer<typeof paymentEnvironmentSchema>;
export const paymentProviderSchema = z.enum(['stripe', 'razorpay']);
export type PaymentProvider = z.infer<typeof paymentProviderSchema>;

export const paymentEnvironmentParamsSchema = z.object({ environment: paymentEnvironmentSchema });

/**
 * Who pays: `{type, id}`. Kiln maps the subject `{type: 'user', id: <user id>}` to that user
 * (`user_id` on the rows, which RLS reads); a signed-in user may only name themselves.
 */
export const billingSubjectSchema = z
  .object({
    type: z.string().trim().min(1).max(100),
    id: z.string().trim().min(1).max(255),
  })
  .strict();
export type BillingSubject = z.infer<typeof billingSubjectSchema>;

const noReservedKeys = (map: Record<string, string> | undefined) =>
  !Object.keys(map ?? {}).some((key) => key.startsWith('insforge_') || key.startsWith('kiln_'));
const reservedMessage = 'Keys starting with insforge_ or kiln_ are reserved';

const isoCurrency = z.string().trim().length(3, 'Currency must be a three-letter ISO code');

// ---------------------------------------------------------------------------------------------
// Connections (status) and keys
// ---------------------------------------------------------------------------------------------

const connectionFields = {
  environment: paymentEnvironmentSchema,
  status: z.enum(['unconfigured', 'connected', 'error']),
  accountId: z.string().nullable(),
  accountLivemode: z.boolean().nullable(),
  webhookEndpointId: z.string().nullable(),
  webhookEndpointUrl: z.string().nullable(),
  webhookConfiguredAt: iso.nullable(),
  maskedKey: z.string().nullable(),
  lastSyncedAt: iso.nullable(),
  lastSyncStatus: z.enum(['succeeded', 'failed']).nullable(),
  lastSyncError: z.string().nullable(),
  lastSyncCounts: z.record(z.string(), z.number()),
};
export const stripeConnectionSchema = z.object({
  ...connectionFields,
  accountEmail: z.string().nullable(),
});
export type StripeConnection = z.infer<typeof stripeConnectionSchema>;
export const razorpayConnectionSchema = z.object({
  ...connectionFields,
  merchantName: z.string().nullable(),
});
export type RazorpayConnection = z.infer<typeof razorpayConnectionSchema>;

export const getStripeStatusResponseSchema = z.object({
  connections: z.array(stripeConnectionSchema),
});
export const getRazorpayStatusResponseSchema = z.object({
  razorpayConnections: z.array(razorpayConnectionSchema),
});

/** Stored keys, masked (`sk_test_…abcd`); `value` null when none is stored. */
export const getStripeConfigResponseSchema = z.object({
  keys: z.array(z.object({ environment: paymentEnvironmentSchema, value: z.string().nullable() })),
});
export const getRazorpayConfigResponseSchema = z.object({
  keys: z.array(
    z.object({
      environment: paymentEnvironmentSchema,
      keyType: z.enum(['api_key', 'api_secret', 'webhook_secret']),
      value: z.string().nullable(),
    }),
  ),
});

export const upsertStripeConfigRequestSchema = z
  .object({ secretKey: z.string().trim().min(1, 'Stripe secret key is required') })
  .strict();
export const upsertRazorpayConfigRequestSchema = z
  .object({
    keyId: z.string().trim().min(1, 'Razorpay key ID is required'),
    keySecret: z.string().trim().min(1, 'Razorpay key secret is required'),
    webhookSecret: z.string().trim().optional(),
  })
  .strict();

export const syncPaymentsRequestSchema = z
  .object({ environment: z.union([paymentEnvironmentSchema, z.literal('all')]).default('all') })
  .strict();

export const configureStripeWebhookResponseSchema = z.object({
  connection: stripeConnectionSchema,
});
export const razorpayWebhookSetupResponseSchema = z.object({
  connection: razorpayConnectionSchema,
  webhookUrl: z.string().min(1),
  webhookSecret: z.string().min(1),
});

// ---------------------------------------------------------------------------------------------
// Catalog
// ---------------------------------------------------------------------------------------------

export const stripeProductSchema = z.object({
  environment: paymentEnvironmentSchema,
  productId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  active: z.boolean(),
  defaultPriceId: z.string().nullable(),
  metadata: stringMap,
  syncedAt: iso,
});
export type StripeProduct = z.infer<typeof stripeProductSchema>;

export const stripePriceSchema = z.object({
  environment: paymentEnvironmentSchema,
  priceId: z.string(),
  productId: z.string().nullable(),
  active: z.boolean(),
  currency: z.string(),
  unitAmount: z.number().nullable(),
  unitAmountDecimal: z.string().nullable(),
  type: z.string(),
  lookupKey: z.string().nullable(),
  billingScheme: z.string().nullable(),
  taxBehavior: z.string().nullable(),
  recurringInterval: z.string().nullable(),
  recurringIntervalCount: z.number().nullable(),
  metadata: stringMap,
  syncedAt: iso,
});
export type StripePrice = z.infer<typeof stripePriceSchema>;

export const razorpayItemSchema = z.object({
  environment: paymentEnvironmentSchema,
  itemId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  active: z.boolean(),
  amount: z.number().nullable(),
  unitAmount: z.number().nullable(),
  currency: z.string(),
  type: z.string().nullable(),
  providerCreatedAt: iso.nullable(),
  syncedAt: iso,
});
export type RazorpayItem = z.infer<typeof razorpayItemSchema>;

export const razorpayPlanSchema = z.object({
  environment: paymentEnvironmentSchema,
  planId: z.string(),
  itemId: z.string(),
  period: z.string(),
  interval: z.number(),
  amount: z.number().nullable(),
  unitAmount: z.number().nullable(),
  currency: z.string(),
  active: z.boolean(),
  notes: stringMap,
  providerCreatedAt: iso.nullable(),
  syncedAt: iso,
});
export type RazorpayPlan = z.infer<typeof razorpayPlanSchema>;

export const stripeProductParamsSchema = z.object({
  environment: paymentEnvironmentSchema,
  productId: z.string().trim().min(1, 'Stripe product id is required'),
});
export const stripePriceParamsSchema = z.object({
  environment: paymentEnvironmentSchema,
  priceId: z.string().trim().min(1, 'Stripe price id is required'),
});
export const razorpayItemParamsSchema = z.object({
  environment: paymentEnvironmentSchema,
  itemId: z.string().trim().min(1, 'Razorpay item id is required'),
});

const idempotencyKey = z.string().trim().min(1).max(200);
const atLeastOne = (value: object) => Object.keys(value).length > 0;

export const createStripeProductRequestSchema = z
  .object({
    name: z.string().trim().min(1, 'Product name is required'),
    description: z.string().trim().max(5000).nullable().optional(),
    active: z.boolean().optional(),
    metadata: stringMap.optional(),
    idempotencyKey: idempotencyKey.optional(),
  })
  .strict();
export const updateStripeProductRequestSchema = z
  .object({
    name: z.string().trim().min(1, 'Product name is required').optional(),
    description: z.string().trim().max(5000).nullable().optional(),
    active: z.boolean().optional(),
    metadata: stringMap.optional(),
  })
  .strict()
  .refine(atLeastOne, { message: 'Give at least one product field' });

const taxBehavior = z.enum(['exclusive', 'inclusive', 'unspecified']);
export const createStripePriceRequestSchema = z
  .object({
    productId: z.string().trim().min(1, 'Stripe product id is required'),
    currency: isoCurrency.transform((c) => c.toLowerCase()),
    unitAmount: z.number().int().nonnegative(),
    lookupKey: z.string().trim().min(1).max(200).nullable().optional(),
    active: z.boolean().optional(),
    recurring: z
      .object({
        interval: z.enum(['day', 'week', 'month', 'year']),
        intervalCount: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    taxBehavior: taxBehavior.optional(),
    metadata: stringMap.optional(),
    idempotencyKey: idempotencyKey.optional(),
  })
  .strict();
export const updateStripePriceRequestSchema = z
  .object({
    active: z.boolean().optional(),
    lookupKey: z.string().trim().min(1).max(200).nullable().optional(),
    taxBehavior: taxBehavior.optional(),
    metadata: stringMap.optional(),
  })
  .strict()
  .refine(atLeastOne, { message: 'Give at least one price field' });

export const listStripePricesQuerySchema = z
  .object({ productId: z.string().trim().min(1).optional() })
  .strict();

export const listStripeCatalogResponseSchema = z.object({
  products: z.array(stripeProductSchema),
  prices: z.array(stripePriceSchema),
});
export const listStripeProductsResponseSchema = z.object({
  products: z.array(stripeProductSchema),
});
export const listStripePricesResponseSchema = z.object({ prices: z.array(stripePriceSchema) });
export const getStripeProductResponseSchema = z.object({
  product: stripeProductSchema,
  prices: z.array(stripePriceSchema),
});
export const stripeProductResponseSchema = z.object({ product: stripeProductSchema });
export const stripePriceResponseSchema = z.object({ price: stripePriceSchema });
export const archiveStripePriceResponseSchema = z.object({
  price: stripePriceSchema,
  archived: z.boolean(),
});
export const deleteStripeProductResponseSchema = z.object({
  productId: z.string(),
  deleted: z.boolean(),
});

export const createRazorpayItemRequestSchema = z
  .object({
    name: z.string().trim().min(1, 'Item name is required').max(255),
    description: z.string().trim().max(2048).nullable().optional(),
    amount: z.number().int().positive(),
    currency: isoCurrency.transform((c) => c.toUpperCase()),
  })
  .strict();
export const updateRazorpayItemRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(255).optional(),
    description: z.string().trim().max(2048).nullable().optional(),
    amount: z.number().int().positive().optional(),
    currency: isoCurrency.transform((c) => c.toUpperCase()).optional(),
    active: z.boolean().optional(),
  })
  .strict()
  .refine(atLeastOne, { message: 'Give at least one item field' });
export const createRazorpayPlanRequestSchema = z
  .object({
    period: z.enum(['daily', 'weekly', 'monthly', 'yearly']),
    interval: z.number().int().positive(),
    item: z
      .object({
        name: z.string().trim().min(1, 'Plan item name is required').max(255),
        description: z.string().trim().max(2048).nullable().optional(),
        amount: z.number().int().positive(),
        currency: isoCurrency.transform((c) => c.toUpperCase()),
      })
      .strict(),
    notes: stringMap.optional(),
  })
  .strict()
  .refine((v) => noReservedKeys(v.notes), { path: ['notes'], message: reservedMessage });
export const listRazorpayCatalogResponseSchema = z.object({
  items: z.array(razorpayItemSchema),
  plans: z.array(razorpayPlanSchema),
});
export const razorpayItemResponseSchema = z.object({ item: razorpayItemSchema });
export const razorpayPlanResponseSchema = z.object({ plan: razorpayPlanSchema });

// ---------------------------------------------------------------------------------------------
// Customers, subscriptions, transactions
// ---------------------------------------------------------------------------------------------

export const paymentCustomerSchema = z.object({
  environment: paymentEnvironmentSchema,
  provider: paymentProviderSchema,
  providerCustomerId: z.string(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  phone: z.string().nullable(),
  deleted: z.boolean(),
  metadata: stringMap,
  providerCreatedAt: iso.nullable(),
  syncedAt: iso,
  paymentsCount: z.number().int().nonnegative(),
  lastPaymentAt: iso.nullable(),
  totalSpend: z.number().int().nonnegative().nullable(),
  totalSpendCurrency: z.string().nullable(),
  paymentMethodBrand: z.string().nullable(),
  paymentMethodLast4: z.string().nullable(),
  countryCode: z.string().nullable(),
});
export type PaymentCustomer = z.infer<typeof paymentCustomerSchema>;

export const stripeSubscriptionStatusSchema = z.enum([
  'incomplete',
  'incomplete_expired',
  'trialing',
  'active',
  'past_due',
  'canceled',
  'unpaid',
  'paused',
]);
export const stripeSubscriptionItemSchema = z.object({
  environment: paymentEnvironmentSchema,
  subscriptionItemId: z.string(),
  subscriptionId: z.string(),
  productId: z.string().nullable(),
  priceId: z.string().nullable(),
  quantity: z.number().nullable(),
  metadata: stringMap,
  createdAt: iso,
  updatedAt: iso,
});
export const stripeSubscriptionSchema = z.object({
  environment: paymentEnvironmentSchema,
  subscriptionId: z.string(),
  customerId: z.string().nullable(),
  subjectType: z.string().nullable(),
  subjectId: z.string().nullable(),
  status: stripeSubscriptionStatusSchema,
  currentPeriodStart: iso.nullable(),
  currentPeriodEnd: iso.nullable(),
  cancelAtPeriodEnd: z.boolean(),
  cancelAt: iso.nullable(),
  canceledAt: iso.nullable(),
  trialStart: iso.nullable(),
  trialEnd: iso.nullable(),
  latestInvoiceId: z.string().nullable(),
  metadata: stringMap,
  syncedAt: iso,
  createdAt: iso,
  updatedAt: iso,
  items: z.array(stripeSubscriptionItemSchema),
});
export type StripeSubscription = z.infer<typeof stripeSubscriptionSchema>;

export const razorpaySubscriptionStatusSchema = z.enum([
  'created',
  'authenticated',
  'active',
  'pending',
  'halted',
  'cancelled',
  'completed',
  'expired',
  'paused',
]);
export const razorpaySubscriptionSchema = z.object({
  environment: paymentEnvironmentSchema,
  subscriptionId: z.string(),
  planId: z.string(),
  customerId: z.string().nullable(),
  subjectType: z.string().nullable(),
  subjectId: z.string().nullable(),
  status: razorpaySubscriptionStatusSchema,
  currentStart: iso.nullable(),
  currentEnd: iso.nullable(),
  endedAt: iso.nullable(),
  quantity: z.number().nullable(),
  chargeAt: iso.nullable(),
  startAt: iso.nullable(),
  endAt: iso.nullable(),
  totalCount: z.number().nullable(),
  authAttempts: z.number().nullable(),
  paidCount: z.number().nullable(),
  remainingCount: z.number().nullable(),
  shortUrl: z.string().nullable(),
  hasScheduledChanges: z.boolean(),
  changeScheduledAt: iso.nullable(),
  offerId: z.string().nullable(),
  authorizationPaymentId: z.string().nullable(),
  authorizationVerifiedAt: iso.nullable(),
  notes: stringMap,
  providerCreatedAt: iso.nullable(),
  syncedAt: iso,
  createdAt: iso,
  updatedAt: iso,
});
export type RazorpaySubscription = z.infer<typeof razorpaySubscriptionSchema>;

export const paymentTransactionSchema = z.object({
  environment: paymentEnvironmentSchema,
  provider: paymentProviderSchema,
  type: z.enum(['one_time_payment', 'subscription_invoice', 'refund', 'failed_payment']),
  status: z.enum(['succeeded', 'failed', 'pending', 'refunded', 'partially_refunded']),
  subjectType: z.string().nullable(),
  subjectId: z.string().nullable(),
  providerCustomerId: z.string().nullable(),
  customerEmailSnapshot: z.string().nullable(),
  providerReferenceId: z.string().nullable(),
  providerReferenceType: z.string().nullable(),
  amount: z.number().nullable(),
  amountRefunded: z.number().nullable(),
  currency: z.string().nullable(),
  description: z.string().nullable(),
  paidAt: iso.nullable(),
  failedAt: iso.nullable(),
  refundedAt: iso.nullable(),
  providerCreatedAt: iso.nullable(),
  createdAt: iso,
  updatedAt: iso,
});
export type PaymentTransaction = z.infer<typeof paymentTransactionSchema>;

/**
 * Admin lists: newest first, `limit` rows (InsForge's shape) from `offset` (Kiln's paging; the
 * dashboard pages with it).
 */
const listPaging = {
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).default(0),
};
const subjectFilter = {
  subjectType: z.string().trim().min(1).max(100).optional(),
  subjectId: z.string().trim().min(1).max(255).optional(),
};
const subjectFilterComplete = (v: { subjectType?: string; subjectId?: string }) =>
  (v.subjectType === undefined) === (v.subjectId === undefined);
export const listPaymentCustomersQuerySchema = z.object(listPaging).strict();
export const listBySubjectQuerySchema = z
  .object({ ...listPaging, ...subjectFilter })
  .strict()
  .refine(subjectFilterComplete, { message: 'Give subjectType and subjectId together' });

export const listPaymentCustomersResponseSchema = z.object({
  customers: z.array(paymentCustomerSchema),
});
export const listStripeSubscriptionsResponseSchema = z.object({
  subscriptions: z.array(stripeSubscriptionSchema),
});
export const listRazorpaySubscriptionsResponseSchema = z.object({
  subscriptions: z.array(razorpaySubscriptionSchema),
});
export const listPaymentTransactionsResponseSchema = z.object({
  transactions: z.array(paymentTransactionSchema),
});

export const syncStripeResponseSchema = z.object({
  results: z.array(
    z.object({
      environment: paymentEnvironmentSchema,
      connection: stripeConnectionSchema,
      subscriptions: z
        .object({
          environment: paymentEnvironmentSchema,
          synced: z.number().int().nonnegative(),
          unmapped: z.number().int().nonnegative(),
          deleted: z.number().int().nonnegative(),
        })
        .nullable(),
    }),
  ),
});
export const syncRazorpayResponseSchema = z.object({
  results: z.array(
    z.object({
      environment: paymentEnvironmentSchema,
      status: z.enum(['succeeded', 'failed']),
      connection: razorpayConnectionSchema,
      syncCounts: z.record(z.string(), z.number()),
      error: z.string().nullable(),
    }),
  ),
});

// ---------------------------------------------------------------------------------------------
// Checkout and portal (Stripe)
// ---------------------------------------------------------------------------------------------

export const checkoutSessionSchema = z.object({
  id: z.string(),
  environment: paymentEnvironmentSchema,
  mode: z.enum(['payment', 'subscription']),
  status: z.enum(['initialized', 'open', 'completed', 'expired', 'failed']),
  paymentStatus: z.enum(['paid', 'unpaid', 'no_payment_required']).nullable(),
  subjectType: z.string().nullable(),
  subjectId: z.string().nullable(),
  customerEmail: z.string().nullable(),
  checkoutSessionId: z.string().nullable(),
  customerId: z.string().nullable(),
  paymentIntentId: z.string().nullable(),
  subscriptionId: z.string().nullable(),
  url: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: iso,
  updatedAt: iso,
});

export const createCheckoutSessionRequestSchema = z
  .object({
    mode: z.enum(['payment', 'subscription']),
    lineItems: z
      .array(
        z
          .object({
            priceId: z.string().trim().min(1, 'Stripe price id is required'),
            quantity: z.number().int().positive().max(999).default(1),
          })
          .strict(),
      )
      .min(1)
      .max(100),
    successUrl: z.string().trim().url('Success URL must be a valid URL'),
    cancelUrl: z.string().trim().url('Cancel URL must be a valid URL'),
    subject: billingSubjectSchema.optional(),
    customerEmail: z.string().trim().email().nullable().optional(),
    metadata: stringMap.optional(),
    idempotencyKey: idempotencyKey.optional(),
  })
  .strict()
  .refine((v) => noReservedKeys(v.metadata), { path: ['metadata'], message: reservedMessage });
export const createCheckoutSessionResponseSchema = z.object({
  checkoutSession: checkoutSessionSchema,
});

export const createCustomerPortalSessionRequestSchema = z
  .object({
    subject: billingSubjectSchema,
    returnUrl: z.string().trim().url('Return URL must be a valid URL').optional(),
    configuration: z.string().trim().min(1).max(255).optional(),
  })
  .strict();
export const createCustomerPortalSessionResponseSchema = z.object({
  customerPortalSession: z.object({
    id: z.string(),
    environment: paymentEnvironmentSchema,
    status: z.enum(['initialized', 'created', 'failed']),
    subjectType: z.string(),
    subjectId: z.string(),
    customerId: z.string().nullable(),
    returnUrl: z.string().nullable(),
    configuration: z.string().nullable(),
    url: z.string().nullable(),
    lastError: z.string().nullable(),
    createdAt: iso,
    updatedAt: iso,
  }),
});

// ---------------------------------------------------------------------------------------------
// Orders and subscriptions (Razorpay)
// ---------------------------------------------------------------------------------------------

export const razorpayOrderSchema = z.object({
  id: z.string(),
  environment: paymentEnvironmentSchema,
  status: z.enum(['initialized', 'created', 'attempted', 'paid', 'failed']),
  subjectType: z.string().nullable(),
  subjectId: z.string().nullable(),
  customerName: z.string().nullable(),
  customerEmail: z.string().nullable(),
  customerContact: z.string().nullable(),
  orderId: z.string().nullable(),
  receipt: z.string().nullable(),
  amount: z.number(),
  amountPaid: z.number().nullable(),
  amountDue: z.number().nullable(),
  currency: z.string(),
  attempts: z.number().int().nonnegative().nullable(),
  verifiedPaymentId: z.string().nullable(),
  verifiedAt: iso.nullable(),
  notes: stringMap,
  lastError: z.string().nullable(),
  createdAt: iso,
  updatedAt: iso,
});
export type RazorpayOrder = z.infer<typeof razorpayOrderSchema>;

const razorpayCheckoutOptions = {
  key: z.string(),
  name: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
  prefill: z.object({
    name: z.string().nullable().optional(),
    email: z.string().nullable().optional(),
    contact: z.string().nullable().optional(),
  }),
  callback_url: z.string().nullable().optional(),
};

const customerFields = {
  subject: billingSubjectSchema.optional(),
  customerName: z.string().trim().min(1).max(255).nullable().optional(),
  customerEmail: z.string().trim().email().nullable().optional(),
  customerContact: z.string().trim().min(1).max(32).nullable().optional(),
  callbackUrl: z.string().trim().url('Callback URL must be a valid URL').nullable().optional(),
  notes: stringMap.optional(),
};

export const createRazorpayOrderRequestSchema = z
  .object({
    amount: z.number().int().positive(),
    currency: isoCurrency.transform((c) => c.toUpperCase()),
    receipt: z.string().trim().min(1).max(40).nullable().optional(),
    description: z.string().trim().max(2048).nullable().optional(),
    ...customerFields,
  })
  .strict()
  .refine((v) => noReservedKeys(v.notes), { path: ['notes'], message: reservedMessage });
export const createRazorpayOrderResponseSchema = z.object({
  order: razorpayOrderSchema,
  checkoutOptions: z.object({
    ...razorpayCheckoutOptions,
    amount: z.number().int().positive(),
    currency: z.string(),
    order_id: z.string(),
  }),
});

export const verifyRazorpayOrderRequestSchema = z
  .object({
    orderId: z.string().trim().min(1, 'Razorpay order id is required'),
    paymentId: z.string().trim().min(1, 'Razorpay payment id is required'),
    signature: z.string().trim().min(1, 'Razorpay signature is required'),
  })
  .strict();
export const verifyRazorpayOrderResponseSchema = z.object({
  verified: z.boolean(),
  order: razorpayOrderSchema,
});

export const createRazorpaySubscriptionRequestSchema = z
  .object({
    planId: z.string().trim().min(1, 'Razorpay plan id is required'),
    totalCount: z.number().int().positive().optional(),
    endAt: z.number().int().positive().optional(),
    quantity: z.number().int().positive().optional(),
    startAt: z.number().int().positive().optional(),
    expireBy: z.number().int().positive().optional(),
    customerNotify: z.boolean().optional(),
    offerId: z.string().trim().min(1).max(255).nullable().optional(),
    description: z.string().trim().max(2048).nullable().optional(),
    ...customerFields,
    subject: billingSubjectSchema,
  })
  .strict()
  .refine((v) => v.totalCount !== undefined || v.endAt !== undefined, {
    message: 'Give totalCount or endAt',
  })
  .refine((v) => noReservedKeys(v.notes), { path: ['notes'], message: reservedMessage });
export const createRazorpaySubscriptionResponseSchema = z.object({
  subscription: razorpaySubscriptionSchema,
  checkoutOptions: z.object({ ...razorpayCheckoutOptions, subscription_id: z.string() }),
});

export const verifyRazorpaySubscriptionRequestSchema = z
  .object({
    subscriptionId: z.string().trim().min(1, 'Razorpay subscription id is required'),
    paymentId: z.string().trim().min(1, 'Razorpay payment id is required'),
    signature: z.string().trim().min(1, 'Razorpay signature is required'),
  })
  .strict();
export const verifyRazorpaySubscriptionResponseSchema = z.object({
  verified: z.boolean(),
  subscription: razorpaySubscriptionSchema,
});

export const razorpaySubscriptionParamsSchema = z.object({
  environment: paymentEnvironmentSchema,
  subscriptionId: z.string().trim().min(1, 'Razorpay subscription id is required'),
});
export const cancelRazorpaySubscriptionRequestSchema = z
  .object({ cancelAtCycleEnd: z.boolean().default(false) })
  .strict();
export const emptyPaymentsBodySchema = z.object({}).strict();
export const razorpaySubscriptionResponseSchema = z.object({
  subscription: razorpaySubscriptionSchema,
});

// ---------------------------------------------------------------------------------------------
// Provider webhooks
// ---------------------------------------------------------------------------------------------

export const stripeWebhookResponseSchema = z.object({
  received: z.boolean(),
  handled: z.boolean(),
  event: z
    .object({
      environment: paymentEnvironmentSchema,
      eventId: z.string(),
      eventType: z.string(),
      livemode: z.boolean(),
      accountId: z.string().nullable(),
      objectType: z.string().nullable(),
      objectId: z.string().nullable(),
      processingStatus: z.enum(['pending', 'processed', 'failed', 'ignored']),
      attemptCount: z.number(),
      lastError: z.string().nullable(),
      receivedAt: iso,
      processedAt: iso.nullable(),
      createdAt: iso,
      updatedAt: iso,
    })
    .optional(),
});
export const razorpayWebhookResponseSchema = z.object({
  received: z.boolean(),
  handled: z.boolean(),
});
