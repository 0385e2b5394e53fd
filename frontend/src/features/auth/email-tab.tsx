/**
 * Email: the SMTP settings (the password write-only) with a test send, and the message templates
 * with a live preview: the draft is rendered by the API (debounced) and shown in an iframe with an
 * empty `sandbox` (no scripts, no navigation, no same-origin access).
 */
import { useEffect, useId, useState } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { Controller, useForm, type Resolver } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import {
  EMAIL_TEMPLATE_TYPES,
  updateEmailTemplateRequestSchema,
  updateSmtpConfigRequestSchema,
} from '@kiln/shared-schemas';
import { RotateCcw, Save, Send } from 'lucide-react';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Label, Textarea } from '../../ui/input';
import { Badge, Card, Skeleton } from '../../ui/misc';
import {
  useEmailTemplates,
  useResetTemplate,
  useSaveSmtp,
  useSaveTemplate,
  useSmtpConfig,
  useTemplatePreview,
  useTestSmtp,
  type EmailTemplate,
  type SmtpConfig,
  type SmtpConfigUpdate,
  type TemplatePreviewInput,
} from './hooks';

const route = getRouteApi('/app/auth');

// ---- SMTP -----------------------------------------------------------------------------------

const smtp = updateSmtpConfigRequestSchema.shape;
const blankToNull = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? null : v);
const smtpFormSchema = z.object({
  enabled: z.boolean(),
  host: z.preprocess(blankToNull, smtp.host),
  port: z.preprocess(
    (v) => (v === '' || v === undefined || Number.isNaN(v) ? null : Number(v)),
    z.number({ error: 'Enter a port number' }).int().min(1).max(65535).nullable(),
  ),
  username: z.preprocess(blankToNull, smtp.username),
  /** Empty: the stored password stays. */
  password: z.preprocess((v) => (v === '' ? undefined : v), smtp.password),
  fromEmail: z.preprocess(blankToNull, z.email({ error: 'Enter an email address' }).nullable()),
  fromName: z.preprocess(blankToNull, smtp.fromName),
  secure: z.boolean(),
});
interface SmtpForm {
  enabled: boolean;
  host: string;
  port: string;
  username: string;
  password: string;
  fromEmail: string;
  fromName: string;
  secure: boolean;
}

function toSmtpForm(c: SmtpConfig): SmtpForm {
  return {
    enabled: c.enabled,
    host: c.host,
    port: String(c.port),
    username: c.username,
    password: '',
    fromEmail: c.fromEmail ?? '',
    fromName: c.fromName ?? '',
    secure: c.secure,
  };
}

function SwitchField({
  id,
  label,
  checked,
  onChange,
}: {
  id: string;
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
}) {
  return (
    <div className="flex items-center gap-3">
      <Switch id={id} checked={checked} onCheckedChange={onChange} />
      <Label htmlFor={id}>{label}</Label>
    </div>
  );
}

