/**
 * The dashboard's admins: the ADMIN_EMAIL one from the environment (always there, the first)
 * and users an admin made admins (auth.project_admins, migration 0043). A user admin signs in to
 * the dashboard with their own password and, when they have enrolled one, their own second
 * factor (AuthService.authenticateAdmin, POST /admin/sessions/mfa); their admin access tokens
 * carry their user id as `sub`.
 */
import type { z } from 'zod';
import type { projectAdminSchema } from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { ADMIN_SUBJECT } from '../core/auth/tokens.js';
import type { SessionStore } from './sessions.js';

export type ProjectAdmin = z.infer<typeof projectAdminSchema>;

export class ProjectAdmins {
  constructor(
    private readonly db: Database,
    private readonly sessions: SessionStore,
    private readonly adminEmail: string,
  ) {}

  async isAdmin(userId: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'SELECT 1 FROM auth.project_admins WHERE user_id = $1',
      [userId],
    );
    return (rowCount ?? 0) > 0;
  }

  /** The ADMIN_EMAIL admin first, then the users made admins, oldest grant first. */
  async list(): Promise<ProjectAdmin[]> {
    const { rows } = await this.db.query<{
      user_id: string;
      email: string;
      granted_by: string;
      granted_at: Date;
      mfa: boolean;
    }>(
      `SELECT a.user_id, u.email, a.granted_by, a.granted_at,
              EXISTS (SELECT 1 FROM auth.mfa_factors f
                       WHERE f.user_id = a.user_id AND f.status = 'verified') AS mfa
         FROM auth.project_admins a JOIN auth.users u ON u.id = a.user_id
        ORDER BY a.granted_at, a.user_id`,
    );
    return [
      {
        id: ADMIN_SUBJECT,
        email: this.adminEmail,
        source: 'environment',
        mfa: false,
        grantedAt: null,
        grantedBy: null,
      },
      ...rows.map((r) => ({
        id: r.user_id,
        email: r.email,
        source: 'user' as const,
        mfa: r.mfa,
        grantedAt: r.granted_at.toISOString(),
        grantedBy: r.granted_by,
      })),
    ];
  }

  /** Makes a user an admin (idempotent); an anonymous user cannot be one. */
  async grant(userId: string, grantedBy: string): Promise<ProjectAdmin> {
    const { rows } = await this.db.query<{ is_anonymous: boolean }>(
      'SELECT is_anonymous FROM auth.users WHERE id = $1',
      [userId],
    );
    if (!rows[0]) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No user with this id');
    if (rows[0].is_anonymous) {
      throw new AppError(400, 'AUTH_NOT_ALLOWED', 'An anonymous user cannot be an admin');
    }
    await this.db.query(
      `INSERT INTO auth.project_admins (user_id, granted_by) VALUES ($1, $2)
       ON CONFLICT (user_id) DO NOTHING`,
      [userId, grantedBy.slice(0, 100)],
    );
    return (await this.list()).find((a) => a.id === userId)!;
  }

  /**
   * Takes admin away from a user: their admin sessions end at once (their access tokens with
   * them). The ADMIN_EMAIL admin is the first and last one: it comes from the environment and
   * stays, so the project always keeps an admin.
   */
  async revoke(userId: string): Promise<void> {
    if (userId === ADMIN_SUBJECT) {
      throw new AppError(
        409,
        'AUTH_LAST_ADMIN',
        'The ADMIN_EMAIL admin is the first admin and cannot be removed: it is the one every ' +
          'project keeps',
        'Change ADMIN_EMAIL / ADMIN_PASSWORD to hand it over',
      );
    }
    await this.db.transaction(async (tx) => {
      const { rowCount } = await tx.query('DELETE FROM auth.project_admins WHERE user_id = $1', [
        userId,
      ]);
      if (!rowCount) {
        throw new AppError(404, 'AUTH_ADMIN_NOT_FOUND', 'This user is not an admin');
      }
      await this.sessions.revokeAdminOfUser(userId, 'admin_revoked', tx);
    });
  }
}
