-- Up Migration

-- The audit trail: one row per admin action (schema changes, key rotations, user deletions,
-- configuration changes, function deploys, secret changes...). Written by Kiln after the action
-- succeeded; pruned after AUDIT_RETENTION_DAYS.
CREATE TABLE system.audit_log (
  id bigserial PRIMARY KEY,
  actor text NOT NULL,
  actor_id uuid,
  action text NOT NULL,
  module text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created_idx ON system.audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_module_idx ON system.audit_log (module, created_at DESC);

-- Down Migration

DROP TABLE IF EXISTS system.audit_log;