function SmtpSettings({ config }: { config: SmtpConfig }) {
  const save = useSaveSmtp();
  const test = useTestSmtp();
  const [to, setTo] = useState('');
  const ids = { enabled: useId(), secure: useId(), to: useId() };
  const form = useForm<SmtpForm, unknown, SmtpConfigUpdate>({
    resolver: zodResolver(smtpFormSchema) as unknown as Resolver<
      SmtpForm,
      unknown,
      SmtpConfigUpdate
    >,
    defaultValues: toSmtpForm(config),
  });
  const { errors, isDirty } = form.formState;
  const submit = form.handleSubmit(async (v) => {
    const saved = await save.mutateAsync(v).catch(() => undefined);
    if (saved) form.reset(toSmtpForm(saved));
  });
  const validTo = z.email().safeParse(to).success;
  const source = config.inForce.source;
  return (
    <Card
      title="SMTP"
      description="The server Kiln sends verification, reset and sign-in messages through."
      actions={
        source === 'database' ? (
          <Badge tone="success">in use</Badge>
        ) : source === 'environment' ? (
          <Badge tone="info">SMTP_* variables in use</Badge>
        ) : (
          <Badge tone="warning">not configured</Badge>
        )
      }
    >
      <form
        className="flex flex-col gap-4"
        onSubmit={(e) => void submit(e)}
        noValidate
        aria-label="SMTP settings"
      >
        {source !== 'database' && (
          <p className="rounded-md border border-border bg-surface-2 px-3 py-2 text-xs text-muted">
            {source === 'environment'
              ? `Messages go through ${config.inForce.host ?? 'the server'} set by the SMTP_* environment variables. Enabled settings saved here take precedence.`
              : 'No SMTP server is configured: messages are only written to the server logs. Enter your provider’s settings and enable them.'}
          </p>
        )}
        <Controller
          control={form.control}
          name="enabled"
          render={({ field }) => (
            <SwitchField
              id={ids.enabled}
              label="Send through these settings"
              checked={field.value}
              onChange={field.onChange}
            />
          )}
        />
        <div className="grid grid-cols-[1fr_8rem] gap-3">
          <FormField label="Host" error={errors.host?.message}>
            <Input
              autoComplete="off"
              spellCheck={false}
              placeholder="smtp.example.com"
              {...form.register('host')}
            />
          </FormField>
          <FormField label="Port" error={errors.port?.message}>
            <Input inputMode="numeric" placeholder="587" {...form.register('port')} />
          </FormField>
        </div>
        <div className="grid grid-cols-2 gap-3">
          <FormField label="Username" error={errors.username?.message}>
            <Input autoComplete="off" spellCheck={false} {...form.register('username')} />
          </FormField>
          <FormField
            label="Password"
            error={errors.password?.message}
            hint={
              config.hasPassword ? 'Set: leave empty to keep it.' : 'Never shown again once saved.'
            }
          >
            <Input
              type="password"
              autoComplete="new-password"
              placeholder={config.hasPassword ? '••••••••  (unchanged)' : ''}
              {...form.register('password')}
            />
          </FormField>
          <FormField label="Sender address" error={errors.fromEmail?.message}>
            <Input
              type="email"
              autoComplete="off"
              placeholder="no-reply@example.com"
              {...form.register('fromEmail')}
            />
          </FormField>
          <FormField label="Sender name" error={errors.fromName?.message}>
            <Input autoComplete="off" placeholder="Example" {...form.register('fromName')} />
          </FormField>
        </div>
        <Controller
          control={form.control}
          name="secure"
          render={({ field }) => (
            <SwitchField
              id={ids.secure}
              label="TLS from the start (port 465); otherwise STARTTLS"
              checked={field.value}
              onChange={field.onChange}
            />
          )}
        />
        <div className="flex justify-end gap-2">
          <Button
            variant="outline"
            disabled={!isDirty}
            onClick={() => form.reset(toSmtpForm(config))}
          >
            Discard
          </Button>
          <Button type="submit" disabled={!isDirty} loading={save.isPending}>
            <Save aria-hidden /> Save SMTP settings
          </Button>
        </div>
      </form>
      <div className="mt-4 border-t border-border pt-4">
        <form
          className="flex flex-col gap-1.5"
          aria-label="Test send"
          onSubmit={(e) => {
            e.preventDefault();
            if (validTo) void test.mutateAsync(to).catch(() => {});
          }}
        >
          <Label htmlFor={ids.to}>Send a test message to</Label>
          <div className="flex items-center gap-2">
            <Input
              id={ids.to}
              type="email"
              aria-describedby={`${ids.to}-hint`}
              value={to}
              onChange={(e) => setTo(e.target.value)}
              placeholder="you@example.com"
            />
            <Button type="submit" variant="outline" disabled={!validTo} loading={test.isPending}>
              <Send aria-hidden /> Send test
            </Button>
          </div>
          <p id={`${ids.to}-hint`} className="text-xs text-muted">
            Uses the saved settings in force{isDirty ? ': save your changes first' : ''}.
          </p>
        </form>
      </div>
    </Card>
  );
}

