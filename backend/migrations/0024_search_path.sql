-- Up Migration

-- Kiln's functions resolve names in pg_catalog only. A function without its own search_path
-- resolves unqualified names in its caller's path: an overload planted in public with a closer
-- argument type (make_interval(secs numeric)) would then run instead of the built-in, and inside
-- a SECURITY DEFINER function it runs as the function's owner. Every function below names Kiln's
-- tables with their schema already; built-ins come from pg_catalog. (core/migrate.ts sets the
-- same on any SECURITY DEFINER function a later migration forgets, at every start.)
ALTER FUNCTION realtime.publish(text, text, jsonb) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION realtime.broadcast_row_change() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION realtime.announce_message() SET search_path = pg_catalog, pg_temp;
-- Trigger and helper functions (PL/pgSQL, never inlined): the same, so what they do does not
-- depend on which connection fires them. enable_row_changes() now names the table with its
-- schema in the trigger it creates (regclass prints qualified under this path).
ALTER FUNCTION system.touch_updated_at() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION system.announce_schema_change() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION system.bump_secrets_version() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION realtime.enable_row_changes(regclass) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION realtime.disable_row_changes(regclass) SET search_path = pg_catalog, pg_temp;

-- The identity helpers are inlined into RLS policies (a SET clause would stop that, costing a
-- function call per row), so they name every built-in and operator with its schema instead.
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), ''), '{}')::pg_catalog.jsonb $$;

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN (auth.jwt() OPERATOR(pg_catalog.->>) 'sub'::pg_catalog.text)
           OPERATOR(pg_catalog.~*) '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'::pg_catalog.text
      THEN (auth.jwt() OPERATOR(pg_catalog.->>) 'sub'::pg_catalog.text)::pg_catalog.uuid
    END
  $$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT auth.jwt() OPERATOR(pg_catalog.->>) 'role'::pg_catalog.text $$;

CREATE OR REPLACE FUNCTION auth.email() RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT auth.jwt() OPERATOR(pg_catalog.->>) 'email'::pg_catalog.text $$;

-- Down Migration

ALTER FUNCTION realtime.publish(text, text, jsonb) SET search_path = pg_catalog, realtime;
ALTER FUNCTION realtime.broadcast_row_change() SET search_path = pg_catalog, realtime;
ALTER FUNCTION realtime.announce_message() SET search_path = pg_catalog, realtime;
ALTER FUNCTION system.touch_updated_at() RESET search_path;
ALTER FUNCTION system.announce_schema_change() RESET search_path;
ALTER FUNCTION system.bump_secrets_version() RESET search_path;
ALTER FUNCTION realtime.enable_row_changes(regclass) RESET search_path;
ALTER FUNCTION realtime.disable_row_changes(regclass) RESET search_path;
