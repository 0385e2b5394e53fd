/**
 * Schedules: rows of jobs.schedules, InsForge's fields plus Kiln's (time zone, target, overlap).
 * Every instance runs a `Scheduler`: it takes due schedules with FOR UPDATE SKIP LOCKED, writes
 * one run per tick (unique (schedule_id, tick): a tick another instance already wrote is not
 * written again), moves next_run on, commits, then runs what it wrote. After downtime a
 * schedule runs its latest missed tick once (SCHEDULES_CATCH_UP), never every missed one.
 *
 * A run holds a lease its instance renews; a run whose instance died is marked failed once the
 * lease lapses (so `overlap: skip` does not skip forever). Header values may say
 * ${{secrets.NAME}}: the secrets are read when the run starts; the headers are stored sealed.
 */
import type {
  CreateScheduleRequest,
  Schedule,
  ScheduleLog,
  ScheduleTarget,
  UpdateScheduleRequest,
} from '@kiln/shared-schemas';
import type { SecretBox } from '../core/crypto.js';
import type { Database, Tx } from '../core/db.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { isPrivateAddress } from '../core/outbound.js';
import type { SecretsService } from '../secrets/service.js';
import { latestTick, timetable } from './cron.js';
import type { JobsService } from './service.js';
import type { Target, TargetRunner } from './targets.js';

type Kind = 'http' | 'function' | 'sql' | 'queue';

interface ScheduleRow {
  id: string;
  name: string;
  cron: string;
  time_zone: string;
  target_kind: Kind;
  target: string;
  target_role: 'project_admin' | 'authenticated' | 'anon';
  http_method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers_sealed: string | null;
  body: Record<string, unknown> | null;
  is_active: boolean;
  overlap: 'skip' | 'queue';
  next_run: Date | null;
  last_executed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface RunRow {
  id: string;
  schedule_id: string;
  tick: Date | null;
  status: ScheduleLog['status'];
  status_code: number | null;
  duration_ms: number | null;
  message: string | null;
  created_at: Date;
  executed_at: Date | null;
}

const SECRET_REF = /\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
/** A run's time limit (a function's own limit, FUNCTION_TIMEOUT_MS, applies within it). */

export const scheduleNotFound = (id: string) =>
  new AppError(
    404,
    'SCHEDULE_NOT_FOUND',
    `No schedule ${id}`,
    'List schedules with GET /api/schedules',
  );

function secretNames(headers: Record<string, string> | undefined): string[] {
  return [
    ...new Set(
      Object.values(headers ?? {}).flatMap((v) => [...v.matchAll(SECRET_REF)].map((m) => m[1]!)),
    ),
  ];
}

export interface ScheduleOptions {
  apiBaseUrl: () => string;
  allowPrivateNetworks: boolean;
  catchUp: boolean;
  logger: Logger;
}

export class SchedulesService {
  /** The clock ticks are computed with (tests set a fake one). */
  now: () => Date = () => new Date();

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    private readonly secrets: SecretsService,
    private readonly jobs: JobsService,
    private readonly options: ScheduleOptions,
  ) {}

  private json(r: ScheduleRow): Schedule {
    const target: ScheduleTarget | null =
      r.target_kind === 'http'
        ? null
        : r.target_kind === 'function'
          ? { type: 'function', slug: r.target }
          : r.target_kind === 'sql'
            ? { type: 'sql', function: r.target, role: r.target_role }
            : { type: 'queue', queue: r.target };
    return {
      id: r.id,
      name: r.name,
      cronSchedule: r.cron,
      functionUrl:
        r.target_kind === 'http'
          ? r.target
          : r.target_kind === 'function'
            ? `${this.options.apiBaseUrl()}/functions/${r.target}`
            : null,
      httpMethod: r.http_method,
      headers: r.headers_sealed ? this.openHeaders(r) : null,
      body: r.body,
      cronJobId: r.id,
      lastExecutedAt: r.last_executed_at?.toISOString() ?? null,
      isActive: r.is_active,
      nextRun: r.is_active ? (r.next_run?.toISOString() ?? null) : null,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
      timeZone: r.time_zone,
      target,
      overlap: r.overlap,
    };
  }

