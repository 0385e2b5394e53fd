import { useEffect, useState, type FormEvent } from 'react';
import { client, sdk, type SignInResult } from '../lib/api';
import { useConfig } from '../lib/config';
import { useSubmit } from '../lib/form';
import { useI18n } from '../lib/i18n';
import { href, Link, params } from '../lib/nav';
import { Button, CodeField, FormMessage } from '../ui/controls';
import { Layout } from '../ui/layout';
import { afterFirstFactor, RESEND_COOLDOWN_S } from './flow';

/** A resend button that shows how long until it may be used again. */
export function ResendButton({ label, send }: { label: string; send: () => Promise<void> }) {
  const { t } = useI18n();
  const [left, setLeft] = useState(RESEND_COOLDOWN_S);
  const [sent, setSent] = useState(false);
  const { busy, errors, run } = useSubmit();
  useEffect(() => {
    if (left <= 0) return;
    const timer = setTimeout(() => setLeft((s) => s - 1), 1000);
    return () => clearTimeout(timer);
  }, [left]);
  return (
    <div className="flex flex-col gap-1">
      <Button
        variant="secondary"
        busy={busy}
        disabled={left > 0}
        onClick={() =>
          void run(async () => {
            await send();
            setSent(true);
            setLeft(RESEND_COOLDOWN_S);
          })
        }
      >
        {label}
      </Button>
      <p
        aria-live="polite"
        className="min-h-5 text-center text-xs leading-5 text-zinc-600 dark:text-zinc-400"
      >
        {errors.form ??
          errors.email ??
          (left > 0 ? t('verify.resendIn', { s: left }) : sent ? t('verify.resent') : '')}
      </p>
    </div>
  );
}

export function VerifyEmail() {
  const config = useConfig();
  const { t } = useI18n();
  const p = params();
  const email = p.get('email') ?? '';
  const status = p.get('insforge_status');
  const [code, setCode] = useState('');
  const { busy, errors, run } = useSubmit();
  const redirectTo = `${window.location.origin}${href('verify-email', { email })}`;

  // Landing from the link in the message (GET /api/auth/email/verify-link sent the browser here).
  if (status) {
    const ok = status === 'success';
    const cleared = p.get('insforge_password') === 'reset_required';
    return (
      <Layout title={ok ? t('verify.linkOk') : t('verify.linkFailed')}>
        <p className="text-sm">
          {ok
            ? cleared
              ? t('verify.passwordCleared')
              : t('signIn.verified')
            : (p.get('insforge_error') ?? t('verify.linkFailedBody'))}
        </p>
        <div className="mt-6">
          <Link
            href={href('sign-in', {
              email: email || undefined,
              notice: ok && !cleared ? 'verified' : undefined,
            })}
            className="bg-brand text-on-brand inline-flex w-full justify-center rounded-md px-4 py-2 text-sm font-medium outline-none focus-visible:ring-2 focus-visible:ring-offset-2 ring-brand"
          >
            {t('verify.toSignIn')}
          </Link>
        </div>
      </Layout>
    );
  }

  const resend = async () => {
    await sdk(client.auth.resendVerificationEmail({ email, redirectTo }));
  };

  if (config.verifyEmailMethod === 'link') {
    return (
      <Layout title={t('verify.title')}>
        <p className="mb-6 text-sm">{t('verify.linkIntro', { email })}</p>
        <ResendButton label={t('verify.resendLink')} send={resend} />
      </Layout>
    );
  }

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const result = await sdk(client.auth.verifyEmail({ email, otp: code }));
      await afterFirstFactor(result as SignInResult);
    });
  };
  return (
    <Layout title={t('verify.title')}>
      <p className="mb-4 text-sm">{t('verify.codeIntro', { email })}</p>
      <form onSubmit={submit} noValidate className="flex flex-col gap-2">
        <CodeField
          label={t('common.code')}
          name="code"
          value={code}
          onChange={setCode}
          error={errors.code ?? errors.email}
          autoFocus
        />
        <FormMessage error={errors.form} />
        <Button type="submit" busy={busy}>
          {t('verify.submit')}
        </Button>
      </form>
      <div className="mt-4">
        <ResendButton label={t('verify.resend')} send={resend} />
      </div>
    </Layout>
  );
}
