-- Up Migration

-- Kiln's own schemas. `system` holds platform state, `auth` holds identities.
CREATE SCHEMA IF NOT EXISTS system;
CREATE SCHEMA IF NOT EXISTS auth;

-- Roles every request runs as (cluster-wide, so created only when missing).
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'project_admin') THEN
    CREATE ROLE project_admin NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
END
$roles$;

-- The connecting role must be able to SET ROLE to each of them.
DO $grant$
BEGIN
  EXECUTE format('GRANT anon, authenticated, project_admin TO %I', current_user);
END
$grant$;

-- The application schema: RLS decides what each role sees; privileges let it try.
GRANT USAGE ON SCHEMA public TO anon, authenticated, project_admin;
GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated, project_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO anon, authenticated, project_admin;
GRANT ALL ON ALL FUNCTIONS IN SCHEMA public TO anon, authenticated, project_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, project_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, project_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, project_admin;
GRANT CREATE ON SCHEMA public TO project_admin;

-- Identity helpers for RLS policies and column defaults. They read the claims that
-- db.withPrincipal() sets for the transaction.
GRANT USAGE ON SCHEMA auth TO anon, authenticated, project_admin;

CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN (auth.jwt() ->> 'sub') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      THEN (auth.jwt() ->> 'sub')::uuid
    END
  $$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT auth.jwt() ->> 'role' $$;

CREATE OR REPLACE FUNCTION auth.email() RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT auth.jwt() ->> 'email' $$;

GRANT EXECUTE ON FUNCTION auth.jwt(), auth.uid(), auth.role(), auth.email()
  TO anon, authenticated, project_admin;

-- Touch `updated_at` on every update.
CREATE OR REPLACE FUNCTION system.touch_updated_at() RETURNS trigger
  LANGUAGE plpgsql
  AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;

-- Users. Emails are unique case-insensitively.
CREATE TABLE auth.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL CHECK (length(email) <= 320),
  password_hash text,
  email_verified boolean NOT NULL DEFAULT false,
  profile jsonb NOT NULL DEFAULT '{}'::jsonb,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON auth.users (lower(email));
CREATE INDEX users_created_at_idx ON auth.users (created_at DESC, id);
CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON auth.users
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

-- A session is one sign-in on one device: the family of refresh tokens rotated from it.
CREATE TABLE auth.sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  client_type text NOT NULL DEFAULT 'web',
  user_agent text,
  ip text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text
);
CREATE INDEX sessions_user_id_idx ON auth.sessions (user_id);

-- Refresh tokens are stored as SHA-256 digests. `rotated_at` marks a token already
-- exchanged: presenting it again means it leaked, and the whole session is revoked.
CREATE TABLE auth.refresh_tokens (
  token_hash bytea PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES auth.sessions (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session_id_idx ON auth.refresh_tokens (session_id);

-- Auth settings: one row.
CREATE TABLE auth.config (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  require_email_verification boolean NOT NULL DEFAULT false,
  password_min_length integer NOT NULL DEFAULT 6 CHECK (password_min_length BETWEEN 4 AND 128),
  require_number boolean NOT NULL DEFAULT false,
  require_lowercase boolean NOT NULL DEFAULT false,
  require_uppercase boolean NOT NULL DEFAULT false,
  require_special_char boolean NOT NULL DEFAULT false,
  verify_email_method text NOT NULL DEFAULT 'code' CHECK (verify_email_method IN ('code', 'link')),
  reset_password_method text NOT NULL DEFAULT 'code' CHECK (reset_password_method IN ('code', 'link')),
  allowed_redirect_urls text[] NOT NULL DEFAULT '{}',
  disable_signup boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO auth.config DEFAULT VALUES;
CREATE TRIGGER config_touch_updated_at BEFORE UPDATE ON auth.config
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

-- Project keys (anon_… and ik_…). `key_hash` finds a key, `encrypted_key` (AES-256-GCM)
-- lets an admin read it back. A rotated key keeps working until `expires_at`.
CREATE TABLE system.api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('anon', 'api')),
  key_hash bytea NOT NULL UNIQUE,
  encrypted_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz
);
CREATE UNIQUE INDEX api_keys_one_active_per_kind ON system.api_keys (kind) WHERE expires_at IS NULL;

-- Down Migration

DROP TABLE IF EXISTS system.api_keys;
DROP TABLE IF EXISTS auth.config;
DROP TABLE IF EXISTS auth.refresh_tokens;
DROP TABLE IF EXISTS auth.sessions;
DROP TABLE IF EXISTS auth.users;
DROP FUNCTION IF EXISTS system.touch_updated_at();
DROP FUNCTION IF EXISTS auth.email();
DROP FUNCTION IF EXISTS auth.role();
DROP FUNCTION IF EXISTS auth.uid();
DROP FUNCTION IF EXISTS auth.jwt();
