/**
 * A user's own data: the export of everything Kiln holds about them, and their erasure.
 *
 * Export (`GET /api/auth/users/me/export`): profile and metadata, identities, sessions, MFA
 * factors (never their secrets), the storage objects they own (metadata and a signed download
 * URL each, not the bytes: an archive of a user's files could be gigabytes, and the URLs fetch
 * them one by one), the realtime messages they sent, the audit entries about them, and, for each
 * table of the exposed schemas with a column whose default is `auth.uid()`, the rows where that
 * column is the caller, read as the caller (their RLS policies apply).
 *
 * Erasure (self-service `DELETE /api/auth/users/me` and `/users/current`, admin `DELETE
 * /api/auth/users`): one transaction runs the project's deletion hook (AUTH_USER_DELETION_HOOK,
 * so the app deletes or anonymises its own rows), deletes the storage objects the user owns,
 * their pending uploads, the realtime messages they sent, the one-time codes and send records of
 * their addresses, keeps their AI usage without the user id, and deletes the user (sessions,
 * identities, factors, recovery codes, roles go with it by cascade; every live access token of
 * theirs is refused from then on). The objects' bytes are deleted once it commits (local disk
 * or S3). The audit trail keeps its entries (it is the record of the deletion itself).
 */
import type { UserDataExport } from '@kiln/shared-schemas';
import type { Database, Principal, Tx } from '../core/db.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { PG, isPgError, quoteIdent } from '../core/sql.js';
import type { StorageService } from '../storage/service.js';
import { quoteFunctionName } from './claims.js';
import type { AuthService } from './service.js';
import type { SessionStore } from './sessions.js';

export interface UserDataOptions {
  /** Schemas whose tables the export searches for owner columns (DB_EXPOSED_SCHEMAS). */
  exposedSchemas: string[];
  /** `fn(user_id uuid)` run in the deleting transaction (AUTH_USER_DELETION_HOOK). */
  deletionHook?: string;
  /** How long the download URLs of an export work. */
  downloadUrlSeconds?: number;
  /** The deleted users' sessions end through it (this instance knows at once: sessions.ts). */
  sessions: SessionStore;
  logger: Logger;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** What a route that deletes users may answer because of the deletion hook or the app's rows. */
export const ERASURE_ERRORS = {
  409: ['AUTH_DELETION_REFUSED', 'AUTH_USER_REFERENCED'],
  500: ['AUTH_DELETION_HOOK_FAILED'],
};

export class UserData {
  constructor(
    private readonly db: Database,
    private readonly auth: AuthService,
    private readonly storage: StorageService,
    private readonly options: UserDataOptions,
  ) {}

  // ---- export ----------------------------------------------------------------------------

