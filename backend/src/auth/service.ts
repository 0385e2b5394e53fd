import crypto from 'node:crypto';
import { z } from 'zod';
import { METADATA_MAX_CHARS } from '@kiln/shared-schemas';
import type {
  AdminUpdateUserRequest,
  AuthConfig,
  CreateUserRequest,
  ImportUser,
  UpdateAuthConfigRequest,
  User,
} from '@kiln/shared-schemas';
import type { Database, Tx } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { PG, pgCode } from '../core/sql.js';
import { safeEqual } from '../core/crypto.js';
import { ADMIN_SUBJECT, type AccessClaims, type TokenService } from '../core/auth/tokens.js';
import { assertClaimsHookExists, runClaimsHook } from './claims.js';
import {
  burnPasswordCheck,
  hashPassword,
  needsRehash,
  passwordProblems,
  verifyPassword,
} from './passwords.js';
import type { CsrfTokens, SessionContext, SessionStore } from './sessions.js';
import { ProjectAdmins } from './admins.js';
import { importUsers } from './user-import.js';

export interface UserRow {
  id: string;
  email: string;
  password_hash: string | null;
  email_verified: boolean;
  profile: Record<string, unknown>;
  metadata: Record<string, unknown>;
  is_anonymous: boolean;
  identity_providers: string[];
  created_at: Date;
  updated_at: Date;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  app_roles: string[];
  banned_until: Date | null;
  phone: string | null;
  phone_verified: boolean;
}

export const USER_COLUMNS =
  'id, email, password_hash, email_verified, profile, metadata, is_anonymous, identity_providers, created_at, updated_at, ' +
  'app_metadata, user_metadata, banned_until, phone, phone_verified, ' +
  'ARRAY(SELECT r.role FROM auth.user_app_roles r WHERE r.user_id = auth.users.id ORDER BY r.role) AS app_roles';

/** 400 when a merged metadata object (its JSON text length) outgrew METADATA_MAX_CHARS. */
function assertMetadataFits(sizes: Record<string, number>): void {
  for (const [field, size] of Object.entries(sizes)) {
    if (size > METADATA_MAX_CHARS) {
      throw new AppError(
        400,
        'INVALID_INPUT',
        `${field}: would hold ${size} characters of JSON; at most ${METADATA_MAX_CHARS} (it travels in every access token)`,
        'Remove keys by setting them to null, or keep large data in a table',
      );
    }
  }
}

/** Merges a metadata patch into a jsonb column: keys replaced, a key set to null removed. */
const mergeMetadata = (column: string, param: string) =>
  `(${column} || ${param}::jsonb) - ARRAY(SELECT k FROM jsonb_each(${param}::jsonb) AS e(k, v) WHERE v = 'null'::jsonb)`;

/** Who a provider (OAuth, ID token) says signed in. */
export interface ProviderIdentity {
  provider: string;
  providerUserId: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
  avatarUrl?: string;
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    emailVerified: row.email_verified,
    providers: row.is_anonymous
      ? ['anonymous']
      : [
          ...(row.password_hash ? ['email'] : []),
          ...row.identity_providers,
          ...(row.phone_verified ? ['phone'] : []),
        ],
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    profile: row.profile,
    metadata: row.metadata,
    ...(row.is_anonymous ? { isAnonymous: true } : {}),
    appMetadata: row.app_metadata,
    userMetadata: row.user_metadata,
    appRoles: row.app_roles,
    bannedUntil: row.banned_until?.toISOString() ?? null,
    phone: row.phone,
    phoneVerified: row.phone_verified,
  };
}

/** 403 while the user is banned (admin PATCH /users/:id {bannedUntil}). */
function assertNotBanned(user: User): void {
  if (user.bannedUntil && Date.parse(user.bannedUntil) > Date.now()) {
    throw new AppError(
      403,
      'AUTH_USER_BANNED',
      `This account is banned until ${user.bannedUntil}`,
      'Ask the project admin to lift the ban',
    );
  }
}

/** A signed-in session as the routes hand it to the client. */
export interface IssuedSession {
  user: User;
  accessToken: string;
  refreshToken: string;
  csrfToken: string;
  sessionId: string;
}

export type SignUpResult =
  | { kind: 'session'; session: IssuedSession }
  | { kind: 'created'; user: User }
  | { kind: 'verification-required' };

/**
 * What came with a proof of the inbox (a verification code or link, a one-time code) besides the
 * proof itself: whatever ties it to the client that chose the account's password before anyone
 * had proven the inbox (see claimInbox).
 */
export interface InboxProof {
  /** Verifiers the client presented (binding cookie, `codeVerifier`); one must match. */
  verifiers?: (string | undefined)[];
  /** The user the request is signed in as (a session of the account itself). */
  sessionUserId?: string;
}

/** The PKCE S256 challenge of a verifier (base64url SHA-256). */
/**
 * The password_binding of a password an admin set (`POST /users` with the API key or an admin
 * token): it survives the first proof of the inbox whoever makes it. (An S256 challenge is 43
 * base64url characters, so it can never equal this.)
 */
export const SET_BY_ADMIN = 'set-by-admin';

export const s256 = (verifier: string) =>
  crypto.createHash('sha256').update(verifier).digest('base64url');

const emailSchema = z.email();

/** Trims and lower-cases an email, or throws AUTH_INVALID_EMAIL. */
export function normaliseEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 320 || !emailSchema.safeParse(email).success) {
    throw new AppError(
      400,
      'AUTH_INVALID_EMAIL',
      `"${raw.slice(0, 100)}" is not a valid email address`,
    );
  }
  return email;
}

const CONFIG_COLUMNS: Record<keyof AuthConfig, string> = {
  requireEmailVerification: 'require_email_verification',
  passwordMinLength: 'password_min_length',
  requireNumber: 'require_number',
  requireLowercase: 'require_lowercase',
  requireUppercase: 'require_uppercase',
  requireSpecialChar: 'require_special_char',
  verifyEmailMethod: 'verify_email_method',
  resetPasswordMethod: 'reset_password_method',
  allowedRedirectUrls: 'allowed_redirect_urls',
  disableSignup: 'disable_signup',
  allowAnonymousSignIn: 'allow_anonymous_sign_in',
  appName: 'app_name',
  logoUrl: 'logo_url',
  primaryColor: 'primary_color',
  defaultTheme: 'default_theme',
  termsUrl: 'terms_url',
  privacyUrl: 'privacy_url',
  allowEmailOtp: 'allow_email_otp',
  allowMagicLink: 'allow_magic_link',
  allowAccountDeletion: 'allow_account_deletion',
  customClaimsHook: 'custom_claims_hook',
};

export interface AuthServiceOptions {
  accessTokenTtlSeconds: number;
  /** How long an admin session lasts from sign-in, refreshes included (ADMIN_TOKEN_TTL_SECONDS). */
  adminTokenTtlSeconds: number;
  adminEmail: string;
  adminPassword: string;
  /** HMAC key for the fingerprint of the admin credentials kept with admin sessions. */
  adminTagKey: Buffer;
}

/** The dashboard admin's session, shaped like a user session (InsForge answers `{user, ...}`). */
export interface IssuedAdminSession extends IssuedSession {
  admin: { sub: string; email: string };
}

/** Users, passwords, sessions and the auth settings. */
export class AuthService {
  /** The dashboard's admins: ADMIN_EMAIL's and users made admins (admins.ts). */
  readonly admins: ProjectAdmins;

