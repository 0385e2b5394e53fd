/**
 * Outgoing mail through SMTP (nodemailer). The runtime settings an admin saves in
 * `auth.smtp_config` win over the SMTP_* variables; with neither, mail is written to the logs
 * (development mode) and callers are told it was not delivered.
 */
import nodemailer, { type Transporter } from 'nodemailer';
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

export interface EnvSmtp {
  host: string | undefined;
  port: number;
  user: string | undefined;
  password: string | undefined;
  fromEmail: string | undefined;
  fromName: string;
  secure: boolean;
}

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
  ) {}

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
    const { rows } = await this.db.query<SmtpRow>('SELECT * FROM auth.smtp_config');
    const r = rows[0]!;
    const inForce = await this.settings();
    return {
      enabled: r.enabled,
      host: r.host,
      port: r.port,
      username: r.username,
      hasPassword: Boolean(r.password_encrypted),
      fromEmail: r.from_email,
      fromName: r.from_name,
      secure: r.secure,
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
    secure?: boolean;
  }) {
    const sets: string[] = [];
    const params: unknown[] = [];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (input.enabled !== undefined) set('enabled', input.enabled);
    if (input.host !== undefined) set('host', input.host);
    if (input.port !== undefined) set('port', input.port);
    if (input.username !== undefined) set('username', input.username);
    if (input.password !== undefined)
      set('password_encrypted', input.password === null ? null : this.box.encrypt(input.password));
    if (input.fromEmail !== undefined) set('from_email', input.fromEmail);
    if (input.fromName !== undefined) set('from_name', input.fromName);
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
      // Development mode: the message goes to the logs, where a developer can read the code.
      this.logger.info('email not sent (no SMTP configured): written here instead', {
        source: 'email',
        to: mail.to,
        subject: mail.subject,
        text: mail.text ?? mail.html,
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
