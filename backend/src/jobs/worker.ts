/**
 * Runs jobs. graphile-worker is the engine: it holds the pool of workers, hears new jobs at
 * once (LISTEN/NOTIFY), finds due delayed ones by polling, takes each wake-up with FOR UPDATE
 * SKIP LOCKED (so across instances a wake-up is taken once) and orders them by priority.
 * Kiln's row in jobs.jobs is the job itself: a wake-up acts only if its wake number is current
 * and the job is waiting, which makes any replayed wake-up a no-op.
 *
 * A job of a SQL target run as project_admin, of a queue whose target this worker knows (it
 * learns each queue's target from the claims it makes; a wake-up names its queue), runs in one
 * transaction and one round trip besides graphile-worker's own: one statement takes the job
 * (jobs.take_sql_job, migration 0048: jobs.jobs → succeeded, and graphile-worker's completion of
 * the wake-up: deleted) and calls the function. The function's effects, the job's success and
 * the wake-up's completion commit together or not at all, so such a job runs exactly once;
 * graphile-worker's own completion afterwards finds nothing (a wake-up in a named job queue, of
 * a queue with a concurrency limit, is left to it: see the migration for why). If
 * the function fails, nothing of the attempt stays and the failure is recorded on its own. The
 * take only matches if the queue's target is still the one remembered; if not (the queue
 * changed), the job goes the general way. No cache to invalidate: a stale entry costs a round
 * trip, never a run on the wrong target.
 *
 * The general way (URL and function targets, other roles): the job is claimed first, in a
 * transaction of its own (running, with a lease its instance renews while it runs), then its
 * target runs and the outcome is recorded. Any instance finds jobs whose lease lapsed (their
 * instance died: kill -9, a lost machine), counts the attempt as failed and wakes them again.
 *
 * Locks of dead workers: while a job runs, its instance also renews a heartbeat for the
 * graphile-worker worker running it (jobs.workers). A wake-up (or named job queue) locked for
 * longer than the lease by a worker without a fresh heartbeat belongs to a dead worker, and any
 * instance releases that worker's locks (graphile_worker.force_unlock_workers): its SQL job,
 * rolled back with the worker's connection, runs again; a serial queue moves on.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { run, type Runner } from 'graphile-worker';
import { sqlLiteral, type Database, type Principal } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import { SAFE_SEARCH_PATH_OPTIONS } from '../core/search-path.js';
import { graphileLogger } from './graphile-logger.js';
import {
  isTimeout,
  quoteFunctionName,
  type TargetKind,
  type TargetRole,
  type TargetRunner,
} from './targets.js';

export interface JobWorkerOptions {
  connectionString: string;
  /** Jobs this instance runs at once; 0: none (the lease sweeper still runs). */
  concurrency: number;
  pollIntervalMs: number;
  leaseSeconds: number;
  logger: Logger;
}

interface Claimed {
  id: string;
  queue: string;
  /** jsonb as text (see CLAIMED_COLUMNS). */
  payload: string;
  attempts: number;
  max_attempts: number;
  backoff_ms: number;
  backoff_max_ms: number;
  timeout_ms: number;
  queue_timeout_ms: number;
  target_kind: TargetKind;
  target: string;
  target_role: TargetRole;
}

// The payload as its JSON text: handed to the target as stored (numbers beyond a double's
// precision stay exact; parsing and re-serialising it would round them).
const CLAIMED_COLUMNS = `j.id, j.queue, j.payload::text AS payload, j.attempts,
  coalesce(j.max_attempts, q.max_attempts) AS max_attempts,
  coalesce(j.backoff_ms, q.backoff_ms) AS backoff_ms, q.backoff_max_ms,
  coalesce(j.timeout_ms, q.timeout_ms) AS timeout_ms, q.timeout_ms AS queue_timeout_ms,
  q.target_kind, q.target, q.target_role`;

/** Takes a waiting job for this wake-up ($2) and worker ($4) with a lease of $3 seconds. */
const CLAIM = `UPDATE jobs.jobs j
    SET status = 'running', attempts = j.attempts + 1, started_at = now(), finished_at = NULL,
        lease_until = now() + make_interval(secs => $3), worker = $4
   FROM jobs.queues q
  WHERE j.id = $1 AND j.wake = $2 AND j.status IN ('queued', 'failed') AND q.name = j.queue`;

