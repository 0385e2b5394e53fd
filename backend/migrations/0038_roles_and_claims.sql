-- Up Migration

-- Identity for applications (issue 22): metadata carried in the access token, application roles,
-- bans and an optional custom-claims hook.
--
-- app_metadata: set by admins and the API key only (plans, tenant ids); user_metadata: set by the
-- user (PATCH /api/auth/profiles/current {userMetadata}). Both travel in the access token as the
-- `app_metadata` / `user_metadata` claims, so policies can read auth.jwt()->'app_metadata'.
-- banned_until: while in the future the user cannot sign in or refresh.
ALTER TABLE auth.users
  ADD COLUMN app_metadata jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(app_metadata) = 'object'),
  ADD COLUMN user_metadata jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(user_metadata) = 'object'),
  ADD COLUMN banned_until timestamptz;

-- Application roles an admin defines (editor, teacher, billing_admin...), assigned to users.
-- They travel in the token as `app_roles`; auth.has_role(name) reads them in policies. These are
-- not PostgreSQL roles: every signed-in user still runs as `authenticated`.
CREATE TABLE auth.app_roles (
  name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.user_app_roles (
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  role text NOT NULL REFERENCES auth.app_roles (name) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, role)
);
CREATE INDEX user_app_roles_role_idx ON auth.user_app_roles (role);

-- The custom-claims hook: a SQL function `name(user_id uuid, claims jsonb) RETURNS jsonb`,
-- called as project_admin at every token issue (sign-in and refresh) with the default claims,
-- returning the claims to sign. NULL: no hook.
ALTER TABLE auth.config
  ADD COLUMN custom_claims_hook text
    CHECK (custom_claims_hook ~ '^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$');

-- Whether the caller's token carries the application role. Reads the token only (no table), so it
-- is inlined into policies like the other identity helpers; a role given or taken reaches the
-- user's next token (at the latest on the next refresh).
CREATE FUNCTION auth.has_role(role_name text) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT COALESCE(
      (auth.jwt() OPERATOR(pg_catalog.->) 'app_roles'::pg_catalog.text)
        OPERATOR(pg_catalog.@>) pg_catalog.to_jsonb(role_name),
      false)
  $$;
GRANT EXECUTE ON FUNCTION auth.has_role(text) TO anon, authenticated, project_admin;

-- Down Migration

DROP FUNCTION IF EXISTS auth.has_role(text);
ALTER TABLE auth.config DROP COLUMN IF EXISTS custom_claims_hook;
DROP TABLE IF EXISTS auth.user_app_roles;
DROP TABLE IF EXISTS auth.app_roles;
ALTER TABLE auth.users
  DROP COLUMN IF EXISTS banned_until,
  DROP COLUMN IF EXISTS user_metadata,
  DROP COLUMN IF EXISTS app_metadata;
