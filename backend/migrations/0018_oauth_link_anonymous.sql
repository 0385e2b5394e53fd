-- Up Migration

-- An anonymous user who starts an OAuth sign-in keeps their id: the identity is attached to them.
ALTER TABLE auth.oauth_states ADD COLUMN link_user_id uuid REFERENCES auth.users (id) ON DELETE CASCADE;

-- Down Migration

ALTER TABLE auth.oauth_states DROP COLUMN IF EXISTS link_user_id;
