/**
 * A job's status as admins see it: `running` also while graphile-worker has handed its current
 * wake-up to a worker. A SQL target's job records nothing before it finishes (jobs/worker.ts: the
 * transaction that runs it also marks it succeeded, and until it commits no one else sees that),
 * so jobs.jobs says queued (or failed) while it runs; the wake-up's lock is what is visible.
 * The subquery is uncorrelated (one hashed pass over the wake-ups not yet done per query).
 *
 * One SQL expression for every place that shows a job's status (the jobs admin API, incoming
 * webhook deliveries, the metrics' job backlog): `j` is jobs.jobs in the query using it.
 */
export const JOB_STATUS_SQL = `CASE WHEN j.status IN ('queued', 'failed') AND (j.id, j.wake) IN (
    SELECT (g.payload->>'id')::uuid, (g.payload->>'wake')::int
      FROM graphile_worker._private_jobs g WHERE g.locked_at IS NOT NULL)
  THEN 'running' ELSE j.status END`;
