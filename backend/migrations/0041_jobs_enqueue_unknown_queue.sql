-- Up Migration

-- jobs.enqueue() on a queue that does not exist said only "violates foreign key constraint"
-- (23503): it now says which queue is missing and how to create it, as undefined_object (42704),
-- which callers can tell from a bad option (22023). The lookup is a SECURITY DEFINER helper, as
-- signed-in callers cannot read jobs.queues.
CREATE FUNCTION jobs.queue_exists(queue text) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM jobs.queues q WHERE q.name = queue)
$$;
REVOKE ALL ON FUNCTION jobs.queue_exists(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION jobs.queue_exists(text) TO authenticated, project_admin;

CREATE OR REPLACE FUNCTION jobs.enqueue(queue text, payload jsonb DEFAULT '{}'::jsonb, options jsonb DEFAULT '{}'::jsonb)
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
  IF NOT jobs.queue_exists(queue) THEN
    RAISE EXCEPTION 'jobs.enqueue: no queue named "%"', queue USING ERRCODE = '42704',
      HINT = 'Create the queue first: PUT /api/jobs/queues/<name>, or the dashboard''s Jobs page';
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

-- Down Migration

CREATE OR REPLACE FUNCTION jobs.enqueue(queue text, payload jsonb DEFAULT '{}'::jsonb, options jsonb DEFAULT '{}'::jsonb)
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

DROP FUNCTION IF EXISTS jobs.queue_exists(text);
