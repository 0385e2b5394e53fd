-- Up Migration

-- OAuth / OpenID Connect providers an admin configured (client secrets sealed with AES-256-GCM).
-- `key` is a built-in provider name (google, github...) or a custom OIDC provider's key.
CREATE TABLE auth.oauth_providers (
  key text PRIMARY KEY CHECK (key ~ '^[a-z0-9_-]{1,64}$'),
  custom boolean NOT NULL DEFAULT false,
  name text,
  client_id text NOT NULL,
  client_secret_encrypted text,
  scopes text[] NOT NULL DEFAULT '{}',
  discovery_url text,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER oauth_providers_touch_updated_at BEFORE UPDATE ON auth.oauth_providers
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

-- A sign-in in progress: the `state` sent to the provider is this row's random id, bound to the
-- app's redirect URI and PKCE challenge, used once, valid ten minutes.
CREATE TABLE auth.oauth_states (
  id text PRIMARY KEY,
  provider text NOT NULL,
  redirect_uri text NOT NULL,
  code_challenge text NOT NULL,
  provider_verifier text NOT NULL,
  nonce text NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);

-- The code the app exchanges for a session (with its PKCE verifier): digest only, used once,
-- valid two minutes.
CREATE TABLE auth.oauth_codes (
  digest bytea PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  code_challenge text NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);

-- Down Migration

DROP TABLE IF EXISTS auth.oauth_codes;
DROP TABLE IF EXISTS auth.oauth_states;
DROP TABLE IF EXISTS auth.oauth_providers;
