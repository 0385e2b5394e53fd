-- Up Migration

-- Secrets for edge functions, encrypted at rest (AES-256-GCM with ENCRYPTION_KEY, else a key
-- derived from JWT_SECRET). Keys are environment-variable names: functions read them with
-- Deno.env.get(). Reserved names (the project URL and keys) are provided by Kiln itself.
CREATE TABLE system.secrets (
  key text PRIMARY KEY CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_]{0,127}$'),
  value_encrypted text NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER secrets_touch_updated_at BEFORE UPDATE ON system.secrets
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

-- Bumped by every change to system.secrets, so a running function whose environment is out of
-- date is restarted on its next call.
CREATE TABLE system.secrets_state (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO system.secrets_state DEFAULT VALUES;
CREATE FUNCTION system.bump_secrets_version() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  UPDATE system.secrets_state SET version = version + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER secrets_bump_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON system.secrets
  FOR EACH STATEMENT EXECUTE FUNCTION system.bump_secrets_version();

-- Edge functions. `version` increases with every code or status change; the local runtime keeps
-- one Deno process per (function, version, environment).
CREATE TABLE system.functions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9_-]{1,64}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
  description text,
  code text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('draft', 'active')),
  version integer NOT NULL DEFAULT 1,
  -- Deno Subhosting: the deployment serving this version.
  deployment_id text,
  deployment_status text,
  deployment_url text,
  deployment_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deployed_at timestamptz
);
CREATE TRIGGER functions_touch_updated_at BEFORE UPDATE ON system.functions
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

-- Down Migration

DROP TABLE IF EXISTS system.functions;
DROP TABLE IF EXISTS system.secrets_state;
DROP FUNCTION IF EXISTS system.bump_secrets_version();
DROP TABLE IF EXISTS system.secrets;
