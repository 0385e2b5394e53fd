/**
 * Raw SQL and user migrations. Restricted mode (the default) runs as project_admin on the
 * authenticator connection, so PostgreSQL itself keeps Kiln's schemas out of reach; the
 * unrestricted mode runs as the database owner, for admins who mean it.
 */
import crypto from 'node:crypto';
import type pg from 'pg';
import type { Database, Principal } from '../../core/db.js';
import { AppError, appErrorFromPg } from '../../core/errors.js';
import { PG, isPgError } from '../../core/sql.js';
import { CappedQuery } from './capped-query.js';
import { SYSTEM_SCHEMAS, columnSnapshot } from './introspection.js';

export type SqlMode = 'restricted' | 'unrestricted';

export interface StatementResult {
  command: string;
  rowCount: number | null;
  rows: Record<string, unknown>[];
  fields: Array<{ name: string; dataTypeID: number; dataType?: string }>;
  truncated?: boolean;
  /** The statement's own time, in ms (from the previous one's end). */
  durationMs?: number;
}

export interface SqlRunnerOptions {
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  /** Rows returned per statement at most (the rest is counted, not sent). */
  maxRows: number;
}

interface Run {
  results: StatementResult[];
  notices: Array<{ severity: string; message: string; detail?: string; hint?: string }>;
}

const TRANSACTION_CONTROL =
  /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|SAVEPOINT|RELEASE|ABORT)\b/im;

class Rollback {
  constructor(readonly value: unknown) {}
}

export class SqlRunner {
  private readonly typeNames = new Map<number, string>();

  constructor(
    private readonly db: Database,
    private readonly exposedSchemas: string[],
    private readonly options: SqlRunnerOptions,
  ) {}

  /** POST /advance/rawsql: one or more statements in one transaction. */
  async rawSql(
    principal: Principal,
    input: { query: string; params?: unknown[]; timeoutMs?: number },
    mode: SqlMode,
  ) {
    const timeout = this.timeout(input.timeoutMs);
    const run = await this.inTransaction(principal, mode, timeout, (client) =>
      this.execute(client, input.query, input.params),
    );
    await this.nameTypes(run.results);
    const last =
      [...run.results].reverse().find((r) => r.fields.length > 0) ??
      run.results[run.results.length - 1];
    return {
      rows: last?.rows ?? [],
      rowCount: last?.rowCount ?? null,
      fields: last?.fields ?? [],
      statements: run.results,
      notices: run.notices,
      mode,
    };
  }

  async listMigrations() {
    const { rows } = await this.db.query<{
      version: string;
      name: string;
      checksum: string;
      applied_by: string | null;
      applied_at: Date;
      sql: string;
    }>(
      'SELECT version, name, checksum, applied_by, applied_at, sql FROM system.user_migrations ORDER BY version',
    );
    return rows.map((r) => ({
      version: r.version,
      name: r.name,
      // Kiln records a migration's SQL as one text (statements sent as a list are joined).
      statements: [r.sql],
      createdAt: r.applied_at.toISOString(),
      checksum: r.checksum,
      appliedBy: r.applied_by,
      sql: r.sql,
    }));
  }