  /** The headers as given; none when sealed with a key Kiln no longer has (said in the log). */
  private openHeaders(r: ScheduleRow): Record<string, string> | null {
    try {
      return JSON.parse(this.box.decrypt(r.headers_sealed!)) as Record<string, string>;
    } catch {
      this.options.logger.warn('schedule headers sealed with an unknown key: set them again', {
        schedule: r.id,
      });
      return null;
    }
  }

  async list(): Promise<Schedule[]> {
    const { rows } = await this.db.query<ScheduleRow>(
      'SELECT * FROM jobs.schedules ORDER BY created_at',
    );
    return rows.map((r) => this.json(r));
  }

  private async row(id: string): Promise<ScheduleRow> {
    const { rows } = await this.db.query<ScheduleRow>(
      'SELECT * FROM jobs.schedules WHERE id = $1',
      [id],
    );
    if (!rows[0]) throw scheduleNotFound(id);
    return rows[0];
  }

  async get(id: string): Promise<Schedule> {
    return this.json(await this.row(id));
  }

  /** Checks everything a schedule refers to; answers its columns. */
  private async columns(input: {
    cronSchedule: string;
    timeZone: string;
    functionUrl?: string | undefined;
    target?: ScheduleTarget | undefined;
    headers?: Record<string, string> | undefined;
    body?: Record<string, unknown> | undefined;
  }) {
    timetable(input.cronSchedule, input.timeZone); // 400 when invalid
    const env = await this.secrets.environment({ apiKey: true });
    const missing = secretNames(input.headers).filter((n) => !(n in env));
    if (missing.length)
      throw new AppError(
        404,
        'SECRET_NOT_FOUND',
        `The headers refer to secrets that do not exist: ${missing.join(', ')}`,
        'Create them with POST /api/secrets',
      );
    const body = JSON.stringify(input.body ?? null);
    if (Buffer.byteLength(body) > this.jobs.maxPayloadBytes)
      throw new AppError(
        413,
        'SCHEDULE_BODY_TOO_LARGE',
        `The body is larger than ${this.jobs.maxPayloadBytes} bytes`,
      );
    let kind: Kind;
    let target: string;
    let role = 'project_admin';
    const t = input.target;
    if (!t) {
      const url = input.functionUrl!;
      const own = `${this.options.apiBaseUrl()}/functions/`;
      if (url.startsWith(own) && /^[a-z0-9-]+$/.test(url.slice(own.length))) {
        // Kiln's own function by its public URL: called directly, like a function target.
        kind = 'function';
        target = url.slice(own.length);
        await this.jobs.checkTarget({ type: 'function', slug: target });
      } else {
        const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
        if (!this.options.allowPrivateNetworks && (isPrivateAddress(host) || host === 'localhost'))
          throw new AppError(
            400,
            'SCHEDULE_UNKNOWN_TARGET',
            `${host} is a private address (WEBHOOK_ALLOW_PRIVATE_NETWORKS is off)`,
          );
        kind = 'http';
        target = url;
      }
    } else if (t.type === 'queue') {
      kind = 'queue';
      target = t.queue;
      await this.jobs.getQueue(t.queue).catch(() => {
        throw new AppError(400, 'SCHEDULE_UNKNOWN_TARGET', `No queue named "${t.queue}"`);
      });
    } else {
      await this.jobs.checkTarget(t).catch((err: unknown) => {
        if (err instanceof AppError)
          throw new AppError(400, 'SCHEDULE_UNKNOWN_TARGET', err.message);
        throw err;
      });
      kind = t.type;
      target = t.type === 'function' ? t.slug : t.function;
      if (t.type === 'sql') role = t.role;
    }
    return {
      kind,
      target,
      role,
      headers: input.headers ? this.box.encrypt(JSON.stringify(input.headers)) : null,
      body: input.body === undefined ? null : body,
    };
  }

