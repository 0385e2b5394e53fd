-- Up Migration

-- Ending a session is announced by the database itself, whatever code path ended it: a session
-- whose `revoked_at` is set, or whose row is deleted (a deleted user's sessions go by cascade),
-- leaves a tombstone in auth.ended_sessions, and each tombstone is announced with NOTIFY on
-- `kiln_credentials`. Every instance keeps the recent tombstones in memory and refuses access
-- tokens that name an ended session (`sid`), without a query per request. Tombstones are kept
-- while an access token of the session could still be unexpired; instances prune older ones.
CREATE TABLE auth.ended_sessions (
  session_id uuid PRIMARY KEY,
  ended_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
CREATE INDEX ended_sessions_ended_at_idx ON auth.ended_sessions (ended_at);

CREATE FUNCTION auth.record_ended_sessions() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO auth.ended_sessions (session_id)
    SELECT n.id FROM ended_new n JOIN ended_old o ON o.id = n.id
     WHERE o.revoked_at IS NULL AND n.revoked_at IS NOT NULL
    ON CONFLICT (session_id) DO NOTHING;
  ELSE
    INSERT INTO auth.ended_sessions (session_id)
    SELECT o.id FROM ended_old o WHERE o.revoked_at IS NULL
    ON CONFLICT (session_id) DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

-- One trigger per event: a trigger with transition tables may have only one.
CREATE TRIGGER sessions_ended_by_update AFTER UPDATE ON auth.sessions
  REFERENCING OLD TABLE AS ended_old NEW TABLE AS ended_new
  FOR EACH STATEMENT EXECUTE FUNCTION auth.record_ended_sessions();
CREATE TRIGGER sessions_ended_by_delete AFTER DELETE ON auth.sessions
  REFERENCING OLD TABLE AS ended_old
  FOR EACH STATEMENT EXECUTE FUNCTION auth.record_ended_sessions();

-- New tombstones are announced in batches of 100 ids (a NOTIFY payload is at most 8000 bytes).
-- Delivered at commit, and only if the transaction commits.
CREATE FUNCTION auth.announce_ended_sessions() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.pg_notify('kiln_credentials',
            pg_catalog.json_build_object('sessions', pg_catalog.array_agg(b.session_id))::text)
     FROM (SELECT a.session_id, (pg_catalog.row_number() OVER () - 1) / 100 AS batch
             FROM added a) b
    GROUP BY b.batch;
  RETURN NULL;
END $$;

CREATE TRIGGER ended_sessions_announce AFTER INSERT ON auth.ended_sessions
  REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION auth.announce_ended_sessions();

-- Any change to the project keys (rotation, revocation, seeding) is announced too, so every
-- instance re-reads them at once and re-checks its realtime sockets.
CREATE FUNCTION system.announce_key_change() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.pg_notify('kiln_credentials', '{"keys":true}');
  RETURN NULL;
END $$;

CREATE TRIGGER api_keys_announce AFTER INSERT OR UPDATE OR DELETE ON system.api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION system.announce_key_change();

REVOKE ALL ON FUNCTION auth.record_ended_sessions(), auth.announce_ended_sessions(),
  system.announce_key_change() FROM PUBLIC;

-- Admin (dashboard) sign-ins are sessions too: same table, same refresh-token rotation and
-- revocation, no user row. `admin_tag` fingerprints the admin credentials they were opened
-- with: when ADMIN_EMAIL / ADMIN_PASSWORD change, those sessions end.
ALTER TABLE auth.sessions ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE auth.sessions ADD COLUMN kind text NOT NULL DEFAULT 'user'
  CHECK (kind IN ('user', 'admin'));
ALTER TABLE auth.sessions ADD COLUMN admin_tag bytea;
ALTER TABLE auth.sessions ADD CONSTRAINT sessions_subject_by_kind
  CHECK ((kind = 'user') = (user_id IS NOT NULL));

-- Down Migration

DELETE FROM auth.sessions WHERE kind = 'admin';
ALTER TABLE auth.sessions DROP CONSTRAINT IF EXISTS sessions_subject_by_kind;
ALTER TABLE auth.sessions DROP COLUMN IF EXISTS admin_tag;
ALTER TABLE auth.sessions DROP COLUMN IF EXISTS kind;
ALTER TABLE auth.sessions ALTER COLUMN user_id SET NOT NULL;
DROP TRIGGER IF EXISTS api_keys_announce ON system.api_keys;
DROP FUNCTION IF EXISTS system.announce_key_change();
DROP TRIGGER IF EXISTS sessions_ended_by_update ON auth.sessions;
DROP TRIGGER IF EXISTS sessions_ended_by_delete ON auth.sessions;
DROP FUNCTION IF EXISTS auth.record_ended_sessions();
DROP TABLE IF EXISTS auth.ended_sessions;
DROP FUNCTION IF EXISTS auth.announce_ended_sessions();
