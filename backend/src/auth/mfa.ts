/**
 * Second factors: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, ±1 step of clock drift)
 * through the `otpauth` package, with one-use recovery codes. A user with a verified factor who
 * proves the first factor gets a short-lived `mfaToken` instead of a session; the session comes
 * from `POST /mfa/challenge` and carries `aal: 'aal2'`.
 */
import crypto from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import type { SecretBox } from '../core/crypto.js';

const PERIOD = 30;
const MFA_TOKEN_TTL_SECONDS = 300;
const MAX_FAILURES = 5;
const RECOVERY_CODES = 10;

export function totpFor(secretBase32: string, label = 'user', issuer = 'Kiln', digits = 6) {
  return new OTPAuth.TOTP({
    issuer,
    label,
    algorithm: 'SHA1',
    digits,
    period: PERIOD,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
  });
}

interface FactorRow {
  id: string;
  user_id: string;
  type: 'totp';
  friendly_name: string | null;
  secret_encrypted: string;
  status: 'unverified' | 'verified';
  last_step: string | null;
  created_at: Date;
  verified_at: Date | null;
}

const factorJson = (f: FactorRow) => ({
  id: f.id,
  type: f.type,
  friendlyName: f.friendly_name,
  status: f.status,
  createdAt: f.created_at.toISOString(),
  verifiedAt: f.verified_at?.toISOString() ?? null,
});

const wrongCode = () =>
  new AppError(400, 'AUTH_MFA_INVALID_CODE', 'The code is wrong, expired or already used');