  private nextRun(cron: string, timeZone: string, after = this.now()): Date | null {
    return timetable(cron, timeZone).next(after);
  }

  async create(input: CreateScheduleRequest): Promise<string> {
    const c = await this.columns(input);
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO jobs.schedules (name, cron, time_zone, target_kind, target, target_role, http_method,
         headers_sealed, body, is_active, overlap, next_run)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12) RETURNING id`,
      [
        input.name,
        input.cronSchedule,
        input.timeZone,
        c.kind,
        c.target,
        c.role,
        input.httpMethod,
        c.headers,
        c.body,
        input.isActive,
        input.overlap,
        this.nextRun(input.cronSchedule, input.timeZone),
      ],
    );
    return rows[0]!.id;
  }

  async update(id: string, input: UpdateScheduleRequest): Promise<void> {
    const before = this.json(await this.row(id));
    const merged = {
      cronSchedule: input.cronSchedule ?? before.cronSchedule,
      timeZone: input.timeZone ?? before.timeZone,
      ...(input.target
        ? { target: input.target }
        : input.functionUrl
          ? { functionUrl: input.functionUrl }
          : before.target
            ? { target: before.target }
            : { functionUrl: before.functionUrl! }),
      headers: input.headers ?? before.headers ?? undefined,
      body: input.body ?? (before.body as Record<string, unknown> | null) ?? undefined,
    };
    const c = await this.columns(merged);
    const active = input.isActive ?? before.isActive;
    const timing =
      input.cronSchedule !== undefined ||
      input.timeZone !== undefined ||
      (active && !before.isActive);
    await this.db.query(
      `UPDATE jobs.schedules SET name = $2, cron = $3, time_zone = $4, target_kind = $5, target = $6,
         target_role = $7, http_method = $8, headers_sealed = $9, body = $10::jsonb, is_active = $11,
         overlap = $12, next_run = CASE WHEN $13 THEN $14 ELSE next_run END, updated_at = now()
       WHERE id = $1`,
      [
        id,
        input.name ?? before.name,
        merged.cronSchedule,
        merged.timeZone,
        c.kind,
        c.target,
        c.role,
        input.httpMethod ?? before.httpMethod,
        c.headers,
        c.body,
        active,
        input.overlap ?? before.overlap,
        timing,
        // Resumed or re-timed: from now on (a paused schedule does not catch up).
        this.nextRun(merged.cronSchedule, merged.timeZone),
      ],
    );
  }

  async delete(id: string): Promise<void> {
    const { rowCount } = await this.db.query('DELETE FROM jobs.schedules WHERE id = $1', [id]);
    if (!rowCount) throw scheduleNotFound(id);
  }

  async logs(id: string, limit: number, offset: number) {
    await this.row(id);
    const [{ rows }, total] = await Promise.all([
      this.db.query<RunRow>(
        `SELECT * FROM jobs.schedule_runs WHERE schedule_id = $1
          ORDER BY coalesce(executed_at, created_at) DESC, id LIMIT $2 OFFSET $3`,
        [id, limit, offset],
      ),
      this.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM jobs.schedule_runs WHERE schedule_id = $1',
        [id],
      ),
    ]);
    return { logs: rows.map(logJson), totalCount: total.rows[0]!.n, limit, offset };
  }

  async getConfig(): Promise<{ retentionDays: number | null }> {
    const { rows } = await this.db.query<{ retention_days: number | null }>(
      'SELECT retention_days FROM jobs.schedules_config',
    );
    return { retentionDays: rows[0]?.retention_days ?? null };
  }

  async setConfig(retentionDays: number | null): Promise<void> {
    await this.db.query('UPDATE jobs.schedules_config SET retention_days = $1', [retentionDays]);
  }

  /** Deletes run logs older than the retention. */
  async prune(): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM jobs.schedule_runs WHERE status NOT IN ('queued', 'running')
         AND created_at < now() - make_interval(days => (SELECT retention_days FROM jobs.schedules_config))`,
    );
    return rowCount ?? 0;
  }

  preview(cron: string, timeZone: string, count: number): string[] {
    const table = timetable(cron, timeZone);
    const out: string[] = [];
    let at: Date | null = this.now();
    while (out.length < count && (at = table.next(at))) out.push(at.toISOString());
    return out;
  }
}

