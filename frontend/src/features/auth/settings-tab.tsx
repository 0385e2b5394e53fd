/**
 * Every auth setting of `GET|PUT /api/auth/config` in one form, validated with the shared
 * schema (blank optional texts become null, the redirect list is one URL per line). Leaving the
 * tab or the page with unsaved changes asks first.
 */
import { useEffect, useId, useRef } from 'react';
import { useBlocker } from '@tanstack/react-router';
import { Controller, useForm, type Control, type Resolver } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { authConfigSchema } from '@kiln/shared-schemas';
import { Save, Undo2 } from 'lucide-react';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Label, Textarea } from '../../ui/input';
import { Card, Skeleton } from '../../ui/misc';
import { Select } from '../../ui/select';
import { useAuthConfig, useSaveAuthConfig, type AuthConfig, type AuthConfigUpdate } from './hooks';

const shape = authConfigSchema.shape;
const blankToNull = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? null : v);
const lines = (v: unknown) =>
  typeof v === 'string'
    ? v
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
    : v;

/** The shared schema, read from the form's text inputs. */
const settingsSchema = authConfigSchema.extend({
  appName: z.preprocess(blankToNull, shape.appName),
  logoUrl: z.preprocess(blankToNull, shape.logoUrl),
  primaryColor: z.preprocess(blankToNull, shape.primaryColor),
  termsUrl: z.preprocess(blankToNull, shape.termsUrl),
  privacyUrl: z.preprocess(blankToNull, shape.privacyUrl),
  customClaimsHook: z.preprocess(blankToNull, shape.customClaimsHook),
  allowedRedirectUrls: z.preprocess(lines, shape.allowedRedirectUrls),
});

/** Readable texts for zod's generic bounds (the shared schema's own messages win). */
const plainMessages: z.core.$ZodErrorMap = (issue) =>
  issue.code === 'too_small' && issue.origin === 'number'
    ? `At least ${String(issue.minimum)}`
    : issue.code === 'too_big' && issue.origin === 'number'
      ? `At most ${String(issue.maximum)}`
      : issue.code === 'invalid_type' && issue.expected === 'number'
        ? 'Enter a number'
        : undefined;

type Texts =
  'appName' | 'logoUrl' | 'primaryColor' | 'termsUrl' | 'privacyUrl' | 'customClaimsHook';
type FormValues = Omit<z.output<typeof authConfigSchema>, Texts | 'allowedRedirectUrls'> &
  Record<Texts, string> & { allowedRedirectUrls: string };

function toForm(c: AuthConfig): FormValues {
  return {
    requireEmailVerification: c.requireEmailVerification,
    passwordMinLength: c.passwordMinLength,
    requireNumber: c.requireNumber,
    requireLowercase: c.requireLowercase,
    requireUppercase: c.requireUppercase,
    requireSpecialChar: c.requireSpecialChar,
    verifyEmailMethod: c.verifyEmailMethod,
    resetPasswordMethod: c.resetPasswordMethod,
    allowedRedirectUrls: c.allowedRedirectUrls.join('\n'),
    disableSignup: c.disableSignup,
    allowAnonymousSignIn: c.allowAnonymousSignIn,
    appName: c.appName ?? '',
    logoUrl: c.logoUrl ?? '',
    primaryColor: c.primaryColor ?? '',
    defaultTheme: c.defaultTheme,
    termsUrl: c.termsUrl ?? '',
    privacyUrl: c.privacyUrl ?? '',
    allowEmailOtp: c.allowEmailOtp,
    allowMagicLink: c.allowMagicLink,
    allowAccountDeletion: c.allowAccountDeletion,
    customClaimsHook: c.customClaimsHook ?? '',
  };
}

type BoolField = {
  [K in keyof FormValues]: FormValues[K] extends boolean ? K : never;
}[keyof FormValues];

function SwitchRow({
  control,
  name,
  label,
  hint,
}: {
  control: Control<FormValues, unknown, AuthConfigUpdate>;
  name: BoolField;
  label: string;
  hint: string;
}) {
  const id = useId();
  return (
    <div className="flex items-start justify-between gap-4 py-2">
      <div className="min-w-0">
        <Label htmlFor={id}>{label}</Label>
        <p id={`${id}-hint`} className="mt-0.5 text-xs text-muted">
          {hint}
        </p>
      </div>
      <Controller
        control={control}
        name={name}
        render={({ field }) => (
          <Switch
            id={id}
            aria-describedby={`${id}-hint`}
            checked={field.value}
            onCheckedChange={field.onChange}
            onBlur={field.onBlur}
          />
        )}
      />
    </div>
  );
}

