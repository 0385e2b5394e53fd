-- Up Migration

-- Sign-in identities from other providers (OAuth, native ID tokens). One provider account maps to
-- one user; a user may have several. `identity_providers` on the user lists them for the API.
CREATE TABLE auth.identities (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  provider text NOT NULL CHECK (length(provider) BETWEEN 1 AND 100),
  provider_user_id text NOT NULL CHECK (length(provider_user_id) BETWEEN 1 AND 255),
  email text,
  email_verified boolean NOT NULL DEFAULT false,
  profile jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, provider_user_id)
);
CREATE INDEX identities_user_idx ON auth.identities (user_id);
ALTER TABLE auth.users ADD COLUMN identity_providers text[] NOT NULL DEFAULT '{}';

-- Down Migration

ALTER TABLE auth.users DROP COLUMN IF EXISTS identity_providers;
DROP TABLE IF EXISTS auth.identities;
