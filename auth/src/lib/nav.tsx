/**
 * The pages' router (a handful of paths under /auth, so no router library) and the app's return
 * context: `redirect` and `code_challenge` (and `lang`) travel along every link between pages,
 * so whichever way the user signs in, the app gets its code at the end.
 */
import { useEffect, useState, useSyncExternalStore, type AnchorHTMLAttributes } from 'react';
import { call } from './api';

export const BASE = '/auth';
export type PageName =
  | 'sign-in'
  | 'sign-up'
  | 'verify-email'
  | 'forgot-password'
  | 'reset-password'
  | 'callback'
  | 'mfa'
  | 'account';
const PAGES: PageName[] = [
  'sign-in',
  'sign-up',
  'verify-email',
  'forgot-password',
  'reset-password',
  'callback',
  'mfa',
  'account',
];

/** Query parameters that follow the user from page to page. */
const CARRIED = ['redirect', 'code_challenge', 'lang'] as const;

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
window.addEventListener('popstate', notify);
const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => listeners.delete(l);
};

export function pageOf(pathname: string): PageName | null {
  const rest = pathname.startsWith(BASE)
    ? pathname.slice(BASE.length).replace(/^\/+|\/+$/g, '')
    : '';
  if (rest === '') return 'sign-in';
  return (PAGES as string[]).includes(rest) ? (rest as PageName) : null;
}

export function useLocation() {
  return useSyncExternalStore(subscribe, () => window.location.href);
}

export const params = () => new URLSearchParams(window.location.search);

/** A page's URL, carrying the return context plus `extra` parameters. */
export function href(page: PageName, extra: Record<string, string | undefined> = {}): string {
  const current = params();
  const next = new URLSearchParams();
  for (const k of CARRIED) {
    const v = current.get(k);
    if (v) next.set(k, v);
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) next.set(k, v);
  const q = next.toString();
  return `${BASE}/${page}${q ? `?${q}` : ''}`;
}

/** Goes to a page; `state` stays out of the URL (an mfaToken, for instance). */
export function navigate(to: string, state?: unknown, replace = false): void {
  if (replace) window.history.replaceState(state ?? null, '', to);
  else window.history.pushState(state ?? null, '', to);
  notify();
  window.scrollTo(0, 0);
}

/** An in-app link (plain navigation for modified clicks). */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return (
    <a
      {...props}
      onClick={(e) => {
        props.onClick?.(e);
        if (e.defaultPrevented || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    />
  );
}

// ---- the app's return --------------------------------------------------------------------

export interface AppReturn {
  redirect: string;
  codeChallenge: string;
}

/** The app's return context, or null when the pages were opened directly. */
export function appReturn(): AppReturn | null {
  const p = params();
  const redirect = p.get('redirect');
  if (!redirect) return null;
  return { redirect, codeChallenge: p.get('code_challenge') ?? '' };
}

export type ReturnCheck = 'none' | 'checking' | 'allowed' | 'refused' | 'no-challenge';

/** Whether the app's redirect may be used: asked once, before anything is shown. */
export function useReturnCheck(): ReturnCheck {
  const target = appReturn();
  const [state, setState] = useState<ReturnCheck>(target ? 'checking' : 'none');
  const redirect = target?.redirect;
  const challenge = target?.codeChallenge;
  useEffect(() => {
    if (!redirect) return;
    if (!/^[A-Za-z0-9_-]{43}$/.test(challenge ?? '')) {
      setState('no-challenge');
      return;
    }
    call<{ allowed: boolean }>(
      'get',
      `/api/auth/redirects/check?redirect_uri=${encodeURIComponent(redirect)}`,
    )
      .then((r) => setState(r.allowed ? 'allowed' : 'refused'))
      .catch(() => setState('refused'));
  }, [redirect, challenge]);
  return state;
}

/**
 * Signed in: back to the app with a one-time code bound to its challenge (the app exchanges it
 * with its verifier), or to the account page when no app sent the user.
 */
export async function finishSignIn(): Promise<void> {
  const target = appReturn();
  if (!target) {
    navigate(href('account'), undefined, true);
    return;
  }
  const { redirectTo } = await call<{ redirectTo: string }>('post', '/api/auth/oauth/codes', {
    redirect_uri: target.redirect,
    code_challenge: target.codeChallenge,
  });
  window.location.replace(redirectTo);
}
