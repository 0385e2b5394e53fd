/**
 * A user's application roles, ban and metadata in the detail sheet: roles toggled (and defined)
 * in place, a ban for a chosen time or lifted, app_metadata and user_metadata as they travel in
 * the user's token (`app_roles`, `app_metadata`, `user_metadata`, from the next refresh on).
 */
import { useState } from 'react';
import { Ban, Plus, ShieldCheck } from 'lucide-react';
import { formatDateTime } from '../../lib/format';
import { Button } from '../../ui/button';
import { Checkbox } from '../../ui/checkbox';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { Input, Label } from '../../ui/input';
import { Badge, Skeleton } from '../../ui/misc';
import { Select } from '../../ui/select';
import { useAppRoles, useCreateAppRole, useUpdateUser, type User } from './hooks';

/** Whether the user is banned now. */
export function isBanned(user: User): boolean {
  return Boolean(user.bannedUntil && Date.parse(user.bannedUntil) > Date.now());
}

const BAN_DURATIONS = [
  { value: '3600', label: '1 hour' },
  { value: '86400', label: '1 day' },
  { value: '604800', label: '7 days' },
  { value: '2592000', label: '30 days' },
  { value: '3153600000', label: 'Indefinitely (100 years)' },
];

const ROLE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

function RolesSection({ user }: { user: User }) {
  const roles = useAppRoles();
  const update = useUpdateUser((u) => `Roles of ${u.email} saved`);
  const create = useCreateAppRole();
  const [draft, setDraft] = useState('');
  const held = new Set(user.appRoles ?? []);
  const setRoles = (next: Set<string>) =>
    update.mutateAsync({ id: user.id, patch: { appRoles: [...next].sort() } }).catch(() => {});
  const toggle = (name: string, on: boolean) => {
    const next = new Set(held);
    if (on) next.add(name);
    else next.delete(name);
    void setRoles(next);
  };
  const draftValid = ROLE_NAME.test(draft);
  const addRole = async () => {
    if (!draftValid) return;
    try {
      if (!roles.data?.roles.some((r) => r.name === draft)) await create.mutateAsync(draft);
      await setRoles(new Set([...held, draft]));
      setDraft('');
    } catch {
      // The toast says what went wrong.
    }
  };
  return (
    <section aria-labelledby="user-roles">
      <h3 id="user-roles" className="mb-1 text-sm font-semibold">
        Roles
      </h3>
      <p className="mb-2 text-xs text-muted">
        In the user&apos;s token as <code className="font-mono">app_roles</code> from their next
        refresh; policies test them with{' '}
        <code className="font-mono">auth.has_role(&apos;name&apos;)</code>.
      </p>
      {roles.error ? (
        <ErrorPanel
          error={roles.error}
          title="Could not load the roles"
          onRetry={() => void roles.refetch()}
        />
      ) : !roles.data ? (
        <Skeleton className="h-10 w-full" />
      ) : (
        <div className="flex flex-col gap-3">
          {roles.data.roles.length === 0 ? (
            <p className="text-sm text-muted">No roles defined yet: add the first below.</p>
          ) : (
            <ul className="flex flex-wrap gap-x-5 gap-y-2" aria-label="Roles">
              {roles.data.roles.map((r) => (
                <li key={r.name} className="flex items-center gap-2">
                  <Checkbox
                    id={`role-${r.name}`}
                    checked={held.has(r.name)}
                    disabled={update.isPending}
                    onCheckedChange={(v) => toggle(r.name, v === true)}
                  />
                  <Label htmlFor={`role-${r.name}`} className="font-mono text-sm">
                    {r.name}
                  </Label>
                </li>
              ))}
            </ul>
          )}
          <form
            className="flex items-center gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              void addRole();
            }}
          >
            <Input
              aria-label="New role"
              placeholder="new role, e.g. editor"
              value={draft}
              maxLength={63}
              aria-invalid={draft !== '' && !draftValid}
              onChange={(e) => setDraft(e.target.value.trim())}
              className="max-w-60 font-mono"
            />
            <Button
              type="submit"
              variant="outline"
              size="sm"
              disabled={!draftValid}
              loading={create.isPending}
            >
              <Plus aria-hidden /> Add role
            </Button>
          </form>
          {draft !== '' && !draftValid && (
            <p className="text-xs text-danger">
              Lower-case letters, digits, _ or -, starting with a letter.
            </p>
          )}
        </div>
      )}
    </section>
  );
}

