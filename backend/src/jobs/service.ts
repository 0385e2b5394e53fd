/**
 * The jobs area: queues (where jobs go, how they are retried), enqueueing as the caller (so the
 * jobs table's policies decide who may), and the admin views and actions over jobs.jobs.
 */
import type {
  EnqueueJobRequest,
  Job,
  JobStatus,
  JobTarget,
  PutQueueRequest,
  Queue,
} from '@kiln/shared-schemas';
import type { Database, Principal } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { isPrivateAddress } from '../core/outbound.js';
import { listPage } from '../core/paging.js';
import { PG, pgCode } from '../core/sql.js';
import { JOB_STATUS_SQL } from './status.js';
import { SQL_FUNCTION_NAME } from './targets.js';

interface QueueRow {
  name: string;
  target_kind: 'function' | 'http' | 'sql';
  target: string;
  target_role: 'project_admin' | 'authenticated' | 'anon';
  max_attempts: number;
  backoff_ms: number;
  backoff_max_ms: number;
  timeout_ms: number;
  concurrency: number | null;
  user_enqueue: boolean;
  created_at: Date;
  updated_at: Date;
  counts: Record<string, number> | null;
}

export interface JobRow {
  id: string;
  queue: string;
  payload: unknown;
  status: JobStatus;
  priority: number;
  run_at: Date;
  attempts: number;
  max_attempts: number;
  dedup_key: string | null;
  last_error: string | null;
  created_by: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function jobJson(r: JobRow): Job {
  return {
    id: r.id,
    queue: r.queue,
    payload: r.payload,
    status: r.status,
    priority: r.priority,
    runAt: r.run_at.toISOString(),
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    dedupKey: r.dedup_key,
    lastError: r.last_error,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

/** A job's status as admins see it (jobs/status.ts). */
const STATUS = JOB_STATUS_SQL;

/**
 * A job's columns, its effective max attempts (its own, else `queueMax`) among them, and its
 * status (`status`: the column as stored, or STATUS).
 */
const jobColumns = (queueMax: string, status = 'j.status') => `j.id, j.queue, j.payload,
  ${status} AS status, j.priority, j.run_at,
  j.attempts, coalesce(j.max_attempts, ${queueMax}, 1) AS max_attempts, j.dedup_key, j.last_error,
  j.created_by, j.created_at, j.started_at, j.finished_at`;
const JOB_COLUMNS = jobColumns(
  '(SELECT q.max_attempts FROM jobs.queues q WHERE q.name = j.queue)',
  STATUS,
);

function targetJson(r: QueueRow): JobTarget {
  if (r.target_kind === 'function') return { type: 'function', slug: r.target };
  if (r.target_kind === 'http') return { type: 'http', url: r.target };
  return { type: 'sql', function: r.target, role: r.target_role };
}

function queueJson(r: QueueRow): Queue {
  const c = r.counts ?? {};
  return {
    name: r.name,
    target: targetJson(r),
    maxAttempts: r.max_attempts,
    backoffMs: r.backoff_ms,
    backoffMaxMs: r.backoff_max_ms,
    timeoutMs: r.timeout_ms,
    concurrency: r.concurrency,
    userEnqueue: r.user_enqueue,
    counts: {
      queued: c.queued ?? 0,
      running: c.running ?? 0,
      succeeded: c.succeeded ?? 0,
      failed: c.failed ?? 0,
      dead: c.dead ?? 0,
      cancelled: c.cancelled ?? 0,
    },
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export const queueNotFound = (name: string) =>
  new AppError(
    404,
    'JOBS_QUEUE_NOT_FOUND',
    `No queue named "${name}"`,
    'Create it with PUT /api/jobs/queues/{name}',
  );

const jobNotFound = (id: string) => new AppError(404, 'JOBS_NOT_FOUND', `No job ${id}`);

const QUEUE_SELECT = `SELECT q.*, (SELECT jsonb_object_agg(s.status, s.n) FROM (
    SELECT ${STATUS} AS status, count(*)::int AS n FROM jobs.jobs j WHERE j.queue = q.name
     GROUP BY 1) s) AS counts
  FROM jobs.queues q`;

export interface JobsServiceOptions {
  maxPayloadBytes: number;
  allowPrivateNetworks: boolean;
}

export class JobsService {
  constructor(
    private readonly db: Database,
    private readonly options: JobsServiceOptions,
  ) {}

  /** The largest payload (and schedule body) accepted, in bytes of JSON. */
  get maxPayloadBytes(): number {
    return this.options.maxPayloadBytes;
  }

  async listQueues(): Promise<Queue[]> {
    const { rows } = await this.db.query<QueueRow>(`${QUEUE_SELECT} ORDER BY q.name`);
    return rows.map(queueJson);
  }

  async getQueue(name: string): Promise<Queue> {
    const { rows } = await this.db.query<QueueRow>(`${QUEUE_SELECT} WHERE q.name = $1`, [name]);
    if (!rows[0]) throw queueNotFound(name);
    return queueJson(rows[0]);
  }

  /** A target that exists (a function, a SQL function taking jsonb, a public URL): else 400. */
  async checkTarget(target: JobTarget): Promise<void> {
    const unknown = (message: string) => new AppError(400, 'JOBS_UNKNOWN_TARGET', message);
    if (target.type === 'function') {
      const { rowCount } = await this.db.query('SELECT 1 FROM system.functions WHERE slug = $1', [
        target.slug,
      ]);
      if (!rowCount) throw unknown(`No edge function "${target.slug}"`);
    } else if (target.type === 'sql') {
      if (!SQL_FUNCTION_NAME.test(target.function)) throw unknown('Not a function name');
      const qualified = target.function.includes('.')
        ? target.function
        : `public.${target.function}`;
      const { rows } = await this.db.query<{ fn: string | null }>(
        `SELECT pg_catalog.to_regprocedure($1)::text AS fn`,
        [
          `${qualified
            .split('.')
            .map((p) => `"${p.replace(/"/g, '""')}"`)
            .join('.')}(jsonb)`,
        ],
      );
      if (!rows[0]?.fn) throw unknown(`No SQL function ${qualified}(jsonb)`);
    } else {
      const host = new URL(target.url).hostname.replace(/^\[|\]$/g, '');
      if (!this.options.allowPrivateNetworks && (isPrivateAddress(host) || host === 'localhost'))
        throw unknown(`${host} is a private address (WEBHOOK_ALLOW_PRIVATE_NETWORKS is off)`);
    }
  }

  async putQueue(
    name: string,
    input: PutQueueRequest,
  ): Promise<{ queue: Queue; created: boolean }> {
    await this.checkTarget(input.target);
    const t = input.target;
    const [kind, target, role] =
      t.type === 'function'
        ? ['function', t.slug, 'project_admin']
        : t.type === 'http'
          ? ['http', t.url, 'project_admin']
          : ['sql', t.function, t.role];
    const { rows } = await this.db.query<{ created: boolean }>(
      `INSERT INTO jobs.queues AS q (name, target_kind, target, target_role, max_attempts, backoff_ms,
         backoff_max_ms, timeout_ms, concurrency, user_enqueue)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (name) DO UPDATE SET target_kind = $2, target = $3, target_role = $4,
         max_attempts = $5, backoff_ms = $6, backoff_max_ms = $7, timeout_ms = $8, concurrency = $9,
         user_enqueue = $10, updated_at = now()
       RETURNING (xmax = 0) AS created`,
      [
        name,
        kind,
        target,
        role,
        input.maxAttempts,
        input.backoffMs,
        input.backoffMaxMs,
        input.timeoutMs,
        input.concurrency,
        input.userEnqueue,
      ],
    );
    return { queue: await this.getQueue(name), created: rows[0]!.created };
  }

  async deleteQueue(name: string): Promise<void> {
    const { rowCount } = await this.db.query('DELETE FROM jobs.queues WHERE name = $1', [name]);
    if (!rowCount) throw queueNotFound(name);
  }

  /** Enqueues as `principal` (the jobs table's policies decide whether a user may). */
  async enqueue(
    principal: Principal,
    queue: string,
    input: EnqueueJobRequest,
  ): Promise<{ job: Job; created: boolean }> {
    const payload = JSON.stringify(input.payload ?? {});
    if (Buffer.byteLength(payload) > this.options.maxPayloadBytes)
      throw new AppError(
        413,
        'JOBS_PAYLOAD_TOO_LARGE',
        `The payload is larger than ${this.options.maxPayloadBytes} bytes (JOBS_MAX_PAYLOAD_BYTES)`,
      );
    const exists = await this.db.query<{ user_enqueue: boolean; max_attempts: number }>(
      'SELECT user_enqueue, max_attempts FROM jobs.queues WHERE name = $1',
      [queue],
    );
    const settings = exists.rows[0];
    if (!settings) throw queueNotFound(queue);
    if (principal.role !== 'project_admin' && !settings.user_enqueue)
      throw new AppError(
        403,
        'JOBS_FORBIDDEN',
        `Users may not enqueue on "${queue}"`,
        'An admin can allow it: PUT /api/jobs/queues/{name} with userEnqueue: true',
      );
    const { payload: _payload, ...options } = input;
    try {
      return await this.db.withPrincipal(principal, async (tx) => {
        const enqueued = await tx.query<{ id: string | null }>(
          'SELECT jobs.enqueue($1, $2::jsonb, $3::jsonb) AS id',
          [queue, payload, JSON.stringify(options)],
        );
        // A statement of its own: the one that called jobs.enqueue() does not see its row.
        const { rows } = await tx.query<JobRow & { created: boolean }>(
          `SELECT ${jobColumns('$2::int')},
                  (j.xmin = pg_catalog.pg_current_xact_id()::xid) AS created
             FROM jobs.jobs j WHERE j.id = $1`,
          [enqueued.rows[0]?.id ?? null, settings.max_attempts],
        );
        const row = rows[0];
        if (!row) {
          // A duplicate of a job this user cannot see.
          throw new AppError(409, 'JOBS_DUPLICATE', 'An unfinished job with this dedupKey exists');
        }
        return { job: jobJson(row), created: row.created };
      });
    } catch (err) {
      if (pgCode(err) === PG.insufficientPrivilege)
        throw new AppError(403, 'JOBS_FORBIDDEN', `You may not enqueue on "${queue}"`);
      // Deleted since the check above (jobs.enqueue says undefined_object).
      if (pgCode(err) === PG.undefinedObject) throw queueNotFound(queue);
      throw err;
    }
  }

  async list(q: {
    queue?: string;
    status?: JobStatus;
    limit: number;
    offset: number;
  }): Promise<{ data: Job[]; pagination: { offset: number; limit: number; total: number } }> {
    const page = await listPage<JobRow & Record<string, unknown>>(this.db, {
      select: JOB_COLUMNS,
      from: 'jobs.jobs j',
      filters: [
        { column: 'j.queue', type: 'text', value: q.queue },
        { column: `(${STATUS})`, type: 'text', value: q.status },
      ],
      orderBy: 'j.created_at DESC, j.id',
      limit: q.limit,
      offset: q.offset,
    });
    return { data: page.rows.map(jobJson), pagination: page.pagination };
  }

  async get(id: string): Promise<Job> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM jobs.jobs j WHERE j.id = $1`,
      [id],
    );
    if (!rows[0]) throw jobNotFound(id);
    return jobJson(rows[0]);
  }

  /** A failed, dead or cancelled job runs again now, with its attempts counted from zero. */
  async retry(id: string): Promise<Job> {
    const { rowCount } = await this.db.query(
      `UPDATE jobs.jobs j SET status = 'queued', attempts = 0, run_at = now(), wake = wake + 1,
         finished_at = NULL, lease_until = NULL
        WHERE id = $1 AND (${STATUS}) IN ('failed', 'dead', 'cancelled')`,
      [id],
    );
    if (!rowCount) await this.conflict(id, 'retried', 'failed, dead or cancelled');
    return this.get(id);
  }

  /** A job that has not started (or waits for a retry) will not run. */
  async cancel(id: string): Promise<Job> {
    const { rowCount } = await this.db.query(
      `UPDATE jobs.jobs j SET status = 'cancelled', finished_at = now()
        WHERE id = $1 AND (${STATUS}) IN ('queued', 'failed')`,
      [id],
    );
    if (!rowCount) await this.conflict(id, 'cancelled', 'queued or waiting for a retry');
    return this.get(id);
  }

  private async conflict(id: string, what: string, when: string): Promise<never> {
    const job = await this.get(id); // 404 first
    throw new AppError(
      409,
      'JOBS_INVALID_STATE',
      `Job ${id} is ${job.status}: only a job ${when} can be ${what}`,
    );
  }

  async purge(q: {
    queue?: string;
    status?: 'succeeded' | 'dead' | 'cancelled';
    before?: string;
  }): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM jobs.jobs
        WHERE status IN ('succeeded', 'dead', 'cancelled')
          AND ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR status = $2)
          AND ($3::timestamptz IS NULL OR finished_at < $3)`,
      [q.queue ?? null, q.status ?? null, q.before ?? null],
    );
    return rowCount ?? 0;
  }

  /** The latest failed attempts (waiting for a retry, or dead), newest first. */
  async recentFailures(q: { queue?: string; limit: number }): Promise<Job[]> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM jobs.jobs j
        WHERE j.status IN ('failed', 'dead') AND (${STATUS}) IN ('failed', 'dead')
          AND ($1::text IS NULL OR j.queue = $1)
        ORDER BY j.finished_at DESC NULLS LAST LIMIT $2`,
      [q.queue ?? null, q.limit],
    );
    return rows.map(jobJson);
  }
}