const methodOptions = [
  { value: 'code', label: 'A 6-digit code' },
  { value: 'link', label: 'A link' },
];
const themeOptions = [
  { value: 'system', label: "The visitor's system setting" },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

function SettingsForm({ config }: { config: AuthConfig }) {
  const save = useSaveAuthConfig();
  const form = useForm<FormValues, unknown, AuthConfigUpdate>({
    resolver: zodResolver(settingsSchema, { error: plainMessages }) as unknown as Resolver<
      FormValues,
      unknown,
      AuthConfigUpdate
    >,
    defaultValues: toForm(config),
  });
  const { errors, isDirty } = form.formState;
  const dirty = useRef(isDirty);
  dirty.current = isDirty;
  const leaving = useRef(false);

  // A newer copy from the server (another tab saved) replaces an untouched form.
  useEffect(() => {
    if (!dirty.current) form.reset(toForm(config));
  }, [config, form]);

  const blocker = useBlocker({
    shouldBlockFn: ({ next }) =>
      dirty.current &&
      !(next.pathname.endsWith('/auth') && (next.search as { tab?: string }).tab === 'settings'),
    enableBeforeUnload: () => dirty.current,
    withResolver: true,
  });

  const submit = form.handleSubmit(async (values) => {
    const saved = await save.mutateAsync(values).catch(() => undefined);
    if (saved) form.reset(toForm(saved));
  });

  const redirectError =
    errors.allowedRedirectUrls?.message ??
    (Array.isArray(errors.allowedRedirectUrls)
      ? (errors.allowedRedirectUrls as ({ message?: string } | undefined)[])
          .map((e, i) => (e?.message ? `Line ${i + 1}: ${e.message}` : undefined))
          .find(Boolean)
      : undefined);
  const colour = form.watch('primaryColor');

  return (
    <form
      className="flex flex-col gap-4"
      onSubmit={(e) => void submit(e)}
      noValidate
      aria-label="Auth settings"
    >
      <div className="grid grid-cols-2 gap-4 max-[1180px]:grid-cols-1">
        <Card
          title="Sign-up and verification"
          description="Who may create an account, and how addresses are proven."
        >
          <div className="flex flex-col divide-y divide-border">
            <SwitchRow
              control={form.control}
              name="disableSignup"
              label="Disable sign-up"
              hint="Only admins create accounts (Users tab); the sign-up endpoint refuses everyone else."
            />
            <SwitchRow
              control={form.control}
              name="requireEmailVerification"
              label="Require email verification"
              hint="New users prove their address before their first session."
            />
            <SwitchRow
              control={form.control}
              name="allowAnonymousSignIn"
              label="Allow anonymous sign-in"
              hint="Visitors get a session without an account, and may upgrade it later."
            />
          </div>
          <div className="mt-3 grid grid-cols-2 gap-3">
            <Controller
              control={form.control}
              name="verifyEmailMethod"
              render={({ field }) => (
                <FormField label="Verify an address with">
                  <Select
                    value={field.value}
                    onValueChange={field.onChange}
                    options={methodOptions}
                  />
                </FormField>
              )}
            />
            <Controller
              control={form.control}
              name="resetPasswordMethod"
              render={({ field }) => (
                <FormField label="Reset a password with">
                  <Select
                    value={field.value}
                    onValueChange={field.onChange}
                    options={methodOptions}
                  />
                </FormField>
              )}
            />
          </div>
        </Card>

        <Card title="Password policy" description="Checked at sign-up, password change and reset.">
          <div className="max-w-xs">
            <FormField
              label="Minimum length"
              error={errors.passwordMinLength?.message}
              hint="4 to 128 characters."
            >
              <Input
                type="number"
                min={4}
                max={128}
                inputMode="numeric"
                {...form.register('passwordMinLength', { valueAsNumber: true })}
              />
            </FormField>
          </div>
          <div className="mt-2 flex flex-col divide-y divide-border">
            <SwitchRow
              control={form.control}
              name="requireNumber"
              label="Require a number"
              hint="At least one digit (0-9)."
            />
            <SwitchRow
              control={form.control}
              name="requireLowercase"
              label="Require a lowercase letter"
              hint="At least one of a-z."
            />
            <SwitchRow
              control={form.control}
              name="requireUppercase"
              label="Require an uppercase letter"
              hint="At least one of A-Z."
            />
            <SwitchRow
              control={form.control}
              name="requireSpecialChar"
              label="Require a special character"
              hint="At least one character that is neither a letter nor a digit."
            />
          </div>
        </Card>

        <Card title="Flows" description="The ways in the hosted auth pages and the API offer.">
          <div className="flex flex-col divide-y divide-border">
            <SwitchRow
              control={form.control}
              name="allowEmailOtp"
              label="Sign-in with an emailed code"
              hint="A one-time code sent to the address."
            />
            <SwitchRow
              control={form.control}
              name="allowMagicLink"
              label="Sign-in with a magic link"
              hint="A one-time link sent to the address."
            />
            <SwitchRow
              control={form.control}
              name="allowAccountDeletion"
              label="Users may delete their account"
              hint="From the account page, or DELETE /api/auth/users/current."
            />
          </div>
        </Card>

        <Card title="Redirects" description="Where sign-in flows may send a browser back to.">
          <FormField
            label="Allowed redirect URLs"
            error={redirectError}
            hint={
              <>
                One per line; <code className="font-mono">*</code> matches within a segment,{' '}
                <code className="font-mono">**</code> across segments, e.g.{' '}
                <code className="font-mono">https://*.example.com/**</code>. Empty: any URL.
              </>
            }
          >
            <Textarea
              rows={5}
              spellCheck={false}
              className="font-mono text-xs"
              placeholder="https://app.example.com/auth/callback"
              {...form.register('allowedRedirectUrls')}
            />
          </FormField>
        </Card>
      </div>

      <Card title="Branding" description="How the hosted auth pages (/auth) look to your users.">
        <div className="grid grid-cols-3 gap-4 max-[1180px]:grid-cols-2">
          <FormField label="App name" error={errors.appName?.message} hint="Empty: “Kiln”.">
            <Input placeholder="Kiln" {...form.register('appName')} />
          </FormField>
          <FormField label="Logo URL" error={errors.logoUrl?.message} hint="An https image.">
            <Input placeholder="https://example.com/logo.svg" {...form.register('logoUrl')} />
          </FormField>
          <FormField
            label="Primary colour"
            error={errors.primaryColor?.message}
            hint="Buttons and links, as #rrggbb."
          >
            <Input
              className="pl-8 font-mono"
              placeholder="#c2410c"
              // The colour as a swatch inside the field (a background: the input keeps the label).
              style={
                /^#[0-9a-f]{6}$/i.test(colour)
                  ? {
                      backgroundImage: `linear-gradient(${colour}, ${colour})`,
                      backgroundSize: '14px 14px',
                      backgroundPosition: '9px center',
                      backgroundRepeat: 'no-repeat',
                    }
                  : undefined
              }
              {...form.register('primaryColor')}
            />
          </FormField>
          <Controller
            control={form.control}
            name="defaultTheme"
            render={({ field }) => (
              <FormField label="Default theme">
                <Select value={field.value} onValueChange={field.onChange} options={themeOptions} />
              </FormField>
            )}
          />
          <FormField label="Terms of service URL" error={errors.termsUrl?.message}>
            <Input placeholder="https://example.com/terms" {...form.register('termsUrl')} />
          </FormField>
          <FormField label="Privacy policy URL" error={errors.privacyUrl?.message}>
            <Input placeholder="https://example.com/privacy" {...form.register('privacyUrl')} />
          </FormField>
        </div>
      </Card>

      <Card
        title="Access tokens"
        description="Every user token carries app_metadata, user_metadata and app_roles."
      >
        <div className="grid grid-cols-3 gap-4 max-[1180px]:grid-cols-2">
          <FormField
            label="Custom claims hook"
            error={errors.customClaimsHook?.message}
            hint={
              <>
                A SQL function <code className="font-mono">(user_id uuid, claims jsonb)</code>{' '}
                returning the claims to sign, run at every sign-in and refresh; a{' '}
                <code className="font-mono">RAISE EXCEPTION</code> in it refuses the sign-in. Empty:
                none.
              </>
            }
          >
            <Input
              className="font-mono"
              spellCheck={false}
              placeholder="public.add_claims"
              {...form.register('customClaimsHook')}
            />
          </FormField>
        </div>
      </Card>

      <div className="sticky bottom-0 z-10 -mx-1 flex items-center justify-end gap-3 rounded-lg border border-border bg-surface px-4 py-3 shadow-lg">
        <span className="mr-auto text-sm text-muted" aria-live="polite">
          {isDirty ? 'You have unsaved changes.' : 'All changes saved.'}
        </span>
        <Button
          variant="outline"
          disabled={!isDirty || save.isPending}
          onClick={() => form.reset(toForm(config))}
        >
          <Undo2 aria-hidden /> Discard
        </Button>
        <Button type="submit" disabled={!isDirty} loading={save.isPending}>
          <Save aria-hidden /> Save settings
        </Button>
      </div>

      <ConfirmDialog
        open={blocker.status === 'blocked'}
        onOpenChange={(o) => {
          if (!o && !leaving.current && blocker.status === 'blocked') blocker.reset();
          leaving.current = false;
        }}
        title="Discard unsaved changes?"
        description="The auth settings you changed have not been saved."
        confirmLabel="Discard changes"
        destructive
        onConfirm={() => {
          leaving.current = true;
          if (blocker.status === 'blocked') blocker.proceed();
        }}
      />
    </form>
  );
}

export function SettingsTab() {
  const config = useAuthConfig();
  if (config.error) {
    return (
      <ErrorPanel
        error={config.error}
        title="Could not load the auth settings"
        onRetry={() => void config.refetch()}
      />
    );
  }
  if (!config.data) {
    return (
      <div className="grid grid-cols-2 gap-4" aria-busy>
        {[0, 1, 2, 3].map((i) => (
          <Skeleton key={i} className="h-56 w-full" />
        ))}
      </div>
    );
  }
  return <SettingsForm config={config.data} />;
}