  /** Applies a migration (or, with dryRun, runs and rolls it back) and reports what changed. */
  async migrate(
    principal: Principal,
    m: { version: string; name: string; sql?: string; statements?: string[] },
    dryRun: boolean,
  ) {
    const sql = m.sql ?? m.statements!.join(';\n');
    const control = TRANSACTION_CONTROL.exec(sql);
    if (control) {
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        `sql: migrations run in one transaction already; remove "${control[1]}"`,
      );
    }
    const checksum = crypto.createHash('sha256').update(sql).digest('hex');
    const timeout = this.timeout(undefined);
    const work = async (client: pg.PoolClient) => {
      const existing = await client.query(
        'SELECT checksum FROM system.user_migrations WHERE version = $1',
        [m.version],
      );
      if (existing.rowCount) {
        throw new AppError(
          409,
          'DATABASE_DUPLICATE',
          `Migration ${m.version} has already been applied`,
          'Use a new version number',
        );
      }
      const before = await columnSnapshot(client, this.exposedSchemas);
      const run = await this.execute(client, sql);
      const after = await columnSnapshot(client, this.exposedSchemas);
      // When it was (or, dry, would have been) recorded: the transaction's clock either way.
      const {
        rows: [recorded],
      } = dryRun
        ? await client.query<{ at: Date }>('SELECT now() AS at')
        : await client.query<{ at: Date }>(
            'INSERT INTO system.user_migrations (version, name, sql, checksum, applied_by) VALUES ($1, $2, $3, $4, $5) RETURNING applied_at AS at',
            [m.version, m.name, sql, checksum, principal.email ?? principal.credential],
          );
      return {
        message: dryRun
          ? `Migration ${m.version} ran and was rolled back (dry run)`
          : `Migration ${m.version} applied`,
        version: m.version,
        name: m.name,
        createdAt: recorded!.at.toISOString(),
        checksum,
        dryRun,
        applied: !dryRun,
        statements: run.results.map((r) => ({ command: r.command, rowCount: r.rowCount })),
        notices: run.notices,
        changes: diffSnapshots(before, after),
      };
    };
    return this.inTransaction(principal, 'restricted', timeout, async (client) => {
      const result = await work(client);
      if (dryRun) throw new Rollback(result);
      return result;
    });
  }

  private timeout(requested: number | undefined): number {
    const t = requested ?? this.options.defaultTimeoutMs;
    return Math.min(t, this.options.maxTimeoutMs);
  }

  private async inTransaction<T>(
    principal: Principal,
    mode: SqlMode,
    timeoutMs: number,
    fn: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    // Unrestricted SQL runs on Kiln's own pool, of which it may hold only a bounded share
    // (core/db.ts withAdminSql): a long query cannot starve sign-ins, storage or realtime. A
    // session-level SET (search_path, role) in the admin's SQL must not stay on a connection of
    // Kiln's own pool: that one is closed rather than reused.
    const where = mode === 'restricted' ? 'admin' : 'owner';
    return this.db.withAdminSql(
      where,
      async (client) => {
        try {
          await client.query('BEGIN');
          // What SQL of an earlier request left on the connection with a session-level SET, a
          // temporary table or a held cursor, does not apply to this one (core/db.ts does the same for every
          // request transaction).
          await client.query('RESET ALL; DISCARD TEMP; CLOSE ALL');
          if (mode === 'restricted') {
            await client.query(`SET LOCAL ROLE project_admin`);
            await client.query(`SELECT set_config('request.jwt.claims', $1, true)`, [
              JSON.stringify(principal.claims),
            ]);
          } else {
            // Kiln's own connection resolves names in pg_catalog only (core/search-path.ts); the
            // admin's SQL names its tables as users do.
            await client.query(
              `SELECT pg_catalog.set_config('search_path', '"$user", public', true)`,
            );
          }
          await client.query(`SELECT set_config('statement_timeout', $1, true)`, [
            String(timeoutMs),
          ]);
          const result = await fn(client);
          await client.query('COMMIT');
          return result;
        } catch (err) {
          try {
            await client.query('ROLLBACK');
          } catch (rollbackErr) {
            // The connection goes (withAdminSql closes it after an error); the cause is told.
            throw err instanceof Rollback ? rollbackErr : this.explain(err, mode);
          }
          if (err instanceof Rollback) return err.value as T;
          throw this.explain(err, mode);
        }
      },
      { discard: mode === 'unrestricted' },
    );
  }

  private async execute(client: pg.PoolClient, query: string, params?: unknown[]): Promise<Run> {
    // The protocol ends a query's text at a NUL byte: PostgreSQL would answer with a protocol
    // violation (08P01) and may drop the connection. Refused before anything is sent.
    if (query.includes('\0')) {
      throw new AppError(
        400,
        'INVALID_INPUT',
        'query: the SQL contains a NUL character, which no SQL text can hold',
      );
    }
    const notices: Run['notices'] = [];
    const onNotice = (n: {
      severity?: string;
      message?: string;
      detail?: string;
      hint?: string;
    }) => {
      notices.push({
        severity: n.severity ?? 'NOTICE',
        message: n.message ?? '',
        ...(n.detail ? { detail: n.detail } : {}),
        ...(n.hint ? { hint: n.hint } : {}),
      });
    };
    client.on('notice', onNotice);
    try {
      // With params: one statement (extended protocol). Without: any number (simple protocol).
      // At most maxRows rows of each result are kept in memory (capped-query.ts).
      const list = await new CappedQuery(
        query,
        params && params.length ? params : undefined,
        this.options.maxRows,
      ).run(client);
      return {
        results: list.map(({ result: r, dropped, durationMs }) => ({
          command: r.command,
          rowCount: r.rowCount,
          rows: r.rows,
          fields: (r.fields ?? []).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
          ...(dropped > 0 ? { truncated: true } : {}),
          ...(durationMs !== undefined ? { durationMs } : {}),
        })),
        notices,
      };
    } finally {
      client.off('notice', onNotice);
    }
  }

  /** A PostgreSQL error as an envelope with its position; restricted-mode denials explained. */
  private explain(err: unknown, mode: SqlMode): unknown {
    if (err instanceof AppError || !isPgError(err)) return err;
    const pgErr = err;
    const appError = appErrorFromPg(pgErr);
    if (mode === 'restricted' && pgErr.code === PG.insufficientPrivilege) {
      const system =
        SYSTEM_SCHEMAS.some((s) => pgErr.message.includes(s)) ||
        /schema system|schema auth/.test(pgErr.message);
      return new AppError(
        403,
        'DATABASE_PERMISSION_DENIED',
        system
          ? `Restricted mode: Kiln's own schemas (${SYSTEM_SCHEMAS.join(', ')}) are off limits (${pgErr.message})`
          : `Restricted mode runs as project_admin: ${pgErr.message}`,
        'Use POST /api/database/advance/rawsql/unrestricted if you really mean to touch them',
        appError.extra,
      );
    }
    return appError;
  }

  private async nameTypes(results: StatementResult[]): Promise<void> {
    const missing = [...new Set(results.flatMap((r) => r.fields.map((f) => f.dataTypeID)))].filter(
      (oid) => !this.typeNames.has(oid),
    );
    if (missing.length) {
      const { rows } = await this.db.query<{ oid: number; name: string }>(
        'SELECT oid::int, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1::oid[])',
        [missing],
      );
      for (const r of rows) this.typeNames.set(r.oid, r.name);
    }
    for (const r of results)
      for (const f of r.fields) f.dataType = this.typeNames.get(f.dataTypeID);
  }
}

function diffSnapshots(
  before: Map<string, Map<string, string>>,
  after: Map<string, Map<string, string>>,
) {
  const createdTables = [...after.keys()].filter((t) => !before.has(t));
  const droppedTables = [...before.keys()].filter((t) => !after.has(t));
  const addedColumns: string[] = [];
  const droppedColumns: string[] = [];
  const changedColumns: string[] = [];
  for (const [table, cols] of after) {
    const old = before.get(table);
    if (!old) continue;
    for (const [c, type] of cols) {
      if (!old.has(c)) addedColumns.push(`${table}.${c} ${type}`);
      else if (old.get(c) !== type) changedColumns.push(`${table}.${c} ${old.get(c)} → ${type}`);
    }
    for (const c of old.keys()) if (!cols.has(c)) droppedColumns.push(`${table}.${c}`);
  }
  return { createdTables, droppedTables, addedColumns, droppedColumns, changedColumns };
}