  constructor(
    private readonly db: Database,
    private readonly tokens: TokenService,
    private readonly sessions: SessionStore,
    private readonly csrf: CsrfTokens,
    private readonly options: AuthServiceOptions,
  ) {
    this.admins = new ProjectAdmins(db, sessions, options.adminEmail);
  }

  // ---- settings -------------------------------------------------------------------------

  async getConfig(): Promise<AuthConfig & { createdAt: string; updatedAt: string }> {
    const { rows } = await this.db.query<Record<string, unknown>>('SELECT * FROM auth.config');
    const row = rows[0];
    if (!row) throw new Error('auth.config has no row');
    const config = Object.fromEntries(
      Object.entries(CONFIG_COLUMNS).map(([key, column]) => [key, row[column]]),
    ) as AuthConfig;
    return {
      ...config,
      createdAt: (row.created_at as Date).toISOString(),
      updatedAt: (row.updated_at as Date).toISOString(),
    };
  }

  async updateConfig(patch: UpdateAuthConfigRequest) {
    // Checked when it changes (a form saving every setting sends the stored one back as it is).
    if (
      patch.customClaimsHook &&
      patch.customClaimsHook !== (await this.getConfig()).customClaimsHook
    )
      await assertClaimsHookExists(this.db, patch.customClaimsHook);
    const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
    if (entries.length) {
      const sets = entries.map(
        ([key], i) => `${CONFIG_COLUMNS[key as keyof AuthConfig]} = $${i + 1}`,
      );
      await this.db.query(
        `UPDATE auth.config SET ${sets.join(', ')}`,
        entries.map(([, v]) => v),
      );
    }
    return this.getConfig();
  }

  // ---- sign-up / sign-in ----------------------------------------------------------------

