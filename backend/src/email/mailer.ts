/**
 * Outgoing mail through SMTP (nodemailer). The runtime settings an admin saves in
 * `auth.smtp_config` win over the SMTP_* variables. With neither, outside production each
 * message (sign-in codes and links included) is appended to the development mail log, a file
 * only Kiln's user can read, and callers are told it was not delivered; in production nothing is
 * written anywhere: sending is refused (503 EMAIL_NOT_CONFIGURED) and the refusal is logged.
 */
import { nameUuid, SET_UP_AT_SQL } from './ids.js';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../core/config.js';
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import type { SecretBox } from '../core/crypto.js';
import type { Logger } from '../core/logger.js';

export interface SmtpSettings {
  host: string;
  port: number;
  user?: string;
  password?: string;
  fromEmail: string;
  fromName: string;
  secure: boolean;
}

/** The SMTP settings from the environment (the defaults the dashboard's saved settings override). */
export type EnvSmtp = Config['smtp'];

export interface Mail {
  to: string | string[];
  subject: string;
  html: string;
  text?: string;
  cc?: string[];
  bcc?: string[];
  replyTo?: string;
  /** Display name for the configured sender address. */
  fromName?: string;
}

export interface MailerOptions {
  /** NODE_ENV=production: never write mail to a file; refuse to send without SMTP. */
  production: boolean;
  /** Outside production, where mail goes when no SMTP server is configured (JSON lines). */
  devLogFile: string;
}

export interface SendResult {
  delivered: boolean;
  mode: 'smtp' | 'log';
  messageId?: string;
}

interface SmtpRow {
  enabled: boolean;
  host: string | null;
  port: number | null;
  username: string | null;
  password_encrypted: string | null;
  from_email: string | null;
  from_name: string | null;
  secure: boolean;
  updated_at: Date;
}