  async export(principal: Principal): Promise<UserDataExport> {
    const userId = principal.sub!;
    const user = await this.auth.getUser(userId);
    const [identities, sessions, factors, objects, messages, audit, tables] = await Promise.all([
      this.auth.listIdentities(userId),
      this.db.query<{
        id: string;
        client_type: string;
        user_agent: string | null;
        ip: string | null;
        created_at: Date;
        last_used_at: Date;
        expires_at: Date;
        revoked_at: Date | null;
        revoked_reason: string | null;
      }>(
        `SELECT id, client_type, user_agent, ip, created_at, last_used_at, expires_at, revoked_at,
                revoked_reason
           FROM auth.sessions WHERE user_id = $1 ORDER BY created_at, id`,
        [userId],
      ),
      this.db.query<{
        id: string;
        type: 'totp';
        friendly_name: string | null;
        status: 'unverified' | 'verified';
        created_at: Date;
        verified_at: Date | null;
      }>(
        `SELECT id, type, friendly_name, status, created_at, verified_at
           FROM auth.mfa_factors WHERE user_id = $1 ORDER BY created_at, id`,
        [userId],
      ),
      this.db.query<{
        bucket: string;
        key: string;
        size: string;
        mime_type: string;
        metadata: Record<string, unknown>;
        created_at: Date;
        updated_at: Date;
      }>(
        `SELECT bucket, key, size, mime_type, metadata, created_at, updated_at
           FROM storage.objects WHERE owner = $1 ORDER BY bucket, key`,
        [userId],
      ),
      this.db.query<{
        id: string;
        channel: string;
        event: string;
        payload: unknown;
        created_at: Date;
      }>(
        `SELECT id, channel, event, payload, created_at FROM realtime.messages
          WHERE sender_id = $1 AND sender_type = 'user' ORDER BY created_at, id`,
        [userId],
      ),
      // Entries by the user, and entries whose target or details name them (an admin's change).
      this.db.query<{
        id: string;
        actor: string;
        action: string;
        module: string;
        details: unknown;
        created_at: Date;
      }>(
        `SELECT id, actor, action, module, details, created_at FROM system.audit_log
          WHERE actor_id = $1 OR strpos(action, $2) > 0 OR strpos(details::text, $2) > 0
          ORDER BY id`,
        [userId, userId],
      ),
      this.ownedRows(principal),
    ]);
    const expiresIn = this.options.downloadUrlSeconds ?? 3600;
    const storageObjects = [];
    for (const o of objects.rows) {
      const link = await this.storage.downloadStrategy(principal, o.bucket, o.key, expiresIn);
      storageObjects.push({
        bucket: o.bucket,
        key: o.key,
        size: Number(o.size),
        mimeType: o.mime_type,
        metadata: o.metadata,
        createdAt: o.created_at.toISOString(),
        updatedAt: o.updated_at.toISOString(),
        downloadUrl: link.url,
        downloadExpiresAt: link.expiresAt,
      });
    }
    return {
      format: 'kiln-user-export/1',
      exportedAt: new Date().toISOString(),
      user,
      identities,
      sessions: sessions.rows.map((s) => ({
        id: s.id,
        clientType: s.client_type,
        userAgent: s.user_agent,
        ip: s.ip,
        createdAt: s.created_at.toISOString(),
        lastUsedAt: s.last_used_at.toISOString(),
        expiresAt: s.expires_at.toISOString(),
        revokedAt: iso(s.revoked_at),
        revokedReason: s.revoked_reason,
      })),
      mfaFactors: factors.rows.map((f) => ({
        id: f.id,
        type: f.type,
        friendlyName: f.friendly_name,
        status: f.status,
        createdAt: f.created_at.toISOString(),
        verifiedAt: iso(f.verified_at),
      })),
      storageObjects,
      realtimeMessages: messages.rows.map((m) => ({
        id: m.id,
        channel: m.channel,
        event: m.event,
        payload: m.payload,
        createdAt: m.created_at.toISOString(),
      })),
      auditEntries: audit.rows.map((a) => ({
        id: Number(a.id),
        actor: a.actor,
        action: a.action,
        module: a.module,
        details: a.details,
        createdAt: a.created_at.toISOString(),
      })),
      tables,
    };
  }

  /**
   * The tables of the exposed schemas with a column defaulting to `auth.uid()` that signed-in
   * users may read, and the caller's rows in each, read as the caller.
   */
  private async ownedRows(principal: Principal): Promise<UserDataExport['tables']> {
    const { rows: owners } = await this.db.query<{
      schema: string;
      table: string;
      column: string;
    }>(
      `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
         FROM pg_catalog.pg_attrdef d
         JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
         JOIN pg_catalog.pg_class c ON c.oid = d.adrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p') AND NOT a.attisdropped
          AND pg_catalog.regexp_replace(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '[\\s()]', '', 'g')
              = 'auth.uid'
          AND pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT')
        ORDER BY 1, 2, 3`,
      [this.options.exposedSchemas],
    );
    const tables: UserDataExport['tables'] = [];
    for (const o of owners) {
      const target = `${quoteIdent(o.schema)}.${quoteIdent(o.table)}`;
      try {
        const { rows } = await this.db.withPrincipal(principal, (tx) =>
          tx.query<{ row: Record<string, unknown> }>(
            `SELECT pg_catalog.to_jsonb(t) AS row FROM ${target} t
              WHERE t.${quoteIdent(o.column)} = auth.uid()`,
          ),
        );
        tables.push({
          schema: o.schema,
          table: o.table,
          ownerColumn: o.column,
          rows: rows.map((r) => r.row),
        });
      } catch (err) {
        // A column the user may not read (column privileges): that table is left out, said in the log.
        if (!isPgError(err) || err.code !== PG.insufficientPrivilege) throw err;
        this.options.logger.warn('user export skipped a table the user may not read', {
          table: `${o.schema}.${o.table}`,
        });
      }
    }
    return tables;
  }

  // ---- erasure ---------------------------------------------------------------------------

