-- Up Migration

-- A job of a SQL target run as project_admin finishes in the transaction that runs it (issue 21,
-- session 8): one statement takes the job (jobs.jobs → succeeded), completes its graphile-worker
-- wake-up (what graphile-worker's completeJob does: delete it) and calls the function on the
-- job's payload. The function's effects, the job's success and the wake-up's completion commit
-- together or not at all: a worker that dies before the COMMIT leaves nothing of the attempt but
-- its locked wake-up, which runs again once that worker's heartbeat (jobs.workers) is older than
-- the lease (graphile_worker.force_unlock_workers); one that dies after it leaves nothing to
-- redo. There is no separate claim: while such a job runs, jobs.jobs still says queued (or
-- failed) and graphile-worker's lock on its wake-up is what says running (jobs/service.ts).
--
-- A wake-up in a named job queue (a queue with a concurrency limit) is left to graphile-worker's
-- own completion, right after the COMMIT: unlocking the job queue's row in this transaction
-- would make every add_job on that job queue (its INSERT … ON CONFLICT DO NOTHING on the queue's
-- name) wait for the job's transaction to end, so a trigger enqueueing on a serial queue would
-- wait for the job running on it. Such a job is still run once (jobs.jobs says succeeded with its
-- COMMIT); a worker dying between the two leaves the wake-up and job queue locked until its
-- heartbeat is older than the lease, then the wake-up runs again and finds nothing to do.

-- The graphile-worker workers (their `locked_by` ids) of the live instances, renewed while they
-- run a job; one not seen for a lease has died, and its locks are released.
CREATE TABLE jobs.workers (
  id text PRIMARY KEY,
  instance uuid NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT now()
);

-- Takes the job `job_id` for its wake-up `job_wake` and the graphile-worker job `engine_job`
-- locked by `engine_worker`, if its queue's target is still the SQL function `fn` run as
-- project_admin with the timeout `fn_timeout_ms`: marks it succeeded (as the caller's
-- transaction will commit, or not at all), completes the wake-up and returns the payload to call
-- `fn` with. No row: not this wake-up's to run so (stale, cancelled, done, or the queue changed).
-- Mirrors graphile-worker 0.16's completeJob for a job without a job queue (schema migration 18:
-- _private_jobs); backend/test/jobs.test.ts fails if that schema or completeJob moves on. plpgsql, so it
-- can be created before graphile-worker's own migrations have run on a new database.
CREATE FUNCTION jobs.take_sql_job(job_id uuid, job_wake integer, fn text, fn_timeout_ms integer,
                                  engine_job bigint, engine_worker text)
  RETURNS SETOF jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
  taken jsonb;
BEGIN
  UPDATE jobs.jobs AS j
     SET status = 'succeeded', attempts = j.attempts + 1, started_at = pg_catalog.now(),
         finished_at = pg_catalog.clock_timestamp(), lease_until = NULL, last_error = NULL,
         worker = engine_worker
    FROM jobs.queues AS q
   WHERE j.id = job_id AND j.wake = job_wake AND j.status IN ('queued', 'failed')
     AND q.name = j.queue AND q.target_kind = 'sql' AND q.target = fn
     AND q.target_role = 'project_admin' AND coalesce(j.timeout_ms, q.timeout_ms) = fn_timeout_ms
  RETURNING j.payload INTO taken;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  DELETE FROM graphile_worker._private_jobs AS g
   WHERE g.id = engine_job AND g.locked_by = engine_worker AND g.job_queue_id IS NULL;
  RETURN NEXT taken;
END $$;
REVOKE ALL ON FUNCTION jobs.take_sql_job(uuid, integer, text, integer, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION jobs.take_sql_job(uuid, integer, text, integer, bigint, text) TO project_admin;

-- Down Migration

DROP FUNCTION IF EXISTS jobs.take_sql_job(uuid, integer, text, integer, bigint, text);
DROP TABLE IF EXISTS jobs.workers;
