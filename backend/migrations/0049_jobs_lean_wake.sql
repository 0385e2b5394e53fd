-- Up Migration

-- A job's graphile-worker wake-up is written directly (issue 21, enqueue throughput). Measured
-- per job in one transaction of 10,000: graphile_worker.add_job costs about 0.2–0.5 ms (it goes
-- through add_jobs with an array of one spec: the task and job-queue upserts, the job-key
-- update, a NOTIFY with a random payload, then the INSERT), the INSERT it ends with about 5 µs.
-- For a queue without a concurrency limit a wake-up needs none of the rest: no job key, no named
-- job queue, and the task row ('kiln_job') exists after the first wake-up. So the trigger inserts
-- the row itself, exactly as add_jobs would for such a spec (graphile-worker 0.16, schema
-- migration 18; backend/test/jobs.test.ts fails if either moves on), and notifies at most
-- sixteen distinct payloads per transaction (PostgreSQL folds identical notifications of one
-- transaction into one): a single job nudges one idle worker, a bulk enqueue up to sixteen,
-- instead of one notification, one nudge, per job. Queues with a limit, and the very first
-- wake-up (no task row yet), still go through add_job.
CREATE OR REPLACE FUNCTION jobs.wake() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  limit_ integer;
  task_ integer;
BEGIN
  IF NEW.status NOT IN ('queued', 'failed') THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.wake = OLD.wake THEN
    RETURN NULL;
  END IF;
  SELECT q.concurrency INTO limit_ FROM jobs.queues q WHERE q.name = NEW.queue;
  IF limit_ IS NULL THEN
    SELECT t.id INTO task_ FROM graphile_worker._private_tasks t WHERE t.identifier = 'kiln_job';
  END IF;
  IF task_ IS NOT NULL THEN
    INSERT INTO graphile_worker._private_jobs (task_id, payload, run_at, max_attempts, priority)
    VALUES (task_, pg_catalog.json_build_object('id', NEW.id, 'wake', NEW.wake, 'queue', NEW.queue),
            NEW.run_at, 5, -NEW.priority);
    PERFORM pg_catalog.pg_notify('jobs:insert',
      '{"count":1,"n":' || pg_catalog.floor(pg_catalog.random() * 16)::integer || '}');
    RETURN NULL;
  END IF;
  PERFORM graphile_worker.add_job(
    'kiln_job',
    pg_catalog.json_build_object('id', NEW.id, 'wake', NEW.wake, 'queue', NEW.queue),
    queue_name => CASE WHEN limit_ IS NULL THEN NULL
                       ELSE 'kiln:' || NEW.queue || ':' || (pg_catalog.floor(pg_catalog.random() * limit_))::integer END,
    run_at => NEW.run_at,
    max_attempts => 5,
    priority => -NEW.priority
  );
  RETURN NULL;
END $$;

-- Down Migration

CREATE OR REPLACE FUNCTION jobs.wake() RETURNS trigger
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
    pg_catalog.json_build_object('id', NEW.id, 'wake', NEW.wake, 'queue', NEW.queue),
    queue_name => CASE WHEN limit_ IS NULL THEN NULL
                       ELSE 'kiln:' || NEW.queue || ':' || (pg_catalog.floor(pg_catalog.random() * limit_))::integer END,
    run_at => NEW.run_at,
    max_attempts => 5,
    priority => -NEW.priority
  );
  RETURN NULL;
END $$;
