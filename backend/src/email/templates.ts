/**
 * Mail templates: built-in defaults for every message Kiln sends, which admins may replace
 * (`auth.email_templates`). Variables are written `{{name}}`; values are HTML-escaped in the
 * HTML body and used as they are in the subject and text body.
 */
import { nameUuid, SET_UP_AT_SQL } from './ids.js';
import { EMAIL_TEMPLATE_TYPES } from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';

/** The message types (declared with the API's schemas). */
export const TEMPLATE_TYPES = EMAIL_TEMPLATE_TYPES;
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

export interface Template {
  subject: string;
  html: string;
  text: string;
  enabled: boolean;
}

const VARIABLES: Record<TemplateType, string[]> = {
  'verify-email-code': ['appName', 'email', 'code', 'expiresInMinutes'],
  'verify-email-link': ['appName', 'email', 'link', 'expiresInMinutes'],
  'reset-password-code': ['appName', 'email', 'code', 'expiresInMinutes'],
  'reset-password-link': ['appName', 'email', 'link', 'expiresInMinutes'],
  'one-time-code': ['appName', 'email', 'code', 'expiresInMinutes'],
  'magic-link': ['appName', 'email', 'link', 'expiresInMinutes'],
  welcome: ['appName', 'email', 'name'],
  invite: ['appName', 'email', 'link', 'expiresInDays'],
};

const layout = (body: string) =>
  `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1f2328;max-width:520px;margin:24px auto">${body}<p style="color:#6e7781;font-size:13px">If you did not ask for this, you can ignore this message.</p></body></html>`;
const codeBlock =
  '<p style="font-size:28px;font-weight:600;letter-spacing:6px;margin:16px 0">{{code}}</p>';
const button = (label: string) =>
  `<p><a href="{{link}}" style="display:inline-block;padding:10px 18px;background:#d9480f;color:#fff;border-radius:6px;text-decoration:none">${label}</a></p><p style="font-size:13px;color:#6e7781">Or paste this address into your browser: {{link}}</p>`;

const DEFAULTS: Record<TemplateType, Template> = {
  'verify-email-code': {
    subject: 'Your {{appName}} verification code: {{code}}',
    html: layout(
      `<p>Use this code to verify {{email}}:</p>${codeBlock}<p>It expires in {{expiresInMinutes}} minutes.</p>`,
    ),
    text: 'Your {{appName}} verification code is {{code}}. It expires in {{expiresInMinutes}} minutes.',
    enabled: true,
  },
  'verify-email-link': {
    subject: 'Verify your email for {{appName}}',
    html: layout(
      `<p>Confirm that {{email}} is your address:</p>${button('Verify email')}<p>The link expires in {{expiresInMinutes}} minutes.</p>`,
    ),
    text: 'Verify {{email}} for {{appName}}: {{link}} (expires in {{expiresInMinutes}} minutes)',
    enabled: true,
  },
  'reset-password-code': {
    subject: 'Your {{appName}} password reset code: {{code}}',
    html: layout(
      `<p>Use this code to choose a new password for {{email}}:</p>${codeBlock}<p>It expires in {{expiresInMinutes}} minutes.</p>`,
    ),
    text: 'Your {{appName}} password reset code is {{code}}. It expires in {{expiresInMinutes}} minutes.',
    enabled: true,
  },
  'reset-password-link': {
    subject: 'Reset your {{appName}} password',
    html: layout(
      `<p>Choose a new password for {{email}}:</p>${button('Reset password')}<p>The link expires in {{expiresInMinutes}} minutes.</p>`,
    ),
    text: 'Reset the {{appName}} password of {{email}}: {{link}} (expires in {{expiresInMinutes}} minutes)',
    enabled: true,
  },
  'one-time-code': {
    subject: 'Your {{appName}} sign-in code: {{code}}',
    html: layout(
      `<p>Use this code to sign in as {{email}}:</p>${codeBlock}<p>It expires in {{expiresInMinutes}} minutes.</p>`,
    ),
    text: 'Your {{appName}} sign-in code is {{code}}. It expires in {{expiresInMinutes}} minutes.',
    enabled: true,
  },
  'magic-link': {
    subject: 'Sign in to {{appName}}',
    html: layout(
      `<p>Sign in as {{email}} with one click:</p>${button('Sign in')}<p>The link works once and expires in {{expiresInMinutes}} minutes.</p>`,
    ),
    text: 'Sign in to {{appName}} as {{email}}: {{link}} (works once, expires in {{expiresInMinutes}} minutes)',
    enabled: true,
  },
  welcome: {
    subject: 'Welcome to {{appName}}',
    html: layout('<p>Hello {{name}},</p><p>your account {{email}} is ready. Welcome aboard!</p>'),
    text: 'Hello {{name}}, your {{appName}} account {{email}} is ready. Welcome aboard!',
    // Off until an admin turns it on.
    enabled: false,
  },
  invite: {
    subject: 'You are invited to {{appName}}',
    html: layout(
      `<p>An account was created for {{email}} on {{appName}}. Choose your password to start:</p>${button('Set your password')}<p>The link works once and expires in {{expiresInDays}} days.</p>`,
    ),
    text: 'An account was created for {{email}} on {{appName}}. Choose your password: {{link}} (works once, expires in {{expiresInDays}} days)',
    enabled: true,
  },
};

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** What a preview fills the variables with, unless told otherwise. */
const PREVIEW_SAMPLES: Record<string, string> = {
  appName: 'My App',
  email: 'ada@example.com',
  code: '123456',
  link: 'https://example.com/auth/verify?token=sample',
  expiresInMinutes: '15',
  expiresInDays: '7',
  name: 'Ada Lovelace',
};

