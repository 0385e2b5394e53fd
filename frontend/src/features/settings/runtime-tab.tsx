/**
 * Settings that change at run time (PATCH /api/settings): the CORS origins, one per line,
 * validated with the shared schema. Saving applies at once on this instance and within seconds
 * on every other one; "Use the environment's value" removes the override.
 */
import { useEffect, useRef } from 'react';
import { useForm, type Resolver } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { corsOriginsSchema } from '@kiln/shared-schemas';
import { Link } from '@tanstack/react-router';
import { ArrowRight, Globe, Save, Undo2 } from 'lucide-react';
import { formatDateTime } from '../../lib/format';
import { Button } from '../../ui/button';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Textarea } from '../../ui/input';
import { Card, Skeleton } from '../../ui/misc';
import { SourceBadge } from './source-badge';
import { SessionPolicyForm } from './session-policy';
import { useSettings, useUpdateSettings, type Settings } from './hooks';

const lines = (v: unknown) =>
  typeof v === 'string'
    ? v
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
    : v;

const formSchema = z.object({ corsOrigins: z.preprocess(lines, corsOriginsSchema) });
type FormValues = { corsOrigins: string };
type Parsed = z.output<typeof formSchema>;

/** Settings kept by their own areas, which apply without a restart too. */
const elsewhere = [
  {
    to: '/auth',
    search: { tab: 'settings' },
    label: 'Sign-up, passwords and redirect URLs',
  },
  { to: '/auth', search: { tab: 'oauth' }, label: 'OAuth providers' },
  { to: '/auth', search: { tab: 'email' }, label: 'SMTP and email templates' },
  { to: '/ai', search: { tab: 'config' }, label: 'AI models, system prompt and limits' },
] as const;

function describe(origins: string[]): string {
  return origins.length === 1 && origins[0] === '*' ? 'any origin (*)' : origins.join(', ');
}

function CorsForm({ setting }: { setting: Settings['runtime']['corsOrigins'] }) {
  const save = useUpdateSettings();
  const form = useForm<FormValues, unknown, Parsed>({
    resolver: zodResolver(formSchema) as unknown as Resolver<FormValues, unknown, Parsed>,
    defaultValues: { corsOrigins: setting.value.join('\n') },
  });
  const dirty = useRef(form.formState.isDirty);
  dirty.current = form.formState.isDirty;
  // A newer copy from the server replaces an untouched form.
  useEffect(() => {
    if (!dirty.current) form.reset({ corsOrigins: setting.value.join('\n') });
  }, [setting, form]);

  const submit = form.handleSubmit(async ({ corsOrigins }) => {
    const saved = await save.mutateAsync({ corsOrigins }).catch(() => undefined);
    if (saved) form.reset({ corsOrigins: saved.runtime.corsOrigins.value.join('\n') });
  });
  const reset = async () => {
    const saved = await save.mutateAsync({ corsOrigins: null }).catch(() => undefined);
    if (saved) form.reset({ corsOrigins: saved.runtime.corsOrigins.value.join('\n') });
  };
  const error = form.formState.errors.corsOrigins;
  const message =
    error?.message ??
    (Array.isArray(error)
      ? (error as ({ message?: string } | undefined)[])
          .map((e, i) => (e?.message ? `Line ${i + 1}: ${e.message}` : undefined))
          .find(Boolean)
      : undefined);

  return (
    <form
      className="flex flex-col gap-4"
      onSubmit={(e) => void submit(e)}
      noValidate
      aria-label="CORS origins"
    >
      <dl className="grid grid-cols-[auto_minmax(0,1fr)] items-baseline gap-x-4 gap-y-2 text-sm">
        <dt className="text-muted">Applies now</dt>
        <dd className="flex min-w-0 flex-wrap items-center gap-2">
          <span className="font-mono text-xs break-all" data-testid="cors-current">
            {describe(setting.value)}
          </span>
          <SourceBadge source={setting.source} />
        </dd>
        <dt className="text-muted">Without an override</dt>
        <dd className="flex min-w-0 flex-wrap items-center gap-2">
          <span className="font-mono text-xs break-all">{describe(setting.baseValue)}</span>
          <SourceBadge source={setting.baseSource} />
        </dd>
        {setting.updatedAt && (
          <>
            <dt className="text-muted">Overridden</dt>
            <dd>{formatDateTime(setting.updatedAt)}</dd>
          </>
        )}
      </dl>
      <FormField
        label="Allowed origins"
        error={message}
        hint="One per line: scheme, host and port (https://app.example.com), or * alone for any origin."
      >
        <Textarea
          rows={5}
          spellCheck={false}
          className="font-mono text-xs"
          {...form.register('corsOrigins')}
        />
      </FormField>
      <div className="flex flex-wrap items-center justify-end gap-2">
        {setting.source === 'runtime' && (
          <Button
            type="button"
            variant="outline"
            onClick={() => void reset()}
            disabled={save.isPending}
          >
            <Undo2 aria-hidden />
            {setting.baseSource === 'environment'
              ? "Use the environment's value"
              : 'Use the default'}
          </Button>
        )}
        <Button type="submit" loading={save.isPending} disabled={!form.formState.isDirty}>
          <Save aria-hidden /> Save origins
        </Button>
      </div>
    </form>
  );
}

