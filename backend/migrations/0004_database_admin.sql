-- Up Migration

-- project_admin may use Kiln's updated_at trigger function, and nothing else in `system`.
GRANT USAGE ON SCHEMA system TO project_admin;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA system FROM PUBLIC;
GRANT EXECUTE ON FUNCTION system.touch_updated_at() TO project_admin;

-- User migrations, applied through the API in one transaction each.
CREATE TABLE system.user_migrations (
  version text PRIMARY KEY CHECK (version ~ '^[0-9]{1,64}$'),
  name text NOT NULL,
  sql text NOT NULL,
  checksum text NOT NULL,
  applied_by text,
  applied_at timestamptz NOT NULL DEFAULT now()
);
-- Migrations run as project_admin, which records its own migration in the same transaction.
GRANT SELECT, INSERT ON system.user_migrations TO project_admin;

-- Down Migration

DROP TABLE IF EXISTS system.user_migrations;
REVOKE USAGE ON SCHEMA system FROM project_admin;