const AS_ADMIN: Principal = {
  role: 'project_admin',
  credential: 'api_key',
  claims: { role: 'project_admin' },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Records an attempt's success (if the job is still that attempt's: its lease may have lapsed). */
const SUCCEEDED = `UPDATE jobs.jobs SET status = 'succeeded', finished_at = now(), lease_until = NULL,
    last_error = NULL WHERE id = $1 AND status = 'running' AND attempts = $2`;

/** Exponential backoff with jitter: between half and all of base·2^(attempt−1), capped. */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export class JobWorker {
  private runner: Runner | undefined;
  private pool: pg.Pool | undefined;
  /** Jobs running here: id → the graphile-worker worker that claimed it (their leases). */
  private readonly running = new Map<string, string>();
  /** Each queue's target, as the latest claim here found it (see the header). */
  private readonly queueTargets = new Map<
    string,
    { kind: TargetKind; target: string; role: TargetRole; timeoutMs: number }
  >();
  private heartbeat: NodeJS.Timeout | undefined;
  private renewing = false;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  /** Settles whenever a job this instance ran finishes (tests and drain wait on it). */
  readonly instanceId = crypto.randomUUID();

  constructor(
    private readonly db: Database,
    private readonly targets: TargetRunner,
    private readonly options: JobWorkerOptions,
  ) {}

  async start(): Promise<void> {
    const leaseMs = this.options.leaseSeconds * 1000;
    this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(200, leaseMs / 3));
    this.heartbeat.unref();
    this.sweeper = setInterval(() => void this.sweep(), Math.max(200, Math.min(leaseMs / 2, 5000)));
    this.sweeper.unref();
    if (this.options.concurrency === 0) return;
    this.pool = new pg.Pool({
      connectionString: this.options.connectionString,
      max: this.options.concurrency + 2,
      options: SAFE_SEARCH_PATH_OPTIONS,
      application_name: 'kiln-jobs',
    });
    this.pool.on('error', (err) =>
      this.options.logger.warn('jobs pool error', { error: String(err) }),
    );
    // A checked-out connection that dies emits 'error' on its client (pg-pool listens only while
    // it is idle): without this listener PostgreSQL restarting mid-job would end the process.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.runner = await run({
      pgPool: this.pool,
      concurrency: this.options.concurrency,
      pollInterval: this.options.pollIntervalMs,
      noHandleSignals: true,
      logger: graphileLogger(this.options.logger),
      taskList: {
        kiln_job: async (payload, helpers) => {
          const { id, wake, queue } = payload as { id: string; wake: number; queue?: string };
          const engine = { job: helpers.job.id, worker: helpers.job.locked_by ?? 'unknown' };
          await this.runJob(id, wake, engine, queue);
        },
      },
    });
  }

  /**
   * Stops taking jobs and lets running ones finish for up to `drainMs`; a job still running then
   * keeps its row as it is and runs again elsewhere once its lease lapses.
   */
  async stop(drainMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.sweeper);
    await this.sweeping;
    const stopped = this.runner
      ? this.runner
          .stop()
          .catch((err: unknown) =>
            this.options.logger.warn('jobs worker stop failed', { error: String(err) }),
          )
      : Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      stopped.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), drainMs))),
    ]);
    clearTimeout(timer);
    clearInterval(this.heartbeat);
    if (!drained)
      this.options.logger.warn('jobs still running at shutdown: they run again after their lease', {
        jobs: [...this.running.keys()],
      });
    // The pool goes once graphile-worker has let go of it (at once when it drained).
    const pool = this.pool;
    if (pool) void stopped.then(() => pool.end()).catch(() => undefined);
  }

  /** Jobs this instance is running now. */
  get active(): number {
    return this.running.size;
  }

  private async runJob(
    id: string,
    wake: number,
    engine: { job: string; worker: string },
    queue?: string,
  ): Promise<void> {
    const { worker } = engine;
    const known = queue === undefined ? undefined : this.queueTargets.get(queue);
    if (known?.kind === 'sql' && known.role === 'project_admin') {
      if (await this.runSqlJob(id, wake, engine, known.target, known.timeoutMs)) return;
    }
    const { rows } = await this.db.query<Claimed>(`${CLAIM} RETURNING ${CLAIMED_COLUMNS}`, [
      id,
      wake,
      this.options.leaseSeconds,
      worker,
    ]);
    const job = rows[0];
    if (!job) return; // stale wake-up, cancelled or already done
    if (this.queueTargets.size >= 1000 && !this.queueTargets.has(job.queue))
      this.queueTargets.clear();
    this.queueTargets.set(job.queue, {
      kind: job.target_kind,
      target: job.target,
      role: job.target_role,
      timeoutMs: job.queue_timeout_ms,
    });
    this.running.set(job.id, worker);
    try {
      const outcome = await this.targets.run(
        { kind: job.target_kind, target: job.target, role: job.target_role },
        {
          body: job.payload,
          headers: {
            'x-job-id': job.id,
            'x-job-attempt': String(job.attempts),
            'x-job-queue': job.queue,
          },
          timeoutMs: job.timeout_ms,
          recordSuccess: { text: SUCCEEDED, params: [job.id, job.attempts] },
        },
      );
      if (outcome.ok) {
        if (!outcome.recorded) await this.db.query(SUCCEEDED, [job.id, job.attempts]);
        return;
      }
      await this.recordFailure(job, outcome.error ?? 'failed', outcome.permanent === true);
    } finally {
      this.running.delete(job.id);
    }
  }

  /**
   * Runs the job with the SQL function `fn` as project_admin in one transaction that also
   * finishes it (see the header). False when the take did not match: a stale wake-up, or the
   * queue's target or timeout is no longer `fn` / `timeoutMs` (or the job has a timeout of its
   * own); the caller then goes the general way.
   */
  private async runSqlJob(
    id: string,
    wake: number,
    engine: { job: string; worker: string },
    fn: string,
    timeoutMs: number,
  ): Promise<boolean> {
    const startedAt = new Date();
    this.running.set(id, engine.worker); // its worker's heartbeat is renewed while it runs
    try {
      // One simple-protocol Query (Database.simpleAsPrincipal): its values are literals, each
      // checked for its type here (the wake-up's payload is data, whoever wrote it).
      if (!UUID.test(id) || !Number.isSafeInteger(wake) || !/^\d{1,19}$/.test(engine.job))
        return false;
      const [taken] = await this.db.simpleAsPrincipal(
        AS_ADMIN,
        `SELECT ${quoteFunctionName(fn)}(t.payload) AS result
           FROM jobs.take_sql_job(${sqlLiteral(id)}, ${wake}, ${sqlLiteral(fn)},
                                  ${Math.trunc(timeoutMs)}, ${engine.job},
                                  ${sqlLiteral(engine.worker)}) AS t (payload)`,
        { statement_timeout: String(Math.trunc(timeoutMs)) },
      );
      return (taken!.rowCount ?? 0) > 0;
    } catch (err) {
      // Rolled back: the job is as it was before this attempt, its wake-up still ours.
      const { rows } = await this.db.query<Claimed>(
        `SELECT ${CLAIMED_COLUMNS} FROM jobs.jobs j JOIN jobs.queues q ON q.name = j.queue
          WHERE j.id = $1 AND j.wake = $2 AND j.status IN ('queued', 'failed')`,
        [id, wake],
      );
      const job = rows[0];
      if (!job) throw err;
      const error = isTimeout(err)
        ? `timed out after ${job.timeout_ms} ms`
        : String((err as Error).message ?? err);
      await this.recordFailure(job, error, false, { wake, startedAt, worker: engine.worker });
      return true;
    } finally {
      this.running.delete(id);
    }
  }

  /**
   * The attempt failed: a retry after its backoff, or dead (permanent, or no attempts left). A
   * claimed job's attempt is `job.attempts`; one run without a claim (`unclaimed`: a SQL job
   * whose transaction rolled back) is counted here, as the job of that wake-up.
   */
  private async recordFailure(
    job: Claimed,
    error: string,
    permanent: boolean,
    unclaimed?: { wake: number; startedAt: Date; worker: string },
  ): Promise<void> {
    const attempt = unclaimed ? job.attempts + 1 : job.attempts;
    const dead = permanent || attempt >= job.max_attempts;
    const outcome = [
      dead ? 'dead' : 'failed',
      error.slice(0, 4000),
      dead ? 0 : backoffDelayMs(attempt, job.backoff_ms, job.backoff_max_ms) / 1000,
    ];
    const set = `status = $3, last_error = $4, finished_at = now(), lease_until = NULL,
      run_at = now() + make_interval(secs => $5), wake = wake + CASE WHEN $3 = 'failed' THEN 1 ELSE 0 END`;
    if (unclaimed)
      await this.db.query(
        `UPDATE jobs.jobs SET ${set}, attempts = attempts + 1, started_at = $6, worker = $7
          WHERE id = $1 AND wake = $2 AND status IN ('queued', 'failed')`,
        [job.id, unclaimed.wake, ...outcome, unclaimed.startedAt, unclaimed.worker],
      );
    else
      await this.db.query(
        `UPDATE jobs.jobs SET ${set} WHERE id = $1 AND status = 'running' AND attempts = $2`,
        [job.id, job.attempts, ...outcome],
      );
  }

  /** Renews the leases of the claimed jobs running here and the heartbeats of their workers. */
  private async renewLeases(): Promise<void> {
    // One renewal at a time: a slow one (a loaded machine) is not joined by the next, which
    // would wait on its row locks.
    if (!this.running.size || this.renewing) return;
    this.renewing = true;
    await this.db
      .query(
        `WITH beat AS (
           INSERT INTO jobs.workers AS w (id, instance, seen_at)
           SELECT DISTINCT worker, $4::uuid, now() FROM unnest($2::text[]) AS worker ORDER BY 1
           ON CONFLICT (id) DO UPDATE SET instance = EXCLUDED.instance, seen_at = now()
         )
         UPDATE jobs.jobs j SET lease_until = now() + make_interval(secs => $3)
           FROM unnest($1::uuid[], $2::text[]) AS mine (id, worker)
          WHERE j.id = mine.id AND j.worker = mine.worker AND j.status = 'running'`,
        [
          [...this.running.keys()],
          [...this.running.values()],
          this.options.leaseSeconds,
          this.instanceId,
        ],
      )
      .catch((err: unknown) =>
        this.options.logger.warn('jobs lease renewal failed', { error: String(err) }),
      )
      .finally(() => (this.renewing = false));
  }

  /** Jobs whose instance stopped renewing their lease: the attempt failed, wake them again. */
  sweep(): Promise<void> {
    if (this.sweeping || this.stopped) return this.sweeping ?? Promise.resolve();
    this.sweeping = (async () => {
      try {
        // Jobs whose lease lapsed (the attempt failed; woken again), and workers holding
        // graphile-worker locks for longer than a lease without a heartbeat: one round trip.
        const { rows } = await this.db.query<{ worker: string | null; lost: boolean }>(
          `WITH lost AS (
             SELECT id FROM jobs.jobs WHERE status = 'running' AND lease_until < now()
             FOR UPDATE SKIP LOCKED
           ), failed AS (
             UPDATE jobs.jobs j
                SET status = CASE WHEN j.attempts >= coalesce(j.max_attempts, q.max_attempts) THEN 'dead' ELSE 'failed' END,
                    last_error = 'its worker stopped while running it (lease expired)',
                    lease_until = NULL, finished_at = now(), run_at = now(), wake = j.wake + 1
               FROM lost, jobs.queues q
              WHERE j.id = lost.id AND q.name = j.queue
             RETURNING j.worker
           ), locks AS (
             SELECT g.locked_by AS worker FROM graphile_worker._private_jobs g
              WHERE g.locked_at < now() - make_interval(secs => $1)
             UNION
             SELECT gq.locked_by FROM graphile_worker._private_job_queues gq
              WHERE gq.locked_at < now() - make_interval(secs => $1)
           ), gone AS (
             DELETE FROM jobs.workers w WHERE w.seen_at < now() - make_interval(secs => $1::float8 * 10)
           )
           SELECT worker, true AS lost FROM failed
           UNION ALL
           SELECT l.worker, false FROM locks l WHERE l.worker IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM jobs.workers w
              WHERE w.id = l.worker AND w.seen_at >= now() - make_interval(secs => $1))`,
          [this.options.leaseSeconds],
        );
        const workers = [...new Set(rows.map((r) => r.worker).filter((w): w is string => !!w))];
        if (workers.length) {
          await this.db.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [workers]);
          this.options.logger.warn('jobs: released what lost workers held (runs again)', {
            jobs: rows.filter((r) => r.lost).length,
            workers,
          });
        }
      } catch (err) {
        this.options.logger.warn('jobs lease sweep failed', { error: String(err) });
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }
}
