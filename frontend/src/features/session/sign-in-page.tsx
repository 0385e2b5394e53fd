/**
 * Admin sign-in (POST /api/auth/admin/sessions: ADMIN_EMAIL / ADMIN_PASSWORD, or a user made
 * admin with their own password; one with a second factor then gives its code). Afterwards the
 * admin goes back to the page asked for (`?redirect=`), or to the overview.
 */
import { useState } from 'react';
import { createLazyRoute, useNavigate, useSearch } from '@tanstack/react-router';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import type { adminSessionRequestSchema } from '@kiln/shared-schemas';
import { Flame } from 'lucide-react';
import { finishSignIn, signIn } from '../../lib/api';
import { Button } from '../../ui/button';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';

export const Route = createLazyRoute('/sign-in')({ component: SignInPage });

/**
 * The form's rules: the admin email must be an email and the password non-empty (the API would
 * answer 401 for either). What is sent is the API's own request type (adminSessionRequestSchema).
 */
const signInFormSchema = z.object({
  username: z.email('Enter the admin email (ADMIN_EMAIL)'),
  password: z.string().min(1, 'Enter the password'),
}) satisfies z.ZodType<z.input<typeof adminSessionRequestSchema>>;
type SignInForm = z.infer<typeof signInFormSchema>;

/** Only paths inside the dashboard are followed (no open redirect). */
function safeRedirect(target: string | undefined): string {
  if (!target || !target.startsWith('/') || target.startsWith('//')) return '/';
  return target.replace(/^\/dashboard(?=\/|$)/, '') || '/';
}

const codeFormSchema = z.object({
  code: z
    .string()
    .trim()
    .min(6, 'Enter the 6-digit code from your authenticator, or a recovery code')
    .max(20),
});

/** The second step: the code of the admin's authenticator (or a recovery code). */
function MfaStep({ mfaToken, onDone }: { mfaToken: string; onDone: () => Promise<void> }) {
  const [error, setError] = useState<unknown>(null);
  const form = useForm<z.infer<typeof codeFormSchema>>({
    resolver: zodResolver(codeFormSchema),
    defaultValues: { code: '' },
  });
  const onSubmit = form.handleSubmit(async ({ code }) => {
    setError(null);
    try {
      await finishSignIn(mfaToken, code);
      await onDone();
    } catch (err) {
      setError(err);
    }
  });
  return (
    <>
      {error !== null && <ErrorPanel className="mt-4" title="Sign-in failed" error={error} />}
      <form className="mt-5 flex flex-col gap-4" onSubmit={onSubmit} noValidate>
        <FormField
          label="Authentication code"
          hint="From your authenticator app; a recovery code works too."
          error={form.formState.errors.code?.message}
        >
          <Input
            autoComplete="one-time-code"
            inputMode="numeric"
            autoFocus
            {...form.register('code')}
          />
        </FormField>
        <Button
          type="submit"
          size="lg"
          loading={form.formState.isSubmitting}
          className="mt-1 w-full"
        >
          Verify and sign in
        </Button>
      </form>
    </>
  );
}

function SignInPage() {
  const search = useSearch({ from: '/sign-in' });
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [mfaToken, setMfaToken] = useState<string>();
  const form = useForm<SignInForm>({
    resolver: zodResolver(signInFormSchema),
    defaultValues: { username: '', password: '' },
  });
  const onSubmit = form.handleSubmit(async (values) => {
    setError(null);
    try {
      const answer = await signIn(values.username, values.password);
      if ('requireMfa' in answer) {
        setMfaToken(answer.mfaToken);
        return;
      }
      await navigate({ to: safeRedirect(search.redirect) });
    } catch (err) {
      setError(err);
    }
  });
  const { errors, isSubmitting } = form.formState;

  return (
    <main className="grid min-h-full place-items-center bg-bg px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-center gap-2">
          <Flame className="size-6 text-primary" aria-hidden />
          <span className="text-lg font-semibold tracking-tight">Kiln</span>
        </div>
        <div className="rounded-lg border border-border bg-surface p-6 shadow-sm">
          <h1 className="text-lg font-semibold">
            {mfaToken ? 'Two-step verification' : 'Sign in to the dashboard'}
          </h1>
          <p className="mt-1 text-sm text-muted">
            {mfaToken
              ? 'Your account has a second factor: enter its current code.'
              : 'Use the admin account of this project (ADMIN_EMAIL and ADMIN_PASSWORD), or your own if an admin made you one.'}
          </p>
          {mfaToken && (
            <MfaStep
              mfaToken={mfaToken}
              onDone={() => navigate({ to: safeRedirect(search.redirect) })}
            />
          )}
          {!mfaToken && search.expired && !error && (
            <p role="status" className="mt-4 rounded-md bg-warning-soft px-3 py-2 text-sm text-fg">
              Your session ended. Sign in again to continue.
            </p>
          )}
          {!mfaToken && error !== null && (
            <ErrorPanel className="mt-4" title="Sign-in failed" error={error} />
          )}
          {!mfaToken && (
            <form className="mt-5 flex flex-col gap-4" onSubmit={onSubmit} noValidate>
              <FormField label="Email" error={errors.username?.message}>
                <Input
                  type="email"
                  autoComplete="username"
                  autoFocus
                  {...form.register('username')}
                />
              </FormField>
              <FormField label="Password" error={errors.password?.message}>
                <Input
                  type="password"
                  autoComplete="current-password"
                  {...form.register('password')}
                />
              </FormField>
              <Button type="submit" size="lg" loading={isSubmitting} className="mt-1 w-full">
                Sign in
              </Button>
            </form>
          )}
        </div>
      </div>
    </main>
  );
}
