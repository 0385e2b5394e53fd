-- Up Migration

-- Dashboard admins beyond the ADMIN_EMAIL one (issue 22): users an admin made admins. They sign
-- in to the dashboard with their own password (and their own second factor, if they enrolled
-- one); the ADMIN_EMAIL admin from the environment stays the first and cannot be removed.
CREATE TABLE auth.project_admins (
  user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  -- Who granted it: the admin's subject (a user id, the ADMIN_EMAIL admin's, or 'api-key').
  granted_by text NOT NULL CHECK (length(granted_by) <= 100),
  granted_at timestamptz NOT NULL DEFAULT now()
);

-- An admin session opened by such a user names them, so it ends with the user's other sessions
-- (a new password, a ban, a deletion: the cascade leaves a tombstone like any ended session).
ALTER TABLE auth.sessions
  ADD COLUMN admin_user_id uuid REFERENCES auth.users (id) ON DELETE CASCADE;
ALTER TABLE auth.sessions ADD CONSTRAINT sessions_admin_user_is_admin_kind
  CHECK (admin_user_id IS NULL OR kind = 'admin');
CREATE INDEX sessions_admin_user_id_idx ON auth.sessions (admin_user_id)
  WHERE admin_user_id IS NOT NULL;

-- Down Migration

DELETE FROM auth.sessions WHERE admin_user_id IS NOT NULL;
DROP INDEX IF EXISTS auth.sessions_admin_user_id_idx;
ALTER TABLE auth.sessions DROP CONSTRAINT IF EXISTS sessions_admin_user_is_admin_kind;
ALTER TABLE auth.sessions DROP COLUMN IF EXISTS admin_user_id;
DROP TABLE IF EXISTS auth.project_admins;
