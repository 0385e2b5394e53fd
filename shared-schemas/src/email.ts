import { z } from 'zod';

const emailAddressSchema = z.email({ error: 'must be an email address' }).max(320);

/** POST /api/email/send-raw: at most 50 recipients in to, cc and bcc together. */
export const sendRawEmailRequestSchema = z
  .object({
    to: z.union([emailAddressSchema, z.array(emailAddressSchema).min(1).max(50)]),
    subject: z.string().trim().min(1).max(500),
    html: z.string().min(1).max(500_000),
    text: z.string().max(500_000).optional(),
    cc: z.array(emailAddressSchema).max(50).optional(),
    bcc: z.array(emailAddressSchema).max(50).optional(),
    /** A display name; the sender address is always the configured one. */
    from: z.string().max(200).optional(),
    replyTo: emailAddressSchema.optional(),
  })
  .refine(
    (m) =>
      (Array.isArray(m.to) ? m.to.length : 1) + (m.cc?.length ?? 0) + (m.bcc?.length ?? 0) <= 50,
    'at most 50 recipients in to, cc and bcc together',
  );
export type SendRawEmailRequest = z.infer<typeof sendRawEmailRequestSchema>;

/** What happened to a message: sent over SMTP, or (no SMTP, not production) logged. */
export const emailSentResponseSchema = z.object({
  success: z.literal(true),
  delivered: z.boolean(),
  mode: z.enum(['smtp', 'log']),
  messageId: z.string().optional(),
  /** Said when the message was only logged. */
  message: z.string().optional(),
});
export type EmailSentResponse = z.infer<typeof emailSentResponseSchema>;

/**
 * GET /api/auth/smtp-config: the stored settings (never the password) and those in force. As
 * InsForge answers: `host` and `username` are '' while unset, `port` the one Kiln uses (587
 * while unset).
 */
export const smtpConfigResponseSchema = z.object({
  enabled: z.boolean(),
  host: z.string(),
  port: z.number().int(),
  username: z.string(),
  hasPassword: z.boolean(),
  fromEmail: z.string().nullable(),
  fromName: z.string().nullable(),
  secure: z.boolean(),
  /** InsForge's fields: a stable uuid for the one settings row, the sender ('' while unset). */
  id: z.uuid(),
  senderEmail: z.string(),
  senderName: z.string(),
  /** When the project was set up (the row exists since). */
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** Where the settings in force come from: these (database), SMTP_* variables, or nowhere. */
  inForce: z.object({
    source: z.enum(['database', 'environment', 'none']),
    host: z.string().nullable(),
    fromEmail: z.string().nullable(),
  }),
});
export type SmtpConfigResponse = z.infer<typeof smtpConfigResponseSchema>;

/**
 * PUT /api/auth/smtp-config: fields to change (null or '' clears). `senderEmail`/`senderName`
 * are InsForge's names for `fromEmail`/`fromName` (the latter win when both are sent).
 */
export const updateSmtpConfigRequestSchema = z.object({
  enabled: z.boolean().optional(),
  host: z.string().max(255).nullable().optional(),
  port: z.number().int().min(1).max(65535).nullable().optional(),
  username: z.string().max(255).nullable().optional(),
  password: z.string().max(1024).nullable().optional(),
  fromEmail: z
    .union([z.email(), z.literal('')])
    .nullable()
    .optional(),
  fromName: z.string().max(200).nullable().optional(),
  senderEmail: z
    .union([z.email(), z.literal('')])
    .nullable()
    .optional(),
  senderName: z.string().max(200).nullable().optional(),
  secure: z.boolean().optional(),
});
export type UpdateSmtpConfigRequest = z.infer<typeof updateSmtpConfigRequestSchema>;

/** POST /api/auth/smtp-config/test */
export const testSmtpRequestSchema = z.object({ to: z.email() });

export const EMAIL_TEMPLATE_TYPES = [
  'verify-email-code',
  'verify-email-link',
  'reset-password-code',
  'reset-password-link',
  'one-time-code',
  'magic-link',
  'welcome',
  'invite',
] as const;
export const emailTemplateTypeSchema = z.enum(EMAIL_TEMPLATE_TYPES);
export type EmailTemplateType = z.infer<typeof emailTemplateTypeSchema>;

/** `{type}` in the path: an unknown type is 404 EMAIL_TEMPLATE_NOT_FOUND. */
export const emailTemplateParamsSchema = z.object({
  type: z.string().describe(`One of ${EMAIL_TEMPLATE_TYPES.join(', ')}`),
});

export const emailTemplateSchema = z.object({
  type: emailTemplateTypeSchema,
  /** The {{variables}} this template may use. */
  variables: z.array(z.string()),
  isDefault: z.boolean(),
  subject: z.string(),
  html: z.string(),
  text: z.string(),
  enabled: z.boolean(),
  updatedAt: z.iso.datetime().nullable(),
});
export type EmailTemplate = z.infer<typeof emailTemplateSchema>;

/** GET /api/auth/email-templates: Kiln's list, and the same in InsForge's shape (`data`). */
export const listEmailTemplatesResponseSchema = z.object({
  templates: z.array(emailTemplateSchema),
  data: z.array(
    z.object({
      /** Stable, derived from the type (templates are named by their type). */
      id: z.uuid(),
      templateType: emailTemplateTypeSchema,
      subject: z.string(),
      bodyHtml: z.string(),
      createdAt: z.iso.datetime(),
      updatedAt: z.iso.datetime(),
    }),
  ),
});

/** PUT /api/auth/email-templates/{type} */
export const updateEmailTemplateRequestSchema = z.object({
  subject: z.string().min(1).max(500),
  html: z.string().min(1).max(200_000),
  text: z.string().min(1).max(100_000),
  enabled: z.boolean().default(true),
});
export type UpdateEmailTemplateRequest = z.infer<typeof updateEmailTemplateRequestSchema>;

/**
 * `POST /api/email/email-templates/:type/preview` (admin): a draft rendered with sample values,
 * nothing saved. Parts left out come from the saved (or default) template; `variables` override
 * the samples.
 */
export const previewEmailTemplateRequestSchema = z
  .object({
    subject: z.string().max(500).optional(),
    html: z.string().max(200_000).optional(),
    text: z.string().max(100_000).optional(),
    variables: z.record(z.string(), z.string().max(2000)).optional(),
  })
  .strict();

export const emailTemplatePreviewSchema = z.object({
  type: emailTemplateTypeSchema,
  subject: z.string(),
  html: z.string(),
  text: z.string(),
  /** The values the variables were filled with. */
  variables: z.record(z.string(), z.string()),
});
