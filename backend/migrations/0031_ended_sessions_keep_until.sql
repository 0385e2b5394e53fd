-- Up Migration

-- How long the tombstone of an ended session is needed is a fact about the session's tokens, not
-- about the settings of whichever instance reads or prunes it: an instance restarted with a
-- shorter ACCESS_TOKEN_TTL_SECONDS (or running beside one with a longer lifetime) must still
-- refuse every unexpired token of the session. Each session records when the last access token
-- issued for it expires (`tokens_until`, set with every sign-in and refresh); its tombstone keeps
-- that (`keep_until`), is announced with it, and is read and pruned by it.
ALTER TABLE auth.sessions ADD COLUMN tokens_until timestamptz;
ALTER TABLE auth.ended_sessions ADD COLUMN keep_until timestamptz;
-- Tombstones (and sessions) from before: their tokens' lifetime is unknown, a day covers it.
UPDATE auth.ended_sessions SET keep_until = ended_at + interval '1 day';
ALTER TABLE auth.ended_sessions ALTER COLUMN keep_until SET NOT NULL;
CREATE INDEX ended_sessions_keep_until_idx ON auth.ended_sessions (keep_until);

CREATE OR REPLACE FUNCTION auth.record_ended_sessions() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO auth.ended_sessions (session_id, keep_until)
    SELECT n.id, COALESCE(n.tokens_until, pg_catalog.clock_timestamp() + interval '1 day')
      FROM ended_new n JOIN ended_old o ON o.id = n.id
     WHERE o.revoked_at IS NULL AND n.revoked_at IS NOT NULL
    ON CONFLICT (session_id) DO NOTHING;
  ELSE
    INSERT INTO auth.ended_sessions (session_id, keep_until)
    SELECT o.id, COALESCE(o.tokens_until, pg_catalog.clock_timestamp() + interval '1 day')
      FROM ended_old o WHERE o.revoked_at IS NULL
    ON CONFLICT (session_id) DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

-- Announced with the latest keep_until of the batch (epoch seconds).
CREATE OR REPLACE FUNCTION auth.announce_ended_sessions() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.pg_notify('kiln_credentials',
            pg_catalog.json_build_object(
              'sessions', pg_catalog.array_agg(b.session_id),
              'until', pg_catalog.ceil(pg_catalog.max(pg_catalog.date_part('epoch', b.keep_until)))
            )::text)
     FROM (SELECT a.session_id, a.keep_until,
                  (pg_catalog.row_number() OVER () - 1) / 100 AS batch
             FROM added a) b
    GROUP BY b.batch;
  RETURN NULL;
END $$;

REVOKE ALL ON FUNCTION auth.record_ended_sessions(), auth.announce_ended_sessions() FROM PUBLIC;

-- Down Migration

CREATE OR REPLACE FUNCTION auth.announce_ended_sessions() RETURNS trigger
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
CREATE OR REPLACE FUNCTION auth.record_ended_sessions() RETURNS trigger
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
DROP INDEX IF EXISTS auth.ended_sessions_keep_until_idx;
ALTER TABLE auth.ended_sessions DROP COLUMN IF EXISTS keep_until;
ALTER TABLE auth.sessions DROP COLUMN IF EXISTS tokens_until;
