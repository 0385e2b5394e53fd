-- Up Migration

-- Phone numbers: E.164 (normalised by Kiln before they get here). A number a user asked to add
-- but has not proven (`phone_verified = false`) never blocks anybody: only proven numbers are
-- unique, and only a proven number signs anybody in.
ALTER TABLE auth.users
  ADD COLUMN phone text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  ADD COLUMN phone_verified boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX users_verified_phone_key ON auth.users (phone) WHERE phone_verified;
CREATE INDEX users_phone_idx ON auth.users (phone) WHERE phone IS NOT NULL;

-- One-time codes and their send log serve every channel a code can travel by: the address column
-- holds an email address or a phone number, `channel` says which. The limits (attempts, sends per
-- address and per IP) are the same mechanism for both (auth/codes.ts).
ALTER TABLE auth.email_codes
  ADD COLUMN channel text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms'));
ALTER TABLE auth.email_sends
  ADD COLUMN channel text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms'));
ALTER TABLE auth.email_codes DROP CONSTRAINT email_codes_purpose_check;
ALTER TABLE auth.email_codes ADD CONSTRAINT email_codes_purpose_check
  CHECK (purpose IN ('verify', 'reset', 'reset-token', 'otp', 'change-email', 'change-phone'));

-- Down Migration

DELETE FROM auth.email_codes WHERE channel <> 'email' OR purpose = 'change-phone';
DELETE FROM auth.email_sends WHERE channel <> 'email';
ALTER TABLE auth.email_codes DROP CONSTRAINT email_codes_purpose_check;
ALTER TABLE auth.email_codes ADD CONSTRAINT email_codes_purpose_check
  CHECK (purpose IN ('verify', 'reset', 'reset-token', 'otp', 'change-email'));
ALTER TABLE auth.email_sends DROP COLUMN IF EXISTS channel;
ALTER TABLE auth.email_codes DROP COLUMN IF EXISTS channel;
DROP INDEX IF EXISTS auth.users_phone_idx;
DROP INDEX IF EXISTS auth.users_verified_phone_key;
ALTER TABLE auth.users DROP COLUMN IF EXISTS phone_verified, DROP COLUMN IF EXISTS phone;
