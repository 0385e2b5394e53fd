-- Up Migration

-- Background jobs (issue 21). Kiln's own tables are the record of every job (what the admin API
-- lists, counts, retries and purges); graphile-worker (schema graphile_worker, migrated by
-- core/migrate.ts) is the engine that wakes a worker when a job is due: every time a job becomes
-- runnable (enqueued, retried after a failure, its worker lost) a trigger adds a graphile-worker
-- job carrying the Kiln job's id and its wake-up number, in the same transaction. A wake-up whose
-- number is stale does nothing, so a job runs once per wake-up whatever graphile-worker replays.
CREATE SCHEMA jobs;
GRANT USAGE ON SCHEMA jobs TO anon, authenticated, project_admin;

-- A queue names where its jobs go and how they are retried.
CREATE TABLE jobs.queues (
  name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'),
  -- function: POST to the edge function `target` (a slug); http: a signed POST to the URL
  -- `target`; sql: `SELECT target(payload)` as target_role.
  target_kind text NOT NULL CHECK (target_kind IN ('function', 'http', 'sql')),
  target text NOT NULL,
  target_role text NOT NULL DEFAULT 'project_admin'
    CHECK (target_role IN ('project_admin', 'authenticated', 'anon')),
  max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
  backoff_ms integer NOT NULL DEFAULT 1000 CHECK (backoff_ms BETWEEN 0 AND 86400000),
  backoff_max_ms integer NOT NULL DEFAULT 3600000 CHECK (backoff_max_ms BETWEEN 0 AND 86400000),
  timeout_ms integer NOT NULL DEFAULT 30000 CHECK (timeout_ms BETWEEN 100 AND 3600000),
  -- At most this many jobs of the queue run at once across every instance (NULL: no limit).
  concurrency integer CHECK (concurrency BETWEEN 1 AND 1000),
  -- Signed-in users may enqueue (POST /api/jobs/queues/:name/jobs, jobs.enqueue() as them).
  user_enqueue boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs.jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  queue text NOT NULL REFERENCES jobs.queues (name) ON DELETE CASCADE,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- queued: waits for its first run; running; failed: an attempt failed, a retry is scheduled;
  -- succeeded; dead: every attempt failed (last_error says why); cancelled.
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'failed', 'succeeded', 'dead', 'cancelled')),
  priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
  run_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer CHECK (max_attempts BETWEEN 1 AND 100),
  backoff_ms integer CHECK (backoff_ms BETWEEN 0 AND 86400000),
  timeout_ms integer CHECK (timeout_ms BETWEEN 100 AND 3600000),
  dedup_key text CHECK (length(dedup_key) <= 200),
  last_error text,
  wake integer NOT NULL DEFAULT 0,
  -- While running: the instance's lease (renewed while the job runs) and its worker.
  lease_until timestamptz,
  worker text,
  created_by uuid DEFAULT auth.uid(),
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX jobs_queue_status ON jobs.jobs (queue, status);
CREATE INDEX jobs_status_created ON jobs.jobs (status, created_at DESC);
CREATE INDEX jobs_leases ON jobs.jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_failures ON jobs.jobs (finished_at DESC) WHERE status IN ('failed', 'dead');
-- One unfinished job per deduplication key and queue.
CREATE UNIQUE INDEX jobs_dedup ON jobs.jobs (queue, dedup_key)
  WHERE dedup_key IS NOT NULL AND status IN ('queued', 'running', 'failed');

-- Admins (and the API key) see and change everything; a signed-in user may enqueue on a queue
-- that allows it and see the jobs they enqueued.
ALTER TABLE jobs.jobs ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON jobs.queues TO project_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs.jobs TO project_admin;
GRANT SELECT, INSERT ON jobs.jobs TO authenticated;

