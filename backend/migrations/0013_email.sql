-- Up Migration

-- SMTP settings an admin sets at runtime (they win over SMTP_* variables when enabled). The
-- password is sealed with AES-256-GCM like every secret.
CREATE TABLE auth.smtp_config (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  enabled boolean NOT NULL DEFAULT false,
  host text,
  port integer CHECK (port BETWEEN 1 AND 65535),
  username text,
  password_encrypted text,
  from_email text,
  from_name text,
  secure boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO auth.smtp_config DEFAULT VALUES;
CREATE TRIGGER smtp_config_touch_updated_at BEFORE UPDATE ON auth.smtp_config
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

-- Admins' versions of the mail templates; a type without a row uses the built-in default.
CREATE TABLE auth.email_templates (
  type text PRIMARY KEY,
  subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 500),
  html text NOT NULL,
  text text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER email_templates_touch_updated_at BEFORE UPDATE ON auth.email_templates
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

-- One-time codes and link tokens (stored as HMAC digests): email verification, password reset
-- (code, link, and the reset token a code is exchanged for), sign-in codes and magic links.
CREATE TABLE auth.email_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('verify', 'reset', 'reset-token', 'otp')),
  digest bytea NOT NULL,
  redirect_to text,
  attempts integer NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL,
  consumed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_codes_lookup_idx ON auth.email_codes (lower(email), purpose, created_at DESC);
CREATE UNIQUE INDEX email_codes_digest_idx ON auth.email_codes (digest);

-- Sends, for per-address, per-IP and per-user throttling (and nothing else).
CREATE TABLE auth.email_sends (
  id bigserial PRIMARY KEY,
  email text,
  ip text,
  user_id uuid,
  purpose text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_sends_email_idx ON auth.email_sends (lower(email), created_at);
CREATE INDEX email_sends_ip_idx ON auth.email_sends (ip, created_at);
CREATE INDEX email_sends_user_idx ON auth.email_sends (user_id, created_at);

-- Down Migration

DROP TABLE IF EXISTS auth.email_sends;
DROP TABLE IF EXISTS auth.email_codes;
DROP TABLE IF EXISTS auth.email_templates;
DROP TABLE IF EXISTS auth.smtp_config;
