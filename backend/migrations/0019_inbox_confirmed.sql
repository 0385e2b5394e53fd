-- Up Migration

-- Whether the owner of the address has proven it (a verification code or link, a one-time code,
-- a password reset by email, or a provider that vouches for it). Separate from email_verified,
-- which is also true for password sign-ups when the project does not require verification: such
-- an account may have been created by someone else, so the first proof of the inbox removes
-- what that someone could have set up (password, unproven identities, sessions).
ALTER TABLE auth.users ADD COLUMN inbox_confirmed boolean NOT NULL DEFAULT false;
UPDATE auth.users SET inbox_confirmed = email_verified WHERE NOT is_anonymous;

-- Down Migration

ALTER TABLE auth.users DROP COLUMN IF EXISTS inbox_confirmed;
