-- Up Migration

-- Every DDL command (from Kiln, raw SQL, psql or another instance) announces itself, so each
-- instance's records-API schema cache reloads without a restart.
CREATE OR REPLACE FUNCTION system.announce_schema_change() RETURNS event_trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  PERFORM pg_notify('kiln_schema_changed', tg_tag);
END
$$;

DROP EVENT TRIGGER IF EXISTS kiln_ddl_end;
CREATE EVENT TRIGGER kiln_ddl_end ON ddl_command_end EXECUTE FUNCTION system.announce_schema_change();
DROP EVENT TRIGGER IF EXISTS kiln_sql_drop;
CREATE EVENT TRIGGER kiln_sql_drop ON sql_drop EXECUTE FUNCTION system.announce_schema_change();

-- Down Migration

DROP EVENT TRIGGER IF EXISTS kiln_sql_drop;
DROP EVENT TRIGGER IF EXISTS kiln_ddl_end;
DROP FUNCTION IF EXISTS system.announce_schema_change();
