/**
 * Mail: `POST /api/email/send-raw` (mounted at /api/email), and the admin settings behind every
 * message Kiln sends: SMTP and the templates (mounted at /api/auth, where InsForge has them).
 */
import {
  emailSentResponseSchema,
  emailTemplateParamsSchema,
  emailTemplatePreviewSchema,
  previewEmailTemplateRequestSchema,
  emailTemplateSchema,
  listEmailTemplatesResponseSchema,
  sendRawEmailRequestSchema,
  smtpConfigResponseSchema,
  testSmtpRequestSchema,
  updateEmailTemplateRequestSchema,
  updateSmtpConfigRequestSchema,
} from '@kiln/shared-schemas';
import { lockFor, type Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { route, type RouteGroup } from '../core/route.js';
import type { Mailer } from './mailer.js';
import type { Templates } from './templates.js';

export interface SendRawOptions {
  /** Messages per signed-in user per hour. */
  perHour: number;
  /** Signed-in users may send at all (admins and the API key always may). */
  users: boolean;
  /** Most recipients (to, cc, bcc together) in one message from a signed-in user. */
  userMaxRecipients: number;
}

/** Sending fails: no mail server in production (503), or the server refused (502). */
const SEND_ERRORS = { 502: ['EMAIL_DELIVERY_FAILED'], 503: ['EMAIL_NOT_CONFIGURED'] } as const;

/**
 * `POST /api/email/send-raw`: mail from the project's sender. Admins and the API key send
 * freely; signed-in users only where EMAIL_SEND_RAW_USERS allows it, throttled per user and with
 * fewer recipients per message. Anon is refused (401) before anything else.
 */
export function emailRoutes(mailer: Mailer, db: Database, options: SendRawOptions): RouteGroup {
  const { perHour } = options;
  return {
    tag: 'email',
    routes: [
      route({
        method: 'post',
        path: '/send-raw',
        access: 'user',
        summary: 'Send a message from the project sender',
        description:
          'Admins and the API key always; signed-in users only with EMAIL_SEND_RAW_USERS=true, ' +
          'at most EMAIL_SEND_RAW_PER_HOUR messages an hour and EMAIL_SEND_RAW_USER_MAX_RECIPIENTS recipients.',
        body: sendRawEmailRequestSchema,
        responses: { 200: emailSentResponseSchema },
        errors: {
          400: ['EMAIL_INVALID_FROM', 'EMAIL_TOO_MANY_RECIPIENTS'],
          403: ['EMAIL_SEND_RAW_DISABLED'],
          429: ['EMAIL_RATE_LIMITED'],
          ...SEND_ERRORS,
        },
        authorize: ({ principal }) => {
          if (principal.role !== 'project_admin' && !options.users) {
            throw new AppError(
              403,
              'EMAIL_SEND_RAW_DISABLED',
              'Sending mail through send-raw is for project admins and the API key: signed-in users may not send mail from the project sender',
              'Send the mail from your server (an edge function or backend holding the API key), or set EMAIL_SEND_RAW_USERS=true to let signed-in users send (per-user hourly limit EMAIL_SEND_RAW_PER_HOUR, at most EMAIL_SEND_RAW_USER_MAX_RECIPIENTS recipients)',
            );
          }
        },
        handler: async ({ body, principal, req }) => {
          const userId = principal.role === 'authenticated' ? (principal.sub ?? null) : null;
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
            await tx.query(
              `INSERT INTO auth.email_sends (user_id, ip, purpose) VALUES ($1, $2, 'raw')`,
              [userId, req.ip ?? null],
            );
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
          return {
            success: true as const,
            ...result,
            ...(result.mode === 'log'
              ? { message: 'No SMTP server is configured: the message was written to the logs' }
              : {}),
          };
        },
      }),
    ],
  };
}

/** SMTP settings and message templates (admin), mounted at /api/auth. */
export function emailSettingsRoutes(mailer: Mailer, templates: Templates): RouteGroup {
  return {
    tag: 'email',
    routes: [
      route({
        method: 'get',
        path: '/smtp-config',
        access: 'admin',
        summary: 'SMTP settings (without the password) and the settings in force',
        responses: { 200: smtpConfigResponseSchema },
        handler: () => mailer.describe(),
      }),
      route({
        method: 'put',
        path: '/smtp-config',
        access: 'admin',
        summary: 'Change the SMTP settings',
        body: updateSmtpConfigRequestSchema,
        responses: { 200: smtpConfigResponseSchema },
        errors: { 400: ['EMAIL_INVALID_CONFIG'] },
        handler: async ({ body }) => {
          const result = await mailer.update(body);
          mailer.close();
          return result;
        },
      }),
      route({
        method: 'post',
        path: '/smtp-config/test',
        access: 'admin',
        summary: 'Send a test message with the settings in force',
        body: testSmtpRequestSchema,
        responses: { 200: emailSentResponseSchema },
        errors: SEND_ERRORS,
        handler: async ({ body }) => ({
          success: true as const,
          ...(await mailer.send({
            to: body.to,
            subject: 'Kiln SMTP test',
            html: '<p>If you can read this, Kiln can send mail.</p>',
            text: 'If you can read this, Kiln can send mail.',
          })),
        }),
      }),
      route({
        method: 'get',
        path: '/email-templates',
        access: 'admin',
        summary: 'Message templates (custom or default) and their variables',
        responses: { 200: listEmailTemplatesResponseSchema },
        handler: async () => {
          const list = await templates.list();
          return { templates: list, data: await templates.listForInsForge(list) };
        },
      }),
      route({
        method: 'put',
        path: '/email-templates/:type',
        access: 'admin',
        summary: 'Replace a template',
        params: emailTemplateParamsSchema,
        body: updateEmailTemplateRequestSchema,
        responses: { 200: emailTemplateSchema },
        errors: { 400: ['EMAIL_TEMPLATE_INVALID'], 404: ['EMAIL_TEMPLATE_NOT_FOUND'] },
        handler: ({ params, body }) => templates.put(params.type, body),
      }),
      route({
        method: 'post',
        path: '/email-templates/:type/preview',
        access: 'admin',
        summary: 'Render a template (or a draft of it) with sample values, without saving',
        params: emailTemplateParamsSchema,
        body: previewEmailTemplateRequestSchema,
        responses: { 200: emailTemplatePreviewSchema },
        errors: { 400: ['EMAIL_TEMPLATE_INVALID'], 404: ['EMAIL_TEMPLATE_NOT_FOUND'] },
        handler: ({ params, body }) => templates.preview(params.type, body),
      }),
      route({
        method: 'delete',
        path: '/email-templates/:type',
        access: 'admin',
        summary: 'Back to the default template',
        params: emailTemplateParamsSchema,
        responses: { 200: emailTemplateSchema },
        errors: { 404: ['EMAIL_TEMPLATE_NOT_FOUND'] },
        handler: ({ params }) => templates.reset(params.type),
      }),
    ],
  };
}
