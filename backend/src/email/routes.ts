import { Router } from 'express';
import { z } from 'zod';
import { lockFor, type Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { principalOf, requireUser } from '../core/auth/principal.js';
import type { Mailer } from './mailer.js';

const address = z.email({ error: 'must be an email address' }).max(320);
const recipients = z.union([address, z.array(address).min(1).max(50)]);
const sendRaw = z
  .object({
    to: recipients,
    subject: z.string().trim().min(1).max(500),
    html: z.string().min(1).max(500_000),
    text: z.string().max(500_000).optional(),
    cc: z.array(address).max(50).optional(),
    bcc: z.array(address).max(50).optional(),
    /** A display name; the sender address is always the configured one. */
    from: z.string().max(200).optional(),
    replyTo: address.optional(),
  })
  .refine(
    (m) =>
      (Array.isArray(m.to) ? m.to.length : 1) + (m.cc?.length ?? 0) + (m.bcc?.length ?? 0) <= 50,
    'at most 50 recipients in to, cc and bcc together',
  );

export interface SendRawOptions {
  /** Messages per signed-in user per hour. */
  perHour: number;
  /** Signed-in users may send at all (admins and the API key always may). */
  users: boolean;
  /** Most recipients (to, cc, bcc together) in one message from a signed-in user. */
  userMaxRecipients: number;
}

/**
 * `POST /api/email/send-raw`: mail from the project's sender. Admins and the API key send
 * freely; signed-in users only where EMAIL_SEND_RAW_USERS allows it, throttled per user and with
 * fewer recipients per message. Anon is refused (401) before anything else.
 */
export function emailRoutes(mailer: Mailer, db: Database, options: SendRawOptions): Router {
  const router = Router();
  const { perHour } = options;
  router.post('/send-raw', requireUser, async (req, res) => {
    const principal = principalOf(req);
    const userId = principal.role === 'authenticated' ? (principal.sub ?? null) : null;
    if (principal.role !== 'project_admin' && !options.users) {
      throw new AppError(
        403,
        'EMAIL_SEND_RAW_DISABLED',
        'Sending mail through send-raw is for project admins and the API key: signed-in users may not send mail from the project sender',
        'Send the mail from your server (an edge function or backend holding the API key), or set EMAIL_SEND_RAW_USERS=true to let signed-in users send (per-user hourly limit EMAIL_SEND_RAW_PER_HOUR, at most EMAIL_SEND_RAW_USER_MAX_RECIPIENTS recipients)',
      );
    }
    const body = sendRaw.parse(req.body);
    if (body.from?.includes('@')) {
      throw new AppError(
        400,
        'EMAIL_INVALID_FROM',
        'from is a display name; mail is always sent from the configured sender address',
      );
    }
    const recipientCount =
      (Array.isArray(body.to) ? body.to.length : 1) +
      (body.cc?.length ?? 0) +
      (body.bcc?.length ?? 0);
    if (principal.role !== 'project_admin' && recipientCount > options.userMaxRecipients) {
      throw new AppError(
        400,
        'EMAIL_TOO_MANY_RECIPIENTS',
        `A user's message may have at most ${options.userMaxRecipients} recipients in to, cc and bcc together (this one has ${recipientCount})`,
        'Send fewer recipients per message, or send from the server with the API key',
      );
    }
    // Checked and counted in one step per user (parallel sends cannot slip past the limit).
    await db.transaction(async (tx) => {
      if (userId) {
        await lockFor(tx, `send-raw:${userId}`);
        const { rows } = await tx.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM auth.email_sends
            WHERE user_id = $1 AND purpose = 'raw' AND created_at > now() - interval '1 hour'`,
          [userId],
        );
        if (rows[0]!.n >= perHour) {
          throw new AppError(
            429,
            'EMAIL_RATE_LIMITED',
            `At most ${perHour} messages per hour per user: try again later`,
          );
        }
      }
      await tx.query(`INSERT INTO auth.email_sends (user_id, ip, purpose) VALUES ($1, $2, 'raw')`, [
        userId,
        req.ip ?? null,
      ]);
    });
    const result = await mailer.send({
      to: body.to,
      subject: body.subject,
      html: body.html,
      text: body.text,
      cc: body.cc,
      bcc: body.bcc,
      replyTo: body.replyTo,
      fromName: body.from,
    });
    res.json({
      success: true,
      ...result,
      ...(result.mode === 'log'
        ? { message: 'No SMTP server is configured: the message was written to the logs' }
        : {}),
    });
  });
  return router;
}
