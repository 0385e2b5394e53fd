/**
 * The auth flows that go through someone's inbox: email verification (code or link), password
 * reset (code exchanged for a reset token, or link), one-time sign-in codes and magic links.
 *
 * Codes are 6 digits, links carry 32 random bytes; both are stored only as HMAC digests, expire
 * quickly, work once, and a code allows 5 wrong attempts before it is burned. Sending answers the
 * same whether or not the address has an account, and is throttled per address and per IP.
 */
import crypto from 'node:crypto';
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AuthService, InboxProof } from '../auth/service.js';
import { isAllowedRedirect } from '../auth/redirects.js';
import { passwordProblems } from '../auth/passwords.js';
import type { User } from '@kiln/shared-schemas';
import type { Mailer, SendResult } from './mailer.js';
import type { Templates, TemplateType } from './templates.js';
import { CODE_TTL_MINUTES, OneTimeCodes, invalidCode } from '../auth/codes.js';

export { CODE_TTL_MINUTES, MAX_ATTEMPTS } from '../auth/codes.js';
export const LINK_TTL_MINUTES = 60;
export const RESET_TOKEN_TTL_MINUTES = 15;
/** How long an invitation link works (a user an admin created without a password). */
export const INVITE_TTL_DAYS = 7;

type Purpose = 'verify' | 'reset' | 'reset-token' | 'otp' | 'change-email';

const invalidToken = () =>
  new AppError(
    400,
    'AUTH_INVALID_TOKEN',
    'The link or token is invalid, used or expired',
    'Request a new one',
  );

export interface FlowOptions {
  /** HMAC key for code digests (derived from JWT_SECRET). */
  key: Buffer;
  apiBaseUrl: () => string;
  appName: string;
  logger: Logger;
}

export class EmailFlows {
  /** Codes, attempts and send limits: the mechanism every channel shares (auth/codes.ts). */
  private readonly codes: OneTimeCodes;

  constructor(
    private readonly db: Database,
    private readonly auth: AuthService,
    private readonly mailer: Mailer,
    private readonly templates: Templates,
    private readonly options: FlowOptions,
  ) {
    this.codes = new OneTimeCodes(db, options.key);
  }

  private linkDigest(token: string): Buffer {
    return crypto.createHmac('sha256', this.options.key).update(`link\0${token}`).digest();
  }

  /** Per-address and per-IP limits on sending; the same answer for known and unknown addresses. */
  private throttle(email: string, ip: string | undefined, purpose: string): Promise<void> {
    return this.codes.throttle('email', email, ip, purpose);
  }

  /** A new code replaces the address's earlier ones for the same purpose. */
  private newCode(email: string, purpose: Purpose): Promise<string> {
    return this.codes.issue('email', email, purpose);
  }

  private async newToken(
    email: string,
    purpose: Purpose,
    minutes: number,
    redirectTo?: string,
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = crypto.randomBytes(32).toString('base64url');
    const { rows } = await this.db.query<{ expires_at: Date }>(
      `INSERT INTO auth.email_codes (email, purpose, digest, redirect_to, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(mins => $5)) RETURNING expires_at`,
      [email.toLowerCase(), purpose, this.linkDigest(token), redirectTo ?? null, minutes],
    );
    return { token, expiresAt: rows[0]!.expires_at };
  }

  /** Checks a 6-digit code (attempt limits and single use: OneTimeCodes.use). */
  private useCode(email: string, purpose: Purpose, code: string): Promise<void> {
    return this.codes.use('email', email, purpose, code);
  }

