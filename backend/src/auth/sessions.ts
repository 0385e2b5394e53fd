import crypto from 'node:crypto';
import { afterCommit, type Database, type Tx } from '../core/db.js';
import type { EndedSession, SessionEndings } from '../core/auth/revocations.js';
import { randomToken, sha256 } from '../core/crypto.js';

export interface SessionContext {
  clientType: string;
  userAgent?: string;
  ip?: string;
}

export interface IssuedRefreshToken {
  sessionId: string;
  userId: string;
  refreshToken: string;
  aal: 'aal1' | 'aal2';
  /**
   * When the session's absolute lifetime ends (epoch seconds; SESSION_MAX_LIFETIME_SECONDS), if
   * it has one: no access token of the session may outlive it.
   */
  lifetimeEndsAt?: number;
}

/**
 * The session policy (runtime settings over the environment): an absolute lifetime, an
 * inactivity timeout (0: none) and one session per user. Applies to users' sessions.
 */
export interface SessionPolicy {
  maxLifetimeSeconds: number;
  inactivityTimeoutSeconds: number;
  singleSessionPerUser: boolean;
}

const NO_POLICY: SessionPolicy = {
  maxLifetimeSeconds: 0,
  inactivityTimeoutSeconds: 0,
  singleSessionPerUser: false,
};

export type RotateResult =
  | ({ ok: true } & IssuedRefreshToken)
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'reused' };

/** A user's sign-in, or the dashboard admin's (no user row; see createAdmin). */
export type SessionKind = 'user' | 'admin';

/** A live session as its holder lists it. */
export interface LiveSession {
  id: string;
  client_type: string;
  user_agent: string | null;
  ip: string | null;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
}

/**
 * What every statement that ends sessions answers: the ended sessions and until when their
 * tombstones are kept (as the trigger of migration 0031 records it).
 */
const ENDED = `RETURNING id,
  (pg_catalog.date_part('epoch', tokens_until) * 1000)::float8 AS until_ms`;

/**
 * Sessions and their refresh tokens. Refreshing marks a token rotated and issues its successor.
 * A rotated token presented again more than `reuseGraceSeconds` after its rotation means it was
 * copied, so the whole session (every token in the family) is revoked. Within that window (tabs
 * of one browser sharing the refresh cookie and refreshing at once, or an answer lost to a
 * navigation) it gets another successor in the same session, and the earlier successor stays
 * valid too; 0 makes every reuse a revocation.
 */
/** `client_type`, `user_agent` and `ip` of a new session, in that order, as query parameters. */
function contextParams(ctx: SessionContext): [string, string | null, string | null] {
  return [ctx.clientType, ctx.userAgent?.slice(0, 512) ?? null, ctx.ip ?? null];
}

export class SessionStore {
  constructor(
    private readonly db: Database,
    /**
     * This instance's revocations: every session ended here is known there once its ending
     * committed, before the request that ended it answers (end()).
     */
    private readonly endings: SessionEndings,
    private readonly ttlSeconds: number,
    /**
     * Lifetime of the access tokens issued with each sign-in and refresh: every session records
     * when its latest one expires (`tokens_until`), which is how long its tombstone is kept once
     * it ends (migration 0031), whatever lifetime the instances reading it are configured with.
     */
    private readonly accessTokenTtlSeconds: number,
    /** REFRESH_TOKEN_REUSE_GRACE_SECONDS: how long a rotated token may still be exchanged. */
    private readonly reuseGraceSeconds = 0,
  ) {}

  private policy: () => Promise<SessionPolicy> = () => Promise.resolve(NO_POLICY);