export function logJson(r: RunRow): ScheduleLog {
  const finished = r.status === 'succeeded' || r.status === 'failed';
  return {
    id: r.id,
    scheduleId: r.schedule_id,
    executedAt: (r.executed_at ?? r.created_at).toISOString(),
    statusCode: finished ? (r.status_code ?? 0) : 0,
    success: r.status === 'succeeded',
    durationMs: r.duration_ms ?? 0,
    message: r.message,
    status: r.status,
    tick: r.tick?.toISOString() ?? null,
  };
}

/** Runs due ticks on this instance (see the file's header). */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private leases: NodeJS.Timeout | undefined;
  private passing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly schedules: SchedulesService,
    private readonly box: SecretBox,
    private readonly secrets: SecretsService,
    private readonly targets: TargetRunner,
    private readonly options: ScheduleOptions & {
      pollMs: number;
      /** How long one run may take (SCHEDULES_RUN_TIMEOUT_MS). */
      runTimeoutMs: number;
      /** A running run's lease, renewed while it runs (SCHEDULES_LEASE_SECONDS). */
      leaseSeconds: number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.pollMs);
    this.timer.unref();
    this.leases = setInterval(
      () => void this.renewLeases(),
      (this.options.leaseSeconds * 1000) / 3,
    );
    this.leases.unref();
    void this.tick();
  }

  async stop(drainMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await this.passing;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()]),
      new Promise((resolve) => (timer = setTimeout(resolve, drainMs))),
    ]);
    clearTimeout(timer);
    clearInterval(this.leases);
  }

  /** Looks for due ticks now (a schedule was created or changed). */
  kick(): void {
    void this.tick();
  }

  /** Runs started by this instance that have not finished. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.running.values()]);
  }

  /** One pass: due ticks, queued runs whose schedule is free, runs of dead instances. */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.passing) {
      this.again = true;
      return this.passing;
    }
    this.passing = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.stopped);
      } catch (err) {
        this.options.logger.warn('schedules pass failed', { error: String(err) });
      } finally {
        this.passing = undefined;
      }
    })();
    return this.passing;
  }

  private async pass(): Promise<void> {
    const now = this.schedules.now();
    // Due ticks first: what follows runs after their calls have started.
    const toRun = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<ScheduleRow>(
        `SELECT * FROM jobs.schedules WHERE is_active AND next_run <= $1
          ORDER BY next_run LIMIT 100 FOR UPDATE SKIP LOCKED`,
        [now],
      );
      const started: { id: string; schedule?: ScheduleRow }[] = [];
      for (const s of rows) {
        const table = timetable(s.cron, s.time_zone);
        const due = s.next_run!;
        const tick = latestTick(table, due, now);
        const missed = tick.getTime() !== due.getTime() || now.getTime() - due.getTime() > 60_000;
        await tx.query('UPDATE jobs.schedules SET next_run = $2 WHERE id = $1', [
          s.id,
          table.next(now),
        ]);
        if (missed && !this.options.catchUp) continue;
        const run = await this.writeRun(tx, s, tick);
        if (run) started.push({ id: run, schedule: s });
      }
      // Queued runs (overlap: queue, run now) of schedules with nothing running, oldest first;
      // the schedule's row lock keeps two instances from starting two of them.
      const free = await tx.query<{ id: string }>(
        `SELECT s.id FROM jobs.schedules s
          WHERE EXISTS (SELECT 1 FROM jobs.schedule_runs r WHERE r.schedule_id = s.id AND r.status = 'queued')
            AND NOT EXISTS (SELECT 1 FROM jobs.schedule_runs r WHERE r.schedule_id = s.id AND r.status = 'running')
          FOR UPDATE SKIP LOCKED`,
      );
      for (const f of free.rows) {
        const next = await tx.query<{ id: string }>(
          `UPDATE jobs.schedule_runs SET status = 'running', executed_at = now(),
             lease_until = now() + make_interval(secs => $2)
           WHERE id = (SELECT id FROM jobs.schedule_runs WHERE schedule_id = $1 AND status = 'queued'
                        ORDER BY created_at, tick LIMIT 1)
           RETURNING id`,
          [f.id, this.options.leaseSeconds],
        );
        if (next.rows[0]) started.push({ id: next.rows[0].id });
      }
      return started;
    });
    for (const run of toRun) void this.launch(run.id, run.schedule);
    // Runs whose instance stopped renewing their lease.
    await this.db.query(
      `UPDATE jobs.schedule_runs SET status = 'failed', finished_at = now(), status_code = 0,
         message = 'its instance stopped while running it (lease expired)'
       WHERE status = 'running' AND lease_until < now()`,
    );
    // The next tick due before the next poll gets a timer of its own (per-second schedules).
    const soon = await this.db.query<{ at: Date | null }>(
      'SELECT min(next_run) AS at FROM jobs.schedules WHERE is_active',
    );
    const wait = (soon.rows[0]?.at?.getTime() ?? Infinity) - this.schedules.now().getTime();
    if (wait < this.options.pollMs && !this.stopped) {
      clearTimeout(this.soon);
      this.soon = setTimeout(() => void this.tick(), Math.max(0, wait) + 1);
      this.soon.unref();
    }
  }

  /** Writes the run of `tick` (once: another instance may have written it); its id if it runs now. */
  private async writeRun(tx: Tx, s: ScheduleRow, tick: Date | null): Promise<string | undefined> {
    const busy = await tx.query(
      `SELECT 1 FROM jobs.schedule_runs WHERE schedule_id = $1 AND status IN ('running', 'queued') LIMIT 1`,
      [s.id],
    );
    const status = busy.rowCount ? (s.overlap === 'skip' ? 'skipped' : 'queued') : 'running';
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO jobs.schedule_runs (schedule_id, tick, status, executed_at, lease_until, message)
       VALUES ($1, $2, $3, now(), CASE WHEN $3 = 'running' THEN now() + make_interval(secs => $4) END,
               CASE WHEN $3 = 'skipped' THEN 'skipped: the previous run was still going' END)
       ON CONFLICT (schedule_id, tick) DO NOTHING RETURNING id`,
      [s.id, tick, status, this.options.leaseSeconds],
    );
    return status === 'running' ? rows[0]?.id : undefined;
  }

  /** "Run now": a run outside the timetable (overlap applies as for a tick). */
  async runNow(id: string): Promise<ScheduleLog> {
    const runId = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<ScheduleRow>(
        'SELECT * FROM jobs.schedules WHERE id = $1 FOR UPDATE',
        [id],
      );
      if (!rows[0]) throw scheduleNotFound(id);
      const busy = await tx.query(
        `SELECT 1 FROM jobs.schedule_runs WHERE schedule_id = $1 AND status = 'running' LIMIT 1`,
        [id],
      );
      const status = busy.rowCount ? 'queued' : 'running';
      const inserted = await tx.query<{ id: string }>(
        `INSERT INTO jobs.schedule_runs (schedule_id, tick, status, executed_at, lease_until)
         VALUES ($1, NULL, $2, now(), CASE WHEN $2 = 'running' THEN now() + make_interval(secs => $3) END)
         RETURNING id`,
        [id, status, this.options.leaseSeconds],
      );
      return { id: inserted.rows[0]!.id, run: status === 'running' };
    });
    if (runId.run) await this.launch(runId.id);
    const { rows } = await this.db.query<RunRow>('SELECT * FROM jobs.schedule_runs WHERE id = $1', [
      runId.id,
    ]);
    return logJson(rows[0]!);
  }

  private launch(runId: string, schedule?: ScheduleRow): Promise<void> {
    const done = this.execute(runId, schedule)
      .catch((err: unknown) => {
        this.options.logger.warn('schedule run failed', { run: runId, error: String(err) });
      })
      .finally(() => {
        this.running.delete(runId);
        // A queued run may now go.
        if (!this.stopped) void this.tick();
      });
    this.running.set(runId, done);
    return done;
  }

  /** Runs one run; `schedule` is its schedule's row when the caller has it (a tick's). */
  private async execute(runId: string, schedule?: ScheduleRow): Promise<void> {
    const s =
      schedule ??
      (
        await this.db.query<ScheduleRow>(
          `SELECT s.* FROM jobs.schedule_runs r JOIN jobs.schedules s ON s.id = r.schedule_id
            WHERE r.id = $1`,
          [runId],
        )
      ).rows[0];
    if (!s) return;
    let outcome: { ok: boolean; status: number; message: string | null; durationMs: number };
    try {
      outcome = await this.call(s, runId);
    } catch (err) {
      outcome = {
        ok: false,
        status: 0,
        message: String((err as Error).message ?? err),
        durationMs: 0,
      };
    }
    await this.db.query(
      `WITH run AS (
         UPDATE jobs.schedule_runs SET status = $2, status_code = $3, duration_ms = $4, message = $5,
           finished_at = now(), lease_until = NULL WHERE id = $1
         RETURNING schedule_id, executed_at)
       UPDATE jobs.schedules s SET last_executed_at = run.executed_at FROM run
        WHERE s.id = run.schedule_id AND s.last_executed_at IS DISTINCT FROM greatest(s.last_executed_at, run.executed_at)`,
      [
        runId,
        outcome.ok ? 'succeeded' : 'failed',
        outcome.status,
        outcome.durationMs,
        outcome.message?.slice(0, 4000) ?? null,
      ],
    );
  }

  private async call(s: ScheduleRow, runId: string) {
    const body = s.body === null ? undefined : JSON.stringify(s.body);
    if (s.target_kind === 'queue') {
      const started = performance.now();
      const { rows } = await this.db.query<{ id: string }>(
        `SELECT jobs.enqueue($1, $2::jsonb, jsonb_build_object('dedupKey', 'schedule-run:' || $3)) AS id`,
        [s.target, body ?? '{}', runId],
      );
      return {
        ok: true,
        status: 200,
        message: `enqueued job ${rows[0]!.id}`,
        durationMs: Math.round(performance.now() - started),
      };
    }
    const headers: Record<string, string> = {};
    if (s.headers_sealed) {
      const given = JSON.parse(this.box.decrypt(s.headers_sealed)) as Record<string, string>;
      const env = secretNames(given).length ? await this.secrets.environment({ apiKey: true }) : {};
      for (const [name, value] of Object.entries(given)) {
        headers[name.toLowerCase()] = value.replace(SECRET_REF, (_, key: string) => {
          if (!(key in env)) throw new Error(`secret ${key} does not exist (any more)`);
          return env[key]!;
        });
      }
    }
    headers['x-schedule-id'] = s.id;
    headers['x-schedule-run-id'] = runId;
    const target: Target = { kind: s.target_kind, target: s.target, role: s.target_role };
    const sendsBody =
      s.target_kind === 'sql' || (s.http_method !== 'GET' && s.http_method !== 'DELETE');
    const outcome = await this.targets.run(target, {
      body: sendsBody ? (body ?? (s.target_kind === 'sql' ? 'null' : undefined)) : undefined,
      method: s.http_method,
      headers,
      timeoutMs: this.options.runTimeoutMs,
    });
    return {
      ok: outcome.ok,
      status: outcome.status,
      message: outcome.ok ? outcome.body : (outcome.error ?? null),
      durationMs: outcome.durationMs,
    };
  }

  private async renewLeases(): Promise<void> {
    if (!this.running.size) return;
    await this.db
      .query(
        `UPDATE jobs.schedule_runs SET lease_until = now() + make_interval(secs => $2)
          WHERE id = ANY ($1::uuid[]) AND status = 'running'`,
        [[...this.running.keys()], this.options.leaseSeconds],
      )
      .catch(() => undefined);
  }
}