export function RuntimeTab() {
  const settings = useSettings();
  return (
    <div className="grid grid-cols-[minmax(0,3fr)_minmax(0,2fr)] items-start gap-4 max-[1180px]:grid-cols-1">
      <div className="flex min-w-0 flex-col gap-4">
        <Card
          title="CORS origins"
          description="Browser apps on these origins may call the API (CORS_ORIGINS). A change applies without a restart, on every instance within seconds."
        >
          {settings.isLoading ? (
            <div className="flex flex-col gap-3">
              <Skeleton className="h-4 w-2/3" />
              <Skeleton className="h-4 w-1/2" />
              <Skeleton className="h-28 w-full" />
            </div>
          ) : settings.error ? (
            <ErrorPanel
              error={settings.error}
              title="Could not load the settings"
              onRetry={() => void settings.refetch()}
            />
          ) : settings.data ? (
            <CorsForm setting={settings.data.runtime.corsOrigins} />
          ) : null}
        </Card>
        <Card
          title="Session policy"
          description="How long users' sessions may last (SESSION_MAX_LIFETIME_SECONDS, SESSION_INACTIVITY_TIMEOUT_SECONDS, SESSION_SINGLE_PER_USER). Applies at each sign-in and refresh, on every instance within seconds."
        >
          {settings.data ? (
            <SessionPolicyForm runtime={settings.data.runtime} />
          ) : settings.error ? null : (
            <Skeleton className="h-40 w-full" />
          )}
        </Card>
      </div>
      <Card title="Run-time settings" description="How overrides work.">
        <ul className="flex flex-col gap-3 text-sm">
          <li className="flex gap-2">
            <Globe className="mt-0.5 size-4 shrink-0 text-primary" aria-hidden />
            <span>
              An override is stored in the database and read by every instance, so it survives
              restarts and applies everywhere.
            </span>
          </li>
          <li className="flex gap-2">
            <Undo2 className="mt-0.5 size-4 shrink-0 text-primary" aria-hidden />
            <span>
              Removing it brings back the environment variable's value, or Kiln's default when none
              is set.
            </span>
          </li>
          <li className="text-xs text-muted">
            The dashboard and realtime sockets are not affected by CORS origins.
          </li>
        </ul>
        <h3 className="mt-5 mb-2 text-xs font-semibold tracking-wide text-muted uppercase">
          Also changed at run time, in their areas
        </h3>
        <ul className="flex flex-col gap-1.5 text-sm">
          {elsewhere.map((l) => (
            <li key={l.label}>
              <Link
                to={l.to}
                search={l.search}
                className="inline-flex items-center gap-1.5 text-primary hover:underline"
              >
                <ArrowRight className="size-3.5" aria-hidden />
                {l.label}
              </Link>
            </li>
          ))}
        </ul>
      </Card>
    </div>
  );
}