CREATE FUNCTION jobs.user_may_enqueue(queue text) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce((SELECT q.user_enqueue FROM jobs.queues q WHERE q.name = queue), false)
$$;
REVOKE ALL ON FUNCTION jobs.user_may_enqueue(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION jobs.user_may_enqueue(text) TO authenticated;

CREATE POLICY jobs_user_enqueue ON jobs.jobs FOR INSERT TO authenticated
  WITH CHECK (jobs.user_may_enqueue(queue) AND created_by IS NOT DISTINCT FROM auth.uid()
              AND status = 'queued' AND attempts = 0 AND wake = 0);
CREATE POLICY jobs_user_read ON jobs.jobs FOR SELECT TO authenticated
  USING (created_by = auth.uid());

-- Enqueue from SQL (triggers, functions): the job exists only if the caller's transaction
-- commits. Runs as the caller, so the policies above decide; returns the job's id (with a
-- deduplication key and an unfinished job holding it: that job's id).
-- options: runAt (timestamptz), delaySeconds, priority (higher first), maxAttempts, backoffMs,
-- timeoutMs, dedupKey.
CREATE FUNCTION jobs.enqueue(queue text, payload jsonb DEFAULT '{}'::jsonb, options jsonb DEFAULT '{}'::jsonb)
  RETURNS uuid LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
  job uuid;
  known text[] := ARRAY['runAt', 'delaySeconds', 'priority', 'maxAttempts', 'backoffMs', 'timeoutMs', 'dedupKey'];
  extra text;
BEGIN
  options := coalesce(options, '{}'::jsonb);
  SELECT k INTO extra FROM jsonb_object_keys(options) AS k WHERE k <> ALL (known) LIMIT 1;
  IF extra IS NOT NULL THEN
    RAISE EXCEPTION 'jobs.enqueue: unknown option "%"', extra USING ERRCODE = '22023',
      HINT = 'Options: runAt, delaySeconds, priority, maxAttempts, backoffMs, timeoutMs, dedupKey';
  END IF;
  INSERT INTO jobs.jobs AS j (queue, payload, run_at, priority, max_attempts, backoff_ms, timeout_ms, dedup_key)
  VALUES (
    queue,
    coalesce(payload, '{}'::jsonb),
    coalesce((options->>'runAt')::timestamptz, now())
      + make_interval(secs => coalesce((options->>'delaySeconds')::double precision, 0)),
    coalesce((options->>'priority')::integer, 0),
    (options->>'maxAttempts')::integer,
    (options->>'backoffMs')::integer,
    (options->>'timeoutMs')::integer,
    options->>'dedupKey'
  )
  ON CONFLICT (queue, dedup_key) WHERE dedup_key IS NOT NULL AND status IN ('queued', 'running', 'failed')
  DO NOTHING
  RETURNING j.id INTO job;
  IF job IS NULL THEN
    SELECT j.id INTO job FROM jobs.jobs j
     WHERE j.queue = enqueue.queue AND j.dedup_key = options->>'dedupKey'
       AND j.status IN ('queued', 'running', 'failed');
  END IF;
  RETURN job;
END $$;
REVOKE ALL ON FUNCTION jobs.enqueue(text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION jobs.enqueue(text, jsonb, jsonb) TO authenticated, project_admin;

-- A runnable job (new, or its wake-up number moved on) gets a graphile-worker wake-up at its
-- run_at. A queue with a concurrency limit N spreads its jobs over N graphile-worker job queues,
-- each of which runs one job at a time: never more than N at once.
CREATE FUNCTION jobs.wake() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  limit_ integer;
BEGIN
  IF NEW.status NOT IN ('queued', 'failed') THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.wake = OLD.wake THEN
    RETURN NULL;
  END IF;
  SELECT q.concurrency INTO limit_ FROM jobs.queues q WHERE q.name = NEW.queue;
  PERFORM graphile_worker.add_job(
    'kiln_job',
    pg_catalog.json_build_object('id', NEW.id, 'wake', NEW.wake),
    queue_name => CASE WHEN limit_ IS NULL THEN NULL
                       ELSE 'kiln:' || NEW.queue || ':' || (pg_catalog.floor(pg_catalog.random() * limit_))::integer END,
    run_at => NEW.run_at,
    max_attempts => 5,
    priority => -NEW.priority
  );
  RETURN NULL;
END $$;
CREATE TRIGGER jobs_wake AFTER INSERT OR UPDATE OF wake ON jobs.jobs
  FOR EACH ROW EXECUTE FUNCTION jobs.wake();

-- Down Migration

DROP SCHEMA IF EXISTS jobs CASCADE;