function BanSection({ user }: { user: User }) {
  const update = useUpdateUser((u) =>
    isBanned(u)
      ? `${u.email} is banned until ${formatDateTime(u.bannedUntil!)}`
      : `${u.email} may sign in again`,
  );
  const [duration, setDuration] = useState('86400');
  const [confirming, setConfirming] = useState(false);
  const banned = isBanned(user);
  const label = BAN_DURATIONS.find((d) => d.value === duration)?.label ?? '';
  return (
    <section aria-labelledby="user-ban">
      <h3 id="user-ban" className="mb-1 text-sm font-semibold">
        Ban
      </h3>
      {banned ? (
        <div className="flex items-center justify-between gap-4 rounded-md border border-border px-3 py-2">
          <p className="text-sm">
            <Badge tone="danger">banned</Badge>{' '}
            <span className="text-muted">until {formatDateTime(user.bannedUntil!)}</span>
          </p>
          <Button
            variant="outline"
            size="sm"
            loading={update.isPending}
            onClick={() =>
              void update.mutateAsync({ id: user.id, patch: { bannedUntil: null } }).catch(() => {})
            }
          >
            <ShieldCheck aria-hidden /> Lift ban
          </Button>
        </div>
      ) : (
        <div className="flex flex-wrap items-center justify-between gap-3 rounded-md border border-border px-3 py-2">
          <p className="min-w-0 flex-1 text-sm text-muted">
            A banned user cannot sign in or refresh; their sessions end at once.
          </p>
          <div className="flex items-center gap-2">
            <Select
              aria-label="Ban for"
              value={duration}
              onValueChange={setDuration}
              options={BAN_DURATIONS}
              className="w-44"
            />
            <Button variant="outline" size="sm" onClick={() => setConfirming(true)}>
              <Ban aria-hidden /> Ban
            </Button>
          </div>
        </div>
      )}
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title="Ban this user?"
        description={
          <>
            <span className="font-medium text-fg">{user.email}</span> is signed out everywhere and
            cannot sign in for {label.toLowerCase()}.
          </>
        }
        confirmLabel="Ban user"
        destructive
        onConfirm={() =>
          update.mutateAsync({
            id: user.id,
            patch: {
              bannedUntil: new Date(Date.now() + Number(duration) * 1000).toISOString(),
            },
          })
        }
      />
    </section>
  );
}

function MetadataBlock({ title, value }: { title: string; value: Record<string, unknown> }) {
  const empty = Object.keys(value).length === 0;
  return (
    <div className="min-w-0">
      <p className="mb-1 font-mono text-xs text-muted">{title}</p>
      <pre
        className="max-h-48 overflow-auto rounded-md border border-border bg-surface-2 px-3 py-2 font-mono text-xs break-words whitespace-pre-wrap"
        role="region"
        aria-label={title}
        tabIndex={0}
      >
        {empty ? '{}' : JSON.stringify(value, null, 2)}
      </pre>
    </div>
  );
}

function MetadataSection({ user }: { user: User }) {
  return (
    <section aria-labelledby="user-metadata">
      <h3 id="user-metadata" className="mb-1 text-sm font-semibold">
        Metadata
      </h3>
      <p className="mb-2 text-xs text-muted">
        In the token as claims. App metadata is set by admins (PATCH /api/auth/users/:id), user
        metadata by the user (PATCH /api/auth/profiles/current).
      </p>
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <MetadataBlock title="app_metadata" value={user.appMetadata ?? {}} />
        <MetadataBlock title="user_metadata" value={user.userMetadata ?? {}} />
      </div>
    </section>
  );
}

/** The sheet's sections for roles, ban and metadata. */
export function UserAccessSections({ user }: { user: User }) {
  return (
    <>
      <RolesSection user={user} />
      <BanSection user={user} />
      <MetadataSection user={user} />
    </>
  );
}
