import { useEffect, useState, type FormEvent } from 'react';
import { adoptSession, call } from '../lib/api';
import { useSubmit } from '../lib/form';
import { useI18n } from '../lib/i18n';
import { finishSignIn, href, navigate } from '../lib/nav';
import { Button, CodeField, FormMessage } from '../ui/controls';
import { Layout } from '../ui/layout';

/** The second factor: a TOTP code, or a recovery code. The mfaToken is in history state. */
export function Mfa() {
  const { t } = useI18n();
  const mfaToken = (window.history.state as { mfaToken?: string } | null)?.mfaToken;
  const [recovery, setRecovery] = useState(false);
  const [code, setCode] = useState('');
  const { busy, errors, run } = useSubmit();
  useEffect(() => {
    if (!mfaToken) navigate(href('sign-in'), undefined, true);
  }, [mfaToken]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const session = await call<{ accessToken: string }>('post', '/api/auth/mfa/challenge', {
        mfaToken,
        code,
      });
      adoptSession(session.accessToken);
      await finishSignIn();
    });
  };
  return (
    <Layout title={t('mfa.title')}>
      <p className="mb-4 text-sm">{t(recovery ? 'mfa.recoveryIntro' : 'mfa.intro')}</p>
      <form onSubmit={submit} noValidate className="flex flex-col gap-2">
        <CodeField
          key={recovery ? 'recovery' : 'totp'}
          label={t(recovery ? 'mfa.recoveryCode' : 'common.code')}
          name="code"
          free={recovery}
          value={code}
          onChange={setCode}
          error={errors.code}
          autoFocus
        />
        <FormMessage error={errors.form} />
        <Button type="submit" busy={busy}>
          {t('mfa.submit')}
        </Button>
      </form>
      <Button
        variant="link"
        className="mt-4"
        onClick={() => {
          setRecovery((r) => !r);
          setCode('');
        }}
      >
        {t(recovery ? 'mfa.useApp' : 'mfa.useRecovery')}
      </Button>
    </Layout>
  );
}