// ---- templates ------------------------------------------------------------------------------

const templateLabels: Record<string, string> = {
  'verify-email-code': 'Verify email (code)',
  'verify-email-link': 'Verify email (link)',
  'reset-password-code': 'Reset password (code)',
  'reset-password-link': 'Reset password (link)',
  'one-time-code': 'Sign-in code',
  'magic-link': 'Magic link',
  welcome: 'Welcome',
  invite: 'Invitation',
};

const templateFormSchema = updateEmailTemplateRequestSchema.extend({ enabled: z.boolean() });
type TemplateForm = z.infer<typeof templateFormSchema>;

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

function TemplateEditor({ template }: { template: EmailTemplate }) {
  const save = useSaveTemplate();
  const reset = useResetTemplate();
  const [resetting, setResetting] = useState(false);
  const enabledId = useId();
  const toForm = (t: EmailTemplate): TemplateForm => ({
    subject: t.subject,
    html: t.html,
    text: t.text,
    enabled: t.enabled,
  });
  const form = useForm<TemplateForm>({
    resolver: zodResolver(templateFormSchema),
    defaultValues: toForm(template),
  });
  const { errors, isDirty } = form.formState;
  const [subject, html] = form.watch(['subject', 'html']);
  const draft = useDebounced<TemplatePreviewInput>({ subject, html }, 350);
  const preview = useTemplatePreview(template.type, draft);
  const submit = form.handleSubmit(async (v) => {
    const saved = await save.mutateAsync({ type: template.type, body: v }).catch(() => undefined);
    if (saved) form.reset(toForm(saved));
  });
  return (
    <div className="grid grid-cols-2 gap-4">
      <form
        className="flex min-w-0 flex-col gap-3"
        onSubmit={(e) => void submit(e)}
        noValidate
        aria-label="Template"
      >
        <div className="flex flex-wrap items-center gap-2 text-xs text-muted">
          <span>Variables:</span>
          {template.variables.map((v) => (
            <code
              key={v}
              className="rounded bg-surface-2 px-1.5 py-0.5 font-mono text-fg"
            >{`{{${v}}}`}</code>
          ))}
        </div>
        <FormField label="Subject" error={errors.subject?.message}>
          <Input {...form.register('subject')} />
        </FormField>
        <FormField label="HTML body" error={errors.html?.message}>
          <Textarea
            rows={14}
            spellCheck={false}
            className="font-mono text-xs leading-relaxed"
            {...form.register('html')}
          />
        </FormField>
        <FormField
          label="Plain-text body"
          error={errors.text?.message}
          hint="For mail clients that do not show HTML."
        >
          <Textarea
            rows={4}
            spellCheck={false}
            className="font-mono text-xs"
            {...form.register('text')}
          />
        </FormField>
        <Controller
          control={form.control}
          name="enabled"
          render={({ field }) => (
            <div className="flex items-center gap-3">
              <Switch id={enabledId} checked={field.value} onCheckedChange={field.onChange} />
              <Label htmlFor={enabledId}>Send this message (off: Kiln does not send it)</Label>
            </div>
          )}
        />
        <div className="flex items-center justify-end gap-2">
          {!template.isDefault && (
            <Button variant="ghost" className="mr-auto" onClick={() => setResetting(true)}>
              <RotateCcw aria-hidden /> Restore the default
            </Button>
          )}
          <Button
            variant="outline"
            disabled={!isDirty}
            onClick={() => form.reset(toForm(template))}
          >
            Discard
          </Button>
          <Button type="submit" disabled={!isDirty} loading={save.isPending}>
            <Save aria-hidden /> Save template
          </Button>
        </div>
      </form>
      <section className="flex min-w-0 flex-col gap-2" aria-label="Preview">
        <div className="flex items-center justify-between gap-2">
          <h3 className="text-sm font-medium">Preview</h3>
          <span className="text-xs text-muted" aria-live="polite">
            {preview.isFetching ? 'Rendering…' : 'With sample values'}
          </span>
        </div>
        {preview.error ? (
          <ErrorPanel error={preview.error} title="The draft does not render" />
        ) : !preview.data ? (
          <Skeleton className="h-[28rem] w-full" />
        ) : (
          <div className="overflow-hidden rounded-md border border-border">
            <p
              className="truncate border-b border-border bg-surface-2 px-3 py-2 text-sm"
              data-testid="preview-subject"
            >
              <span className="text-muted">Subject: </span>
              {preview.data.subject}
            </p>
            <iframe
              title="Email preview"
              sandbox=""
              srcDoc={preview.data.html}
              className="block h-[28rem] w-full bg-white"
            />
          </div>
        )}
      </section>
      <ConfirmDialog
        open={resetting}
        onOpenChange={setResetting}
        title="Restore the default template?"
        description="Your subject and bodies for this message are replaced with Kiln's default."
        confirmLabel="Restore default"
        destructive
        onConfirm={() => reset.mutateAsync(template.type).then((t) => form.reset(toForm(t)))}
      />
    </div>
  );
}

