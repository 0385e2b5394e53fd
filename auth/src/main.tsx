/**
 * Kiln's hosted auth pages, served at /auth: sign-in, sign-up, verification, password reset,
 * the second factor and the account page. An app sends its users to
 * /auth/sign-in?redirect=<allowed URL>&code_challenge=<S256>; they come back with
 * `insforge_code`, which the app exchanges with its verifier (README, "Hosted auth pages").
 */
import { lazy, StrictMode, Suspense, useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import './styles.css';
import { client, sdk } from './lib/api';
import { ConfigContext, contrastOn, type PublicConfig } from './lib/config';
import {
  I18nContext,
  loadCatalog,
  pickLanguage,
  translator,
  useI18n,
  type Lang,
  type Translate,
} from './lib/i18n';
import { pageOf, params, useLocation, useReturnCheck } from './lib/nav';
import { applyTheme, initialTheme, Layout } from './ui/layout';
import { SignIn } from './pages/SignIn';
import { SignUp } from './pages/SignUp';
import { VerifyEmail } from './pages/VerifyEmail';
import { ForgotPassword, ResetPassword } from './pages/Password';
import { Mfa } from './pages/Mfa';
import { Callback } from './pages/Callback';

const Account = lazy(() => import('./pages/Account'));

function RedirectRefused({ reason }: { reason: 'refused' | 'no-challenge' }) {
  const { t } = useI18n();
  return (
    <Layout title={t('redirect.refusedTitle')}>
      <p role="alert" className="text-sm">
        {t(reason === 'refused' ? 'redirect.refusedBody' : 'redirect.noChallenge')}
      </p>
    </Layout>
  );
}

function NotFound() {
  useEffect(() => window.location.replace('/auth/sign-in'), []);
  return null;
}

function App() {
  useLocation();
  const check = useReturnCheck();
  const { t } = useI18n();
  if (check === 'checking')
    return (
      <p role="status" className="sr-only">
        {t('common.loading')}
      </p>
    );
  if (check === 'refused' || check === 'no-challenge') return <RedirectRefused reason={check} />;
  switch (pageOf(window.location.pathname)) {
    case 'sign-in':
      return <SignIn />;
    case 'sign-up':
      return <SignUp />;
    case 'verify-email':
      return <VerifyEmail />;
    case 'forgot-password':
      return <ForgotPassword />;
    case 'reset-password':
      return <ResetPassword />;
    case 'mfa':
      return <Mfa />;
    case 'callback':
      return <Callback />;
    case 'account':
      return (
        <Suspense
          fallback={
            <p role="status" className="sr-only">
              {t('common.loading')}
            </p>
          }
        >
          <Account />
        </Suspense>
      );
    default:
      return <NotFound />;
  }
}

async function start() {
  const lang: Lang = pickLanguage(
    params().get('lang'),
    navigator.languages ?? [navigator.language],
  );
  const [config, catalog] = await Promise.all([
    sdk(client.auth.getPublicAuthConfig()) as Promise<unknown> as Promise<PublicConfig>,
    loadCatalog(lang),
  ]);
  document.documentElement.lang = lang;
  if (config.primaryColor) {
    document.documentElement.style.setProperty('--brand', config.primaryColor);
    document.documentElement.style.setProperty('--brand-contrast', contrastOn(config.primaryColor));
  }
  applyTheme(initialTheme(config.defaultTheme));
  const t: Translate = translator(catalog);
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <ConfigContext.Provider value={config}>
        <I18nContext.Provider value={{ t, lang }}>
          <App />
        </I18nContext.Provider>
      </ConfigContext.Provider>
    </StrictMode>,
  );
}

start().catch((err: unknown) => {
  const p = document.createElement('p');
  p.setAttribute('role', 'alert');
  p.style.cssText = 'font-family:system-ui,sans-serif;max-width:420px;margin:4rem auto';
  p.textContent = `The sign-in page could not load: ${(err as Error).message}`;
  document.getElementById('root')!.replaceChildren(p);
});
