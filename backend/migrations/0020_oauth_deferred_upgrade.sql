-- Up Migration

-- An anonymous user's OAuth sign-in attaches the identity only at /oauth/exchange, after the
-- PKCE check: whoever merely opens the provider link cannot land in the anonymous account.
-- Such a code carries the identity and the anonymous user instead of a signed-in user.
ALTER TABLE auth.oauth_codes ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE auth.oauth_codes ADD COLUMN link_user_id uuid REFERENCES auth.users (id) ON DELETE CASCADE;
ALTER TABLE auth.oauth_codes ADD COLUMN identity jsonb;
ALTER TABLE auth.oauth_codes ADD CONSTRAINT oauth_codes_subject CHECK (
  (user_id IS NOT NULL AND link_user_id IS NULL AND identity IS NULL)
  OR (user_id IS NULL AND link_user_id IS NOT NULL AND identity IS NOT NULL));

-- Down Migration

DELETE FROM auth.oauth_codes WHERE user_id IS NULL;
ALTER TABLE auth.oauth_codes DROP CONSTRAINT IF EXISTS oauth_codes_subject;
ALTER TABLE auth.oauth_codes DROP COLUMN IF EXISTS identity;
ALTER TABLE auth.oauth_codes DROP COLUMN IF EXISTS link_user_id;
ALTER TABLE auth.oauth_codes ALTER COLUMN user_id SET NOT NULL;
