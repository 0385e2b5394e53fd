-- Up Migration

-- Outgoing webhooks: one delivery row per (message, URL), written in the same transaction as
-- the message, so nothing is lost and nothing is sent twice; any instance may claim and send it.
CREATE TABLE realtime.webhook_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  message_id uuid NOT NULL REFERENCES realtime.messages (id) ON DELETE CASCADE,
  url text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  last_status integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX webhook_deliveries_due ON realtime.webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_message ON realtime.webhook_deliveries (message_id);

CREATE OR REPLACE FUNCTION realtime.announce_message() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, realtime AS $$
DECLARE
  queued integer;
BEGIN
  INSERT INTO realtime.webhook_deliveries (message_id, url)
  SELECT NEW.id, u FROM realtime.channels c, unnest(c.webhook_urls) AS u
  WHERE c.id = NEW.channel_id AND c.enabled;
  GET DIAGNOSTICS queued = ROW_COUNT;
  PERFORM pg_notify('kiln_realtime', NEW.id::text);
  IF queued > 0 THEN
    PERFORM pg_notify('kiln_webhooks', '');
  END IF;
  RETURN NULL;
END $$;

-- Down Migration

DROP TABLE IF EXISTS realtime.webhook_deliveries;
