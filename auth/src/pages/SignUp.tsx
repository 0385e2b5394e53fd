import { useState, type FormEvent } from 'react';
import { client, sdk, type SignInResult } from '../lib/api';
import { useConfig, type PublicConfig } from '../lib/config';
import { useSubmit } from '../lib/form';
import { useI18n, type Translate } from '../lib/i18n';
import { href, Link, navigate } from '../lib/nav';
import { Button, Field, FormMessage } from '../ui/controls';
import { Layout } from '../ui/layout';
import { afterFirstFactor } from './flow';

/** The project's password rules, each checked as the user types. */
export function passwordRules(config: PublicConfig, t: Translate) {
  return [
    {
      label: t('policy.length', { n: config.passwordMinLength }),
      ok: (p: string) => p.length >= config.passwordMinLength,
    },
    ...(config.requireNumber
      ? [{ label: t('policy.number'), ok: (p: string) => /\d/.test(p) }]
      : []),
    ...(config.requireLowercase
      ? [{ label: t('policy.lowercase'), ok: (p: string) => /[a-z]/.test(p) }]
      : []),
    ...(config.requireUppercase
      ? [{ label: t('policy.uppercase'), ok: (p: string) => /[A-Z]/.test(p) }]
      : []),
    ...(config.requireSpecialChar
      ? [{ label: t('policy.special'), ok: (p: string) => /[^A-Za-z0-9]/.test(p) }]
      : []),
  ];
}

export function PasswordPolicy({ password }: { password: string }) {
  const config = useConfig();
  const { t } = useI18n();
  return (
    <div>
      <ul className="flex flex-col gap-0.5" aria-label={t('policy.title')}>
        {passwordRules(config, t).map((rule) => {
          const ok = rule.ok(password);
          return (
            <li
              key={rule.label}
              className={`flex items-center gap-1.5 ${ok ? 'text-emerald-700 dark:text-emerald-400' : ''}`}
            >
              <span aria-hidden="true" className="inline-block w-3 text-center">
                {ok ? '✓' : '•'}
              </span>
              {rule.label}
              <span className="sr-only"> ({t(ok ? 'policy.met' : 'policy.unmet')})</span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

export function SignUp() {
  const config = useConfig();
  const { t } = useI18n();
  const app = config.appName ?? t('app.defaultName');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, errors, run } = useSubmit();

  if (config.disableSignup) {
    return (
      <Layout title={t('signUp.title', { app })}>
        <p className="text-sm">{t('signUp.disabled')}</p>
        <p className="mt-6 text-center text-sm">
          <Link href={href('sign-in')} className="text-brand font-medium hover:underline">
            {t('signUp.signInLink')}
          </Link>
        </p>
      </Layout>
    );
  }

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const result = await sdk(
        client.auth.signUp({
          email,
          password,
          ...(name.trim() ? { name: name.trim() } : {}),
          // A verification link comes back to the pages (same origin: always allowed).
          redirectTo: `${window.location.origin}${href('verify-email', { email })}`,
        }),
      );
      const r = result as SignInResult & { requireEmailVerification?: boolean };
      if (r.requireEmailVerification) {
        navigate(href('verify-email', { email }));
        return;
      }
      await afterFirstFactor(r);
    });
  };

  const legal = config.termsUrl || config.privacyUrl;
  const linkTo = (url: string | null, label: string) =>
    url ? (
      <a
        href={url}
        target="_blank"
        rel="noreferrer"
        className="text-brand underline underline-offset-2"
      >
        {label}
      </a>
    ) : (
      label
    );
  const agree = t('signUp.agree').split(/(\{terms\}|\{privacy\})/);

  return (
    <Layout title={t('signUp.title', { app })}>
      <form onSubmit={submit} noValidate className="flex flex-col gap-2">
        <Field
          label={t('common.name')}
          name="name"
          autoComplete="name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={errors.name}
        />
        <Field
          label={t('common.email')}
          type="email"
          name="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.email}
        />
        <Field
          label={t('common.password')}
          reveal
          name="password"
          autoComplete="new-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
          hint={<PasswordPolicy password={password} />}
        />
        {legal && (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            {agree.map((part, i) =>
              part === '{terms}' ? (
                <span key={i}>{linkTo(config.termsUrl, t('signUp.terms'))}</span>
              ) : part === '{privacy}' ? (
                <span key={i}>{linkTo(config.privacyUrl, t('signUp.privacy'))}</span>
              ) : (
                part
              ),
            )}
          </p>
        )}
        <FormMessage error={errors.form} />
        <Button type="submit" busy={busy}>
          {t('signUp.submit')}
        </Button>
      </form>
      <p className="mt-6 text-center text-sm text-zinc-600 dark:text-zinc-400">
        {t('signUp.haveAccount')}{' '}
        <Link
          href={href('sign-in')}
          className="text-brand font-medium underline-offset-2 hover:underline"
        >
          {t('signUp.signInLink')}
        </Link>
      </p>
    </Layout>
  );
}