  /**
   * Runs a statement that ends sessions (its SQL ends with ENDED) and answers how many it ended.
   * Every session ends through here: the database announces it to every instance (migration
   * 0026), but this instance's own listener may hear that only after the request that ended it
   * has answered, and a client using the token right after must find it refused. So this instance
   * learns the ids itself, once the change committed: at once without `tx`, when `tx` commits
   * otherwise (never if it rolls back: a live session would be refused).
   */
  private async end(sql: string, params: unknown[], tx?: Tx): Promise<number> {
    type Row = { id: string; until_ms: number | null };
    const { rows } = tx ? await tx.query<Row>(sql, params) : await this.db.query<Row>(sql, params);
    if (rows.length) {
      const ended: EndedSession[] = rows.map((r) => ({ id: r.id, untilMs: r.until_ms }));
      if (tx) afterCommit(tx, () => this.endings.endedHere(ended));
      else this.endings.endedHere(ended);
    }
    return rows.length;
  }

  /** Where the session policy comes from (app.ts: the runtime settings); none until set. */
  setPolicy(policy: () => Promise<SessionPolicy>): void {
    this.policy = policy;
  }

  /**
   * A new session with its first refresh token. With `passwordHash` (a password sign-in), only
   * while the user still has that password: the user row is read FOR SHARE, so a concurrent
   * claim of the inbox or password reset either sees this session (and revokes it) or makes
   * this insert find nothing (undefined). A banned user gets none either (a ban and the end of
   * the user's sessions commit together: see AuthService.adminUpdateUser).
   */
  async create(
    userId: string,
    ctx: SessionContext,
    aal: 'aal1' | 'aal2' = 'aal1',
    passwordHash?: string,
  ): Promise<IssuedRefreshToken | undefined> {
    const refreshToken = randomToken();
    const policy = await this.policy();
    const { rows } = await this.db.query<{ session_id: string; ends_at: number | null }>(
      `WITH u AS (
         SELECT id FROM auth.users
          WHERE id = $1 AND ($8::text IS NULL OR password_hash = $8)
            AND (banned_until IS NULL OR banned_until <= now())
          FOR SHARE
       ), s AS (
         INSERT INTO auth.sessions (user_id, client_type, user_agent, ip, expires_at, aal,
                                    tokens_until)
         SELECT id, $2, $3, $4,
                now() + pg_catalog.make_interval(
                  secs => CASE WHEN $10::int > 0 THEN LEAST($5::int, $10::int) ELSE $5::int END),
                $7, now() + pg_catalog.make_interval(secs => $9) FROM u RETURNING id
       )
       INSERT INTO auth.refresh_tokens (token_hash, session_id) SELECT $6, id FROM s
       RETURNING session_id,
                 CASE WHEN $10::int > 0
                      THEN pg_catalog.date_part('epoch', now())::float8 + $10::int END AS ends_at`,
      [
        userId,
        ...contextParams(ctx),
        this.ttlSeconds,
        sha256(refreshToken),
        aal,
        passwordHash ?? null,
        this.accessTokenTtlSeconds,
        policy.maxLifetimeSeconds,
      ],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (policy.singleSessionPerUser) {
      // Newest wins: the sessions begun before this one end (their access tokens at once).
      await this.end(
        `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = 'single_session'
          WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL
            AND created_at <= (SELECT created_at FROM auth.sessions WHERE id = $2)
         ${ENDED}`,
        [userId, row.session_id],
      );
    }
    return {
      sessionId: row.session_id,
      userId,
      refreshToken,
      aal,
      ...(row.ends_at !== null ? { lifetimeEndsAt: Math.floor(row.ends_at) } : {}),
    };
  }

  /**
   * A dashboard admin's session: a row without a user that ends `ttlSeconds` from now however
   * often it is refreshed. `adminTag` fingerprints the admin credentials it was opened with.
   */
  async createAdmin(
    ctx: SessionContext,
    adminTag: Buffer,
    ttlSeconds: number,
    adminUserId?: string,
  ): Promise<{ sessionId: string; refreshToken: string }> {
    const refreshToken = randomToken();
    const { rows } = await this.db.query<{ session_id: string }>(
      `WITH s AS (
         INSERT INTO auth.sessions (kind, admin_tag, client_type, user_agent, ip, expires_at,
                                    tokens_until, admin_user_id)
         VALUES ('admin', $1, $2, $3, $4, now() + pg_catalog.make_interval(secs => $5),
                 now() + pg_catalog.make_interval(secs => $7), $8) RETURNING id
       )
       INSERT INTO auth.refresh_tokens (token_hash, session_id) SELECT $6, id FROM s
       RETURNING session_id`,
      [
        adminTag,
        ...contextParams(ctx),
        ttlSeconds,
        sha256(refreshToken),
        this.accessTokenTtlSeconds,
        adminUserId ?? null,
      ],
    );
    return { sessionId: rows[0]!.session_id, refreshToken };
  }

  /**
   * The user an admin session's refresh token was opened by (a user made admin), null for the
   * ADMIN_EMAIL admin's, undefined for a token of no admin session.
   */
  async adminUserOf(refreshToken: string): Promise<string | null | undefined> {
    const { rows } = await this.db.query<{ admin_user_id: string | null }>(
      `SELECT s.admin_user_id FROM auth.refresh_tokens rt
         JOIN auth.sessions s ON s.id = rt.session_id
        WHERE rt.token_hash = $1 AND s.kind = 'admin'`,
      [sha256(refreshToken)],
    );
    return rows[0] ? rows[0].admin_user_id : undefined;
  }

  /** Ends the admin sessions a user opened (their admin role was taken away). */
  async revokeAdminOfUser(userId: string, reason: string, tx?: Tx): Promise<number> {
    return this.end(
      `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = $2
        WHERE admin_user_id = $1 AND revoked_at IS NULL ${ENDED}`,
      [userId, reason],
      tx,
    );
  }

  /** Live admin sessions, newest first. */
  async listAdmin() {
    const { rows } = await this.db.query<LiveSession>(
      `SELECT id, client_type, user_agent, ip, created_at, last_used_at, expires_at
         FROM auth.sessions WHERE kind = 'admin' AND revoked_at IS NULL AND expires_at > now()
        ORDER BY last_used_at DESC`,
    );
    return rows;
  }

  /**
   * Ends admin sessions: one (`only`), all but one (`keep`), or those opened with other admin
   * credentials than `currentTag` (ADMIN_EMAIL / ADMIN_PASSWORD changed).
   */
  async revokeAdmin(
    by: { only?: string; keep?: string; currentTag?: Buffer },
    reason: string,
  ): Promise<number> {
    return this.end(
      `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = $4
        WHERE kind = 'admin' AND revoked_at IS NULL
          AND ($1::uuid IS NULL OR id = $1)
          AND ($2::uuid IS NULL OR id <> $2)
          AND ($3::bytea IS NULL OR (admin_user_id IS NULL AND admin_tag IS DISTINCT FROM $3))
        ${ENDED}`,
      [by.only ?? null, by.keep ?? null, by.currentTag ?? null, reason],
    );
  }

  /**
   * Exchanges a refresh token of a session of `kind` for its successor. User sessions slide
   * (each refresh extends them); admin sessions end at the time fixed when they began, and only
   * while the admin credentials are still those they were opened with (`adminTag`).
   */
  async rotate(
    refreshToken: string,
    kind: SessionKind = 'user',
    adminTag?: Buffer,
  ): Promise<RotateResult> {
    const next = randomToken();
    const policy = kind === 'user' ? await this.policy() : NO_POLICY;
    const { rows } = await this.db.query<{
      session_id: string;
      user_id: string;
      aal: 'aal1' | 'aal2';
      ends_at: number | null;
    }>(
      `WITH used AS (
         -- A token not rotated yet, or rotated less than the grace ago (the window runs from its
         -- first rotation, which is kept). Concurrent exchanges of one token queue on its row
         -- lock and each re-checks this on the row as the one before left it, so within the
         -- window every one of them gets a successor, and with no grace only the first does.
         UPDATE auth.refresh_tokens rt SET rotated_at = coalesce(rt.rotated_at, now())
         FROM auth.sessions s
         WHERE rt.token_hash = $1
           AND (rt.rotated_at IS NULL
                OR ($7::int > 0 AND rt.rotated_at > now() - pg_catalog.make_interval(secs => $7)))
           AND s.id = rt.session_id AND s.revoked_at IS NULL AND s.expires_at > now()
           AND s.kind = $4 AND ($4 = 'user' OR s.admin_tag = $5)
           -- The session policy: an absolute lifetime and an inactivity timeout (0: none).
           AND ($8::int = 0 OR s.created_at > now() - pg_catalog.make_interval(secs => $8))
           AND ($9::int = 0 OR s.last_used_at > now() - pg_catalog.make_interval(secs => $9))
         RETURNING rt.session_id, s.user_id, s.aal,
                   CASE WHEN $8::int > 0
                        THEN pg_catalog.date_part('epoch', s.created_at)::float8 + $8::int
                   END AS ends_at
       ), touched AS (
         -- Re-checked on the row as it is now: a revocation that committed meanwhile wins (no
         -- token is issued for a session whose tombstone may already be written).
         UPDATE auth.sessions SET last_used_at = now(),
                expires_at = CASE WHEN kind = 'admin' THEN expires_at
                                  WHEN $8::int > 0 THEN LEAST(
                                    now() + pg_catalog.make_interval(secs => $3),
                                    created_at + pg_catalog.make_interval(secs => $8))
                                  ELSE now() + pg_catalog.make_interval(secs => $3) END,
                tokens_until = GREATEST(tokens_until, now() + pg_catalog.make_interval(secs => $6))
         WHERE id = (SELECT session_id FROM used) AND revoked_at IS NULL
         RETURNING id
       )
       INSERT INTO auth.refresh_tokens (token_hash, session_id)
       SELECT $2, id FROM touched
       RETURNING session_id, (SELECT user_id FROM used) AS user_id, (SELECT aal FROM used) AS aal,
                 (SELECT ends_at FROM used) AS ends_at`,
      [
        sha256(refreshToken),
        sha256(next),
        this.ttlSeconds,
        kind,
        adminTag ?? null,
        this.accessTokenTtlSeconds,
        this.reuseGraceSeconds,
        policy.maxLifetimeSeconds,
        policy.inactivityTimeoutSeconds,
      ],
    );
    const row = rows[0];
    if (row)
      return {
        ok: true,
        sessionId: row.session_id,
        userId: row.user_id,
        refreshToken: next,
        aal: row.aal,
        ...(row.ends_at !== null ? { lifetimeEndsAt: Math.floor(row.ends_at) } : {}),
      };
    return { ok: false, reason: await this.diagnose(refreshToken, kind, policy) };
  }

  /**
   * Why a token was refused; revokes the session when the token was already used and its reuse
   * window is over.
   */
  private async diagnose(
    refreshToken: string,
    kind: SessionKind,
    policy: SessionPolicy = NO_POLICY,
  ): Promise<'unknown' | 'expired' | 'revoked' | 'reused'> {
    const { rows } = await this.db.query<{
      session_id: string;
      reused: boolean;
      revoked_at: Date | null;
      expired: boolean;
      policy_ended: boolean;
    }>(
      `SELECT rt.session_id, s.revoked_at, s.expires_at <= now() AS expired,
              ($4::int > 0 AND s.created_at <= now() - pg_catalog.make_interval(secs => $4))
                OR ($5::int > 0 AND s.last_used_at <= now() - pg_catalog.make_interval(secs => $5))
                AS policy_ended,
              rt.rotated_at IS NOT NULL
                AND ($3::int = 0 OR rt.rotated_at <= now() - pg_catalog.make_interval(secs => $3))
                AS reused
       FROM auth.refresh_tokens rt JOIN auth.sessions s ON s.id = rt.session_id
       WHERE rt.token_hash = $1 AND s.kind = $2`,
      [
        sha256(refreshToken),
        kind,
        this.reuseGraceSeconds,
        policy.maxLifetimeSeconds,
        policy.inactivityTimeoutSeconds,
      ],
    );
    const row = rows[0];
    if (!row) return 'unknown';
    if (row.revoked_at) return 'revoked';
    if (row.expired) return 'expired';
    if (row.policy_ended) {
      // Past its lifetime or idle too long: it ends now, and its access tokens with it.
      await this.revoke(row.session_id, 'session_policy');
      return 'expired';
    }
    if (row.reused) {
      await this.revoke(row.session_id, 'refresh_token_reuse');
      return 'reused';
    }
    return 'unknown';
  }

  async revoke(sessionId: string, reason: string): Promise<void> {
    await this.end(
      `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = $2
        WHERE id = $1 AND revoked_at IS NULL ${ENDED}`,
      [sessionId, reason],
    );
  }

  /** A user's live sessions, newest first. */
  async list(userId: string) {
    const { rows } = await this.db.query<LiveSession & { aal: string }>(
      `SELECT id, client_type, user_agent, ip, aal, created_at, last_used_at, expires_at
         FROM auth.sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
        ORDER BY last_used_at DESC`,
      [userId],
    );
    return rows;
  }

  /** Revokes one session if it belongs to the user. */
  async revokeOwn(userId: string, sessionId: string, reason: string): Promise<boolean> {
    const ended = await this.end(
      `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = $3
        WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL ${ENDED}`,
      [userId, sessionId, reason],
    );
    return ended > 0;
  }

  /** Revokes every live session of a user but one. */
  async revokeOthers(userId: string, keep: string | undefined, reason: string): Promise<number> {
    return this.end(
      `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = $3
        WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2) ${ENDED}`,
      [userId, keep ?? null, reason],
    );
  }

  /**
   * Revokes every live session of a user (password reset, admin action), the admin sessions
   * they opened as a dashboard admin included.
   */
  async revokeAllForUser(userId: string, reason: string, tx?: Tx): Promise<number> {
    return this.revokeAllForUsers([userId], reason, tx);
  }

  /** As revokeAllForUser, for several users (deleted users: before their rows go). */
  async revokeAllForUsers(userIds: string[], reason: string, tx?: Tx): Promise<number> {
    return this.end(
      `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = $2
        WHERE (user_id = ANY($1::uuid[]) OR admin_user_id = ANY($1::uuid[]))
          AND revoked_at IS NULL ${ENDED}`,
      [userIds, reason],
      tx,
    );
  }

  /** Revokes the session a refresh token belongs to. Returns false for an unknown token. */
  async revokeByToken(refreshToken: string, reason: string): Promise<boolean> {
    const ended = await this.end(
      `UPDATE auth.sessions SET revoked_at = coalesce(revoked_at, now()), revoked_reason = coalesce(revoked_reason, $2)
       WHERE id = (SELECT session_id FROM auth.refresh_tokens WHERE token_hash = $1) ${ENDED}`,
      [sha256(refreshToken), reason],
    );
    return ended > 0;
  }
}

/** CSRF tokens for cookie refresh: an HMAC of the refresh token, so nothing extra is stored. */
export class CsrfTokens {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(
      crypto.hkdfSync('sha256', Buffer.from(secret), 'kiln', 'kiln-csrf-v1', 32),
    );
  }

  issue(refreshToken: string): string {
    return crypto.createHmac('sha256', this.key).update(refreshToken).digest('base64url');
  }

  matches(refreshToken: string, presented: string | undefined): boolean {
    if (!presented) return false;
    const expected = Buffer.from(this.issue(refreshToken));
    const given = Buffer.from(presented);
    return expected.length === given.length && crypto.timingSafeEqual(expected, given);
  }
}