  /** Deletes the users and what Kiln holds about them (see the header); answers how many. */
  async erase(ids: string[]): Promise<number> {
    const { count, paths } = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: string; email: string; phone: string | null }>(
        'SELECT id, email, phone FROM auth.users WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
        [ids],
      );
      const found = rows.map((r) => r.id);
      if (!found.length) return { count: 0, paths: [] as string[] };
      for (const id of found) await this.runHook(tx, id);
      const objects = await tx.query<{ storage_path: string }>(
        `DELETE FROM storage.objects WHERE owner = ANY($1::uuid[]) RETURNING storage_path`,
        [found],
      );
      const pending = await tx.query<{ storage_path: string }>(
        `DELETE FROM storage.pending_uploads WHERE owner = ANY($1::uuid[]) RETURNING storage_path`,
        [found],
      );
      await tx.query('DELETE FROM realtime.messages WHERE sender_id = ANY($1::uuid[])', [found]);
      await tx.query('UPDATE ai.usage SET user_id = NULL WHERE user_id = ANY($1::uuid[])', [found]);
      // Codes and send records: by address (email, phone) and by user (`<id>/<address>`).
      const addresses = rows.flatMap((r) => [r.email.toLowerCase(), ...(r.phone ? [r.phone] : [])]);
      const prefixes = found.map((id) => `${id}/%`);
      await tx.query(
        `DELETE FROM auth.email_codes
          WHERE lower(email) = ANY($1::text[]) OR lower(email) LIKE ANY($2::text[])`,
        [addresses, prefixes],
      );
      await tx.query(
        `DELETE FROM auth.email_sends
          WHERE user_id = ANY($3::uuid[]) OR lower(email) = ANY($1::text[])
             OR lower(email) LIKE ANY($2::text[])`,
        [addresses, prefixes, found],
      );
      // Their sessions end first, in this transaction (the cascade would end them too, unseen by
      // this instance until the database's announcement arrives).
      await this.options.sessions.revokeAllForUsers(found, 'user_deleted', tx);
      try {
        await tx.query('DELETE FROM auth.users WHERE id = ANY($1::uuid[])', [found]);
      } catch (err) {
        if (isPgError(err) && err.code === PG.foreignKeyViolation) {
          const table = (err as { table?: string }).table ?? 'a table';
          throw new AppError(
            409,
            'AUTH_USER_REFERENCED',
            `Rows of ${table} still refer to the user (constraint ${(err as { constraint?: string }).constraint ?? 'unknown'})`,
            'Delete or anonymise them in the AUTH_USER_DELETION_HOOK function, or declare the foreign key ON DELETE CASCADE / SET NULL',
          );
        }
        throw err;
      }
      return {
        count: found.length,
        paths: [...objects.rows, ...pending.rows].map((r) => r.storage_path),
      };
    });
    // The bytes, once nothing refers to them (a failure here is retried by the storage sweep).
    for (const p of paths) {
      await this.storage.provider.delete(p).catch((err: unknown) => {
        this.options.logger.warn('could not delete a deleted user’s stored bytes', {
          path: p,
          error: String(err),
        });
      });
    }
    return count;
  }

  /**
   * The project's deletion hook, as project_admin with the user as `auth.uid()`, inside the
   * deleting transaction: its changes and the deletion commit together, or neither does.
   */
  private async runHook(tx: Tx, userId: string): Promise<void> {
    const hook = this.options.deletionHook;
    if (!hook) return;
    try {
      await tx.query(
        `SELECT pg_catalog.set_config('request.jwt.claims', $1, true),
                pg_catalog.set_config('role', 'project_admin', true)`,
        [JSON.stringify({ sub: userId, role: 'project_admin' })],
      );
      await tx.query(`SELECT ${quoteFunctionName(hook)}($1::uuid)`, [userId]);
      await tx.query('RESET ROLE');
    } catch (err) {
      if (!isPgError(err)) throw err;
      if (err.code === PG.raiseException) {
        throw new AppError(
          409,
          'AUTH_DELETION_REFUSED',
          `The deletion hook refused: ${err.message}`.slice(0, 500),
        );
      }
      throw new AppError(
        500,
        'AUTH_DELETION_HOOK_FAILED',
        `The deletion hook ${hook}(uuid) failed (SQLSTATE ${err.code ?? 'unknown'}): ${err.message}`.slice(
          0,
          500,
        ),
        'Fix the function, or unset AUTH_USER_DELETION_HOOK; nothing was deleted',
      );
    }
  }
}
