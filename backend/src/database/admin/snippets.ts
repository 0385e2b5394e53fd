/**
 * The SQL editor's memory, in Kiln's own schema (migration 0033): snippets admins save, and the
 * history of raw SQL runs (newest SQL_HISTORY_KEEP only; older runs are pruned as new ones are
 * recorded, so the table never grows without bound).
 */
import type { Database, Principal } from '../../core/db.js';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

/** Runs kept in the history (the newest). */
export const SQL_HISTORY_KEEP = 1000;
/** SQL longer than this is kept cut (a 5 MB migration pasted in the editor is not history). */
const HISTORY_SQL_MAX = 100_000;

interface SnippetRow {
  id: string;
  name: string;
  sql: string;
  folder: string | null;
  description: string | null;
  created_by: string;
  updated_by: string;
  created_at: Date;
  updated_at: Date;
}

interface HistoryRow {
  id: string;
  sql: string;
  mode: 'restricted' | 'unrestricted';
  status: 'success' | 'error';
  duration_ms: number;
  row_count: string | null;
  error_code: string | null;
  error_message: string | null;
  error_position: number | null;
  run_by: string;
  created_at: Date;
}

const snippetOut = (r: SnippetRow) => ({
  id: r.id,
  name: r.name,
  sql: r.sql,
  folder: r.folder,
  description: r.description,
  createdBy: r.created_by,
  updatedBy: r.updated_by,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const historyOut = (r: HistoryRow) => ({
  id: Number(r.id),
  sql: r.sql,
  mode: r.mode,
  status: r.status,
  durationMs: r.duration_ms,
  rowCount: r.row_count === null ? null : Number(r.row_count),
  errorCode: r.error_code,
  errorMessage: r.error_message,
  errorPosition: r.error_position,
  runBy: r.run_by,
  createdAt: r.created_at.toISOString(),
});

/** Who an admin is, for "saved by" and "run by". */
export const actorOf = (p: Principal): string => p.email ?? p.sub ?? p.credential;

/** `%`, `_` and `\` taken literally in an ILIKE pattern. */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

const SNIPPET_COLUMNS =
  'id, name, sql, folder, description, created_by, updated_by, created_at, updated_at';

export interface HistoryRecord {
  sql: string;
  mode: 'restricted' | 'unrestricted';
  status: 'success' | 'error';
  durationMs: number;
  rowCount: number | null;
  errorCode?: string;
  errorMessage?: string;
  errorPosition?: number;
}

export class SqlEditorStore {
  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  // ---- snippets ----------------------------------------------------------------------------

  async listSnippets(q: { folder?: string; search?: string; limit: number; offset: number }) {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.folder !== undefined) {
      args.push(q.folder);
      where.push(`folder = $${args.length}`);
    }
    if (q.search) {
      args.push(`%${likeEscape(q.search)}%`);
      where.push(
        `(name ILIKE $${args.length} OR description ILIKE $${args.length} OR sql ILIKE $${args.length})`,
      );
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [list, total] = await Promise.all([
      this.db.query<SnippetRow>(
        `SELECT ${SNIPPET_COLUMNS} FROM system.sql_snippets ${filter}
          ORDER BY folder NULLS FIRST, name, id LIMIT ${q.limit} OFFSET ${q.offset}`,
        args,
      ),
      this.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM system.sql_snippets ${filter}`,
        args,
      ),
    ]);
    return {
      data: list.rows.map(snippetOut),
      pagination: { offset: q.offset, limit: q.limit, total: total.rows[0]?.n ?? 0 },
    };
  }

  async getSnippet(id: string) {
    const { rows } = await this.db.query<SnippetRow>(
      `SELECT ${SNIPPET_COLUMNS} FROM system.sql_snippets WHERE id = $1`,
      [id],
    );
    if (!rows[0]) throw notFound(id);
    return snippetOut(rows[0]!);
  }

  async createSnippet(
    principal: Principal,
    b: { name: string; sql: string; folder?: string | null; description?: string | null },
  ) {
    const by = actorOf(principal);
    const { rows } = await this.db.query<SnippetRow>(
      `INSERT INTO system.sql_snippets (name, sql, folder, description, created_by, updated_by)
       VALUES ($1, $2, $3, $4, $5, $5) RETURNING ${SNIPPET_COLUMNS}`,
      [b.name, b.sql, b.folder ?? null, b.description ?? null, by],
    );
    return snippetOut(rows[0]!);
  }

  async updateSnippet(
    principal: Principal,
    id: string,
    b: { name?: string; sql?: string; folder?: string | null; description?: string | null },
  ) {
    const sets: string[] = [];
    const args: unknown[] = [id, actorOf(principal)];
    for (const [key, column] of [
      ['name', 'name'],
      ['sql', 'sql'],
      ['folder', 'folder'],
      ['description', 'description'],
    ] as const) {
      if (b[key] === undefined) continue;
      args.push(b[key]);
      sets.push(`${column} = $${args.length}`);
    }
    const { rows } = await this.db.query<SnippetRow>(
      `UPDATE system.sql_snippets SET ${sets.join(', ')}, updated_by = $2, updated_at = now()
        WHERE id = $1 RETURNING ${SNIPPET_COLUMNS}`,
      args,
    );
    if (!rows[0]) throw notFound(id);
    return snippetOut(rows[0]!);
  }

  async deleteSnippet(id: string) {
    const { rowCount } = await this.db.query('DELETE FROM system.sql_snippets WHERE id = $1', [id]);
    if (!rowCount) throw notFound(id);
    return { success: true as const, message: `Snippet ${id} deleted` };
  }

  // ---- history -----------------------------------------------------------------------------

  /** Records one run and prunes beyond the newest SQL_HISTORY_KEEP; never fails the caller. */
  async record(principal: Principal, r: HistoryRecord): Promise<void> {
    try {
      await this.db.query(
        `WITH added AS (
           INSERT INTO system.sql_history
             (sql, mode, status, duration_ms, row_count, error_code, error_message, error_position, run_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id)
         DELETE FROM system.sql_history
          WHERE id <= (SELECT id - $10 FROM added)`,
        [
          r.sql.length > HISTORY_SQL_MAX ? r.sql.slice(0, HISTORY_SQL_MAX) : r.sql,
          r.mode,
          r.status,
          Math.round(r.durationMs),
          r.rowCount,
          r.errorCode ?? null,
          r.errorMessage?.slice(0, 10_000) ?? null,
          r.errorPosition ?? null,
          actorOf(principal),
          SQL_HISTORY_KEEP,
        ],
      );
    } catch (err) {
      this.logger.warn('SQL history: the run could not be recorded', { error: String(err) });
    }
  }

  async listHistory(q: {
    status?: 'success' | 'error';
    search?: string;
    limit: number;
    offset: number;
  }) {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.status) {
      args.push(q.status);
      where.push(`status = $${args.length}`);
    }
    if (q.search) {
      args.push(`%${likeEscape(q.search)}%`);
      where.push(`sql ILIKE $${args.length}`);
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [list, total] = await Promise.all([
      this.db.query<HistoryRow>(
        `SELECT id, sql, mode, status, duration_ms, row_count, error_code, error_message,
                error_position, run_by, created_at
           FROM system.sql_history ${filter}
          ORDER BY id DESC LIMIT ${q.limit} OFFSET ${q.offset}`,
        args,
      ),
      this.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM system.sql_history ${filter}`,
        args,
      ),
    ]);
    return {
      data: list.rows.map(historyOut),
      pagination: { offset: q.offset, limit: q.limit, total: total.rows[0]?.n ?? 0 },
    };
  }

  async clearHistory() {
    const { rowCount } = await this.db.query('DELETE FROM system.sql_history');
    return { deletedCount: rowCount ?? 0 };
  }
}

function notFound(id: string) {
  return new AppError(404, 'DATABASE_NOT_FOUND', `No SQL snippet with id ${id}`);
}
