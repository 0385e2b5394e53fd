-- Up Migration

-- Presence shared by every Kiln instance on this database. Each instance registers itself and
-- refreshes `last_seen` on a heartbeat; each subscribed socket is a row. Joins and leaves are
-- announced with NOTIFY so every instance tells its own sockets. Rows of an instance that
-- stopped without saying goodbye (crash, kill -9, lost network) are swept by the survivors once
-- its heartbeat is stale, and their leaves announced once (DELETE ... RETURNING).
-- UNLOGGED: presence is ephemeral; after a database crash it is empty, as it should be.
CREATE UNLOGGED TABLE realtime.instances (
  id uuid PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now()
);

CREATE UNLOGGED TABLE realtime.presence (
  channel text NOT NULL,
  presence_id text NOT NULL,
  instance_id uuid NOT NULL,
  user_id uuid,
  role text NOT NULL,
  joined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, presence_id)
);
CREATE INDEX presence_instance_idx ON realtime.presence (instance_id);
CREATE INDEX presence_member_idx ON realtime.presence (presence_id);

-- Only Kiln itself (the owner) touches these tables.
REVOKE ALL ON realtime.instances, realtime.presence FROM PUBLIC;
GRANT SELECT ON realtime.instances, realtime.presence TO project_admin;

-- Down Migration

DROP TABLE IF EXISTS realtime.presence;
DROP TABLE IF EXISTS realtime.instances;