function fill(template: string, vars: Record<string, string>, html: boolean): string {
  return template.replace(/\{\{\s*([a-zA-Z]+)\s*\}\}/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) return whole;
    return html ? escapeHtml(value) : value;
  });
}

interface TemplateRow {
  type: string;
  subject: string;
  html: string;
  text: string;
  enabled: boolean;
  updated_at: Date;
}

export class Templates {
  constructor(private readonly db: Database) {}

  /** InsForge's view of the list: `{id, templateType, subject, bodyHtml, createdAt, updatedAt}`. */
  async listForInsForge(list?: Awaited<ReturnType<Templates['list']>>) {
    const templates = list ?? (await this.list());
    const { rows } = await this.db.query<{ at: Date | null }>(`SELECT ${SET_UP_AT_SQL} AS at`);
    const setUp = (rows[0]?.at ?? new Date(0)).toISOString();
    return templates.map((t) => ({
      id: nameUuid(`email-template:${t.type}`),
      templateType: t.type,
      subject: t.subject,
      bodyHtml: t.html,
      // A default template exists since the project was set up; a custom one since its save.
      createdAt: t.updatedAt ?? setUp,
      updatedAt: t.updatedAt ?? setUp,
    }));
  }

  async list() {
    const { rows } = await this.db.query<TemplateRow>('SELECT * FROM auth.email_templates');
    const custom = new Map(rows.map((r) => [r.type, r]));
    return TEMPLATE_TYPES.map((type) => {
      const r = custom.get(type);
      return {
        type,
        variables: VARIABLES[type],
        isDefault: !r,
        ...(r
          ? { subject: r.subject, html: r.html, text: r.text, enabled: r.enabled }
          : DEFAULTS[type]),
        updatedAt: r?.updated_at.toISOString() ?? null,
      };
    });
  }

  async get(type: TemplateType): Promise<Template> {
    const { rows } = await this.db.query<TemplateRow>(
      'SELECT * FROM auth.email_templates WHERE type = $1',
      [type],
    );
    return rows[0] ?? DEFAULTS[type];
  }

  /** The type, if Kiln has it (404 otherwise); the draft's {{variables}} must be the type's. */
  private checked(type: string, t?: Pick<Template, 'subject' | 'html' | 'text'>): TemplateType {
    const known = TEMPLATE_TYPES.find((x) => x === type);
    if (!known) {
      throw new AppError(
        404,
        'EMAIL_TEMPLATE_NOT_FOUND',
        `No template "${type}"; types: ${TEMPLATE_TYPES.join(', ')}`,
      );
    }
    const unknownVars = [
      ...`${t?.subject ?? ''}${t?.html ?? ''}${t?.text ?? ''}`.matchAll(
        /\{\{\s*([a-zA-Z]+)\s*\}\}/g,
      ),
    ]
      .map((m) => m[1]!)
      .filter((v) => !VARIABLES[known].includes(v));
    if (unknownVars.length) {
      throw new AppError(
        400,
        'EMAIL_TEMPLATE_INVALID',
        `Unknown variable(s) ${[...new Set(unknownVars)].map((v) => `{{${v}}}`).join(', ')}; "${type}" has ${VARIABLES[known].map((v) => `{{${v}}}`).join(', ')}`,
      );
    }
    return known;
  }

  /**
   * A template rendered with sample values, nothing saved: the draft's parts where given, the
   * saved (or default) template's otherwise; `variables` override the samples.
   */
  async preview(
    type: string,
    draft: { subject?: string; html?: string; text?: string; variables?: Record<string, string> },
  ) {
    const known = this.checked(type, {
      subject: draft.subject ?? '',
      html: draft.html ?? '',
      text: draft.text ?? '',
    });
    const saved = await this.get(known);
    const vars = Object.fromEntries(
      VARIABLES[known].map((v) => [v, draft.variables?.[v] ?? PREVIEW_SAMPLES[v] ?? v]),
    );
    return {
      type: known,
      subject: fill(draft.subject ?? saved.subject, vars, false),
      html: fill(draft.html ?? saved.html, vars, true),
      text: fill(draft.text ?? saved.text, vars, false),
      variables: vars,
    };
  }

  async put(type: string, t: Template) {
    this.checked(type, t);
    await this.db.query(
      `INSERT INTO auth.email_templates (type, subject, html, text, enabled) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (type) DO UPDATE SET subject = $2, html = $3, text = $4, enabled = $5`,
      [type, t.subject, t.html, t.text, t.enabled],
    );
    return (await this.list()).find((x) => x.type === type)!;
  }

  async reset(type: string) {
    await this.db.query('DELETE FROM auth.email_templates WHERE type = $1', [type]);
    const found = (await this.list()).find((x) => x.type === type);
    if (!found) throw new AppError(404, 'EMAIL_TEMPLATE_NOT_FOUND', `No template "${type}"`);
    return found;
  }

  /** Subject, HTML and text of a message, or undefined when the template is switched off. */
  async render(type: TemplateType, vars: Record<string, string>) {
    const t = await this.get(type);
    if (!t.enabled) return undefined;
    return {
      subject: fill(t.subject, vars, false),
      html: fill(t.html, vars, true),
      text: fill(t.text, vars, false),
    };
  }
}