  async signUp(
    input: { email: string; password: string; name?: string; autoConfirm?: boolean },
    ctx: SessionContext & { byAdmin: boolean; passwordBinding?: string },
  ): Promise<SignUpResult> {
    const config = await this.getConfig();
    if (!ctx.byAdmin) this.assertSignupOpen(config);
    const email = normaliseEmail(input.email);
    const problems = passwordProblems(input.password, config);
    if (problems.length) {
      throw new AppError(400, 'AUTH_WEAK_PASSWORD', `Password must contain ${problems.join(', ')}`);
    }
    const verified = ctx.byAdmin ? input.autoConfirm !== false : !config.requireEmailVerification;
    const profile = input.name ? { name: input.name } : {};
    const passwordHash = await hashPassword(input.password);
    let row: UserRow;
    try {
      const { rows } = await this.db.query<UserRow>(
        `INSERT INTO auth.users (email, password_hash, email_verified, inbox_confirmed, profile,
                                 password_binding)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${USER_COLUMNS}`,
        [
          email,
          passwordHash,
          verified,
          ctx.byAdmin && verified,
          profile,
          ctx.byAdmin ? SET_BY_ADMIN : (ctx.passwordBinding ?? null),
        ],
      );
      row = rows[0]!;
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation) {
        throw new AppError(
          409,
          'AUTH_EMAIL_EXISTS',
          'A user with this email already exists',
          'Sign in instead, or reset the password',
        );
      }
      throw err;
    }
    const user = toUser(row);
    if (ctx.byAdmin) return { kind: 'created', user };
    if (!verified) return { kind: 'verification-required' };
    return { kind: 'session', session: await this.issueSession(user, ctx) };
  }

  /**
   * An admin creates a user (POST /users with the API key or an admin token), in one
   * transaction: with a password under the project's policy, or without one (`invite`: the
   * invitation link sets it, see EmailFlows.sendInvite); its metadata, application roles
   * (defined ones only) and email-verified (default: true with a password, as `autoConfirm`; false
   * for an invitation, whose acceptance proves the inbox). The admin vouches for the password:
   * a later proof of the inbox keeps it (SET_BY_ADMIN).
   */
  async adminCreateUser(input: CreateUserRequest): Promise<User> {
    const email = normaliseEmail(input.email);
    if (input.invite && input.password !== undefined) {
      throw new AppError(
        400,
        'INVALID_INPUT',
        'password: send a password or invite: true, not both',
      );
    }
    if (!input.invite && input.password === undefined) {
      throw new AppError(
        400,
        'INVALID_INPUT',
        'password: is required (or invite: true to mail the user a link that sets one)',
      );
    }
    let passwordHash: string | null = null;
    if (input.password !== undefined) {
      const problems = passwordProblems(input.password, await this.getConfig());
      if (problems.length) {
        throw new AppError(
          400,
          'AUTH_WEAK_PASSWORD',
          `Password must contain ${problems.join(', ')}`,
        );
      }
      passwordHash = await hashPassword(input.password);
    }
    const verified = input.emailVerified ?? (input.invite ? false : input.autoConfirm !== false);
    const withoutNulls = (m: Record<string, unknown> | undefined) =>
      JSON.stringify(Object.fromEntries(Object.entries(m ?? {}).filter(([, v]) => v !== null)));
    try {
      const id = await this.db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: string; app_size: number; user_size: number }>(
          `INSERT INTO auth.users (email, password_hash, email_verified, inbox_confirmed, profile,
                                   password_binding, app_metadata, user_metadata)
           VALUES ($1, $2, $3, $3, $4, $5, $6::jsonb, $7::jsonb)
           RETURNING id, length(app_metadata::text) AS app_size,
                     length(user_metadata::text) AS user_size`,
          [
            email,
            passwordHash,
            verified,
            input.name ? { name: input.name } : {},
            passwordHash ? SET_BY_ADMIN : null,
            withoutNulls(input.appMetadata),
            withoutNulls(input.userMetadata),
          ],
        );
        const row = rows[0]!;
        assertMetadataFits({ appMetadata: row.app_size, userMetadata: row.user_size });
        if (input.appRoles?.length) await this.setRoles(tx, row.id, input.appRoles);
        return row.id;
      });
      return await this.getUser(id);
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation) {
        throw new AppError(
          409,
          'AUTH_EMAIL_EXISTS',
          'A user with this email already exists',
          'Change the existing user instead (PATCH /api/auth/users/:id)',
        );
      }
      throw err;
    }
  }

  /** Bulk import with existing password hashes, each row answered (user-import.ts). */
  importUsers(rows: ImportUser[]) {
    return importUsers(this.db, rows);
  }

  /** Checks email + password (and verification); the caller decides about a second factor. */
  async authenticate(rawEmail: string, password: string): Promise<User> {
    const email = rawEmail.trim().toLowerCase();
    const { rows } = await this.db.query<UserRow>(
      `SELECT ${USER_COLUMNS} FROM auth.users WHERE lower(email) = $1`,
      [email],
    );
    const row = rows[0];
    const invalid = new AppError(401, 'AUTH_INVALID_CREDENTIALS', 'Invalid email or password');
    if (!row?.password_hash) {
      await burnPasswordCheck(password);
      throw invalid;
    }
    if (!(await verifyPassword(row.password_hash, password))) throw invalid;
    const passwordHash = needsRehash(row.password_hash)
      ? await this.rehash(row.id, row.password_hash, password)
      : row.password_hash;
    if (!row.email_verified && (await this.getConfig()).requireEmailVerification) {
      throw new AppError(
        403,
        'AUTH_NEED_VERIFICATION',
        'Verify your email address before signing in',
        'Use the code or link sent to your email, or request a new one',
      );
    }
    const user = toUser(row);
    assertNotBanned(user);
    this.verifiedPasswords.set(user, passwordHash);
    return user;
  }

  /**
   * A hash Kiln would not write today (imported from another system: bcrypt, scrypt, PBKDF2,
   * argon2i, or argon2id with other parameters) is replaced by argon2id once the password it
   * verified is known; only if it is still the stored one (a concurrent change wins). Answers
   * the hash now stored.
   */
  private async rehash(userId: string, old: string, password: string): Promise<string> {
    const fresh = await hashPassword(password);
    const { rowCount } = await this.db.query(
      'UPDATE auth.users SET password_hash = $3 WHERE id = $1 AND password_hash = $2',
      [userId, old, fresh],
    );
    return rowCount ? fresh : old;
  }

  /**
   * The password hash each user object from authenticate() was checked against: the session
   * is only created while the account still has that password (see SessionStore.create), so a
   * sign-in racing the owner's claim of the inbox (or a reset) cannot outlive it.
   */
  private readonly verifiedPasswords = new WeakMap<User, string>();

  // ---- identities from other providers ----------------------------------------------------

  /**
   * The user behind a provider account: the one already linked; else the account with the same
   * email when the provider vouches for it (linked now); else a new user. An unverified provider
   * email never takes over an existing account.
   */
  async signInWithIdentity(identity: {
    provider: string;
    providerUserId: string;
    email?: string;
    emailVerified: boolean;
    name?: string;
    avatarUrl?: string;
  }): Promise<User> {
    const linked = await this.db.query<{ user_id: string }>(
      `UPDATE auth.identities SET last_sign_in_at = now()
        WHERE provider = $1 AND provider_user_id = $2 RETURNING user_id`,
      [identity.provider, identity.providerUserId],
    );
    if (linked.rows[0]) return this.getUser(linked.rows[0].user_id);
    if (!identity.email) {
      throw new AppError(
        400,
        'AUTH_OAUTH_NO_EMAIL',
        `${identity.provider} did not share an email address for this account`,
        'Allow the email scope with the provider and try again',
      );
    }
    const email = normaliseEmail(identity.email);
    const profile = {
      ...(identity.name ? { name: identity.name } : {}),
      ...(identity.avatarUrl ? { avatar_url: identity.avatarUrl } : {}),
    };
    return this.db.transaction(async (tx) => {
      const existing = await tx.query<UserRow>(
        `SELECT ${USER_COLUMNS} FROM auth.users WHERE lower(email) = $1 AND NOT is_anonymous FOR UPDATE`,
        [email],
      );
      let userId: string;
      if (existing.rows[0]) {
        if (!identity.emailVerified) {
          throw new AppError(
            409,
            'AUTH_OAUTH_EMAIL_UNVERIFIED',
            `An account with ${email} exists, and ${identity.provider} has not verified that this email is yours`,
            'Sign in to the existing account another way',
          );
        }
        userId = existing.rows[0].id;
        await this.claimInbox(tx, userId);
      } else {
        this.assertSignupOpen(await this.getConfig());
        const created = await tx.query<{ id: string }>(
          `INSERT INTO auth.users (email, email_verified, inbox_confirmed, profile)
           VALUES ($1, $2, $2, $3) RETURNING id`,
          [email, identity.emailVerified, profile],
        );
        userId = created.rows[0]!.id;
      }
      await tx.query(
        `INSERT INTO auth.identities (user_id, provider, provider_user_id, email, email_verified, profile)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          userId,
          identity.provider,
          identity.providerUserId,
          email,
          identity.emailVerified,
          profile,
        ],
      );
      await tx.query(
        `UPDATE auth.users SET identity_providers = array_append(identity_providers, $2)
          WHERE id = $1 AND NOT ($2 = ANY(identity_providers))`,
        [userId, identity.provider],
      );
      const { rows } = await tx.query<UserRow>(
        `SELECT ${USER_COLUMNS} FROM auth.users WHERE id = $1`,
        [userId],
      );
      return toUser(rows[0]!);
    });
  }

  /**
   * An anonymous user signs in with a provider: the identity is attached to them and the account
   * becomes a full one, keeping its id (unless that provider account belongs to someone already).
   */
  async upgradeAnonymousWithIdentity(userId: string, identity: ProviderIdentity): Promise<User> {
    const user = await this.db.transaction(async (tx) => {
      await this.assertUpgradable(tx, userId, identity);
      const { rowCount } = await tx.query(
        `UPDATE auth.users SET is_anonymous = false,
                email = coalesce($2, email), email_verified = $3, inbox_confirmed = $3,
                profile = profile || $4::jsonb,
                identity_providers = array_append(identity_providers, $5)
          WHERE id = $1 AND is_anonymous`,
        [
          userId,
          identity.email ? normaliseEmail(identity.email) : null,
          Boolean(identity.email) && identity.emailVerified,
          JSON.stringify({
            ...(identity.name ? { name: identity.name } : {}),
            ...(identity.avatarUrl ? { avatar_url: identity.avatarUrl } : {}),
          }),
          identity.provider,
        ],
      );
      if (!rowCount) {
        throw new AppError(400, 'AUTH_NOT_ANONYMOUS', 'Only an anonymous user can be upgraded');
      }
      await tx.query(
        `INSERT INTO auth.identities (user_id, provider, provider_user_id, email, email_verified)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, provider_user_id) DO NOTHING`,
        [
          userId,
          identity.provider,
          identity.providerUserId,
          identity.email ? normaliseEmail(identity.email) : null,
          identity.emailVerified,
        ],
      );
      const { rows } = await tx.query<UserRow>(
        `SELECT ${USER_COLUMNS} FROM auth.users WHERE id = $1`,
        [userId],
      );
      return toUser(rows[0]!);
    });
    // As with the password upgrade: the anonymous sessions end, the new sign-in starts fresh.
    await this.sessions.revokeAllForUser(userId, 'anonymous_upgraded');
    return user;
  }

  /**
   * A provider identity joins an account whose owner started the flow from a session: an
   * anonymous account becomes a full one (upgradeAnonymousWithIdentity); a full account gains
   * one more way to sign in.
   */
  async attachIdentity(userId: string, identity: ProviderIdentity): Promise<User> {
    const anonymous = await this.isAnonymous(userId);
    if (anonymous) return this.upgradeAnonymousWithIdentity(userId, identity);
    return this.db.transaction(async (tx) => {
      await this.assertLinkable(tx, userId, identity);
      await tx.query(
        `INSERT INTO auth.identities (user_id, provider, provider_user_id, email, email_verified)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, provider_user_id) DO NOTHING`,
        [
          userId,
          identity.provider,
          identity.providerUserId,
          identity.email ? normaliseEmail(identity.email) : null,
          identity.emailVerified,
        ],
      );
      const { rows } = await tx.query<UserRow>(
        `UPDATE auth.users SET identity_providers = ARRAY(
            SELECT DISTINCT provider FROM auth.identities WHERE user_id = $1 ORDER BY provider)
          WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [userId],
      );
      return toUser(rows[0]!);
    });
  }

  /** Would attachIdentity succeed? (Checked when the provider answers.) */
  async checkAttach(userId: string, identity: ProviderIdentity): Promise<void> {
    if (await this.isAnonymous(userId)) return this.checkAnonymousUpgrade(userId, identity);
    await this.db.transaction((tx) => this.assertLinkable(tx, userId, identity));
  }

  private async isAnonymous(userId: string): Promise<boolean> {
    const { rows } = await this.db.query<{ is_anonymous: boolean }>(
      'SELECT is_anonymous FROM auth.users WHERE id = $1',
      [userId],
    );
    if (!rows[0]) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No user with this id');
    return rows[0].is_anonymous;
  }

  private async assertLinkable(tx: Tx, userId: string, identity: ProviderIdentity) {
    const taken = await tx.query<{ user_id: string }>(
      'SELECT user_id FROM auth.identities WHERE provider = $1 AND provider_user_id = $2',
      [identity.provider, identity.providerUserId],
    );
    if (taken.rows[0] && taken.rows[0].user_id !== userId) {
      throw new AppError(
        409,
        'AUTH_IDENTITY_IN_USE',
        `This ${identity.provider} account already belongs to another user`,
      );
    }
  }

  /**
   * A user removes one of their provider identities, unless it is their last way to sign in
   * with a credential of their own (no password and no other identity).
   */
  async unlinkIdentity(userId: string, identityId: string): Promise<User> {
    return this.db.transaction(async (tx) => {
      const { rows: users } = await tx.query<{ password_hash: string | null }>(
        'SELECT password_hash FROM auth.users WHERE id = $1 FOR UPDATE',
        [userId],
      );
      if (!users[0]) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No user with this id');
      const { rows } = await tx.query<{ id: string }>(
        'SELECT id FROM auth.identities WHERE user_id = $1',
        [userId],
      );
      if (!rows.some((r) => r.id === identityId)) {
        throw new AppError(404, 'AUTH_IDENTITY_NOT_FOUND', 'You have no identity with this id');
      }
      if (!users[0].password_hash && rows.length === 1) {
        throw new AppError(
          400,
          'AUTH_LAST_SIGN_IN_METHOD',
          'This is your only way to sign in: set a password or link another provider first',
        );
      }
      await tx.query('DELETE FROM auth.identities WHERE id = $1', [identityId]);
      const updated = await tx.query<UserRow>(
        `UPDATE auth.users SET identity_providers = ARRAY(
            SELECT DISTINCT provider FROM auth.identities WHERE user_id = $1 ORDER BY provider)
          WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [userId],
      );
      return toUser(updated.rows[0]!);
    });
  }

  /** Would upgradeAnonymousWithIdentity succeed? (Checked when the provider answers.) */
  async checkAnonymousUpgrade(userId: string, identity: ProviderIdentity): Promise<void> {
    await this.db.transaction((tx) => this.assertUpgradable(tx, userId, identity));
  }

  private async assertUpgradable(tx: Tx, userId: string, identity: ProviderIdentity) {
    this.assertSignupOpen(await this.getConfig());
    const anon = await tx.query('SELECT 1 FROM auth.users WHERE id = $1 AND is_anonymous', [
      userId,
    ]);
    if (!anon.rowCount) {
      throw new AppError(400, 'AUTH_NOT_ANONYMOUS', 'Only an anonymous user can be upgraded');
    }
    const taken = await tx.query<{ user_id: string }>(
      'SELECT user_id FROM auth.identities WHERE provider = $1 AND provider_user_id = $2',
      [identity.provider, identity.providerUserId],
    );
    if (taken.rows[0] && taken.rows[0].user_id !== userId) {
      throw new AppError(
        409,
        'AUTH_IDENTITY_IN_USE',
        `This ${identity.provider} account already belongs to another user`,
      );
    }
    const email = identity.email ? normaliseEmail(identity.email) : undefined;
    if (email) {
      const owner = await tx.query<{ id: string }>(
        'SELECT id FROM auth.users WHERE lower(email) = $1 AND id <> $2',
        [email, userId],
      );
      if (owner.rows[0]) {
        throw new AppError(409, 'AUTH_EMAIL_EXISTS', 'A user with this email already exists');
      }
    }
  }

  // ---- anonymous users --------------------------------------------------------------------

  async createAnonymous(): Promise<User> {
    if (!(await this.getConfig()).allowAnonymousSignIn) {
      throw new AppError(
        403,
        'AUTH_ANONYMOUS_DISABLED',
        'Anonymous sign-in is not enabled for this project',
        'An admin can enable it with PUT /api/auth/config {allowAnonymousSignIn: true}',
      );
    }
    const { rows } = await this.db.query<UserRow>(
      `WITH n AS (SELECT gen_random_uuid() AS id)
       INSERT INTO auth.users (id, email, is_anonymous)
       SELECT id, id::text || '@anonymous.invalid', true FROM n
       RETURNING ${USER_COLUMNS}`,
    );
    return toUser(rows[0]!);
  }

  /** An anonymous user becomes a full account with the same id. */
  async upgradeAnonymous(
    userId: string,
    input: { email: string; password: string; name?: string },
    passwordBinding?: string,
  ): Promise<{ user: User; needsVerification: boolean }> {
    const config = await this.getConfig();
    this.assertSignupOpen(config);
    const email = normaliseEmail(input.email);
    const problems = passwordProblems(input.password, config);
    if (problems.length) {
      throw new AppError(400, 'AUTH_WEAK_PASSWORD', `Password must contain ${problems.join(', ')}`);
    }
    const passwordHash = await hashPassword(input.password);
    try {
      const { rows } = await this.db.query<UserRow>(
        `UPDATE auth.users SET email = $2, password_hash = $3, is_anonymous = false,
                email_verified = $4, password_binding = $6,
                profile = CASE WHEN $5::text IS NULL THEN profile ELSE profile || jsonb_build_object('name', $5::text) END
          WHERE id = $1 AND is_anonymous RETURNING ${USER_COLUMNS}`,
        [
          userId,
          email,
          passwordHash,
          !config.requireEmailVerification,
          input.name ?? null,
          passwordBinding ?? null,
        ],
      );
      if (!rows[0]) {
        throw new AppError(
          400,
          'AUTH_NOT_ANONYMOUS',
          'Only an anonymous user can be upgraded this way',
        );
      }
      return { user: toUser(rows[0]), needsVerification: config.requireEmailVerification };
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation) {
        throw new AppError(409, 'AUTH_EMAIL_EXISTS', 'A user with this email already exists');
      }
      throw err;
    }
  }

  /** Password sign-in without a second factor (tests and callers that checked MFA already). */
  async signIn(rawEmail: string, password: string, ctx: SessionContext): Promise<IssuedSession> {
    return this.issueSession(await this.authenticate(rawEmail, password), ctx);
  }

  /** Exchanges a refresh token for a new access token and refresh token. */
  async refresh(refreshToken: string): Promise<IssuedSession> {
    const result = await this.sessions.rotate(refreshToken);
    if (!result.ok) {
      const messages = {
        unknown: 'The refresh token is not valid',
        expired: 'The session has expired; sign in again',
        revoked: 'The session has been signed out',
        reused: 'The refresh token was already used; the session has been revoked for safety',
      } as const;
      throw new AppError(401, 'AUTH_UNAUTHORIZED', messages[result.reason], 'Sign in again');
    }
    const user = await this.getUser(result.userId);
    let accessToken: string;
    try {
      assertNotBanned(user);
      accessToken = await this.accessTokenFor(
        user,
        result.sessionId,
        result.aal,
        result.lifetimeEndsAt,
      );
    } catch (err) {
      // Banned, or the custom-claims hook refused or failed: the session ends here.
      await this.sessions.revoke(result.sessionId, 'token_refused');
      throw err;
    }
    return {
      user,
      accessToken,
      refreshToken: result.refreshToken,
      csrfToken: this.csrf.issue(result.refreshToken),
      sessionId: result.sessionId,
    };
  }

  async logout(by: { refreshToken?: string; sessionId?: string }): Promise<void> {
    if (by.refreshToken) await this.sessions.revokeByToken(by.refreshToken, 'logout');
    if (by.sessionId) await this.sessions.revoke(by.sessionId, 'logout');
  }

  csrfMatches(refreshToken: string, presented: string | undefined): boolean {
    return this.csrf.matches(refreshToken, presented);
  }

  // ---- the dashboard admin ----------------------------------------------------------------

  /**
   * Admin sign-in with ADMIN_EMAIL / ADMIN_PASSWORD: a session like a user's (refresh token,
   * short access tokens that name it, revocable), which ends ADMIN_TOKEN_TTL_SECONDS after
   * sign-in at the latest, and as soon as the admin credentials change. A user made admin signs
   * in the same way with their own email and password (see authenticateAdmin; the caller asks for
   * their second factor first when they have one).
   */
  async adminSignIn(
    username: string,
    password: string,
    ctx: SessionContext,
  ): Promise<IssuedAdminSession> {
    return this.startAdminSession(ctx, await this.authenticateAdmin(username, password));
  }

  /**
   * Whose admin credentials these are: undefined for the ADMIN_EMAIL admin, else the user made
   * admin whose email and password they are (401 alike for anything else).
   */
  async authenticateAdmin(username: string, password: string): Promise<User | undefined> {
    const emailOk = safeEqual(username.trim().toLowerCase(), this.options.adminEmail);
    const passwordOk = safeEqual(password, this.options.adminPassword);
    if (emailOk && passwordOk) return undefined;
    const invalid = new AppError(
      401,
      'AUTH_INVALID_CREDENTIALS',
      'Invalid admin email or password',
    );
    let user: User;
    try {
      user = await this.authenticate(username, password);
    } catch (err) {
      if (err instanceof AppError && err.status < 500) throw invalid;
      throw err;
    }
    if (!(await this.admins.isAdmin(user.id))) throw invalid;
    return user;
  }

  /**
   * An admin session: the ADMIN_EMAIL admin's (no user), or a user admin's (`user`, who passed
   * their second factor if they have one), tagged with their current password so that a new
   * password ends it.
   */
  async startAdminSession(ctx: SessionContext, user?: User): Promise<IssuedAdminSession> {
    if (user) assertNotBanned(user);
    const { sessionId, refreshToken } = await this.sessions.createAdmin(
      ctx,
      user ? await this.userAdminTag(user.id) : this.adminTag(),
      this.options.adminTokenTtlSeconds,
      user?.id,
    );
    return this.adminSession(sessionId, refreshToken, user);
  }

  /** The fingerprint of a user admin's credentials (their id and current password hash). */
  private async userAdminTag(userId: string): Promise<Buffer> {
    const { rows } = await this.db.query<{ password_hash: string | null }>(
      'SELECT password_hash FROM auth.users WHERE id = $1',
      [userId],
    );
    return crypto
      .createHmac('sha256', this.options.adminTagKey)
      .update(`user\n${userId}\n${rows[0]?.password_hash ?? crypto.randomUUID()}`)
      .digest();
  }

  /**
   * Exchanges an admin refresh token for a new access token and refresh token. A user admin's
   * session goes on only while they are still an admin, not banned, with the same password.
   */
  async adminRefresh(refreshToken: string): Promise<IssuedAdminSession> {
    const owner = await this.sessions.adminUserOf(refreshToken);
    let tag = this.adminTag();
    let user: User | undefined;
    if (owner) {
      user = await this.getUser(owner).catch(() => undefined);
      const stillAdmin =
        user !== undefined &&
        !(user.bannedUntil && Date.parse(user.bannedUntil) > Date.now()) &&
        (await this.admins.isAdmin(owner));
      tag = stillAdmin ? await this.userAdminTag(owner) : crypto.randomBytes(32);
    }
    const result = await this.sessions.rotate(refreshToken, 'admin', tag);
    if (!result.ok) {
      throw new AppError(
        401,
        'AUTH_UNAUTHORIZED',
        result.reason === 'reused'
          ? 'The refresh token was already used; the session has been revoked for safety'
          : 'The admin session has ended or the refresh token is not valid',
        'Sign in again',
      );
    }
    return this.adminSession(result.sessionId, result.refreshToken, user);
  }

  /** Ends the admin sessions opened with other admin credentials (run at start). */
  endStaleAdminSessions(): Promise<number> {
    return this.sessions.revokeAdmin({ currentTag: this.adminTag() }, 'admin_credentials_changed');
  }

  private adminTag(): Buffer {
    return crypto
      .createHmac('sha256', this.options.adminTagKey)
      .update(`${this.options.adminEmail}\n${this.options.adminPassword}`)
      .digest();
  }

  private async adminSession(
    sessionId: string,
    refreshToken: string,
    asUser?: User,
  ): Promise<IssuedAdminSession> {
    const email = asUser?.email ?? this.options.adminEmail;
    const sub = asUser?.id ?? ADMIN_SUBJECT;
    const now = new Date().toISOString();
    return {
      user: asUser
        ? { ...asUser, metadata: { ...asUser.metadata, role: 'project_admin' } }
        : {
            id: ADMIN_SUBJECT,
            email,
            emailVerified: true,
            providers: ['email'],
            createdAt: now,
            updatedAt: now,
            profile: {},
            metadata: { role: 'project_admin' },
          },
      admin: { sub, email },
      accessToken: await this.tokens.sign(
        { sub, role: 'project_admin', email, sid: sessionId },
        this.options.accessTokenTtlSeconds,
      ),
      refreshToken,
      csrfToken: this.csrf.issue(refreshToken),
      sessionId,
    };
  }

  // ---- users and profiles ---------------------------------------------------------------

  async getUser(id: string): Promise<User> {
    const { rows } = await this.db.query<UserRow>(
      `SELECT ${USER_COLUMNS} FROM auth.users WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No user with this id');
    return toUser(row);
  }

  /** The provider identities linked to a user (admin view), oldest first. */
  async listIdentities(userId: string) {
    await this.getUser(userId);
    const { rows } = await this.db.query<{
      id: string;
      provider: string;
      provider_user_id: string;
      email: string | null;
      email_verified: boolean;
      created_at: Date;
      last_sign_in_at: Date;
    }>(
      `SELECT id, provider, provider_user_id, email, email_verified, created_at, last_sign_in_at
         FROM auth.identities WHERE user_id = $1 ORDER BY created_at, id`,
      [userId],
    );
    return rows.map((r) => ({
      id: r.id,
      provider: r.provider,
      providerUserId: r.provider_user_id,
      email: r.email,
      emailVerified: r.email_verified,
      createdAt: r.created_at.toISOString(),
      lastSignInAt: r.last_sign_in_at.toISOString(),
    }));
  }

  async getProfile(id: string): Promise<{ id: string; profile: Record<string, unknown> }> {
    const { rows } = await this.db.query<{ id: string; profile: Record<string, unknown> }>(
      'SELECT id, profile FROM auth.users WHERE id = $1',
      [id],
    );
    const row = rows[0];
    if (!row) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No user with this id');
    return row;
  }

  /**
   * The user's own changes: keys merged into the profile and into user_metadata; a key set to
   * null is removed. user_metadata reaches the access token at the next refresh.
   */
  async updateProfile(
    id: string,
    patch: { profile?: Record<string, unknown>; userMetadata?: Record<string, unknown> },
  ) {
    if (JSON.stringify(patch.profile ?? {}).length > 64 * 1024) {
      throw new AppError(400, 'INVALID_INPUT', 'profile: must be at most 64 KiB of JSON');
    }
    const row = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{
        id: string;
        profile: Record<string, unknown>;
        user_metadata: Record<string, unknown>;
        user_size: number;
      }>(
        `UPDATE auth.users SET profile = jsonb_strip_nulls(profile || $2::jsonb),
                user_metadata = ${mergeMetadata('user_metadata', '$3')}
         WHERE id = $1 RETURNING id, profile, user_metadata, length(user_metadata::text) AS user_size`,
        [id, JSON.stringify(patch.profile ?? {}), JSON.stringify(patch.userMetadata ?? {})],
      );
      if (rows[0]) assertMetadataFits({ userMetadata: rows[0].user_size });
      return rows[0];
    });
    if (!row) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No user with this id');
    return { id: row.id, profile: row.profile, userMetadata: row.user_metadata };
  }

  /**
   * An admin changes a user (PATCH /users/:id), in one transaction: email, password (the user's
   * sessions end), email-verified, app/user metadata (merged), application roles (replaced;
   * each must be defined) and a ban (a time in the future ends the user's sessions and refuses
   * sign-ins and refreshes until then; null lifts it).
   */
  async adminUpdateUser(id: string, patch: AdminUpdateUserRequest): Promise<User> {
    await this.getUser(id);
    const email = patch.email !== undefined ? normaliseEmail(patch.email) : undefined;
    let passwordHash: string | undefined;
    if (patch.password !== undefined) {
      const problems = passwordProblems(patch.password, await this.getConfig());
      if (problems.length) {
        throw new AppError(
          400,
          'AUTH_WEAK_PASSWORD',
          `Password must contain ${problems.join(', ')}`,
        );
      }
      passwordHash = await hashPassword(patch.password);
    }
    try {
      await this.db.transaction(async (tx) => {
        const current = await tx.query<{ email: string; is_anonymous: boolean }>(
          'SELECT email, is_anonymous FROM auth.users WHERE id = $1 FOR UPDATE',
          [id],
        );
        const row = current.rows[0];
        if (!row) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No user with this id');
        if (row.is_anonymous && (email !== undefined || passwordHash !== undefined)) {
          throw new AppError(
            400,
            'AUTH_NOT_A_USER_SESSION',
            'An anonymous user has no email or password; it gets them by upgrading',
          );
        }
        if (email !== undefined && email !== row.email.toLowerCase()) {
          // A new address nobody has proven yet; the account stays as it is (the admin vouches
          // for it, as for a password an admin sets), verified only when the admin says so.
          await tx.query(
            `UPDATE auth.users SET email = $2, email_verified = false, inbox_confirmed = false,
                    password_binding = CASE WHEN password_hash IS NULL THEN NULL ELSE $3 END
              WHERE id = $1`,
            [id, email, SET_BY_ADMIN],
          );
        }
        if (passwordHash !== undefined) {
          await tx.query(
            `UPDATE auth.users SET password_hash = $2,
                    password_binding = CASE WHEN inbox_confirmed THEN NULL ELSE $3 END
              WHERE id = $1`,
            [id, passwordHash, SET_BY_ADMIN],
          );
          await this.sessions.revokeAllForUser(id, 'password_set_by_admin', tx);
        }
        if (patch.appMetadata !== undefined || patch.userMetadata !== undefined) {
          const { rows } = await tx.query<{ app_size: number; user_size: number }>(
            `UPDATE auth.users SET app_metadata = ${mergeMetadata('app_metadata', '$2')},
                    user_metadata = ${mergeMetadata('user_metadata', '$3')}
              WHERE id = $1
              RETURNING length(app_metadata::text) AS app_size,
                        length(user_metadata::text) AS user_size`,
            [id, JSON.stringify(patch.appMetadata ?? {}), JSON.stringify(patch.userMetadata ?? {})],
          );
          assertMetadataFits({ appMetadata: rows[0]!.app_size, userMetadata: rows[0]!.user_size });
        }
        if (patch.appRoles !== undefined) await this.setRoles(tx, id, patch.appRoles);
        if (patch.bannedUntil !== undefined) {
          const until = patch.bannedUntil === null ? null : new Date(patch.bannedUntil);
          await tx.query('UPDATE auth.users SET banned_until = $2 WHERE id = $1', [id, until]);
          if (until && until.getTime() > Date.now()) {
            await this.sessions.revokeAllForUser(id, 'banned', tx);
          }
        }
      });
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation) {
        throw new AppError(409, 'AUTH_EMAIL_EXISTS', 'email: another account uses this address');
      }
      throw err;
    }
    if (patch.emailVerified === true) {
      // As if the account's own session proved the inbox: its password and factors stay.
      return (await this.markEmailVerified(id, { sessionUserId: id })).user;
    }
    if (patch.emailVerified === false) {
      await this.db.query('UPDATE auth.users SET email_verified = false WHERE id = $1', [id]);
    }
    return this.getUser(id);
  }

  /** Replaces a user's application roles; 400 naming the roles that are not defined. */
  async setRoles(tx: Tx, userId: string, roles: string[]): Promise<void> {
    const wanted = [...new Set(roles)];
    const { rows } = await tx.query<{ name: string }>(
      'SELECT name FROM auth.app_roles WHERE name = ANY($1::text[])',
      [wanted],
    );
    const known = new Set(rows.map((r) => r.name));
    const unknown = wanted.filter((r) => !known.has(r));
    if (unknown.length) {
      throw new AppError(
        400,
        'AUTH_UNKNOWN_ROLE',
        `appRoles: no role ${unknown.map((r) => `"${r}"`).join(', ')}`,
        'Define roles first with POST /api/auth/roles {name}',
      );
    }
    await tx.query(
      'DELETE FROM auth.user_app_roles WHERE user_id = $1 AND NOT (role = ANY($2::text[]))',
      [userId, wanted],
    );
    await tx.query(
      `INSERT INTO auth.user_app_roles (user_id, role) SELECT $1, unnest($2::text[])
       ON CONFLICT DO NOTHING`,
      [userId, wanted],
    );
  }

  // ---- application roles -----------------------------------------------------------------

  async listRoles() {
    const { rows } = await this.db.query<{
      name: string;
      description: string;
      user_count: number;
      created_at: Date;
    }>(
      `SELECT r.name, r.description, r.created_at,
              (SELECT count(*)::int FROM auth.user_app_roles u WHERE u.role = r.name) AS user_count
         FROM auth.app_roles r ORDER BY r.name`,
    );
    return rows.map((r) => ({
      name: r.name,
      description: r.description,
      userCount: r.user_count,
      createdAt: r.created_at.toISOString(),
    }));
  }

  async createRole(name: string, description = '') {
    const { rowCount } = await this.db.query(
      'INSERT INTO auth.app_roles (name, description) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [name, description],
    );
    if (!rowCount) {
      throw new AppError(409, 'AUTH_ROLE_EXISTS', `A role "${name}" already exists`);
    }
    return (await this.listRoles()).find((r) => r.name === name)!;
  }

  /** Deletes a role; the users who had it lose it (in their next token). */
  async deleteRole(name: string): Promise<void> {
    const { rowCount } = await this.db.query('DELETE FROM auth.app_roles WHERE name = $1', [name]);
    if (!rowCount) throw new AppError(404, 'AUTH_ROLE_NOT_FOUND', `No role "${name}"`);
  }

  async listUsers(query: { search?: string; limit: number; offset: number }) {
    const params: unknown[] = [];
    let where = '';
    if (query.search) {
      params.push(`%${query.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where = `WHERE email ILIKE $1 OR profile ->> 'name' ILIKE $1 OR id::text = $${params.length + 1}`;
      params.push(query.search);
    }
    const [list, count] = await Promise.all([
      this.db.query<UserRow>(
        `SELECT ${USER_COLUMNS} FROM auth.users ${where}
         ORDER BY created_at DESC, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, query.limit, query.offset],
      ),
      this.db.query<{ total: number }>(
        `SELECT count(*)::int AS total FROM auth.users ${where}`,
        params,
      ),
    ]);
    return {
      data: list.rows.map(toUser),
      pagination: { offset: query.offset, limit: query.limit, total: count.rows[0]!.total },
    };
  }

  /** Deletes users and everything Kiln holds about them (see user-data.ts, set by app.ts). */
  private eraseUsers?: (ids: string[]) => Promise<number>;

  useErasure(erase: (ids: string[]) => Promise<number>): void {
    this.eraseUsers = erase;
  }

  async deleteUsers(ids: string[]) {
    let deletedCount: number;
    if (this.eraseUsers) deletedCount = await this.eraseUsers(ids);
    else {
      const { rowCount } = await this.db.transaction(async (tx) => {
        // Their sessions end first (as in UserData.erase): this instance knows at once.
        await this.sessions.revokeAllForUsers(ids, 'user_deleted', tx);
        return tx.query('DELETE FROM auth.users WHERE id = ANY($1::uuid[])', [ids]);
      });
      deletedCount = rowCount ?? 0;
    }

    return {
      message: `Deleted ${deletedCount} user${deletedCount === 1 ? '' : 's'}`,
      deletedCount,
    };
  }

  // ---- email flows (used by the email verification, reset and one-time-code routes) -------

  async findUserByEmail(rawEmail: string): Promise<User | undefined> {
    const { rows } = await this.db.query<UserRow>(
      `SELECT ${USER_COLUMNS} FROM auth.users WHERE lower(email) = $1 AND NOT is_anonymous`,
      [rawEmail.trim().toLowerCase()],
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /**
   * The account at this address whose inbox nobody has proven yet (it may have been created by
   * someone else: see claimInbox), if any.
   */
  async findUnprovenUser(rawEmail: string): Promise<User | undefined> {
    const { rows } = await this.db.query<UserRow>(
      `SELECT ${USER_COLUMNS} FROM auth.users
        WHERE lower(email) = $1 AND NOT is_anonymous AND NOT inbox_confirmed`,
      [rawEmail.trim().toLowerCase()],
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /**
   * A verification code or link was used. It proves the inbox like any other proof (claimInbox):
   * the account's password stays only if the proof came from the client that chose it.
   */
  async markEmailVerified(
    userId: string,
    proof: InboxProof = {},
  ): Promise<{ user: User; passwordCleared: boolean }> {
    const passwordCleared = await this.db.transaction((tx) => this.claimInbox(tx, userId, proof));
    return { user: await this.getUser(userId), passwordCleared };
  }

  /** A one-time code or magic link proved the inbox of an existing account: see claimInbox. */
  async signInByInbox(userId: string, proof: InboxProof = {}): Promise<User> {
    await this.db.transaction((tx) => this.claimInbox(tx, userId, proof));
    return this.getUser(userId);
  }

  /**
   * Someone just proved they own the account's address (a verification code or link, a provider
   * that vouches for it, a one-time code, a password reset by email).
   *
   * The first such proof decides who the account belongs to. Until then it may have been created
   * by somebody else with that address, so the password, the identities whose email was not
   * proven, the sessions they could hold and the provider sign-ins they have not finished (OAuth
   * codes) go, and the inbox owner ends up alone in their
   * account; unless the proof comes from the very client that chose the password (it presented
   * the verifier bound at sign-up, or it is signed in to this account), which shows the one who
   * chose the password is the one who holds the inbox. Answers whether the password went.
   *
   * Once proven, later proofs change nothing: they are a first factor like a password, so a second
   * factor (which only a proven account can enrol, see MfaService.enroll) still applies to the
   * sign-in they start, and no inbox proof can remove it.
   */
  private async claimInbox(tx: Tx, userId: string, proof: InboxProof = {}): Promise<boolean> {
    const { rows } = await tx.query<{
      inbox_confirmed: boolean;
      password_hash: string | null;
      password_binding: string | null;
      has_factor: boolean;
    }>(
      `SELECT inbox_confirmed, password_hash, password_binding,
              EXISTS (SELECT 1 FROM auth.mfa_factors f
                       WHERE f.user_id = u.id AND f.status = 'verified') AS has_factor
         FROM auth.users u WHERE id = $1 FOR UPDATE`,
      [userId],
    );
    const row = rows[0];
    if (!row) return false;
    let passwordCleared = false;
    // A factor always belongs to a proven account (enforced in the database); should one ever be
    // found on an unproven one, it is left in force rather than removed by an inbox proof.
    if (!row.inbox_confirmed && !row.has_factor) {
      const binding = row.password_binding;
      const bound =
        binding === SET_BY_ADMIN ||
        proof.sessionUserId === userId ||
        (binding !== null &&
          (proof.verifiers ?? []).some((v) => v !== undefined && safeEqual(s256(v), binding)));
      // Unfinished enrolments: none can exist on an unproven account, but none may outlive this.
      await tx.query('DELETE FROM auth.mfa_factors WHERE user_id = $1', [userId]);
      await tx.query('DELETE FROM auth.mfa_recovery_codes WHERE user_id = $1', [userId]);
      if (!bound) {
        passwordCleared = row.password_hash !== null;
        await tx.query('DELETE FROM auth.identities WHERE user_id = $1 AND NOT email_verified', [
          userId,
        ]);
        // Sign-ins started before and not yet finished go too: a provider round trip whose code
        // was not exchanged yet would otherwise open the account once it is the owner's.
        await tx.query('DELETE FROM auth.oauth_codes WHERE user_id = $1', [userId]);
        await tx.query(
          `UPDATE auth.users SET password_hash = NULL,
                  identity_providers = ARRAY(SELECT DISTINCT provider FROM auth.identities WHERE user_id = $1)
            WHERE id = $1`,
          [userId],
        );
        await this.sessions.revokeAllForUser(userId, 'inbox_claimed', tx);
      }
    }
    await tx.query(
      `UPDATE auth.users SET email_verified = true, inbox_confirmed = true, password_binding = NULL
        WHERE id = $1`,
      [userId],
    );
    return passwordCleared;
  }

  /** A verified user without a password (first sign-in with a one-time code). */
  async createPasswordlessUser(rawEmail: string): Promise<User> {
    this.assertSignupOpen(await this.getConfig());
    const email = normaliseEmail(rawEmail);
    const { rows } = await this.db.query<UserRow>(
      `INSERT INTO auth.users (email, email_verified, inbox_confirmed) VALUES ($1, true, true)
       ON CONFLICT (lower(email)) DO NOTHING
       RETURNING ${USER_COLUMNS}`,
      [email],
    );
    if (rows[0]) return toUser(rows[0]);
    // Created a moment ago by another request: the code proved this inbox all the same.
    const existing = await this.findUserByEmail(email);
    if (!existing) throw new Error(`user ${email} vanished`);
    return this.signInByInbox(existing.id);
  }

  /**
   * New password under the project's policy, after the inbox was proven by email (see
   * claimInbox); every existing session is signed out. One transaction.
   */
  async resetPassword(userId: string, newPassword: string): Promise<void> {
    const problems = passwordProblems(newPassword, await this.getConfig());
    if (problems.length) {
      throw new AppError(400, 'AUTH_WEAK_PASSWORD', `Password must contain ${problems.join(', ')}`);
    }
    const hash = await hashPassword(newPassword);
    await this.db.transaction(async (tx) => {
      await this.claimInbox(tx, userId);
      await tx.query('UPDATE auth.users SET password_hash = $2 WHERE id = $1', [userId, hash]);
      await this.sessions.revokeAllForUser(userId, 'password_reset', tx);
    });
  }

  /**
   * A signed-in user changes their password: the current one is required when the account has
   * one (an account made by a provider or a mailed code sets its first). Every other session of
   * the user ends; `keepSession` (the caller's) goes on.
   */
  async changePassword(
    userId: string,
    currentPassword: string | undefined,
    newPassword: string,
    keepSession: string | undefined,
  ): Promise<void> {
    const { rows } = await this.db.query<{ password_hash: string | null }>(
      'SELECT password_hash FROM auth.users WHERE id = $1 AND NOT is_anonymous',
      [userId],
    );
    const row = rows[0];
    if (!row) {
      throw new AppError(
        400,
        'AUTH_NOT_A_USER_SESSION',
        'An anonymous account has no password: give it an email and password first',
        'POST /api/auth/anonymous/upgrade',
      );
    }
    if (row.password_hash) {
      const ok =
        currentPassword !== undefined && (await verifyPassword(row.password_hash, currentPassword));
      if (!ok) {
        throw new AppError(
          401,
          'AUTH_INVALID_CREDENTIALS',
          'currentPassword: is not your current password',
        );
      }
    }
    const problems = passwordProblems(newPassword, await this.getConfig());
    if (problems.length) {
      throw new AppError(400, 'AUTH_WEAK_PASSWORD', `Password must contain ${problems.join(', ')}`);
    }
    const hash = await hashPassword(newPassword);
    await this.db.query('UPDATE auth.users SET password_hash = $2 WHERE id = $1', [userId, hash]);
    await this.sessions.revokeOthers(userId, keepSession, 'password_changed');
  }

  /** An address a signed-in user may move to: valid, not theirs already, not another account's. */
  async checkNewEmail(userId: string, rawEmail: string): Promise<string> {
    const email = normaliseEmail(rawEmail);
    const { rows } = await this.db.query<{ id: string }>(
      'SELECT id FROM auth.users WHERE lower(email) = $1',
      [email],
    );
    if (rows[0]?.id === userId) {
      throw new AppError(400, 'AUTH_INVALID_EMAIL', 'email: this is already your address');
    }
    if (rows[0]) {
      throw new AppError(409, 'AUTH_EMAIL_EXISTS', 'email: another account uses this address');
    }
    return email;
  }

  /** The account moves to an address its owner just proved (a code sent there). */
  async changeEmail(userId: string, email: string): Promise<User> {
    try {
      const { rows } = await this.db.query<UserRow>(
        `UPDATE auth.users SET email = $2, email_verified = true, inbox_confirmed = true
          WHERE id = $1 AND NOT is_anonymous RETURNING ${USER_COLUMNS}`,
        [userId, email],
      );
      if (!rows[0]) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No such user');
      return toUser(rows[0]);
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation) {
        throw new AppError(409, 'AUTH_EMAIL_EXISTS', 'email: another account uses this address');
      }
      throw err;
    }
  }

  startSession(
    user: User,
    ctx: SessionContext,
    aal: 'aal1' | 'aal2' = 'aal1',
  ): Promise<IssuedSession> {
    return this.issueSession(user, ctx, aal);
  }

  // ---- internals ------------------------------------------------------------------------

  /**
   * The one gate for every way a new account comes to be without an admin: password sign-up,
   * a first sign-in with a one-time code, magic link, OAuth or ID token, and an anonymous user
   * becoming a full account (password or provider).
   */
  private assertSignupOpen(config: AuthConfig): void {
    if (config.disableSignup) {
      throw new AppError(
        403,
        'AUTH_SIGNUP_DISABLED',
        'Sign-up is disabled for this project',
        'Sign in with an existing account, or ask an admin to create one',
      );
    }
  }

  private async issueSession(
    user: User,
    ctx: SessionContext,
    aal: 'aal1' | 'aal2' = 'aal1',
  ): Promise<IssuedSession> {
    assertNotBanned(user);
    const issued = await this.sessions.create(user.id, ctx, aal, this.verifiedPasswords.get(user));
    if (!issued) throw new AppError(401, 'AUTH_INVALID_CREDENTIALS', 'Invalid email or password');
    let accessToken: string;
    try {
      accessToken = await this.accessTokenFor(user, issued.sessionId, aal, issued.lifetimeEndsAt);
    } catch (err) {
      // The custom-claims hook refused or failed: the session it would have started goes too.
      await this.sessions.revoke(issued.sessionId, 'claims_hook_refused');
      throw err;
    }
    return {
      user,
      accessToken,
      refreshToken: issued.refreshToken,
      csrfToken: this.csrf.issue(issued.refreshToken),
      sessionId: issued.sessionId,
    };
  }

  /**
   * A user's access token: Kiln's claims, the user's metadata and application roles (read fresh
   * at every sign-in and refresh), then the project's custom-claims hook if one is set.
   */
  private async accessTokenFor(
    user: User,
    sessionId: string,
    aal: 'aal1' | 'aal2' = 'aal1',
    lifetimeEndsAt?: number,
  ): Promise<string> {
    const claims: AccessClaims = {
      sub: user.id,
      role: 'authenticated',
      email: user.email,
      sid: sessionId,
      aal,
      ...(user.isAnonymous ? { is_anonymous: true } : {}),
      custom: {
        app_metadata: user.appMetadata ?? {},
        user_metadata: user.userMetadata ?? {},
        app_roles: user.appRoles ?? [],
      },
    };
    const { rows } = await this.db.query<{ hook: string | null }>(
      'SELECT custom_claims_hook AS hook FROM auth.config',
    );
    const hook = rows[0]?.hook;
    if (hook) claims.custom = await runClaimsHook(this.db, hook, claims);
    // A session with an absolute lifetime (SESSION_MAX_LIFETIME_SECONDS): no token outlives it.
    const ttl =
      lifetimeEndsAt === undefined
        ? this.options.accessTokenTtlSeconds
        : Math.max(
            1,
            Math.min(
              this.options.accessTokenTtlSeconds,
              lifetimeEndsAt - Math.floor(Date.now() / 1000),
            ),
          );
    return this.tokens.sign(claims, ttl);
  }
}
