-- Up Migration

-- Event names travel as Socket.IO event names and as the X-InsForge-Event header of webhooks:
-- the same rule as for sockets' own messages, now also for realtime.publish() from SQL (a bad
-- name is an error where it was written, not a webhook that fails for a day).
ALTER TABLE realtime.messages ADD CONSTRAINT messages_event_name
  CHECK (event ~ '^[A-Za-z0-9_.:-]{1,255}$') NOT VALID;

-- Down Migration

ALTER TABLE realtime.messages DROP CONSTRAINT IF EXISTS messages_event_name;
