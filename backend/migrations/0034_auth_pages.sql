-- Up Migration

-- The hosted auth pages at /auth: how they look (branding) and which of their flows a project
-- offers. All of it is public (GET /api/auth/public-config); admins change it with
-- PUT /api/auth/config.
ALTER TABLE auth.config
  ADD COLUMN app_name text CHECK (length(app_name) BETWEEN 1 AND 100),
  ADD COLUMN logo_url text CHECK (logo_url ~ '^https?://' AND length(logo_url) <= 2048),
  ADD COLUMN primary_color text CHECK (primary_color ~ '^#[0-9a-fA-F]{6}$'),
  ADD COLUMN default_theme text NOT NULL DEFAULT 'system'
    CHECK (default_theme IN ('system', 'light', 'dark')),
  ADD COLUMN terms_url text CHECK (terms_url ~ '^https?://' AND length(terms_url) <= 2048),
  ADD COLUMN privacy_url text CHECK (privacy_url ~ '^https?://' AND length(privacy_url) <= 2048),
  -- Sign-in by a code mailed to the address, and by a link mailed to it.
  ADD COLUMN allow_email_otp boolean NOT NULL DEFAULT true,
  ADD COLUMN allow_magic_link boolean NOT NULL DEFAULT true,
  -- Whether a signed-in user may delete their own account (DELETE /api/auth/users/current).
  ADD COLUMN allow_account_deletion boolean NOT NULL DEFAULT false;

-- A code the hosted pages issue after the second factor was checked carries that assurance
-- level: POST /api/auth/oauth/exchange then starts the app's session at aal2 (no second
-- challenge). NULL for codes from a provider's callback.
ALTER TABLE auth.oauth_codes ADD COLUMN aal text CHECK (aal IN ('aal1', 'aal2'));

-- A signed-in user changing their address proves the new one with a mailed code.
ALTER TABLE auth.email_codes DROP CONSTRAINT email_codes_purpose_check;
ALTER TABLE auth.email_codes ADD CONSTRAINT email_codes_purpose_check
  CHECK (purpose IN ('verify', 'reset', 'reset-token', 'otp', 'change-email'));

-- Down Migration

DELETE FROM auth.email_codes WHERE purpose = 'change-email';
ALTER TABLE auth.email_codes DROP CONSTRAINT email_codes_purpose_check;
ALTER TABLE auth.email_codes ADD CONSTRAINT email_codes_purpose_check
  CHECK (purpose IN ('verify', 'reset', 'reset-token', 'otp'));

ALTER TABLE auth.oauth_codes DROP COLUMN IF EXISTS aal;

ALTER TABLE auth.config
  DROP COLUMN IF EXISTS app_name,
  DROP COLUMN IF EXISTS logo_url,
  DROP COLUMN IF EXISTS primary_color,
  DROP COLUMN IF EXISTS default_theme,
  DROP COLUMN IF EXISTS terms_url,
  DROP COLUMN IF EXISTS privacy_url,
  DROP COLUMN IF EXISTS allow_email_otp,
  DROP COLUMN IF EXISTS allow_magic_link,
  DROP COLUMN IF EXISTS allow_account_deletion;
