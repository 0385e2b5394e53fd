-- Up Migration

-- Realtime channels and messages. Channels are rows: `pattern` is an exact name or a SQL LIKE
-- pattern (`orders:%`). Subscribing needs SELECT on a matching enabled channel row, publishing
-- needs INSERT on realtime.messages: RLS decides both. The channel being joined is visible to
-- policies as current_setting('realtime.channel', true).
CREATE SCHEMA IF NOT EXISTS realtime;

CREATE TABLE realtime.channels (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pattern text NOT NULL UNIQUE CHECK (length(pattern) BETWEEN 1 AND 255),
  description text,
  webhook_urls text[] NOT NULL DEFAULT '{}',
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER channels_touch_updated_at BEFORE UPDATE ON realtime.channels
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

CREATE TABLE realtime.messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  channel text NOT NULL CHECK (length(channel) BETWEEN 1 AND 255),
  channel_id uuid REFERENCES realtime.channels (id) ON DELETE SET NULL,
  event text NOT NULL CHECK (length(event) BETWEEN 1 AND 255),
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  sender_type text NOT NULL DEFAULT 'user' CHECK (sender_type IN ('system', 'user')),
  sender_id uuid DEFAULT auth.uid(),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_created_at_idx ON realtime.messages (created_at);
CREATE INDEX messages_channel_idx ON realtime.messages (channel, created_at);

-- Every stored message is announced to every Kiln instance (by id: payloads may exceed NOTIFY's
-- 8 kB limit), which delivers it to its own sockets.
CREATE FUNCTION realtime.announce_message() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('kiln_realtime', NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER messages_announce AFTER INSERT ON realtime.messages
  FOR EACH ROW EXECUTE FUNCTION realtime.announce_message();

-- For SQL, functions and triggers: store and deliver a system message.
CREATE FUNCTION realtime.publish(channel text, event text, payload jsonb DEFAULT '{}'::jsonb) RETURNS uuid
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, realtime AS $$
  INSERT INTO realtime.messages (channel, channel_id, event, payload, sender_type, sender_id)
  VALUES (
    channel,
    (SELECT c.id FROM realtime.channels c WHERE c.enabled AND channel LIKE c.pattern ORDER BY length(c.pattern) DESC LIMIT 1),
    event, coalesce(payload, '{}'::jsonb), 'system', NULL)
  RETURNING id
$$;

-- Row changes of a table to the channel '<table>:<id>' (events insert / update / delete).
CREATE FUNCTION realtime.broadcast_row_change() RETURNS trigger
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

CREATE FUNCTION realtime.enable_row_changes(target regclass) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS kiln_realtime_row_changes ON %s', target);
  EXECUTE format('CREATE TRIGGER kiln_realtime_row_changes AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION realtime.broadcast_row_change()', target);
END $$;

CREATE FUNCTION realtime.disable_row_changes(target regclass) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS kiln_realtime_row_changes ON %s', target);
END $$;

GRANT USAGE ON SCHEMA realtime TO anon, authenticated, project_admin;
GRANT SELECT ON realtime.channels TO anon, authenticated;
GRANT ALL ON realtime.channels TO project_admin;
GRANT SELECT, INSERT ON realtime.messages TO anon, authenticated;
GRANT ALL ON realtime.messages TO project_admin;
REVOKE EXECUTE ON FUNCTION realtime.publish(text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION realtime.publish(text, text, jsonb) TO authenticated, project_admin;
REVOKE EXECUTE ON FUNCTION realtime.enable_row_changes(regclass), realtime.disable_row_changes(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION realtime.enable_row_changes(regclass), realtime.disable_row_changes(regclass) TO project_admin;

ALTER TABLE realtime.channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;
-- Defaults an admin may replace: anyone may subscribe to an enabled channel; signed-in users
-- may publish, as themselves, to channels they can subscribe to.
CREATE POLICY channels_subscribe_enabled ON realtime.channels FOR SELECT TO anon, authenticated USING (enabled);
CREATE POLICY messages_publish_own ON realtime.messages FOR INSERT TO authenticated
  WITH CHECK (sender_type = 'user' AND sender_id = auth.uid()
              AND EXISTS (SELECT 1 FROM realtime.channels c WHERE c.enabled AND channel LIKE c.pattern));

-- Down Migration

DROP SCHEMA IF EXISTS realtime CASCADE;
