-- Up Migration

-- Anonymous users: real rows, upgradable to a full account (same id) by adding an email and a
-- password. Their email is a placeholder on the reserved `.invalid` domain.
ALTER TABLE auth.users ADD COLUMN is_anonymous boolean NOT NULL DEFAULT false;
-- Off until an admin allows it (PUT /api/auth/config {allowAnonymousSignIn: true}).
ALTER TABLE auth.config ADD COLUMN allow_anonymous_sign_in boolean NOT NULL DEFAULT false;

-- The assurance level a session reached: aal1 (one factor) or aal2 (a second factor checked).
ALTER TABLE auth.sessions ADD COLUMN aal text NOT NULL DEFAULT 'aal1' CHECK (aal IN ('aal1', 'aal2'));

-- TOTP factors (RFC 6238). The secret is sealed with AES-256-GCM; `last_step` refuses a code
-- used once already (replay within its 30-second window).
CREATE TABLE auth.mfa_factors (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  type text NOT NULL DEFAULT 'totp' CHECK (type IN ('totp')),
  friendly_name text,
  secret_encrypted text NOT NULL,
  status text NOT NULL DEFAULT 'unverified' CHECK (status IN ('unverified', 'verified')),
  last_step bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  verified_at timestamptz
);
CREATE INDEX mfa_factors_user_idx ON auth.mfa_factors (user_id);

-- One-use recovery codes, stored as HMAC digests.
CREATE TABLE auth.mfa_recovery_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  digest bytea NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mfa_recovery_codes_user_idx ON auth.mfa_recovery_codes (user_id);

-- Wrong second-factor attempts per pending sign-in (an mfaToken's id), to cap guessing.
CREATE TABLE auth.mfa_attempts (
  token_id text PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL
);

-- Down Migration

DROP TABLE IF EXISTS auth.mfa_attempts;
DROP TABLE IF EXISTS auth.mfa_recovery_codes;
DROP TABLE IF EXISTS auth.mfa_factors;
ALTER TABLE auth.sessions DROP COLUMN IF EXISTS aal;
ALTER TABLE auth.config DROP COLUMN IF EXISTS allow_anonymous_sign_in;
ALTER TABLE auth.users DROP COLUMN IF EXISTS is_anonymous;
