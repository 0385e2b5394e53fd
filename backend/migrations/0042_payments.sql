-- Up Migration

-- Payments (issue 23): Stripe and Razorpay accounts per environment (test / live), their
-- catalog, and the customers, subscriptions and transactions of Kiln's users. Only Kiln's owner
-- writes (the payments service and the providers' webhooks); signed-in users read their own
-- billing rows and the catalog under RLS, so an application's own policies can say
--   USING (EXISTS (SELECT 1 FROM payments.subscriptions s
--                   WHERE s.user_id = auth.uid() AND s.status = 'active'))
CREATE SCHEMA payments;
GRANT USAGE ON SCHEMA payments TO authenticated, project_admin;

-- One row per provider and environment: the keys, sealed like system.secrets, and what the
-- last connection check and sync found. No request role has any grant.
CREATE TABLE payments.provider_configs (
  provider text NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  key_id text,
  secret_sealed text NOT NULL,
  webhook_secret_sealed text,
  masked_key text NOT NULL,
  status text NOT NULL DEFAULT 'connected' CHECK (status IN ('connected', 'error')),
  account_id text,
  account_name text,
  account_livemode boolean,
  webhook_endpoint_id text,
  webhook_endpoint_url text,
  webhook_configured_at timestamptz,
  last_synced_at timestamptz,
  last_sync_status text CHECK (last_sync_status IN ('succeeded', 'failed')),
  last_sync_error text,
  last_sync_counts jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, environment)
);

-- Catalog. Stripe: products and their prices. Razorpay: items and plans.
CREATE TABLE payments.products (
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  product_id text NOT NULL,
  name text NOT NULL,
  description text,
  active boolean NOT NULL DEFAULT true,
  default_price_id text,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  synced_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, product_id)
);

CREATE TABLE payments.prices (
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  price_id text NOT NULL,
  product_id text,
  active boolean NOT NULL DEFAULT true,
  currency text NOT NULL,
  unit_amount bigint,
  unit_amount_decimal text,
  type text NOT NULL,
  lookup_key text,
  billing_scheme text,
  tax_behavior text,
  recurring_interval text,
  recurring_interval_count integer,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  synced_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, price_id)
);
CREATE INDEX prices_product_idx ON payments.prices (environment, product_id);

CREATE TABLE payments.items (
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  item_id text NOT NULL,
  name text NOT NULL,
  description text,
  active boolean NOT NULL DEFAULT true,
  amount bigint,
  unit_amount bigint,
  currency text NOT NULL,
  type text,
  provider_created_at timestamptz,
  synced_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, item_id)
);

CREATE TABLE payments.plans (
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  plan_id text NOT NULL,
  item_id text NOT NULL,
  period text NOT NULL,
  "interval" integer NOT NULL,
  amount bigint,
  unit_amount bigint,
  currency text NOT NULL,
  active boolean NOT NULL DEFAULT true,
  notes jsonb NOT NULL DEFAULT '{}'::jsonb,
  provider_created_at timestamptz,
  synced_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, plan_id)
);

-- A billing subject ({type, id}) at a provider. user_id is set when the subject is a Kiln user
-- ({type: 'user', id: <user id>}); it is what RLS reads.
CREATE TABLE payments.customers (
  provider text NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  provider_customer_id text NOT NULL,
  subject_type text,
  subject_id text,
  user_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  email text,
  name text,
  phone text,
  deleted boolean NOT NULL DEFAULT false,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  provider_created_at timestamptz,
  synced_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, environment, provider_customer_id)
);
CREATE UNIQUE INDEX customers_subject_key
  ON payments.customers (provider, environment, subject_type, subject_id)
  WHERE subject_type IS NOT NULL AND NOT deleted;
CREATE INDEX customers_user_idx ON payments.customers (user_id);

-- Subscriptions of both providers. Provider-specific fields (Stripe's items, Razorpay's counts
-- and dates) are kept in `details`, as the provider last described them.
CREATE TABLE payments.subscriptions (
  provider text NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  subscription_id text NOT NULL,
  provider_customer_id text,
  subject_type text,
  subject_id text,
  user_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  status text NOT NULL,
  plan_id text,
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean NOT NULL DEFAULT false,
  canceled_at timestamptz,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  synced_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, environment, subscription_id)
);
CREATE INDEX subscriptions_user_idx ON payments.subscriptions (user_id, status);
CREATE INDEX subscriptions_created_idx ON payments.subscriptions (provider, environment, created_at DESC);