export class Mailer {
  private transport: { key: string; transporter: Transporter } | undefined;

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    private readonly env: EnvSmtp,
    private readonly logger: Logger,
    private readonly options: MailerOptions,
  ) {}

  /**
   * Says at start what happens to mail when no SMTP server is configured: where the development
   * mail log is, or (production) that mail will not be sent.
   */
  async announce(): Promise<void> {
    const { source } = await this.settings().catch(() => ({ source: 'unknown' }));
    if (source !== 'none') return;
    if (this.options.production) {
      this.logger.warn(
        'No SMTP server is configured: Kiln will not send mail (verification, password reset, one-time codes, magic links) until SMTP_HOST is set or an admin saves PUT /api/auth/smtp-config',
        { source: 'email' },
      );
    } else {
      this.logger.info(
        `No SMTP server is configured: outgoing mail, sign-in codes and links included, is written to the development mail log ${this.options.devLogFile} (never in production)`,
        { source: 'email', file: this.options.devLogFile },
      );
    }
  }

  /** The settings in force and where they come from. */
  async settings(): Promise<{ source: 'database' | 'environment' | 'none'; smtp?: SmtpSettings }> {
    const { rows } = await this.db.query<SmtpRow>('SELECT * FROM auth.smtp_config');
    const r = rows[0];
    if (r?.enabled && r.host && r.from_email) {
      return {
        source: 'database',
        smtp: {
          host: r.host,
          port: r.port ?? 587,
          user: r.username ?? undefined,
          password: r.password_encrypted ? this.box.decrypt(r.password_encrypted) : undefined,
          fromEmail: r.from_email,
          fromName: r.from_name ?? 'Kiln',
          secure: r.secure,
        },
      };
    }
    const e = this.env;
    if (e.host) {
      return {
        source: 'environment',
        smtp: {
          host: e.host,
          port: e.port,
          user: e.user,
          password: e.password,
          fromEmail: e.fromEmail ?? `no-reply@${e.host}`,
          fromName: e.fromName,
          secure: e.secure,
        },
      };
    }
    return { source: 'none' };
  }

  /** For the admin API: never the password itself. */
  async describe() {
    const { rows } = await this.db.query<SmtpRow & { set_up_at: Date | null }>(
      `SELECT *, ${SET_UP_AT_SQL} AS set_up_at FROM auth.smtp_config`,
    );
    const r = rows[0]!;
    const inForce = await this.settings();
    return {
      id: nameUuid('smtp-config'),
      enabled: r.enabled,
      host: r.host ?? '',
      port: r.port ?? 587,
      username: r.username ?? '',
      hasPassword: Boolean(r.password_encrypted),
      fromEmail: r.from_email,
      fromName: r.from_name,
      secure: r.secure,
      // InsForge's names for the sender, '' while unset.
      senderEmail: r.from_email ?? '',
      senderName: r.from_name ?? '',
      createdAt: (r.set_up_at ?? r.updated_at).toISOString(),
      updatedAt: r.updated_at.toISOString(),
      inForce: {
        source: inForce.source,
        host: inForce.smtp?.host ?? null,
        fromEmail: inForce.smtp?.fromEmail ?? null,
      },
    };
  }

  async update(input: {
    enabled?: boolean;
    host?: string | null;
    port?: number | null;
    username?: string | null;
    password?: string | null;
    fromEmail?: string | null;
    fromName?: string | null;
    senderEmail?: string | null;
    senderName?: string | null;
    secure?: boolean;
  }) {
    // '' clears, as null does (InsForge's clients send '' for an unset field).
    const clear = (v: string | null | undefined) => (v === '' ? null : v);
    const fromEmail = clear(input.fromEmail !== undefined ? input.fromEmail : input.senderEmail);
    const fromName = clear(input.fromName !== undefined ? input.fromName : input.senderName);
    const sets: string[] = [];
    const params: unknown[] = [];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (input.enabled !== undefined) set('enabled', input.enabled);
    if (input.host !== undefined) set('host', clear(input.host));
    if (input.port !== undefined) set('port', input.port);
    if (input.username !== undefined) set('username', clear(input.username));
    if (input.password !== undefined)
      set('password_encrypted', input.password === null ? null : this.box.encrypt(input.password));
    if (fromEmail !== undefined) set('from_email', fromEmail);
    if (fromName !== undefined) set('from_name', fromName);
    if (input.secure !== undefined) set('secure', input.secure);
    if (sets.length) await this.db.query(`UPDATE auth.smtp_config SET ${sets.join(', ')}`, params);
    const after = await this.describe();
    if (after.enabled && (!after.host || !after.fromEmail)) {
      // Keep the row consistent: enabled settings need a host and a sender.
      await this.db.query('UPDATE auth.smtp_config SET enabled = false');
      throw new AppError(
        400,
        'EMAIL_INVALID_CONFIG',
        'host and fromEmail are required to enable SMTP',
      );
    }
    return after;
  }

  async send(mail: Mail): Promise<SendResult> {
    const { smtp } = await this.settings();
    if (!smtp) {
      if (this.options.production) {
        this.logger.warn(
          'email not sent: no SMTP server is configured, and with NODE_ENV=production mail is never written to a file',
          { source: 'email', error: 'EMAIL_NOT_CONFIGURED', recipients: recipientCount(mail) },
        );
        throw new AppError(
          503,
          'EMAIL_NOT_CONFIGURED',
          'No mail server is configured, so mail cannot be sent',
          'Set SMTP_HOST and the other SMTP_* variables, or save settings with PUT /api/auth/smtp-config',
        );
      }
      // Development: the message goes to a file only Kiln's user can read; the main log (which
      // may be shipped elsewhere) only says that it did.
      await this.writeDevLog(mail);
      this.logger.info('email not sent (no SMTP configured): written to the development mail log', {
        source: 'email',
        file: this.options.devLogFile,
        recipients: recipientCount(mail),
      });
      return { delivered: false, mode: 'log' };
    }
    const transporter = this.transporterFor(smtp);
    try {
      const info = await transporter.sendMail({
        from: { name: mail.fromName ?? smtp.fromName, address: smtp.fromEmail },
        to: mail.to,
        cc: mail.cc,
        bcc: mail.bcc,
        replyTo: mail.replyTo,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
      });
      return { delivered: true, mode: 'smtp', messageId: info.messageId };
    } catch (err) {
      this.logger.warn('email delivery failed', { source: 'email', error: String(err) });
      throw new AppError(
        502,
        'EMAIL_DELIVERY_FAILED',
        `The mail server did not accept the message: ${(err as Error).message}`,
        'Check the SMTP settings (GET /api/auth/smtp-config)',
      );
    }
  }

  private async writeDevLog(mail: Mail): Promise<void> {
    const file = this.options.devLogFile;
    await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const line = JSON.stringify({
      timestamp: new Date().toISOString(),
      to: mail.to,
      cc: mail.cc,
      bcc: mail.bcc,
      subject: mail.subject,
      text: mail.text ?? mail.html,
    });
    await fs.promises.appendFile(file, line + '\n', { mode: 0o600 });
  }

  close(): void {
    this.transport?.transporter.close();
    this.transport = undefined;
  }

  private transporterFor(smtp: SmtpSettings): Transporter {
    const key = JSON.stringify(smtp);
    if (this.transport?.key !== key) {
      this.transport?.transporter.close();
      this.transport = {
        key,
        transporter: nodemailer.createTransport({
          host: smtp.host,
          port: smtp.port,
          secure: smtp.secure,
          auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
          pool: true,
          maxConnections: 5,
          connectionTimeout: 10_000,
          greetingTimeout: 10_000,
          socketTimeout: 30_000,
        }),
      };
    }
    return this.transport.transporter;
  }
}

function recipientCount(mail: Mail): number {
  const to = Array.isArray(mail.to) ? mail.to.length : 1;
  return to + (mail.cc?.length ?? 0) + (mail.bcc?.length ?? 0);
}
