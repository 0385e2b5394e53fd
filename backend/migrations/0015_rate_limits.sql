-- Up Migration

-- Request counters for rate limits, shared by every instance (express-rate-limit's store).
-- UNLOGGED: counters are worth nothing after a database crash.
CREATE UNLOGGED TABLE system.rate_limits (
  key text PRIMARY KEY,
  hits integer NOT NULL,
  reset_at timestamptz NOT NULL
);
CREATE INDEX rate_limits_reset_idx ON system.rate_limits (reset_at);

-- Down Migration

DROP TABLE IF EXISTS system.rate_limits;