export class MfaService {
  private readonly tokenKey: Uint8Array;

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    private readonly key: Buffer,
    private readonly issuer: string,
  ) {
    this.tokenKey = new Uint8Array(crypto.createHmac('sha256', key).update('mfa-token').digest());
  }

  private recoveryDigest(userId: string, code: string): Buffer {
    return crypto
      .createHmac('sha256', this.key)
      .update(`recovery\0${userId}\0${code.replace(/[^A-Za-z0-9]/g, '').toUpperCase()}`)
      .digest();
  }

  /**
   * A second factor belongs to whoever holds the inbox: only an account whose address was proven
   * can add or activate one. Otherwise a factor could be added by someone who merely signed up
   * with another person's address (and would lock them out), or the first proof of the inbox
   * would have to remove it (and so anyone who reads the mail could remove a real one). The
   * database enforces the same rule (trigger mfa_factors_need_proven_inbox).
   */
  private async assertInboxProven(userId: string, email: string): Promise<void> {
    const { rows } = await this.db.query<{ inbox_confirmed: boolean }>(
      'SELECT inbox_confirmed FROM auth.users WHERE id = $1',
      [userId],
    );
    if (rows[0]?.inbox_confirmed) return;
    throw new AppError(
      403,
      'AUTH_NEED_VERIFICATION',
      `Prove that you own ${email} before adding a second factor`,
      'Request a code or link with POST /api/auth/email/send-verification {email}, then use it ' +
        'in this signed-in app with POST /api/auth/email/verify {email, otp} (or open the link ' +
        'in this browser), and enroll again',
    );
  }

  async enroll(userId: string, email: string, friendlyName?: string) {
    await this.assertInboxProven(userId, email);
    // Unfinished enrolments are replaced, not accumulated.
    await this.db.query(
      `DELETE FROM auth.mfa_factors WHERE user_id = $1 AND status = 'unverified'`,
      [userId],
    );
    const secret = new OTPAuth.Secret({ size: 20 }).base32;
    const { rows } = await this.db.query<FactorRow>(
      `INSERT INTO auth.mfa_factors (user_id, friendly_name, secret_encrypted) VALUES ($1, $2, $3)
       RETURNING *`,
      [userId, friendlyName ?? null, this.box.encrypt(secret)],
    );
    const otpauthUri = totpFor(secret, email, this.issuer).toString();
    return {
      factorId: rows[0]!.id,
      type: 'totp' as const,
      secret,
      otpauthUri,
      qrCode: await QRCode.toDataURL(otpauthUri, { margin: 1, width: 240 }),
    };
  }

  /** Checks a code against a factor, refusing a step already used (replay). */
  private async checkTotp(factor: FactorRow, code: string): Promise<boolean> {
    if (!/^\d{6}$/.test(code)) return false;
    const secret = this.box.decrypt(factor.secret_encrypted);
    // One reading of the clock for both: read twice, a step turning in between would record
    // the next step as used and refuse its code.
    const now = Date.now();
    const delta = totpFor(secret).validate({ token: code, window: 1, timestamp: now });
    if (delta === null) return false;
    const step = Math.floor(now / 1000 / PERIOD) + delta;
    const { rowCount } = await this.db.query(
      `UPDATE auth.mfa_factors SET last_step = $2
        WHERE id = $1 AND (last_step IS NULL OR last_step < $2)`,
      [factor.id, step],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Activates a factor with a first code; answers the recovery codes (shown once). */
  async verifyEnrollment(userId: string, factorId: string, code: string) {
    const { rows } = await this.db.query<FactorRow>(
      'SELECT * FROM auth.mfa_factors WHERE id = $1 AND user_id = $2',
      [factorId, userId],
    );
    const factor = rows[0];
    if (!factor) throw new AppError(404, 'AUTH_MFA_FACTOR_NOT_FOUND', 'No such factor');
    if (factor.status === 'verified') {
      throw new AppError(400, 'AUTH_MFA_ALREADY_VERIFIED', 'This factor is active already');
    }
    await this.assertInboxProven(userId, 'your email address');
    if (!(await this.checkTotp(factor, code))) throw wrongCode();
    await this.db.query(
      `UPDATE auth.mfa_factors SET status = 'verified', verified_at = now() WHERE id = $1`,
      [factorId],
    );
    return {
      factor: factorJson({ ...factor, status: 'verified', verified_at: new Date() }),
      recoveryCodes: await this.newRecoveryCodes(userId),
    };
  }

  async newRecoveryCodes(userId: string): Promise<string[]> {
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    const codes = Array.from({ length: RECOVERY_CODES }, () => {
      const chars = Array.from({ length: 10 }, () => alphabet[crypto.randomInt(alphabet.length)]);
      return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
    });
    await this.db.query('DELETE FROM auth.mfa_recovery_codes WHERE user_id = $1', [userId]);
    await this.db.query(
      `INSERT INTO auth.mfa_recovery_codes (user_id, digest) SELECT $1, unnest($2::bytea[])`,
      [userId, codes.map((c) => this.recoveryDigest(userId, c))],
    );
    return codes;
  }

  async list(userId: string) {
    const { rows } = await this.db.query<FactorRow>(
      'SELECT * FROM auth.mfa_factors WHERE user_id = $1 ORDER BY created_at',
      [userId],
    );
    return rows.map(factorJson);
  }

  async remove(userId: string, factorId: string): Promise<void> {
    const { rowCount } = await this.db.query(
      'DELETE FROM auth.mfa_factors WHERE id = $1 AND user_id = $2',
      [factorId, userId],
    );
    if (!rowCount) throw new AppError(404, 'AUTH_MFA_FACTOR_NOT_FOUND', 'No such factor');
    if (!(await this.required(userId))) {
      await this.db.query('DELETE FROM auth.mfa_recovery_codes WHERE user_id = $1', [userId]);
    }
  }

  /** Admin reset: every factor and recovery code of the user goes. */
  async reset(userId: string): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM auth.mfa_factors WHERE user_id = $1', [
      userId,
    ]);
    await this.db.query('DELETE FROM auth.mfa_recovery_codes WHERE user_id = $1', [userId]);
    return rowCount ?? 0;
  }

  async required(userId: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `SELECT 1 FROM auth.mfa_factors WHERE user_id = $1 AND status = 'verified' LIMIT 1`,
      [userId],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * The pending sign-in: who passed the first factor, valid five minutes. `typ` tells which
   * sign-in it finishes (a user's, `mfa`; a dashboard admin's, `admin-mfa`): one never finishes
   * the other.
   */
  mfaToken(userId: string, typ: 'mfa' | 'admin-mfa' = 'mfa'): Promise<string> {
    return new SignJWT({ typ })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + MFA_TOKEN_TTL_SECONDS)
      .sign(this.tokenKey);
  }

  /** Completes a pending sign-in with a TOTP or recovery code; answers the user id. */
  async challenge(
    mfaToken: string,
    code: string,
    typ: 'mfa' | 'admin-mfa' = 'mfa',
  ): Promise<string> {
    let userId: string;
    let jti: string;
    let exp: number;
    try {
      const { payload } = await jwtVerify(mfaToken, this.tokenKey, { algorithms: ['HS256'] });
      if (payload.typ !== typ || !payload.sub || !payload.jti || !payload.exp) throw new Error();
      userId = payload.sub;
      jti = payload.jti;
      exp = payload.exp;
    } catch {
      throw new AppError(
        401,
        'AUTH_MFA_TOKEN_INVALID',
        'The mfaToken is invalid or expired',
        'Sign in again',
      );
    }
    // Every attempt is counted before the code is checked, in one statement, so parallel
    // guesses share the same budget; a successful sign-in spends the rest of it.
    const { rows: tries } = await this.db.query<{ failures: number }>(
      `INSERT INTO auth.mfa_attempts (token_id, failures, expires_at) VALUES ($1, 1, to_timestamp($2))
       ON CONFLICT (token_id) DO UPDATE SET failures = auth.mfa_attempts.failures + 1
       RETURNING failures`,
      [jti, exp],
    );
    if (tries[0]!.failures > MAX_FAILURES) {
      throw new AppError(
        429,
        'AUTH_MFA_TOO_MANY_ATTEMPTS',
        'Too many wrong codes for this sign-in',
        'Sign in again',
      );
    }
    const ok = /^\d{6}$/.test(code.trim())
      ? await this.anyFactorAccepts(userId, code.trim())
      : await this.useRecoveryCode(userId, code);
    if (!ok) {
      await this.db.query('DELETE FROM auth.mfa_attempts WHERE expires_at < now()');
      throw wrongCode();
    }
    // One sign-in per token, even when two right codes race.
    const { rowCount } = await this.db.query(
      'UPDATE auth.mfa_attempts SET failures = $2 + 1 WHERE token_id = $1 AND failures <= $2',
      [jti, MAX_FAILURES],
    );
    if (!rowCount) throw wrongCode();
    return userId;
  }

  private async anyFactorAccepts(userId: string, code: string): Promise<boolean> {
    const { rows } = await this.db.query<FactorRow>(
      `SELECT * FROM auth.mfa_factors WHERE user_id = $1 AND status = 'verified'`,
      [userId],
    );
    for (const factor of rows) if (await this.checkTotp(factor, code)) return true;
    return false;
  }

  private async useRecoveryCode(userId: string, code: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE auth.mfa_recovery_codes SET used_at = now()
        WHERE user_id = $1 AND digest = $2 AND used_at IS NULL`,
      [userId, this.recoveryDigest(userId, code)],
    );
    return (rowCount ?? 0) > 0;
  }
}
