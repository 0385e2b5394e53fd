import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { User } from '@kiln/shared-schemas';
import { call, client, currentUser, sdk } from '../lib/api';
import { providerLabel, useConfig } from '../lib/config';
import { useSubmit } from '../lib/form';
import { useI18n } from '../lib/i18n';
import { href, navigate } from '../lib/nav';
import { Button, CodeField, Field, FormMessage } from '../ui/controls';
import { Layout } from '../ui/layout';
import { PasswordPolicy } from './SignUp';

/** The storage bucket profile pictures go to (the project creates it, with its policies). */
const AVATAR_BUCKET = 'avatars';

interface SessionRow {
  id: string;
  userAgent: string | null;
  ip: string | null;
  lastUsedAt: string;
  current: boolean;
}
interface Factor {
  id: string;
  friendlyName: string | null;
  status: 'unverified' | 'verified';
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = `section-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <section
      aria-labelledby={id}
      className="border-t border-zinc-200 py-5 first:border-t-0 first:pt-0 dark:border-zinc-800"
    >
      <h2 id={id} className="mb-3 text-base font-semibold">
        {title}
      </h2>
      {children}
    </section>
  );
}

export default function Account() {
  const { t } = useI18n();
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const reload = useCallback(async () => {
    const me = await currentUser();
    if (!me) navigate(href('sign-in'), undefined, true);
    else setUser((await call<{ user: User }>('get', '/api/auth/sessions/current')).user);
  }, []);
  useEffect(() => {
    void reload();
  }, [reload]);
  if (!user) {
    return (
      <Layout title={t('account.title')} wide>
        <p role="status" className="text-sm">
          {t('common.loading')}
        </p>
      </Layout>
    );
  }
  return (
    <Layout title={t('account.title')} wide>
      {user.isAnonymous && <p className="mb-4 text-sm">{t('account.anonymous')}</p>}
      <div>
        <Profile user={user} onSaved={setUser} />
        {!user.isAnonymous && <EmailAndPassword user={user} onChanged={setUser} />}
        <Sessions />
        {!user.isAnonymous && <Mfa />}
        {!user.isAnonymous && <Identities user={user} onChanged={setUser} />}
        <DeleteAccount />
      </div>
      <div className="border-t border-zinc-200 pt-5 dark:border-zinc-800">
        <Button
          variant="secondary"
          onClick={() =>
            void client.auth.signOut().then(() => navigate(href('sign-in'), undefined, true))
          }
        >
          {t('common.signOut')}
        </Button>
      </div>
    </Layout>
  );
}

function Profile({ user, onSaved }: { user: User; onSaved: (u: User) => void }) {
  const { t } = useI18n();
  const [name, setName] = useState(String(user.profile?.name ?? ''));
  const [saved, setSaved] = useState<string | undefined>();
  const { busy, errors, run } = useSubmit();
  const avatar = typeof user.profile?.avatar_url === 'string' ? user.profile.avatar_url : null;
  const save = (profile: Record<string, unknown>, message: string) =>
    run(async () => {
      setSaved(undefined);
      const res = await sdk(client.auth.setProfile(profile));
      onSaved({ ...user, profile: (res as { profile: Record<string, unknown> }).profile });
      setSaved(message);
    });
  return (
    <Section title={t('account.profile')}>
      <form
        noValidate
        className="flex flex-col gap-2"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void save({ name }, t('common.saved'));
        }}
      >
        <div className="flex items-center gap-4">
          {avatar ? (
            <img
              src={avatar}
              alt={t('account.avatar')}
              className="size-14 rounded-full object-cover"
            />
          ) : (
            <span
              aria-hidden="true"
              className="grid size-14 place-items-center rounded-full bg-zinc-200 text-lg font-semibold dark:bg-zinc-800"
            >
              {(name || user.email || '?').slice(0, 1).toUpperCase()}
            </span>
          )}
          <label className="cursor-pointer rounded-md border border-zinc-300 px-3 py-2 text-sm font-medium focus-within:ring-2 ring-brand hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-800">
            {t('account.avatarChange')}
            <input
              type="file"
              accept="image/*"
              className="sr-only"
              onChange={(e) => {
                const file = e.target.files?.[0];
                if (!file) return;
                void run(async () => {
                  const stored = await sdk(client.storage.from(AVATAR_BUCKET).uploadAuto(file));
                  const url = (stored as { url: string }).url;
                  await save({ avatar_url: url }, t('account.avatarUploaded'));
                });
              }}
            />
          </label>
        </div>
        <Field
          label={t('common.name')}
          name="name"
          autoComplete="name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={errors.name}
        />
        <FormMessage error={errors.form} info={saved} />
        <div>
          <Button type="submit" busy={busy} className="sm:w-auto">
            {t('common.save')}
          </Button>
        </div>
      </form>
    </Section>
  );
}

function EmailAndPassword({ user, onChanged }: { user: User; onChanged: (u: User) => void }) {
  const { t } = useI18n();
  const hasPassword = user.providers.includes('email');
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [done, setDone] = useState<string | undefined>();
  const emailForm = useSubmit();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [changed, setChanged] = useState<string | undefined>();
  const passwordForm = useSubmit();
  return (
    <>
      <Section title={t('account.email')}>
        <p className="mb-3 text-sm">
          {user.email}{' '}
          <span className="text-zinc-600 dark:text-zinc-400">
            ({t(user.emailVerified ? 'account.emailVerified' : 'account.emailUnverified')})
          </span>
        </p>
        <form
          noValidate
          className="flex flex-col gap-2"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void emailForm.run(async () => {
              setDone(undefined);
              if (!sentTo) {
                await call('post', '/api/auth/users/current/email', { email });
                setSentTo(email);
                return;
              }
              const res = await call<{ user: User }>(
                'post',
                '/api/auth/users/current/email/verify',
                { email: sentTo, code },
              );
              onChanged(res.user);
              setSentTo(null);
              setEmail('');
              setCode('');
              setDone(t('account.emailChanged'));
            });
          }}
        >
          <Field
            label={t('account.newEmail')}
            type="email"
            name="new-email"
            autoComplete="email"
            readOnly={Boolean(sentTo)}
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={emailForm.errors.email}
          />
          {sentTo && (
            <CodeField
              label={t('common.code')}
              name="email-code"
              value={code}
              onChange={setCode}
              error={emailForm.errors.code}
              autoFocus
            />
          )}
          <FormMessage
            error={emailForm.errors.form}
            info={sentTo ? t('account.emailCodeSent', { email: sentTo }) : done}
          />
          <div>
            <Button type="submit" variant="secondary" className="sm:w-auto" busy={emailForm.busy}>
              {t(sentTo ? 'account.emailConfirm' : 'account.emailChange')}
            </Button>
          </div>
        </form>
      </Section>
      <Section title={t('account.password')}>
        <form
          noValidate
          className="flex flex-col gap-2"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void passwordForm.run(async () => {
              setChanged(undefined);
              await call('post', '/api/auth/users/current/password', {
                ...(hasPassword ? { currentPassword: current } : {}),
                newPassword: next,
              });
              setCurrent('');
              setNext('');
              setChanged(t('account.passwordChanged'));
            });
          }}
        >
          {hasPassword && (
            <Field
              label={t('account.currentPassword')}
              reveal
              name="current-password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
              error={passwordForm.errors.currentPassword}
            />
          )}
          <Field
            label={t('reset.newPassword')}
            reveal
            name="new-password"
            autoComplete="new-password"
            value={next}
            onChange={(e) => setNext(e.target.value)}
            error={passwordForm.errors.password}
            hint={<PasswordPolicy password={next} />}
          />
          <FormMessage error={passwordForm.errors.form} info={changed} />
          <div>
            <Button
              type="submit"
              variant="secondary"
              className="sm:w-auto"
              busy={passwordForm.busy}
            >
              {t('account.passwordSave')}
            </Button>
          </div>
        </form>
      </Section>
    </>
  );
}

function Sessions() {
  const { t, lang } = useI18n();
  const [sessions, setSessions] = useState<SessionRow[]>([]);
  const { busy, errors, run, setErrors } = useSubmit();
  const load = useCallback(async () => {
    setSessions((await call<{ sessions: SessionRow[] }>('get', '/api/auth/sessions')).sessions);
  }, []);
  useEffect(() => {
    load().catch((err: unknown) => setErrors({ form: (err as Error).message }));
  }, [load, setErrors]);
  const when = (iso: string) => new Date(iso).toLocaleString(lang);
  return (
    <Section title={t('account.sessions')}>
      <ul className="flex flex-col gap-2">
        {sessions.map((s) => (
          <li
            key={s.id}
            className="flex flex-wrap items-center justify-between gap-2 rounded-md border border-zinc-200 px-3 py-2 text-sm dark:border-zinc-800"
          >
            <div className="min-w-0">
              <p className="truncate font-medium">
                {s.current
                  ? t('account.thisDevice')
                  : (s.userAgent?.slice(0, 60) ?? t('account.unknownDevice'))}
              </p>
              <p className="text-zinc-600 dark:text-zinc-400">
                {t('account.lastUsed', { when: when(s.lastUsedAt) })}
                {s.ip ? ` · ${s.ip}` : ''}
              </p>
            </div>
            {!s.current && (
              <Button
                variant="secondary"
                className="w-auto!"
                disabled={busy}
                onClick={() =>
                  void run(async () => {
                    await call('delete', `/api/auth/sessions/${s.id}`);
                    await load();
                  })
                }
              >
                {t('account.revoke')}
              </Button>
            )}
          </li>
        ))}
      </ul>
      <FormMessage error={errors.form} />
      {sessions.filter((s) => !s.current).length > 1 && (
        <Button
          variant="secondary"
          className="sm:w-auto"
          busy={busy}
          onClick={() =>
            void run(async () => {
              await call('post', '/api/auth/sessions/revoke-others');
              await load();
            })
          }
        >
          {t('account.revokeOthers')}
        </Button>
      )}
    </Section>
  );
}

function Mfa() {
  const { t } = useI18n();
  const [factors, setFactors] = useState<Factor[]>([]);
  const [enrolling, setEnrolling] = useState<{
    factorId: string;
    qrCode: string;
    secret: string;
  } | null>(null);
  const [code, setCode] = useState('');
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const { busy, errors, run, setErrors } = useSubmit();
  const load = useCallback(async () => {
    setFactors((await call<{ factors: Factor[] }>('get', '/api/auth/mfa/factors')).factors);
  }, []);
  useEffect(() => {
    load().catch((err: unknown) => setErrors({ form: (err as Error).message }));
  }, [load, setErrors]);
  const verified = factors.filter((f) => f.status === 'verified');
  return (
    <Section title={t('account.mfa')}>
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
        {t(verified.length ? 'account.mfaOn' : 'account.mfaOff')}
      </p>
      {recoveryCodes && (
        <div className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 dark:border-amber-700 dark:bg-amber-950">
          <h3 className="font-medium">{t('account.recoveryTitle')}</h3>
          <p className="mb-2 text-sm">{t('account.recoveryIntro')}</p>
          <ul
            data-testid="recovery-codes"
            className="mb-3 grid grid-cols-2 gap-1 font-mono text-sm"
          >
            {recoveryCodes.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
          <Button variant="secondary" className="sm:w-auto" onClick={() => setRecoveryCodes(null)}>
            {t('account.recoveryDone')}
          </Button>
        </div>
      )}
      {verified.length > 0 && (
        <ul className="mb-3 flex flex-col gap-2">
          {verified.map((f) => (
            <li key={f.id} className="flex items-center justify-between gap-2 text-sm">
              <span>{f.friendlyName ?? 'TOTP'}</span>
              <Button
                variant="secondary"
                className="w-auto!"
                disabled={busy}
                onClick={() =>
                  void run(async () => {
                    await call('delete', `/api/auth/mfa/factors/${f.id}`);
                    await load();
                  })
                }
              >
                {t('account.mfaRemove')}
              </Button>
            </li>
          ))}
        </ul>
      )}
      {enrolling ? (
        <form
          noValidate
          className="flex flex-col gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              const res = await call<{ recoveryCodes: string[] }>(
                'post',
                '/api/auth/mfa/totp/verify',
                { factorId: enrolling.factorId, code },
              );
              setRecoveryCodes(res.recoveryCodes);
              setEnrolling(null);
              setCode('');
              await load();
            });
          }}
        >
          <p className="text-sm">{t('account.mfaScan')}</p>
          <img
            src={enrolling.qrCode}
            alt="QR code"
            width={180}
            height={180}
            className="size-44 rounded bg-white p-2"
          />
          <p className="text-sm">
            {t('account.mfaSecret')}:{' '}
            <code data-testid="totp-secret" className="font-mono break-all">
              {enrolling.secret}
            </code>
          </p>
          <CodeField
            label={t('common.code')}
            name="totp"
            value={code}
            onChange={setCode}
            error={errors.code}
          />
          <FormMessage error={errors.form} />
          <Button type="submit" busy={busy} className="sm:w-auto">
            {t('account.mfaConfirm')}
          </Button>
        </form>
      ) : (
        verified.length === 0 && (
          <>
            <Button
              variant="secondary"
              className="sm:w-auto"
              busy={busy}
              onClick={() =>
                void run(async () => {
                  setEnrolling(await call('post', '/api/auth/mfa/totp/enroll', {}));
                })
              }
            >
              {t('account.mfaEnroll')}
            </Button>
            <FormMessage error={errors.form} />
          </>
        )
      )}
      {verified.length > 0 && !enrolling && (
        <>
          <Button
            variant="secondary"
            className="sm:w-auto"
            busy={busy}
            onClick={() =>
              void run(async () =>
                setRecoveryCodes(
                  (await call<{ recoveryCodes: string[] }>('post', '/api/auth/mfa/recovery-codes'))
                    .recoveryCodes,
                ),
              )
            }
          >
            {t('account.recoveryNew')}
          </Button>
          <FormMessage error={errors.form} />
        </>
      )}
    </Section>
  );
}

interface Identity {
  id: string;
  provider: string;
  email: string | null;
}

function Identities({ user, onChanged }: { user: User; onChanged: (u: User) => void }) {
  const { t } = useI18n();
  const config = useConfig();
  const [identities, setIdentities] = useState<Identity[]>([]);
  const { busy, errors, run, setErrors } = useSubmit();
  const load = useCallback(async () => {
    setIdentities(
      (await call<{ identities: Identity[] }>('get', '/api/auth/users/current/identities'))
        .identities,
    );
  }, []);
  useEffect(() => {
    load().catch((err: unknown) => setErrors({ form: (err as Error).message }));
  }, [load, setErrors]);
  const linked = new Set(identities.map((i) => i.provider));
  const available = [...config.oAuthProviders, ...config.customOAuthProviders].filter(
    (p) => !linked.has(p),
  );
  const linkProvider = (provider: string) =>
    void run(async () => {
      // The same PKCE round trip as a sign-in; /auth/callback exchanges the code.
      const { verifier, challenge } = await pkcePair();
      sessionStorage.setItem('insforge_pkce_verifier', verifier);
      const { authUrl } = await call<{ authUrl: string }>(
        'post',
        '/api/auth/users/current/identities',
        {
          provider,
          redirect_uri: `${window.location.origin}${href('callback')}`,
          code_challenge: challenge,
        },
      );
      window.location.assign(authUrl);
    });
  return (
    <Section title={t('account.identities')}>
      <ul className="mb-3 flex flex-col gap-2 text-sm">
        {user.providers.includes('email') && (
          <li className="flex min-h-9 items-center">{t('account.identityPassword')}</li>
        )}
        {identities.map((i) => (
          <li key={i.id} className="flex items-center justify-between gap-2">
            <span>
              {providerLabel(i.provider)}
              {i.email ? (
                <span className="text-zinc-600 dark:text-zinc-400"> · {i.email}</span>
              ) : null}
            </span>
            <Button
              variant="secondary"
              className="w-auto!"
              disabled={busy}
              aria-label={t('account.unlinkProvider', { provider: providerLabel(i.provider) })}
              onClick={() =>
                void run(async () => {
                  const res = await call<{ user: User }>(
                    'delete',
                    `/api/auth/users/current/identities/${i.id}`,
                  );
                  onChanged(res.user);
                  await load();
                })
              }
            >
              {t('account.unlink')}
            </Button>
          </li>
        ))}
      </ul>
      <FormMessage error={errors.form} />
      {available.length > 0 && (
        <div className="flex flex-wrap gap-2">
          {available.map((p) => (
            <Button
              key={p}
              variant="secondary"
              className="w-auto!"
              disabled={busy}
              onClick={() => linkProvider(p)}
            >
              {t('account.linkProvider', { provider: providerLabel(p) })}
            </Button>
          ))}
        </div>
      )}
    </Section>
  );
}

/** A PKCE verifier and its S256 challenge (base64url). */
async function pkcePair() {
  const b64url = (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: b64url(new Uint8Array(digest)) };
}

function DeleteAccount() {
  const { t } = useI18n();
  const config = useConfig();
  const [confirm, setConfirm] = useState('');
  const { busy, errors, run } = useSubmit();
  if (!config.allowAccountDeletion) return null;
  return (
    <Section title={t('account.danger')}>
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">{t('account.deleteIntro')}</p>
      <form
        noValidate
        className="flex flex-col gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await call('delete', '/api/auth/users/current');
            await client.auth.signOut();
            navigate(href('sign-in'), undefined, true);
          });
        }}
      >
        <Field
          label={t('account.deleteConfirm')}
          name="confirm"
          autoComplete="off"
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
        />
        <FormMessage error={errors.form} />
        <div>
          <Button type="submit" variant="danger" disabled={confirm !== 'DELETE'} busy={busy}>
            {t('account.deleteButton')}
          </Button>
        </div>
      </form>
    </Section>
  );
}
