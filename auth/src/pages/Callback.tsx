import { useEffect, useRef, useState } from 'react';
import { client, sdk, type SignInResult } from '../lib/api';
import { useI18n } from '../lib/i18n';
import { href, Link, params } from '../lib/nav';
import { FormMessage } from '../ui/controls';
import { Layout } from '../ui/layout';
import { afterFirstFactor } from './flow';

/**
 * Where a provider sign-in (`insforge_code`, exchanged with the verifier the SDK kept) and a
 * magic link (`token`, `email`) come back to; then the second factor or the app.
 */
export function Callback() {
  const { t } = useI18n();
  const [error, setError] = useState<string | null>(null);
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const p = params();
    const code = p.get('insforge_code');
    const token = p.get('token');
    const email = p.get('email');
    // Nothing secret stays in the address bar or the history.
    const clean = new URL(window.location.href);
    for (const k of [
      'insforge_code',
      'token',
      'email',
      'insforge_type',
      'error',
      'error_description',
    ])
      clean.searchParams.delete(k);
    window.history.replaceState(null, '', clean);
    const work = async () => {
      if (p.get('error')) throw new Error(p.get('error_description') ?? p.get('error')!);
      let result: SignInResult;
      if (code) result = (await sdk(client.auth.exchangeOAuthCode(code))) as SignInResult;
      else if (token && email)
        result = (await sdk(client.auth.verifyOtp({ email, otp: token }))) as SignInResult;
      else throw new Error(t('callback.failed'));
      await afterFirstFactor(result);
    };
    work().catch((err: unknown) => setError((err as Error).message || t('common.unexpected')));
  }, [t]);
  return (
    <Layout title={error ? t('callback.failed') : t('callback.working')}>
      <FormMessage error={error ?? undefined} />
      {error && (
        <p className="mt-4 text-center text-sm">
          <Link href={href('sign-in')} className="text-brand underline-offset-2 hover:underline">
            {t('common.back')}
          </Link>
        </p>
      )}
    </Layout>
  );
}
