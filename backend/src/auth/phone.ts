/**
 * Phone sign-in and phone verification by SMS one-time code.
 *
 * The codes are the same mechanism as mailed codes (codes.ts: 6 digits, HMAC digests, 10
 * minutes, 5 wrong attempts burn a code, single use, sends throttled per number and per IP) on
 * the `sms` channel; the messages go through the configured SmsProvider (sms/).
 *
 * The rules that keep a number from being squatted:
 * - Sending a sign-in code answers the same whether or not the number has an account; the
 *   look-up and the SMS happen after the answer.
 * - Only a proven number (`phone_verified`) signs anybody in. A number a user asked to add but
 *   has not proven never blocks its owner and never opens the account that claimed it: the owner
 *   signing in with it gets their own account, and the unproven claims on it are dropped.
 * - A number joins an account only with a code sent to it, and that code is bound to the user
 *   who asked (`<user id>/<number>`), so nobody else can use it.
 * - A proven number belongs to one account (a unique index on proven numbers).
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { User } from '@kiln/shared-schemas';
import type { Database, Tx } from '../core/db.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { PG, pgCode } from '../core/sql.js';
import { CODE_TTL_MINUTES, OneTimeCodes } from './codes.js';
import { USER_COLUMNS, toUser, type AuthService, type UserRow } from './service.js';
import { smsNotConfigured, type SmsProvider } from './sms/provider.js';

export interface PhoneFlowOptions {
  /** HMAC key for code digests (the same as the mailed codes'). */
  key: Buffer;
  /** Country for numbers written without +country code (SMS_DEFAULT_COUNTRY). */
  defaultCountry?: string;
  appName: string;
  logger: Logger;
}

const phoneTaken = () =>
  new AppError(
    409,
    'AUTH_PHONE_EXISTS',
    'phone: another account has proven this number',
    'Sign in to that account with the number instead',
  );

export class PhoneFlows {
  private readonly codes: OneTimeCodes;

  constructor(
    private readonly db: Database,
    private readonly auth: AuthService,
    private readonly sms: SmsProvider,
    private readonly options: PhoneFlowOptions,
  ) {
    this.codes = new OneTimeCodes(db, options.key);
  }

  /** A number in E.164, or 400 AUTH_INVALID_PHONE. */
  normalise(raw: string): string {
    const parsed = parsePhoneNumberFromString(
      raw.trim(),
      this.options.defaultCountry as CountryCode | undefined,
    );
    if (!parsed?.isValid()) {
      const shown = raw.slice(0, 40);
      throw new AppError(
        400,
        'AUTH_INVALID_PHONE',
        `phone: "${shown}" is not a valid phone number`,
        this.options.defaultCountry
          ? 'Write it with its country code (+14155550123) or as a national number'
          : 'Write it with its country code, e.g. +14155550123',
      );
    }
    return parsed.number;
  }

  private assertAvailable(): void {
    if (!this.sms.available) throw smsNotConfigured();
  }

  private message(code: string): string {
    return `${this.options.appName}: your code is ${code}. It expires in ${CODE_TTL_MINUTES} minutes.`;
  }

  // ---- sign-in ---------------------------------------------------------------------------

  /**
   * A sign-in code to any valid number (a number without an account becomes one when the code is
   * used, unless sign-up is disabled). Answers the number as understood.
   */
  async sendSignInCode(rawPhone: string, ip: string | undefined): Promise<string> {
    const phone = this.normalise(rawPhone);
    this.assertAvailable();
    await this.codes.throttle('sms', phone, ip, 'otp');
    this.afterAnswer(async () => {
      const user = await this.findByProvenPhone(phone);
      if (!user && (await this.auth.getConfig()).disableSignup) return;
      const code = await this.codes.issue('sms', phone, 'otp');
      await this.sms.send({ to: phone, body: this.message(code) });
    });
    return phone;
  }

  /**
   * The code from the SMS: the account whose proven number it is, or a new account with this
   * number (proven). The caller finishes the sign-in (second factor, session).
   */
  async signIn(rawPhone: string, otp: string): Promise<User> {
    const phone = this.normalise(rawPhone);
    this.assertAvailable();
    await this.codes.use('sms', phone, 'otp', otp);
    const existing = await this.findByProvenPhone(phone);
    if (existing) return existing;
    if ((await this.auth.getConfig()).disableSignup) {
      throw new AppError(
        403,
        'AUTH_SIGNUP_DISABLED',
        'Sign-up is disabled for this project',
        'Sign in with an existing account, or ask an admin to create one',
      );
    }
    try {
      return await this.db.transaction(async (tx) => {
        // The account has no mailbox: its address is a placeholder nobody can receive mail at
        // (like an anonymous user's); the user can give it a real one (PATCH /users/current/email).
        const { rows } = await tx.query<UserRow>(
          `WITH n AS (SELECT gen_random_uuid() AS id)
           INSERT INTO auth.users (id, email, email_verified, inbox_confirmed, phone, phone_verified)
           SELECT id, id::text || '@phone.invalid', false, true, $1, true FROM n
           RETURNING ${USER_COLUMNS}`,
          [phone],
        );
        const user = rows[0]!;
        await this.dropUnprovenClaims(tx, phone, user.id);
        return toUser(user);
      });
    } catch (err) {
      // Another request with a code for this number created the account a moment ago.
      if (pgCode(err) === PG.uniqueViolation) {
        const winner = await this.findByProvenPhone(phone);
        if (winner) return winner;
      }
      throw err;
    }
  }

