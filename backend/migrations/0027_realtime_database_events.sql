-- Up Migration

-- Messages that look like the database's own are the database's alone.
--
-- A row change arrives as event insert / update / delete on the channel '<table>:<id>'. Until now
-- a signed-in user could publish an 'update' with a made-up {table, new, old} into such a
-- channel from a socket, and realtime.publish() (SECURITY DEFINER, granted to authenticated)
-- stored whatever a user passed it as a 'system' message. Now, for every way a message is written:
--  * who sent it is decided here: realtime.publish() called by a role that RLS restricts (anon,
--    authenticated), outside a trigger, stores the caller's own 'user' message under the same
--    policies as a socket's; from a trigger (code an admin wrote) or from Kiln / project_admin it
--    stores a 'system' message, as before;
--  * a 'user' message may not use a reserved event name (the row-change names, in any case, and
--    the names Socket.IO and presence use) on any channel, nor be published into a channel that
--    carries some table's row changes.
-- A BEFORE INSERT trigger enforces both, so no path (socket, SQL, RPC, a direct INSERT) skips it.

CREATE FUNCTION realtime.is_reserved_event(event text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
  SELECT pg_catalog.lower(event) IN (
           'insert', 'update', 'delete', 'truncate',
           'connect', 'connect_error', 'disconnect', 'disconnecting', 'error',
           'newlistener', 'removelistener')
      OR pg_catalog.starts_with(pg_catalog.lower(event), 'presence:')
      OR pg_catalog.starts_with(pg_catalog.lower(event), 'realtime:')
$$;

-- The table whose row changes travel on this channel ('<table>:<id>'), if any.
CREATE FUNCTION realtime.row_change_table(channel text) RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT c.relname::text
    FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
   WHERE t.tgname = 'kiln_realtime_row_changes'
     AND pg_catalog.starts_with(channel, c.relname::text || ':')
   LIMIT 1
$$;

CREATE FUNCTION realtime.check_message() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  source text;
BEGIN
  -- The channel row (and so its webhooks) is found here with Kiln's rights: a sender cannot
  -- name another channel's row, and a policy that hides channel rows from the sender of a
  -- trigger's message does not lose its webhooks.
  NEW.channel_id := (SELECT c.id FROM realtime.channels c
                      WHERE c.enabled AND NEW.channel LIKE c.pattern
                      ORDER BY pg_catalog.length(c.pattern) DESC LIMIT 1);
  IF NEW.sender_type = 'user' THEN
    IF realtime.is_reserved_event(NEW.event) THEN
      RAISE EXCEPTION 'event "%" is reserved for messages from the database', NEW.event
        USING ERRCODE = 'check_violation', CONSTRAINT = 'messages_reserved_event';
    END IF;
    source := realtime.row_change_table(NEW.channel);
    IF source IS NOT NULL THEN
      RAISE EXCEPTION 'channel "%" carries the row changes of table "%": only the database publishes there',
          NEW.channel, source
        USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'messages_row_change_channel';
    END IF;
  END IF;
  RETURN NEW;
END $$;
REVOKE EXECUTE ON FUNCTION realtime.check_message() FROM PUBLIC;

CREATE TRIGGER messages_check BEFORE INSERT ON realtime.messages
  FOR EACH ROW EXECUTE FUNCTION realtime.check_message();

-- Runs with the caller's rights now: a user's call is a user's message, RLS decides.
CREATE OR REPLACE FUNCTION realtime.publish(channel text, event text, payload jsonb DEFAULT '{}'::jsonb) RETURNS uuid
  LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  from_user boolean := pg_catalog.pg_trigger_depth() = 0
                       AND pg_catalog.row_security_active('realtime.messages'::pg_catalog.regclass);
  -- Chosen here, not RETURNING: that would need the sender to pass a SELECT policy too.
  message_id uuid := pg_catalog.gen_random_uuid();
BEGIN
  INSERT INTO realtime.messages (id, channel, event, payload, sender_type, sender_id)
  VALUES (message_id, publish.channel, publish.event, coalesce(publish.payload, '{}'::jsonb),
          CASE WHEN from_user THEN 'user' ELSE 'system' END,
          CASE WHEN from_user THEN auth.uid() END);
  RETURN message_id;
END $$;
-- Safe for anyone now; anon needs it for triggers fired by its own writes.
GRANT EXECUTE ON FUNCTION realtime.publish(text, text, jsonb) TO anon;

-- A trigger's message, written with the rights of whoever fired the trigger.
CREATE POLICY messages_from_triggers ON realtime.messages FOR INSERT TO anon, authenticated
  WITH CHECK (sender_type = 'system' AND sender_id IS NULL AND pg_catalog.pg_trigger_depth() > 0);

-- Presence lists a channel's first members by join time.
CREATE INDEX presence_channel_joined_idx ON realtime.presence (channel, joined_at, presence_id);

-- Down Migration

DROP INDEX IF EXISTS realtime.presence_channel_joined_idx;
DROP POLICY IF EXISTS messages_from_triggers ON realtime.messages;
REVOKE EXECUTE ON FUNCTION realtime.publish(text, text, jsonb) FROM anon;
CREATE OR REPLACE FUNCTION realtime.publish(channel text, event text, payload jsonb DEFAULT '{}'::jsonb) RETURNS uuid
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  INSERT INTO realtime.messages (channel, channel_id, event, payload, sender_type, sender_id)
  VALUES (
    channel,
    (SELECT c.id FROM realtime.channels c WHERE c.enabled AND channel LIKE c.pattern ORDER BY length(c.pattern) DESC LIMIT 1),
    event, coalesce(payload, '{}'::jsonb), 'system', NULL)
  RETURNING id
$$;
DROP TRIGGER IF EXISTS messages_check ON realtime.messages;
DROP FUNCTION IF EXISTS realtime.check_message();
DROP FUNCTION IF EXISTS realtime.row_change_table(text);
DROP FUNCTION IF EXISTS realtime.is_reserved_event(text);
