/**
 * The audit trail of admin actions (`system.audit_log`): writing records (every record's details
 * pass through auditSafe()), reading, counting and pruning them. What counts as an admin action
 * is decided by the middleware (middleware.ts); the HTTP API is routes.ts.
 */
import type { AuditLogEntry, AuditStatsResponse, ListAuditLogsQuery } from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import { listPage, timeWindow } from '../core/paging.js';
import { auditSafe } from './redact.js';

export interface AuditEntry {
  actor: string;
  actorId?: string | null;
  action: string;
  module: string;
  details?: Record<string, unknown>;
  ip?: string | null;
  /** When the action was taken, if not now (an action recorded once it has ended). */
  at?: Date;
}

const AUDIT_COLUMNS = `id::text, actor, actor_id AS "actorId", action, module, details, ip,
  created_at AS "createdAt"`;
type AuditRow = Omit<AuditLogEntry, 'createdAt' | 'updatedAt' | 'ipAddress'> & { createdAt: Date };

/** A row as the API answers it (InsForge's `ipAddress` and `updatedAt` beside Kiln's fields). */
function toEntry(r: AuditRow): AuditLogEntry {
  const createdAt = r.createdAt.toISOString();
  return { ...r, ipAddress: r.ip, createdAt, updatedAt: createdAt };
}

export class AuditLog {
  /** Records being written (after their responses finished); shutdown and tests wait for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /**
   * Writes one record. Every record's details pass through auditSafe() here, whoever calls:
   * statement text is kept, bound values, secret fields and secret-looking literals are not.
   */
  async record(entry: AuditEntry): Promise<void> {
    await this.db
      .query(
        `INSERT INTO system.audit_log (actor, actor_id, action, module, details, ip, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, coalesce($7::timestamptz, now()))`,
        [
          entry.actor,
          entry.actorId ?? null,
          entry.action,
          entry.module,
          JSON.stringify(auditSafe(entry.details ?? {})),
          entry.ip ?? null,
          entry.at ?? null,
        ],
      )
      .catch((err: unknown) => this.logger.error('audit record failed', { error: String(err) }));
  }

  /** Resolves once every record started so far is written (or has failed and been logged). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Delete records older than the retention period. */
  async prune(retentionDays: number): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM system.audit_log WHERE created_at < now() - make_interval(days => $1)`,
      [retentionDays],
    );
    return rowCount ?? 0;
  }

  /** Writes a record without waiting for it; `settled()` waits for every such write. */
  recordInBackground(entry: AuditEntry): void {
    const written = this.record(entry);
    this.pending.add(written);
    void written.finally(() => this.pending.delete(written));
  }

  /** One page of records, newest first, filtered. */
  async list(q: ListAuditLogsQuery) {
    const page = await listPage<AuditRow>(this.db, {
      select: AUDIT_COLUMNS,
      from: 'system.audit_log',
      filters: [
        { column: 'actor', type: 'text', value: q.actor },
        { column: 'action', type: 'text', value: q.action },
        { column: 'module', type: 'text', value: q.module },
        ...timeWindow('created_at', q.from, q.to),
      ],
      orderBy: 'created_at DESC, id DESC',
      limit: q.limit,
      offset: q.offset,
    });
    return { data: page.rows.map(toEntry), pagination: page.pagination };
  }

  /** Counts of the last `days` days: in all, per module and per (UTC) day. */
  async stats(days: number): Promise<AuditStatsResponse> {
    const [byModule, byDay, total, recent] = await Promise.all([
      this.db.query<{ module: string; count: number }>(
        `SELECT module, count(*)::int AS count FROM system.audit_log
          WHERE created_at > now() - make_interval(days => $1) GROUP BY module ORDER BY count DESC`,
        [days],
      ),
      this.db.query<{ day: string; count: number }>(
        `SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD') AS day, count(*)::int AS count
           FROM system.audit_log WHERE created_at > now() - make_interval(days => $1)
          GROUP BY 1 ORDER BY 1`,
        [days],
      ),
      this.db.query<{ n: number; actors: number; modules: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT actor)::int AS actors,
                count(DISTINCT module)::int AS modules
           FROM system.audit_log WHERE created_at > now() - make_interval(days => $1)`,
        [days],
      ),
      this.db.query<AuditRow>(
        `SELECT ${AUDIT_COLUMNS} FROM system.audit_log
          WHERE created_at > now() - make_interval(days => $1)
          ORDER BY created_at DESC, id DESC LIMIT 10`,
        [days],
      ),
    ]);
    const counts = total.rows[0]!;
    return {
      days,
      total: counts.n,
      byModule: byModule.rows,
      byDay: byDay.rows,
      totalLogs: counts.n,
      uniqueActors: counts.actors,
      uniqueModules: counts.modules,
      actionsByModule: Object.fromEntries(byModule.rows.map((r) => [r.module, r.count])),
      recentActivity: recent.rows.map(toEntry),
    };
  }

  /** Deletes the records older than `before`; returns how many. */
  async purgeBefore(before: string): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM system.audit_log WHERE created_at < $1', [
      before,
    ]);
    return rowCount ?? 0;
  }
}