-- Money that moved (or failed to): one row per provider object (invoice, payment, refund).
CREATE TABLE payments.transactions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  provider text NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  type text NOT NULL CHECK (type IN ('one_time_payment', 'subscription_invoice', 'refund', 'failed_payment')),
  status text NOT NULL CHECK (status IN ('succeeded', 'failed', 'pending', 'refunded', 'partially_refunded')),
  subject_type text,
  subject_id text,
  user_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  provider_customer_id text,
  customer_email_snapshot text,
  provider_reference_id text NOT NULL,
  provider_reference_type text NOT NULL,
  amount bigint,
  amount_refunded bigint,
  currency text,
  description text,
  paid_at timestamptz,
  failed_at timestamptz,
  refunded_at timestamptz,
  provider_created_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, environment, provider_reference_type, provider_reference_id)
);
CREATE INDEX transactions_user_idx ON payments.transactions (user_id);
CREATE INDEX transactions_created_idx ON payments.transactions (provider, environment, created_at DESC);

-- Checkout sessions (Stripe) and orders (Razorpay) Kiln opened, and for whom.
CREATE TABLE payments.checkout_sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  mode text NOT NULL CHECK (mode IN ('payment', 'subscription')),
  status text NOT NULL DEFAULT 'initialized',
  payment_status text,
  subject_type text,
  subject_id text,
  user_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  customer_email text,
  checkout_session_id text UNIQUE,
  provider_customer_id text,
  payment_intent_id text,
  subscription_id text,
  url text,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX checkout_sessions_user_idx ON payments.checkout_sessions (user_id);

CREATE TABLE payments.orders (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  status text NOT NULL DEFAULT 'initialized',
  subject_type text,
  subject_id text,
  user_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  customer_name text,
  customer_email text,
  customer_contact text,
  order_id text UNIQUE,
  receipt text,
  amount bigint NOT NULL,
  amount_paid bigint,
  amount_due bigint,
  currency text NOT NULL,
  attempts integer,
  verified_payment_id text,
  verified_at timestamptz,
  notes jsonb NOT NULL DEFAULT '{}'::jsonb,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_idx ON payments.orders (user_id);

-- Provider webhook events seen, by id: a repeat is acknowledged and not applied twice.
CREATE TABLE payments.webhook_events (
  provider text NOT NULL CHECK (provider IN ('stripe', 'razorpay')),
  environment text NOT NULL CHECK (environment IN ('test', 'live')),
  event_id text NOT NULL,
  event_type text NOT NULL,
  livemode boolean NOT NULL DEFAULT false,
  account_id text,
  object_type text,
  object_id text,
  processing_status text NOT NULL CHECK (processing_status IN ('pending', 'processed', 'failed', 'ignored')),
  attempt_count integer NOT NULL DEFAULT 1,
  last_error text,
  received_at timestamptz NOT NULL DEFAULT now(),
  processed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, environment, event_id)
);

-- Row level security: every table on; what a signed-in user may read is below. The owner (Kiln)
-- writes; project_admin reads everything through the admin API (it bypasses RLS).
ALTER TABLE payments.provider_configs ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.products ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.items ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.transactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.checkout_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments.webhook_events ENABLE ROW LEVEL SECURITY;

GRANT SELECT ON payments.products, payments.prices, payments.items, payments.plans,
  payments.customers, payments.subscriptions, payments.transactions,
  payments.checkout_sessions, payments.orders TO authenticated, project_admin;
GRANT SELECT ON payments.webhook_events TO project_admin;

CREATE POLICY catalog_read ON payments.products FOR SELECT TO authenticated USING (true);
CREATE POLICY catalog_read ON payments.prices FOR SELECT TO authenticated USING (true);
CREATE POLICY catalog_read ON payments.items FOR SELECT TO authenticated USING (true);
CREATE POLICY catalog_read ON payments.plans FOR SELECT TO authenticated USING (true);
CREATE POLICY own_rows ON payments.customers FOR SELECT TO authenticated USING (user_id = auth.uid());
CREATE POLICY own_rows ON payments.subscriptions FOR SELECT TO authenticated USING (user_id = auth.uid());
CREATE POLICY own_rows ON payments.transactions FOR SELECT TO authenticated USING (user_id = auth.uid());
CREATE POLICY own_rows ON payments.checkout_sessions FOR SELECT TO authenticated USING (user_id = auth.uid());
CREATE POLICY own_rows ON payments.orders FOR SELECT TO authenticated USING (user_id = auth.uid());
