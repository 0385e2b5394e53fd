-- Up Migration

-- Schedules (issue 21): cron expressions (5 or 6 fields, or InsForge's "N seconds"), each in
-- its time zone, whose ticks call a URL or function, run SQL or enqueue a job. Every instance
-- looks for due schedules; the row lock (FOR UPDATE SKIP LOCKED) and the unique
-- (schedule_id, tick) of the runs make every tick run once, whatever the number of instances.
CREATE TABLE jobs.schedules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  cron text NOT NULL CHECK (length(cron) <= 200),
  time_zone text NOT NULL DEFAULT 'UTC',
  -- http: function_url (InsForge's schedules); function: an edge function by slug; sql: a
  -- function taking the body as jsonb; queue: a job on the queue with the body as payload.
  target_kind text NOT NULL CHECK (target_kind IN ('http', 'function', 'sql', 'queue')),
  target text NOT NULL,
  target_role text NOT NULL DEFAULT 'project_admin'
    CHECK (target_role IN ('project_admin', 'authenticated', 'anon')),
  http_method text NOT NULL DEFAULT 'POST'
    CHECK (http_method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
  -- The headers as given (${{secrets.NAME}} placeholders unresolved), sealed with AES-256-GCM.
  headers_sealed text,
  body jsonb,
  is_active boolean NOT NULL DEFAULT true,
  -- A tick while the previous run still runs: skip it, or queue it to run after.
  overlap text NOT NULL DEFAULT 'skip' CHECK (overlap IN ('skip', 'queue')),
  next_run timestamptz,
  last_executed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_due ON jobs.schedules (next_run) WHERE is_active;

CREATE TABLE jobs.schedule_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  schedule_id uuid NOT NULL REFERENCES jobs.schedules (id) ON DELETE CASCADE,
  -- The tick this run is for (NULL: run now).
  tick timestamptz,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'skipped')),
  status_code integer,
  duration_ms integer,
  message text,
  lease_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  executed_at timestamptz,
  finished_at timestamptz,
  UNIQUE (schedule_id, tick)
);
CREATE INDEX schedule_runs_schedule ON jobs.schedule_runs (schedule_id, created_at DESC);
CREATE INDEX schedule_runs_open ON jobs.schedule_runs (schedule_id) WHERE status IN ('queued', 'running');

CREATE TABLE jobs.schedules_config (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- Run logs older than this are deleted (NULL: kept).
  retention_days integer DEFAULT 30 CHECK (retention_days > 0)
);
INSERT INTO jobs.schedules_config DEFAULT VALUES;

-- Down Migration

DROP TABLE IF EXISTS jobs.schedules_config;
DROP TABLE IF EXISTS jobs.schedule_runs;
DROP TABLE IF EXISTS jobs.schedules;