function Templates() {
  const templates = useEmailTemplates();
  const { template } = route.useSearch();
  const navigate = route.useNavigate();
  const current =
    template && (EMAIL_TEMPLATE_TYPES as readonly string[]).includes(template)
      ? template
      : EMAIL_TEMPLATE_TYPES[0];
  const selected = templates.data?.find((t) => t.type === current);
  return (
    <Card
      title="Email templates"
      description="The messages Kiln sends. Edit one: the preview follows as you type."
    >
      {templates.error ? (
        <ErrorPanel
          error={templates.error}
          title="Could not load the templates"
          onRetry={() => void templates.refetch()}
        />
      ) : (
        <div className="grid grid-cols-[13rem_1fr] gap-4 max-[1180px]:grid-cols-1">
          <nav aria-label="Templates">
            <ul className="flex flex-col gap-0.5 max-[1180px]:flex-row max-[1180px]:flex-wrap">
              {EMAIL_TEMPLATE_TYPES.map((type) => {
                const t = templates.data?.find((x) => x.type === type);
                const active = type === current;
                return (
                  <li key={type}>
                    <button
                      type="button"
                      aria-current={active ? 'true' : undefined}
                      onClick={() =>
                        void navigate({ search: (s) => ({ ...s, template: type }), replace: true })
                      }
                      className={`flex w-full cursor-pointer items-center justify-between gap-2 rounded-md px-2.5 py-1.5 text-left text-sm ${
                        active
                          ? 'bg-accent font-medium text-fg'
                          : 'text-muted hover:bg-surface-2 hover:text-fg'
                      }`}
                    >
                      <span className="truncate">{templateLabels[type] ?? type}</span>
                      {t && !t.isDefault && <Badge tone="primary">custom</Badge>}
                    </button>
                  </li>
                );
              })}
            </ul>
          </nav>
          <div className="min-w-0">
            {selected ? (
              <TemplateEditor
                key={`${selected.type}:${selected.updatedAt ?? 'default'}`}
                template={selected}
              />
            ) : (
              <Skeleton className="h-96 w-full" />
            )}
          </div>
        </div>
      )}
    </Card>
  );
}

export function EmailTab() {
  const config = useSmtpConfig();
  return (
    <div className="flex flex-col gap-4">
      {config.error ? (
        <ErrorPanel
          error={config.error}
          title="Could not load the SMTP settings"
          onRetry={() => void config.refetch()}
        />
      ) : config.data ? (
        <SmtpSettings config={config.data} />
      ) : (
        <Skeleton className="h-80 w-full" />
      )}
      <Templates />
    </div>
  );
}