  // ---- a signed-in user's number ---------------------------------------------------------

  /**
   * A code to a number the signed-in user wants on their account. Until it is proven, the number
   * shows on the account as unverified (when the account has no proven number; a proven one
   * stays until the new one is proven) and signs nobody in.
   */
  async sendVerification(userId: string, rawPhone: string, ip: string | undefined) {
    const phone = this.normalise(rawPhone);
    this.assertAvailable();
    const current = await this.userRow(userId);
    if (current.is_anonymous) {
      throw new AppError(
        400,
        'AUTH_NOT_A_USER_SESSION',
        'An anonymous user cannot add a phone number: sign in with it instead',
        'POST /api/auth/phone/send-otp',
      );
    }
    if (current.phone === phone && current.phone_verified) {
      throw new AppError(400, 'AUTH_INVALID_PHONE', 'phone: this is already your number');
    }
    const owner = await this.findByProvenPhone(phone);
    if (owner) throw phoneTaken();
    await this.codes.throttle('sms', phone, ip, 'change-phone');
    await this.db.query(
      `UPDATE auth.users SET phone = $2, phone_verified = false
        WHERE id = $1 AND (phone IS NULL OR NOT phone_verified)`,
      [userId, phone],
    );
    const code = await this.codes.issue('sms', `${userId}/${phone}`, 'change-phone');
    await this.sms.send({ to: phone, body: this.message(code) });
    return phone;
  }

  /** The code sent to the number: it becomes the account's proven number. */
  async verify(userId: string, rawPhone: string, otp: string): Promise<User> {
    const phone = this.normalise(rawPhone);
    await this.codes.use('sms', `${userId}/${phone}`, 'change-phone', otp);
    try {
      return await this.db.transaction(async (tx) => {
        const { rows } = await tx.query<UserRow>(
          `UPDATE auth.users SET phone = $2, phone_verified = true
            WHERE id = $1 AND NOT is_anonymous RETURNING ${USER_COLUMNS}`,
          [userId, phone],
        );
        if (!rows[0]) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No such user');
        await this.dropUnprovenClaims(tx, phone, userId);
        return toUser(rows[0]);
      });
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation) throw phoneTaken();
      throw err;
    }
  }

  /**
   * The user's number goes, unless it is their only way to sign in (no password, no provider
   * identity, no mailbox).
   */
  async remove(userId: string): Promise<User> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{
        password_hash: string | null;
        email: string;
        identities: number;
        phone_verified: boolean;
      }>(
        `SELECT password_hash, email, phone_verified,
                (SELECT count(*)::int FROM auth.identities i WHERE i.user_id = u.id) AS identities
           FROM auth.users u WHERE id = $1 FOR UPDATE`,
        [userId],
      );
      const row = rows[0];
      if (!row) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No such user');
      const mailbox = !row.email.endsWith('.invalid');
      if (row.phone_verified && !row.password_hash && !row.identities && !mailbox) {
        throw new AppError(
          400,
          'AUTH_LAST_SIGN_IN_METHOD',
          'This number is your only way to sign in: add an email address or a provider first',
        );
      }
      const updated = await tx.query<UserRow>(
        `UPDATE auth.users SET phone = NULL, phone_verified = false WHERE id = $1
         RETURNING ${USER_COLUMNS}`,
        [userId],
      );
      return toUser(updated.rows[0]!);
    });
  }

  // ---- internals -------------------------------------------------------------------------

  private async findByProvenPhone(phone: string): Promise<User | undefined> {
    const { rows } = await this.db.query<UserRow>(
      `SELECT ${USER_COLUMNS} FROM auth.users WHERE phone = $1 AND phone_verified`,
      [phone],
    );
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  private async userRow(userId: string) {
    const { rows } = await this.db.query<{
      phone: string | null;
      phone_verified: boolean;
      is_anonymous: boolean;
    }>('SELECT phone, phone_verified, is_anonymous FROM auth.users WHERE id = $1', [userId]);
    if (!rows[0]) throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'No such user');
    return rows[0];
  }

  /** The number was proven by `owner`: other accounts' unproven claims on it go. */
  private async dropUnprovenClaims(tx: Tx, phone: string, owner: string): Promise<void> {
    await tx.query(
      `UPDATE auth.users SET phone = NULL WHERE phone = $1 AND NOT phone_verified AND id <> $2`,
      [phone, owner],
    );
  }

  private readonly sending = new Set<Promise<void>>();

  /** As for mail (EmailFlows.afterAnswer): the answer's timing says nothing about the number. */
  private afterAnswer(work: () => Promise<void>): void {
    const done: Promise<void> = work()
      .catch((err: unknown) => {
        this.options.logger.warn('could not send the SMS sign-in code', { error: String(err) });
      })
      .finally(() => this.sending.delete(done));
    this.sending.add(done);
  }

  /** Resolves once every SMS started by a sending endpoint has been handled. */
  async settled(): Promise<void> {
    await Promise.all([...this.sending]);
  }
}