  /** Consumes a link token of one of the purposes; returns its email and redirect. */
  private async useToken(
    token: string,
    purposes: Purpose[],
  ): Promise<{ email: string; redirectTo: string | null }> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) throw invalidToken();
    const { rows } = await this.db.query<{ email: string; redirect_to: string | null }>(
      `UPDATE auth.email_codes SET consumed_at = now()
        WHERE digest = $1 AND purpose = ANY($2) AND consumed_at IS NULL AND expires_at > now()
        RETURNING email, redirect_to`,
      [this.linkDigest(token), purposes],
    );
    if (!rows[0]) throw invalidToken();
    return { email: rows[0].email, redirectTo: rows[0].redirect_to };
  }

  private async mail(
    type: TemplateType,
    to: string,
    vars: Record<string, string>,
  ): Promise<SendResult> {
    const message = await this.templates.render(type, {
      appName: this.options.appName,
      email: to,
      ...vars,
    });
    if (!message) return { delivered: false, mode: 'log' };
    return this.mailer.send({ to, ...message });
  }

  private async checkRedirect(redirectTo: string | undefined): Promise<string | undefined> {
    if (!redirectTo) return undefined;
    const allowed = (await this.auth.getConfig()).allowedRedirectUrls;
    if (!isAllowedRedirect(redirectTo, allowed, this.options.apiBaseUrl())) {
      throw new AppError(
        400,
        'AUTH_REDIRECT_NOT_ALLOWED',
        `redirectTo "${redirectTo.slice(0, 200)}" is not an allowed redirect URL`,
        'Add it to allowedRedirectUrls in PUT /api/auth/config',
      );
    }
    return redirectTo;
  }

  private static withParams(base: string, params: Record<string, string>): string {
    const url = new URL(base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  // ---- verification ----------------------------------------------------------------------

  /**
   * Sends a code or link (per auth config) if the address has an account whose inbox nobody has
   * proven yet: one that waits for verification, or one signed up without it (it must be proven
   * before a second factor can be added).
   */
  async sendVerification(
    email: string,
    ip: string | undefined,
    redirectTo?: string,
  ): Promise<void> {
    const redirect = await this.checkRedirect(redirectTo);
    await this.throttle(email, ip, 'verify');
    this.afterAnswer('verification', async () => {
      const user = await this.auth.findUnprovenUser(email);
      if (!user) return;
      const method = (await this.auth.getConfig()).verifyEmailMethod;
      if (method === 'link') {
        const { token } = await this.newToken(email, 'verify', LINK_TTL_MINUTES, redirect);
        const link = EmailFlows.withParams(
          `${this.options.apiBaseUrl()}/api/auth/email/verify-link`,
          {
            token,
          },
        );
        await this.mail('verify-email-link', user.email, {
          link,
          expiresInMinutes: String(LINK_TTL_MINUTES),
        });
      } else {
        const code = await this.newCode(email, 'verify');
        await this.mail('verify-email-code', user.email, {
          code,
          expiresInMinutes: String(CODE_TTL_MINUTES),
        });
      }
    });
  }

  /**
   * The code flow. A password chosen before the inbox was proven is kept only when the code is
   * used in the client that chose it (`proof`); otherwise it is discarded (`passwordCleared`).
   */
  async verifyWithCode(email: string, code: string, proof: InboxProof = {}) {
    await this.useCode(email, 'verify', code);
    const user = await this.auth.findUserByEmail(email);
    if (!user) throw invalidCode();
    const verified = await this.auth.markEmailVerified(user.id, proof);
    await this.welcome(verified.user, user.emailVerified);
    return verified;
  }

  /**
   * The link flow: verified, then back to the app with insforge_status. The same rule as for
   * codes: opened outside the client that chose the password (another browser, a mail scanner),
   * the link proves the inbox but discards that password.
   */
  async verifyWithLink(
    token: string,
    proof: InboxProof = {},
  ): Promise<{
    redirectTo: string | null;
    ok: boolean;
    error?: string;
    passwordCleared?: boolean;
  }> {
    try {
      const { email, redirectTo } = await this.useToken(token, ['verify']);
      const user = await this.auth.findUserByEmail(email);
      if (!user) return { ok: false, redirectTo, error: 'The account no longer exists' };
      const verified = await this.auth.markEmailVerified(user.id, proof);
      await this.welcome(verified.user, user.emailVerified);
      return { ok: true, redirectTo, passwordCleared: verified.passwordCleared };
    } catch (err) {
      if (err instanceof AppError) return { ok: false, redirectTo: null, error: err.message };
      throw err;
    }
  }

  private async welcome<T extends { email: string; profile: Record<string, unknown> | null }>(
    user: T,
    wasVerified: boolean,
  ): Promise<T> {
    if (!wasVerified) {
      await this.mail('welcome', user.email, {
        name: String(user.profile?.name ?? user.email),
      }).catch((err: unknown) =>
        this.options.logger.warn('welcome mail failed', { error: String(err) }),
      );
    }
    return user;
  }

  // ---- password reset --------------------------------------------------------------------

  async sendReset(email: string, ip: string | undefined, redirectTo?: string): Promise<void> {
    const redirect = await this.checkRedirect(redirectTo);
    await this.throttle(email, ip, 'reset');
    this.afterAnswer('password reset', async () => {
      const user = await this.auth.findUserByEmail(email);
      if (!user) return;
      const method = (await this.auth.getConfig()).resetPasswordMethod;
      if (method === 'link') {
        const { token } = await this.newToken(email, 'reset', LINK_TTL_MINUTES);
        const base = redirect ?? `${this.options.apiBaseUrl()}/auth/reset-password`;
        await this.mail('reset-password-link', user.email, {
          link: EmailFlows.withParams(base, { token, insforge_type: 'reset_password' }),
          expiresInMinutes: String(LINK_TTL_MINUTES),
        });
      } else {
        const code = await this.newCode(email, 'reset');
        await this.mail('reset-password-code', user.email, {
          code,
          expiresInMinutes: String(CODE_TTL_MINUTES),
        });
      }
    });
  }

  /** Code → a reset token (the two-step flow). */
  async exchangeResetCode(email: string, code: string) {
    await this.useCode(email, 'reset', code);
    const { token, expiresAt } = await this.newToken(email, 'reset-token', RESET_TOKEN_TTL_MINUTES);
    return { token, expiresAt: expiresAt.toISOString() };
  }

  /** With a reset token (from the code exchange or the link): new password, sessions revoked. */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    const { email } = await this.useToken(token, ['reset-token', 'reset']);
    const user = await this.auth.findUserByEmail(email);
    if (!user) throw invalidToken();
    await this.auth.resetPassword(user.id, newPassword);
  }

  // ---- invitations (a user an admin created without a password) ---------------------------

  /**
   * Mails an invitation: a link that sets the user's password, valid INVITE_TTL_DAYS and once.
   * It is a password-setting link of the reset link's kind (the hosted /auth/reset-password page,
   * or `redirectTo` when given, takes it), so using it also proves the inbox. Sent before the
   * answer, so the admin learns of a delivery failure (and can send it again).
   */
  async sendInvite(user: User, redirectTo?: string): Promise<{ expiresAt: string }> {
    const redirect = await this.checkRedirect(redirectTo);
    const { token, expiresAt } = await this.newToken(
      user.email,
      'reset',
      INVITE_TTL_DAYS * 24 * 60,
    );
    const base = redirect ?? `${this.options.apiBaseUrl()}/auth/reset-password`;
    await this.mail('invite', user.email, {
      link: EmailFlows.withParams(base, { token, insforge_type: 'invite' }),
      expiresInDays: String(INVITE_TTL_DAYS),
    });
    return { expiresAt: expiresAt.toISOString() };
  }

  /**
   * An invitation (or password-reset) link used: the password is set under the project's policy
   * (checked before the link is spent), the inbox is proven, the user's other sessions end.
   */
  async acceptInvite(token: string, password: string): Promise<User> {
    const problems = passwordProblems(password, await this.auth.getConfig());
    if (problems.length) {
      throw new AppError(400, 'AUTH_WEAK_PASSWORD', `Password must contain ${problems.join(', ')}`);
    }
    const { email } = await this.useToken(token, ['reset']);
    const user = await this.auth.findUserByEmail(email);
    if (!user) throw invalidToken();
    await this.auth.resetPassword(user.id, password);
    return this.auth.getUser(user.id);
  }

  // ---- one-time codes and magic links ----------------------------------------------------

  /**
   * A sign-in code (for any address: a new one becomes a passwordless account when the code is
   * used, unless sign-up is disabled). With `redirectTo`, the mail is a magic link instead.
   */
  async sendOtp(email: string, ip: string | undefined, redirectTo?: string): Promise<void> {
    const redirect = await this.checkRedirect(redirectTo);
    await this.throttle(email, ip, 'otp');
    this.afterAnswer('one-time code', async () => {
      const user = await this.auth.findUserByEmail(email);
      if (!user && (await this.auth.getConfig()).disableSignup) return;
      const to = user?.email ?? email.trim().toLowerCase();
      if (redirect) {
        const { token } = await this.newToken(email, 'otp', CODE_TTL_MINUTES);
        await this.mail('magic-link', to, {
          link: EmailFlows.withParams(redirect, { email: to, token, insforge_type: 'magic_link' }),
          expiresInMinutes: String(CODE_TTL_MINUTES),
        });
      } else {
        const code = await this.newCode(email, 'otp');
        await this.mail('one-time-code', to, { code, expiresInMinutes: String(CODE_TTL_MINUTES) });
      }
    });
  }

  // ---- a signed-in user's new address -------------------------------------------------------

  /**
   * A code to the new address. The code's row is keyed by user and address (`<user id>/<email>`),
   * so only the user who asked can use it, for that address only.
   */
  async sendEmailChange(userId: string, rawEmail: string, ip: string | undefined): Promise<void> {
    const email = await this.auth.checkNewEmail(userId, rawEmail);
    await this.throttle(email, ip, 'change-email');
    const code = await this.newCode(`${userId}/${email}`, 'change-email');
    await this.mail('verify-email-code', email, {
      code,
      expiresInMinutes: String(CODE_TTL_MINUTES),
    });
  }

  /** The code from the new address: the account takes that address (proven). */
  async confirmEmailChange(userId: string, rawEmail: string, code: string) {
    const email = await this.auth.checkNewEmail(userId, rawEmail);
    await this.useCode(`${userId}/${email}`, 'change-email', code);
    return this.auth.changeEmail(userId, email);
  }

  private readonly sending = new Set<Promise<void>>();

  /**
   * The sending endpoints answer once the request is checked and counted; looking the address up
   * and mailing happen after the answer, so its timing tells nobody whether an account exists.
   * Failures go to the log (the caller could not be told without telling that too).
   */
  private afterAnswer(what: string, work: () => Promise<void>): void {
    const done: Promise<void> = work()
      .catch((err: unknown) => {
        this.options.logger.warn(`could not send the ${what} email`, { error: String(err) });
      })
      .finally(() => this.sending.delete(done));
    this.sending.add(done);
  }

  /** Resolves once every email started by a sending endpoint has been handled. */
  async settled(): Promise<void> {
    await Promise.all([...this.sending]);
  }

  /** `POST /sessions {method:'otp', email, otp}`: a 6-digit code or a magic-link token. */
  async signInWithOtp(email: string, otp: string, proof: InboxProof = {}) {
    if (/^\d{6}$/.test(otp)) await this.useCode(email, 'otp', otp);
    else {
      const used = await this.useToken(otp, ['otp']);
      if (used.email !== email.trim().toLowerCase()) throw invalidToken();
    }
    const existing = await this.auth.findUserByEmail(email);
    if (existing) {
      return this.auth.signInByInbox(existing.id, proof);
    }
    return this.auth.createPasswordlessUser(email);
  }
}
