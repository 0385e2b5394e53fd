-- Up Migration

-- Row changes used to carry whole rows to whoever could subscribe to '<table>:<id>', even from
-- tables whose rows RLS (or missing grants) hides from them. Now the rows themselves travel only
-- when the table is readable by anyone anyway (no RLS, SELECT granted to anon). Otherwise an
-- event says which row changed (`new` / `old` hold its id) with `redacted: true`, and the
-- subscriber reads the row through the API, where RLS decides.
CREATE OR REPLACE FUNCTION realtime.broadcast_row_change() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, realtime AS $$
DECLARE
  rec jsonb := to_jsonb(coalesce(NEW, OLD));
  open_rows boolean := NOT (SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = TG_RELID)
                       AND has_table_privilege('anon', TG_RELID, 'SELECT');
  new_row jsonb := to_jsonb(NEW);
  old_row jsonb := to_jsonb(OLD);
BEGIN
  IF NOT open_rows THEN
    new_row := CASE WHEN new_row IS NULL THEN NULL ELSE jsonb_build_object('id', new_row -> 'id') END;
    old_row := CASE WHEN old_row IS NULL THEN NULL ELSE jsonb_build_object('id', old_row -> 'id') END;
  END IF;
  PERFORM realtime.publish(
    TG_TABLE_NAME || ':' || coalesce(rec ->> 'id', ''),
    lower(TG_OP),
    jsonb_build_object('table', TG_TABLE_NAME, 'schema', TG_TABLE_SCHEMA, 'new', new_row, 'old', old_row)
      || CASE WHEN open_rows THEN '{}'::jsonb ELSE '{"redacted": true}'::jsonb END);
  RETURN NULL;
END $$;

-- Down Migration

CREATE OR REPLACE FUNCTION realtime.broadcast_row_change() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, realtime AS $$
DECLARE
  rec jsonb := to_jsonb(coalesce(NEW, OLD));
BEGIN
  PERFORM realtime.publish(
    TG_TABLE_NAME || ':' || coalesce(rec ->> 'id', ''),
    lower(TG_OP),
    jsonb_build_object('table', TG_TABLE_NAME, 'schema', TG_TABLE_SCHEMA, 'new', to_jsonb(NEW), 'old', to_jsonb(OLD)));
  RETURN NULL;
END $$;
