/**
 * One-time codes, whatever carries them (an email, an SMS): one mechanism, so every channel has
 * the same rules.
 *
 * Codes are 6 digits, stored only as HMAC digests bound to channel, purpose and address; they
 * expire after CODE_TTL_MINUTES, work once, and allow MAX_ATTEMPTS wrong attempts before they are
 * burned. A new code replaces the address's earlier ones for the same purpose. Sending is
 * throttled per address and purpose, and per IP, in a shared table (every instance sees it).
 */
import crypto from 'node:crypto';
import { lockFor, type Database } from '../core/db.js';
import { AppError } from '../core/errors.js';

export type CodeChannel = 'email' | 'sms';

export const CODE_TTL_MINUTES = 10;
export const MAX_ATTEMPTS = 5;
/** Sends per address and purpose, and per IP, within the window. */
export const SENDS_PER_ADDRESS = 5;
export const SENDS_PER_IP = 30;
const WINDOW = '15 minutes';

export const invalidCode = () =>
  new AppError(400, 'AUTH_INVALID_OTP', 'The code is wrong or has expired', 'Request a new one');

export class OneTimeCodes {
  constructor(
    private readonly db: Database,
    /** HMAC key for the digests (derived from JWT_SECRET). */
    private readonly key: Buffer,
  ) {}

  /** Addresses compare without regard to case (email); phone numbers are E.164 already. */
  private static normal(address: string): string {
    return address.toLowerCase();
  }

  /**
   * The digest of a code. An email code's is what it was before channels existed (codes in
   * flight survive an upgrade); another channel's names the channel.
   */
  private digest(channel: CodeChannel, purpose: string, address: string, code: string): Buffer {
    const prefix = channel === 'email' ? '' : `${channel}\0`;
    return crypto
      .createHmac('sha256', this.key)
      .update(`${prefix}${purpose}\0${OneTimeCodes.normal(address)}\0${code}`)
      .digest();
  }

  /**
   * Counts a send; 429 AUTH_RATE_LIMITED past the per-address or per-IP limit. The answer is the
   * same for addresses with and without an account.
   */
  async throttle(
    channel: CodeChannel,
    address: string,
    ip: string | undefined,
    purpose: string,
  ): Promise<void> {
    const normal = OneTimeCodes.normal(address);
    // Count and record under locks on the address and the IP (always in that order, so two
    // sends never wait on each other crosswise): parallel requests each counting before any
    // recorded would all pass.
    await this.db.transaction(async (tx) => {
      await lockFor(tx, `auth.sends:address:${channel}:${purpose}:${normal}`);
      if (ip) await lockFor(tx, `auth.sends:ip:${ip}`);
      const { rows } = await tx.query<{ by_address: number; by_ip: number }>(
        `SELECT (SELECT count(*) FROM auth.email_sends
                  WHERE lower(email) = $1 AND purpose = $3 AND channel = $5
                    AND created_at > now() - $4::interval)::int AS by_address,
                (SELECT count(*) FROM auth.email_sends
                  WHERE ip = $2 AND created_at > now() - $4::interval)::int AS by_ip`,
        [normal, ip ?? null, purpose, WINDOW, channel],
      );
      const r = rows[0]!;
      if (r.by_address >= SENDS_PER_ADDRESS || (ip && r.by_ip >= SENDS_PER_IP)) {
        throw new AppError(
          429,
          'AUTH_RATE_LIMITED',
          'Too many messages requested: wait a few minutes before asking again',
        );
      }
      await tx.query(
        'INSERT INTO auth.email_sends (email, ip, purpose, channel) VALUES ($1, $2, $3, $4)',
        [normal, ip ?? null, purpose, channel],
      );
    });
  }

  /** A new code; it replaces the address's earlier ones for the same purpose. */
  async issue(channel: CodeChannel, address: string, purpose: string): Promise<string> {
    const normal = OneTimeCodes.normal(address);
    const code = crypto.randomInt(0, 1_000_000).toString().padStart(6, '0');
    await this.db.query(
      `UPDATE auth.email_codes SET consumed_at = now()
        WHERE lower(email) = $1 AND purpose = $2 AND channel = $3 AND consumed_at IS NULL`,
      [normal, purpose, channel],
    );
    await this.db.query(
      `INSERT INTO auth.email_codes (email, purpose, channel, digest, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(mins => $5))`,
      [normal, purpose, channel, this.digest(channel, purpose, address, code), CODE_TTL_MINUTES],
    );
    return code;
  }

  /**
   * Checks a 6-digit code in constant time. Each attempt is counted before the code is compared
   * (atomically, so parallel guesses get no more than MAX_ATTEMPTS between them); the last
   * allowed wrong attempt burns the code, and a right one consumes it. 400 AUTH_INVALID_OTP
   * otherwise.
   */
  async use(channel: CodeChannel, address: string, purpose: string, code: string): Promise<void> {
    const { rows } = await this.db.query<{ id: string; digest: Buffer; attempts: number }>(
      `UPDATE auth.email_codes SET attempts = attempts + 1
        WHERE id = (SELECT id FROM auth.email_codes
                     WHERE lower(email) = $1 AND purpose = $2 AND channel = $4
                       AND consumed_at IS NULL AND expires_at > now() AND length(digest) = 32
                     ORDER BY created_at DESC LIMIT 1)
          AND consumed_at IS NULL AND attempts < $3
        RETURNING id, digest, attempts`,
      [OneTimeCodes.normal(address), purpose, MAX_ATTEMPTS, channel],
    );
    const row = rows[0];
    const presented = this.digest(channel, purpose, address, code);
    if (!row || !crypto.timingSafeEqual(row.digest, presented)) {
      if (row && row.attempts >= MAX_ATTEMPTS) {
        await this.db.query(
          'UPDATE auth.email_codes SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL',
          [row.id],
        );
      }
      throw invalidCode();
    }
    // Single use, even under concurrent attempts.
    const { rowCount } = await this.db.query(
      'UPDATE auth.email_codes SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL',
      [row.id],
    );
    if (!rowCount) throw invalidCode();
  }
}
