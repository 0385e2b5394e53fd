import { useState, type FormEvent } from 'react';
import { client, sdk } from '../lib/api';
import { useConfig } from '../lib/config';
import { useSubmit } from '../lib/form';
import { useI18n } from '../lib/i18n';
import { href, Link, navigate, params } from '../lib/nav';
import { Button, CodeField, Field, FormMessage } from '../ui/controls';
import { Layout } from '../ui/layout';
import { PasswordPolicy } from './SignUp';
import { ResendButton } from './VerifyEmail';

/** Forgot password: a code (entered here, with the new password) or a link, per the project. */
export function ForgotPassword() {
  const config = useConfig();
  const { t } = useI18n();
  const byCode = config.resetPasswordMethod === 'code';
  const [email, setEmail] = useState(params().get('email') ?? '');
  const [sent, setSent] = useState(false);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const { busy, errors, run } = useSubmit();
  const redirectTo = `${window.location.origin}${href('reset-password')}`;
  const send = async () => {
    await sdk(client.auth.sendResetPasswordEmail({ email, redirectTo }));
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      if (!sent) {
        await send();
        setSent(true);
        return;
      }
      const { token } = await sdk(client.auth.exchangeResetPasswordToken({ email, code }));
      await sdk(client.auth.resetPassword({ newPassword: password, otp: token }));
      navigate(href('sign-in', { email, notice: 'password-changed' }), undefined, true);
    });
  };

  return (
    <Layout title={t('forgot.title')}>
      <form onSubmit={submit} noValidate className="flex flex-col gap-2">
        {!sent && (
          <p className="mb-2 text-sm text-zinc-600 dark:text-zinc-400">
            {t('forgot.intro', { what: t(byCode ? 'forgot.whatCode' : 'forgot.whatLink') })}
          </p>
        )}
        <Field
          label={t('common.email')}
          type="email"
          name="email"
          autoComplete="email"
          required
          readOnly={sent}
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.email}
        />
        {sent && byCode && (
          <>
            <CodeField
              label={t('common.code')}
              name="code"
              value={code}
              onChange={setCode}
              error={errors.code}
              autoFocus
            />
            <Field
              label={t('reset.newPassword')}
              reveal
              name="new-password"
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              error={errors.password}
              hint={<PasswordPolicy password={password} />}
            />
          </>
        )}
        <FormMessage
          error={errors.form}
          info={sent ? t(byCode ? 'forgot.codeSent' : 'forgot.linkSent', { email }) : undefined}
        />
        {(!sent || byCode) && (
          <Button type="submit" busy={busy}>
            {sent ? t('reset.submit') : t('forgot.submit')}
          </Button>
        )}
      </form>
      {sent && (
        <div className="mt-3">
          <ResendButton label={t(byCode ? 'verify.resend' : 'verify.resendLink')} send={send} />
        </div>
      )}
      <p className="mt-4 text-center text-sm">
        <Link href={href('sign-in')} className="text-brand underline-offset-2 hover:underline">
          {t('common.back')}
        </Link>
      </p>
    </Layout>
  );
}

/**
 * The reset link's landing page: a new password with the token from the link. An invitation
 * (a user an admin created without a password) lands here too (`insforge_type=invite`).
 */
export function ResetPassword() {
  const { t } = useI18n();
  const token = params().get('token');
  const invite = params().get('insforge_type') === 'invite';
  const [password, setPassword] = useState('');
  const { busy, errors, run } = useSubmit();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await sdk(client.auth.resetPassword({ newPassword: password, otp: token ?? '' }));
      navigate(href('sign-in', { notice: 'password-changed' }), undefined, true);
    });
  };
  if (!token) {
    return (
      <Layout title={t('reset.title')}>
        <p className="text-sm">{t('reset.missingToken')}</p>
        <p className="mt-6 text-center text-sm">
          <Link
            href={href('forgot-password')}
            className="text-brand underline-offset-2 hover:underline"
          >
            {t('forgot.title')}
          </Link>
        </p>
      </Layout>
    );
  }
  return (
    <Layout title={t(invite ? 'invite.title' : 'reset.title')}>
      <form onSubmit={submit} noValidate className="flex flex-col gap-2">
        <Field
          label={t('reset.newPassword')}
          reveal
          name="new-password"
          autoComplete="new-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
          hint={<PasswordPolicy password={password} />}
        />
        <FormMessage error={errors.form ?? errors.code} />
        <Button type="submit" busy={busy}>
          {t(invite ? 'invite.submit' : 'reset.submit')}
        </Button>
      </form>
    </Layout>
  );
}
