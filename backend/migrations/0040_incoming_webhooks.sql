-- Up Migration

-- Incoming webhooks (issue 23): endpoints other services deliver to at
-- POST /api/webhooks/in/:name, and what they delivered. Only Kiln's owner reads and writes them
-- (the admin API); no request role has any grant.
CREATE TABLE system.incoming_webhooks (
  name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  description text,
  scheme text NOT NULL CHECK (scheme IN ('hmac', 'standard-webhooks', 'github', 'stripe', 'none')),
  -- hmac only: the header carrying the signature, its encoding and the text before it.
  signature_header text,
  signature_encoding text CHECK (signature_encoding IN ('hex', 'base64')),
  signature_prefix text NOT NULL DEFAULT '',
  -- The signing secret (or, for `none`, the URL's secret), sealed like system.secrets.
  secret_sealed text NOT NULL,
  replay_window_seconds integer NOT NULL DEFAULT 300
    CHECK (replay_window_seconds BETWEEN 1 AND 604800),
  -- header:<name> or a dotted path into the JSON payload; NULL: no deduplication.
  idempotency_key text,
  -- none: only stored; queue: a job on jobs.queues(target); function: a job on the endpoint's
  -- own queue (webhooks-in:<name>) whose target is the function `target`.
  target_kind text NOT NULL DEFAULT 'none' CHECK (target_kind IN ('none', 'queue', 'function')),
  target text,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE system.incoming_webhook_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  endpoint text NOT NULL REFERENCES system.incoming_webhooks (name) ON DELETE CASCADE,
  received_at timestamptz NOT NULL DEFAULT now(),
  -- stored, queued (job_id), unrouted (error), refused (verification holds the reason).
  status text NOT NULL CHECK (status IN ('stored', 'queued', 'unrouted', 'refused')),
  -- verified, secret-path, or the error code a refused delivery was answered with.
  verification text NOT NULL,
  idempotency_key text,
  -- Repeats of this delivery (same key) answered 200 and not handed on.
  duplicates integer NOT NULL DEFAULT 0,
  content_type text,
  size integer NOT NULL,
  headers jsonb,
  -- A JSON body as JSON; any other body as text in `body`. Neither for a refused delivery.
  payload jsonb,
  body text,
  job_id uuid,
  error text
);
CREATE UNIQUE INDEX incoming_webhook_deliveries_key
  ON system.incoming_webhook_deliveries (endpoint, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX incoming_webhook_deliveries_recent
  ON system.incoming_webhook_deliveries (endpoint, received_at DESC);
CREATE INDEX incoming_webhook_deliveries_age
  ON system.incoming_webhook_deliveries (received_at);

-- Down Migration

DROP TABLE IF EXISTS system.incoming_webhook_deliveries;
DROP TABLE IF EXISTS system.incoming_webhooks;
