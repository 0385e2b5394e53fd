-- Up Migration

-- A job's graphile-worker wake-up names the job's queue too (issue 21, throughput): a worker that
-- already knows the queue's target (it learns it from the claims it makes) can claim the job and
-- run a SQL target in one round trip, the claim checked against the target it expected. Wake-ups
-- written before this migration (no queue) run as before: claim first, then run.
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
    pg_catalog.json_build_object('id', NEW.id, 'wake', NEW.wake),
    queue_name => CASE WHEN limit_ IS NULL THEN NULL
                       ELSE 'kiln:' || NEW.queue || ':' || (pg_catalog.floor(pg_catalog.random() * limit_))::integer END,
    run_at => NEW.run_at,
    max_attempts => 5,
    priority => -NEW.priority
  );
  RETURN NULL;
END $$;
