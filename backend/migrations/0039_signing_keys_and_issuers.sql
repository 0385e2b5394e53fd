-- Up Migration

-- Keys other services can verify (issue 22).
--
-- Asymmetric signing keys for access tokens (JWT_ALGORITHM=ES256 or RS256). The private key is
-- sealed with the instance's SecretBox (AES-256-GCM, ENCRYPTION_KEY); the public half is kept as
-- a JWK and published at /.well-known/jwks.json. One key per algorithm signs (`retired_at` NULL);
-- a rotated key stops signing at once but keeps verifying, and stays published, until
-- `expires_at` (the overlap window). Every instance reads the same rows, so all sign with the same
-- key and verify each other's tokens.
CREATE TABLE system.signing_keys (
  kid text PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{8,64}$'),
  algorithm text NOT NULL CHECK (algorithm IN ('ES256', 'RS256')),
  public_jwk jsonb NOT NULL CHECK (jsonb_typeof(public_jwk) = 'object'),
  private_key_sealed text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  expires_at timestamptz,
  CHECK ((retired_at IS NULL) = (expires_at IS NULL))
);
CREATE UNIQUE INDEX signing_keys_one_active_per_algorithm
  ON system.signing_keys (algorithm) WHERE retired_at IS NULL;

-- Outside identity providers whose tokens Kiln accepts as `authenticated` (Keycloak, Auth0,
-- Clerk, Cognito, another Kiln): the token's `iss` must equal `issuer`, its `aud` must contain
-- `audience`, and its signature must verify with a key of `jwks_url`. `role_claim` (a dotted
-- path such as `realm_access.roles`) names where the provider keeps the user's roles; its value
-- becomes the `app_roles` claim (auth.has_role()). It never changes the PostgreSQL role.
CREATE TABLE system.trusted_issuers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  issuer text NOT NULL UNIQUE CHECK (length(issuer) BETWEEN 1 AND 2048),
  jwks_url text NOT NULL CHECK (jwks_url ~ '^https?://'),
  audience text NOT NULL CHECK (length(audience) BETWEEN 1 AND 2048),
  role_claim text CHECK (role_claim ~ '^[A-Za-z0-9_:/.-]{1,200}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER trusted_issuers_touch_updated_at BEFORE UPDATE ON system.trusted_issuers
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

-- Changes reach every instance at once, as project key changes do (migration 0026).
CREATE TRIGGER signing_keys_announce AFTER INSERT OR UPDATE OR DELETE ON system.signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION system.announce_key_change();
CREATE TRIGGER trusted_issuers_announce AFTER INSERT OR UPDATE OR DELETE ON system.trusted_issuers
  FOR EACH STATEMENT EXECUTE FUNCTION system.announce_key_change();

-- Down Migration

DROP TABLE IF EXISTS system.trusted_issuers;
DROP TABLE IF EXISTS system.signing_keys;
