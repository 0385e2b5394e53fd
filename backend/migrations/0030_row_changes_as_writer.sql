-- Up Migration

-- A SECURITY DEFINER function runs whatever user-defined code it reaches as its owner, and the
-- row-change trigger reaches the table's own types: to_jsonb(NEW) calls the cast to json of an
-- enum or composite type project_admin created, so such a cast ran as kiln_definer_<hash>, which
-- reads and writes every Kiln table with RLS bypassed (password hashes, sessions, the audit
-- trail: all of what restricted raw SQL keeps out of reach). The trigger needs no rights of its
-- own: realtime.publish runs as its caller and a trigger's message is written with the rights of
-- whoever fired the trigger (policy messages_from_triggers, migration 0027), the channel row is
-- found by realtime.check_message. So it runs as the writer of the row. The SECURITY DEFINER
-- functions left (check_message, announce_message, storage.user_may_store) see only Kiln's own
-- columns and plain values, never a user's type.
ALTER FUNCTION realtime.broadcast_row_change() SECURITY INVOKER;

-- Down Migration

ALTER FUNCTION realtime.broadcast_row_change() SECURITY DEFINER;
