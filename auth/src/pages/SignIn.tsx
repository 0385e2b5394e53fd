import { useEffect, useState, type FormEvent } from 'react';
import type { User } from '@kiln/shared-schemas';
import { call, client, currentUser, sdk, type SignInResult } from '../lib/api';
import { providerLabel, useConfig } from '../lib/config';
import { useSubmit } from '../lib/form';
import { useI18n } from '../lib/i18n';
import { appReturn, finishSignIn, href, Link, params } from '../lib/nav';
import { Button, CodeField, Divider, Field, FormMessage } from '../ui/controls';
import { Layout } from '../ui/layout';
import { afterFirstFactor } from './flow';

type Method = 'password' | 'code' | 'link';

/** Where an OAuth sign-in comes back to: the pages' own callback, carrying the app's context. */
const callbackUrl = () => `${window.location.origin}${href('callback')}`;

export function SignIn() {
  const config = useConfig();
  const { t } = useI18n();
  const app = config.appName ?? t('app.defaultName');
  const methods: Method[] = [
    'password',
    ...(config.allowEmailOtp ? (['code'] as const) : []),
    ...(config.allowMagicLink ? (['link'] as const) : []),
  ];
  const [method, setMethod] = useState<Method>('password');
  const [email, setEmail] = useState(params().get('email') ?? '');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState<'code' | 'link' | null>(null);
  const [signedIn, setSignedIn] = useState<User | null>(null);
  const { busy, errors, run } = useSubmit();
  const notice = params().get('notice');

  useEffect(() => {
    void currentUser().then(setSignedIn);
  }, []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      if (method === 'password') {
        const result = await sdk(client.auth.signInWithPassword({ email, password }));
        await afterFirstFactor(result as SignInResult);
      } else if (method === 'code' && sent !== 'code') {
        await sdk(client.auth.signInWithOtp({ email }));
        setSent('code');
      } else if (method === 'code') {
        const result = await sdk(client.auth.verifyOtp({ email, otp: code }));
        await afterFirstFactor(result as SignInResult);
      } else {
        await call('post', '/api/auth/email/send-magic-link', { email, redirectTo: callbackUrl() });
        setSent('link');
      }
    });
  };

  const oauth = (provider: string) =>
    void run(async () => {
      await sdk(client.auth.signInWithOAuth({ provider, redirectTo: callbackUrl() }));
    });
  const anonymous = () =>
    void run(async () => {
      const result = await call<SignInResult>('post', '/api/auth/anonymous');
      await afterFirstFactor(result);
    });
  const providers = [...config.oAuthProviders, ...config.customOAuthProviders];

  if (signedIn && appReturn()) {
    return (
      <Layout title={t('signIn.title', { app })}>
        <div className="flex flex-col gap-3">
          <Button busy={busy} onClick={() => void run(finishSignIn)}>
            {t('signIn.continueAs', { email: signedIn.email || t('account.anonymous') })}
          </Button>
          <Button
            variant="secondary"
            onClick={() => void client.auth.signOut().then(() => setSignedIn(null))}
          >
            {t('signIn.useOther')}
          </Button>
          <FormMessage error={errors.form} />
        </div>
      </Layout>
    );
  }

  return (
    <Layout title={t('signIn.title', { app })}>
      {notice === 'password-changed' && <Banner text={t('signIn.passwordChanged')} />}
      {notice === 'verified' && <Banner text={t('signIn.verified')} />}
      {providers.length > 0 && (
        <div className="mb-5 flex flex-col gap-2">
          {providers.map((p) => (
            <Button key={p} variant="secondary" onClick={() => oauth(p)} disabled={busy}>
              {t('signIn.withProvider', { provider: providerLabel(p) })}
            </Button>
          ))}
          <div className="mt-3">
            <Divider label={t('common.or')} />
          </div>
        </div>
      )}
      {methods.length > 1 && (
        <div
          role="radiogroup"
          aria-label={t('signIn.methods')}
          className="mb-5 grid grid-cols-3 gap-1 rounded-lg bg-zinc-100 p-1 dark:bg-zinc-800"
        >
          {methods.map((m) => (
            <button
              key={m}
              type="button"
              role="radio"
              aria-checked={method === m}
              onClick={() => {
                setMethod(m);
                setSent(null);
              }}
              className={`rounded-md px-1 py-1.5 text-xs whitespace-nowrap sm:px-2 font-medium outline-none focus-visible:ring-2 ring-brand sm:text-sm ${
                method === m
                  ? 'bg-white shadow-sm dark:bg-zinc-950'
                  : 'text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100'
              }`}
            >
              {t(
                m === 'password'
                  ? 'signIn.methodPassword'
                  : m === 'code'
                    ? 'signIn.methodCode'
                    : 'signIn.methodLink',
              )}
            </button>
          ))}
        </div>
      )}
      <form onSubmit={submit} noValidate className="flex flex-col gap-2">
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
        {method === 'password' && (
          <Field
            label={t('common.password')}
            reveal
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={errors.password}
            hint={
              <Link
                href={href('forgot-password', { email: email || undefined })}
                className="text-brand underline-offset-2 hover:underline"
              >
                {t('signIn.forgot')}
              </Link>
            }
          />
        )}
        {method === 'code' && sent === 'code' && (
          <>
            <p className="text-sm text-zinc-600 dark:text-zinc-400">
              {t('signIn.codeSent', { email })}
            </p>
            <CodeField
              label={t('common.code')}
              name="code"
              value={code}
              onChange={setCode}
              error={errors.code}
              autoFocus
            />
          </>
        )}
        <FormMessage
          error={errors.form}
          info={sent === 'link' ? t('signIn.linkSent', { email }) : undefined}
        />
        <Button type="submit" busy={busy}>
          {method === 'password'
            ? t('signIn.submit')
            : method === 'code'
              ? t(sent === 'code' ? 'signIn.verifyCode' : 'signIn.sendCode')
              : t('signIn.sendLink')}
        </Button>
      </form>
      {config.allowAnonymousSignIn && (
        <Button variant="secondary" className="mt-3" onClick={anonymous} disabled={busy}>
          {t('signIn.anonymous')}
        </Button>
      )}
      {!config.disableSignup && (
        <p className="mt-6 text-center text-sm text-zinc-600 dark:text-zinc-400">
          {t('signIn.noAccount')}{' '}
          <Link
            href={href('sign-up')}
            className="text-brand font-medium underline-offset-2 hover:underline"
          >
            {t('signIn.signUpLink')}
          </Link>
        </p>
      )}
    </Layout>
  );
}

export function Banner({ text }: { text: string }) {
  return (
    <p
      role="status"
      className="mb-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200"
    >
      {text}
    </p>
  );
}
