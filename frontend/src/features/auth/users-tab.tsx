/**
 * Users: server-side search and pages (the search text and offset in the URL), create, delete,
 * mark verified, and a detail sheet (`?user=<id>`) with roles, ban and metadata (user-access.tsx),
 * identities, sessions and recovery actions.
 */
import { useEffect, useMemo, useState } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { signUpRequestSchema } from '@kiln/shared-schemas';
import {
  BadgeCheck,
  KeyRound,
  LogOut,
  MoreHorizontal,
  Plus,
  Search,
  ShieldOff,
  Trash2,
  Upload,
  UserRound,
  Users,
} from 'lucide-react';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Button } from '../../ui/button';
import { Checkbox } from '../../ui/checkbox';
import { CopyButton } from '../../ui/copy-button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { ConfirmDialog, Dialog, DialogContent } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Label } from '../../ui/input';
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from '../../ui/menu';
import { Badge, Card, Skeleton } from '../../ui/misc';
import { Sheet, SheetContent } from '../../ui/sheet';
import {
  USERS_PAGE_SIZE,
  useCreateUser,
  useDeleteUsers,
  useMarkVerified,
  useResetMfa,
  useRevokeSessions,
  useUser,
  useUserIdentities,
  useUsers,
  useUserSessions,
  type User,
} from './hooks';
import { UserAccessSections, isBanned } from './user-access';
import { DashboardAdminSection, ImportUsersDialog } from './user-admin';

const route = getRouteApi('/app/auth');

/** An account made by phone sign-in: its address is a placeholder nobody receives mail at. */
function noMailbox(u: User): boolean {
  return u.email.endsWith('@phone.invalid');
}

function displayName(u: User): string | undefined {
  const name = u.profile?.name;
  if (typeof name === 'string' && name) return name;
  return u.phone && noMailbox(u) ? u.phone : undefined;
}

function VerifiedBadge({ user }: { user: User }) {
  const status = user.isAnonymous ? (
    <Badge>anonymous</Badge>
  ) : noMailbox(user) ? (
    <Badge>phone</Badge>
  ) : user.emailVerified ? (
    <Badge tone="success">verified</Badge>
  ) : (
    <Badge tone="warning">unverified</Badge>
  );
  if (!isBanned(user)) return status;
  return (
    <span className="inline-flex items-center gap-1.5">
      {status}
      <Badge tone="danger">banned</Badge>
    </span>
  );
}

/** The actions on one user, shared by the row menu and the detail sheet. */
type UserAction = { kind: 'delete' | 'revoke' | 'mfa'; user: User };

function RowMenu({
  user,
  onOpen,
  onAction,
}: {
  user: User;
  onOpen: () => void;
  onAction: (a: UserAction) => void;
}) {
  const verify = useMarkVerified();
  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button
          variant="ghost"
          size="icon-sm"
          aria-label={`Actions for ${user.email}`}
          onClick={(e) => e.stopPropagation()}
        >
          <MoreHorizontal aria-hidden />
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end" onClick={(e) => e.stopPropagation()}>
        <DropdownMenuItem onSelect={onOpen}>
          <UserRound aria-hidden /> Details
        </DropdownMenuItem>
        {!user.emailVerified && !user.isAnonymous && !noMailbox(user) && (
          <DropdownMenuItem onSelect={() => void verify.mutateAsync(user.id).catch(() => {})}>
            <BadgeCheck aria-hidden /> Mark verified
          </DropdownMenuItem>
        )}
        <DropdownMenuItem onSelect={() => onAction({ kind: 'revoke', user })}>
          <LogOut aria-hidden /> Revoke sessions
        </DropdownMenuItem>
        <DropdownMenuSeparator />
        <DropdownMenuItem destructive onSelect={() => onAction({ kind: 'delete', user })}>
          <Trash2 aria-hidden /> Delete user
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}

/** The confirm dialogs of the destructive user actions. */
function UserActionDialogs({
  action,
  onClose,
  onDeleted,
}: {
  action: UserAction | undefined;
  onClose: () => void;
  onDeleted: (id: string) => void;
}) {
  const del = useDeleteUsers();
  const revoke = useRevokeSessions();
  const mfa = useResetMfa();
  const u = action?.user;
  const common = {
    open: Boolean(action),
    onOpenChange: (open: boolean) => {
      if (!open) onClose();
    },
  };
  if (!u) return null;
  if (action.kind === 'delete') {
    return (
      <ConfirmDialog
        {...common}
        title="Delete this user?"
        description={
          <>
            <span className="font-medium text-fg">{u.email}</span> is deleted with their sessions,
            identities and second factors. Rows in your tables that reference the user follow their
            foreign keys. This cannot be undone.
          </>
        }
        confirmLabel="Delete user"
        destructive
        onConfirm={() => del.mutateAsync([u.id]).then(() => onDeleted(u.id))}
      />
    );
  }
  if (action.kind === 'revoke') {
    return (
      <ConfirmDialog
        {...common}
        title="Sign this user out everywhere?"
        description={
          <>
            Every session of <span className="font-medium text-fg">{u.email}</span> ends: refresh
            tokens stop working at once, access tokens when they expire.
          </>
        }
        confirmLabel="Revoke sessions"
        destructive
        onConfirm={() => revoke.mutateAsync(u.id)}
      />
    );
  }
  return (
    <ConfirmDialog
      {...common}
      title="Remove this user's second factors?"
      description={
        <>
          <span className="font-medium text-fg">{u.email}</span> signs in with their first factor
          only until they enrol again. Do this only after checking who asks (account recovery).
        </>
      }
      confirmLabel="Reset MFA"
      destructive
      onConfirm={() => mfa.mutateAsync(u.id)}
    />
  );
}

const createUserSchema = z
  .object({
    email: z.email({ error: 'Enter an email address' }).max(320),
    /** A password now, or an invitation mailed to the user that lets them choose one. */
    mode: z.enum(['password', 'invite']),
    password: signUpRequestSchema.shape.password,
    name: z.string().trim().max(100),
    autoConfirm: z.boolean(),
  })
  .superRefine((v, ctx) => {
    if (v.mode === 'password' && !v.password) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'Enter a password' });
    }
  });
type CreateUserForm = z.infer<typeof createUserSchema>;

function CreateUserDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  const create = useCreateUser();
  const form = useForm<CreateUserForm>({
    resolver: zodResolver(createUserSchema),
    defaultValues: { email: '', mode: 'password', password: '', name: '', autoConfirm: true },
  });
  const inviting = form.watch('mode') === 'invite';
  const submit = form.handleSubmit(async (v) => {
    await create
      .mutateAsync(
        v.mode === 'invite'
          ? { email: v.email, invite: true, name: v.name || undefined }
          : {
              email: v.email,
              password: v.password,
              name: v.name || undefined,
              autoConfirm: v.autoConfirm,
            },
      )
      .then(
        () => {
          form.reset();
          onOpenChange(false);
        },
        () => {},
      );
  });
  const errors = form.formState.errors;
  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        if (!o) form.reset();
        onOpenChange(o);
      }}
    >
      <DialogContent
        title="Create a user"
        description={
          inviting
            ? 'The user gets an email with a link, valid 7 days, to choose their own password (the SMTP settings of the Email tab send it).'
            : 'The user can sign in with this email and password. The password policy of the Settings tab applies.'
        }
        footer={
          <>
            <Button variant="outline" onClick={() => onOpenChange(false)}>
              Cancel
            </Button>
            <Button type="submit" form="create-user" loading={create.isPending}>
              {inviting ? 'Create and invite' : 'Create user'}
            </Button>
          </>
        }
      >
        <form
          id="create-user"
          className="flex flex-col gap-4"
          onSubmit={(e) => void submit(e)}
          noValidate
        >
          <FormField label="Email" error={errors.email?.message}>
            <Input type="email" autoComplete="off" {...form.register('email')} />
          </FormField>
          <fieldset className="flex flex-col gap-2">
            <legend className="mb-1.5 text-sm font-medium">How the user gets a password</legend>
            <div className="grid grid-cols-2 gap-2">
              {(
                [
                  ['password', 'Set a password now'],
                  ['invite', 'Send an invitation'],
                ] as const
              ).map(([value, label]) => (
                <label
                  key={value}
                  className="flex cursor-pointer items-center gap-2 rounded-md border border-border px-3 py-2 text-sm has-[:checked]:border-primary has-[:checked]:bg-surface-2"
                >
                  <input
                    type="radio"
                    value={value}
                    className="accent-[var(--color-primary)]"
                    {...form.register('mode')}
                  />
                  {label}
                </label>
              ))}
            </div>
          </fieldset>
          {!inviting && (
            <FormField label="Password" error={errors.password?.message}>
              <Input type="password" autoComplete="new-password" {...form.register('password')} />
            </FormField>
          )}
          <FormField label="Name (optional)" error={errors.name?.message}>
            <Input autoComplete="off" {...form.register('name')} />
          </FormField>
          {!inviting && (
            <div className="flex items-start gap-2">
              <Checkbox
                id="create-user-confirm"
                checked={form.watch('autoConfirm')}
                onCheckedChange={(c) => form.setValue('autoConfirm', c === true)}
                className="mt-0.5"
              />
              <div>
                <Label htmlFor="create-user-confirm">Mark the address verified</Label>
                <p className="text-xs text-muted">
                  Otherwise the user proves the address before signing in (when the settings require
                  it).
                </p>
              </div>
            </div>
          )}
        </form>
      </DialogContent>
    </Dialog>
  );
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[8rem_1fr] items-baseline gap-3 py-1.5 text-sm">
      <dt className="text-muted">{label}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </div>
  );
}

function UserSheet({
  id,
  onClose,
  onAction,
}: {
  id: string | undefined;
  onClose: () => void;
  onAction: (a: UserAction) => void;
}) {
  const user = useUser(id);
  const identities = useUserIdentities(id);
  const sessions = useUserSessions(id);
  const verify = useMarkVerified();
  const u = user.data;
  return (
    <Sheet open={Boolean(id)} onOpenChange={(o) => !o && onClose()}>
      <SheetContent
        title={u ? (displayName(u) ?? u.email) : 'User'}
        description={u && displayName(u) && !noMailbox(u) ? u.email : undefined}
        footer={
          u && (
            <>
              <Button variant="danger" onClick={() => onAction({ kind: 'delete', user: u })}>
                <Trash2 aria-hidden /> Delete user
              </Button>
            </>
          )
        }
      >
        {user.error ? (
          <ErrorPanel
            error={user.error}
            title="Could not load the user"
            onRetry={() => void user.refetch()}
          />
        ) : !u ? (
          <div className="flex flex-col gap-3">
            <Skeleton className="h-5 w-2/3" />
            <Skeleton className="h-5 w-1/2" />
            <Skeleton className="h-24 w-full" />
          </div>
        ) : (
          <div className="flex flex-col gap-6">
            <section aria-labelledby="user-account">
              <h3 id="user-account" className="mb-1 text-sm font-semibold">
                Account
              </h3>
              <dl>
                <Field label="User id">
                  <span className="inline-flex items-center gap-1">
                    <code className="font-mono text-xs">{u.id}</code>
                    <CopyButton value={u.id} label="the user id" />
                  </span>
                </Field>
                <Field label="Email">
                  {noMailbox(u) ? (
                    <span className="text-muted">None (signed up by phone)</span>
                  ) : (
                    u.email
                  )}
                </Field>
                {u.phone && (
                  <Field label="Phone">
                    <span className="inline-flex flex-wrap items-center gap-2">
                      <span className="tabular-nums">{u.phone}</span>
                      {u.phoneVerified ? (
                        <Badge tone="success">verified</Badge>
                      ) : (
                        <Badge tone="warning">unverified</Badge>
                      )}
                    </span>
                  </Field>
                )}
                <Field label="Status">
                  <span className="inline-flex flex-wrap items-center gap-2">
                    <VerifiedBadge user={u} />
                    {!u.emailVerified && !u.isAnonymous && !noMailbox(u) && (
                      <Button
                        variant="outline"
                        size="sm"
                        loading={verify.isPending}
                        onClick={() => void verify.mutateAsync(u.id).catch(() => {})}
                      >
                        <BadgeCheck aria-hidden /> Mark verified
                      </Button>
                    )}
                  </span>
                </Field>
                <Field label="Created">{formatDateTime(u.createdAt)}</Field>
                <Field label="Updated">{formatDateTime(u.updatedAt)}</Field>
              </dl>
            </section>

            <UserAccessSections user={u} />

            <DashboardAdminSection user={u} />

            <section aria-labelledby="user-identities">
              <h3 id="user-identities" className="mb-2 text-sm font-semibold">
                Sign-in methods
              </h3>
              {identities.error ? (
                <ErrorPanel
                  error={identities.error}
                  title="Could not load the identities"
                  onRetry={() => void identities.refetch()}
                />
              ) : !identities.data ? (
                <Skeleton className="h-10 w-full" />
              ) : (
                <ul className="flex flex-col divide-y divide-border rounded-md border border-border">
                  {u.providers.includes('email') && (
                    <li className="flex items-center gap-2 px-3 py-2 text-sm">
                      <KeyRound className="size-4 text-muted" aria-hidden /> Email and password
                    </li>
                  )}
                  {identities.data.identities.map((i) => (
                    <li
                      key={i.id}
                      className="flex items-center justify-between gap-2 px-3 py-2 text-sm"
                    >
                      <span className="min-w-0">
                        <span className="font-medium capitalize">{i.provider}</span>
                        <span className="ml-2 truncate text-muted">
                          {i.email ?? i.providerUserId}
                        </span>
                      </span>
                      <span
                        className="shrink-0 text-xs text-muted"
                        title={formatDateTime(i.lastSignInAt)}
                      >
                        last used {formatRelative(i.lastSignInAt)}
                      </span>
                    </li>
                  ))}
                  {!u.providers.includes('email') && identities.data.identities.length === 0 && (
                    <li className="px-3 py-2 text-sm text-muted">No sign-in method yet.</li>
                  )}
                </ul>
              )}
            </section>

            <section aria-labelledby="user-sessions">
              <div className="mb-2 flex items-center justify-between gap-2">
                <h3 id="user-sessions" className="text-sm font-semibold">
                  Sessions
                </h3>
                <div className="flex gap-2">
                  <Button
                    variant="outline"
                    size="sm"
                    disabled={!sessions.data?.sessions.length}
                    onClick={() => onAction({ kind: 'revoke', user: u })}
                  >
                    <LogOut aria-hidden /> Revoke all
                  </Button>
                </div>
              </div>
              {sessions.error ? (
                <ErrorPanel
                  error={sessions.error}
                  title="Could not load the sessions"
                  onRetry={() => void sessions.refetch()}
                />
              ) : !sessions.data ? (
                <Skeleton className="h-10 w-full" />
              ) : sessions.data.sessions.length === 0 ? (
                <p className="rounded-md border border-dashed border-border px-3 py-4 text-center text-sm text-muted">
                  No live session: the user is signed out everywhere.
                </p>
              ) : (
                <ul
                  className="flex flex-col divide-y divide-border rounded-md border border-border"
                  aria-label="Live sessions"
                >
                  {sessions.data.sessions.map((s) => (
                    <li key={s.id} className="flex flex-col gap-0.5 px-3 py-2 text-sm">
                      <span className="flex items-center gap-2">
                        <Badge>{s.clientType}</Badge>
                        {s.aal === 'aal2' && <Badge tone="success">MFA</Badge>}
                        <span className="truncate text-muted" title={s.userAgent ?? undefined}>
                          {s.userAgent ?? 'unknown client'}
                        </span>
                      </span>
                      <span className="text-xs text-muted">
                        {s.ip ?? 'unknown address'} · started {formatRelative(s.createdAt)} · last
                        used {formatRelative(s.lastUsedAt)}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </section>

            <section aria-labelledby="user-mfa">
              <h3 id="user-mfa" className="mb-1 text-sm font-semibold">
                Second factor
              </h3>
              <div className="flex items-center justify-between gap-4 rounded-md border border-border px-3 py-2">
                <p className="text-sm text-muted">
                  Lost their authenticator and recovery codes? Remove their factors so they can sign
                  in with the first factor and enrol again.
                </p>
                <Button
                  variant="outline"
                  size="sm"
                  onClick={() => onAction({ kind: 'mfa', user: u })}
                >
                  <ShieldOff aria-hidden /> Reset MFA
                </Button>
              </div>
            </section>
          </div>
        )}
      </SheetContent>
    </Sheet>
  );
}

export function UsersTab() {
  const { q = '', offset = 0, user } = route.useSearch();
  const navigate = route.useNavigate();
  const [text, setText] = useState(q);
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);
  const [action, setAction] = useState<UserAction>();
  const users = useUsers(q, offset);

  // The search box writes the URL a moment after typing stops (one request per pause).
  useEffect(() => setText(q), [q]);
  useEffect(() => {
    if (text.trim() === q) return;
    const t = setTimeout(() => {
      void navigate({
        search: (s) => ({ ...s, q: text.trim() || undefined, offset: undefined }),
        replace: true,
      });
    }, 300);
    return () => clearTimeout(t);
  }, [text, q, navigate]);

  const open = (id: string | undefined) => void navigate({ search: (s) => ({ ...s, user: id }) });

  const columns = useMemo<ColumnDef<User, unknown>[]>(
    () => [
      {
        id: 'email',
        header: 'User',
        cell: ({ row }) => {
          const u = row.original;
          const name = displayName(u);
          const primary = noMailbox(u) ? (u.phone ?? u.email) : u.email || 'anonymous user';
          return (
            <button
              type="button"
              className="flex min-w-0 cursor-pointer flex-col text-left hover:underline"
              onClick={(e) => {
                e.stopPropagation();
                open(u.id);
              }}
            >
              <span className="truncate font-medium">{primary}</span>
              {name && name !== primary && (
                <span className="truncate text-xs text-muted">{name}</span>
              )}
            </button>
          );
        },
      },
      { id: 'status', header: 'Status', cell: ({ row }) => <VerifiedBadge user={row.original} /> },
      {
        id: 'providers',
        header: 'Sign-in',
        cell: ({ row }) => (
          <span className="flex gap-1">
            {row.original.providers.map((p) => (
              <Badge key={p}>{p}</Badge>
            ))}
          </span>
        ),
      },
      {
        id: 'created',
        header: 'Created',
        cell: ({ row }) => (
          <span className="text-muted" title={formatDateTime(row.original.createdAt)}>
            {formatRelative(row.original.createdAt)}
          </span>
        ),
      },
      {
        id: 'actions',
        header: () => <span className="sr-only">Actions</span>,
        size: 48,
        cell: ({ row }) => (
          <RowMenu user={row.original} onOpen={() => open(row.original.id)} onAction={setAction} />
        ),
      },
    ],
    [],
  );

  const total = users.data?.pagination.total;
  // The last rows of a page were deleted (or a stale link): back to the last page that has rows.
  const empty = users.data !== undefined && users.data.data.length === 0;
  useEffect(() => {
    if (empty && offset > 0 && total !== undefined) {
      const last = Math.max(0, Math.ceil(total / USERS_PAGE_SIZE) - 1) * USERS_PAGE_SIZE;
      void navigate({ search: (s) => ({ ...s, offset: last || undefined }), replace: true });
    }
  }, [empty, offset, total, navigate]);
  return (
    <Card
      title="Users"
      description={
        total === undefined
          ? 'Everyone who can sign in to your app.'
          : `${total.toLocaleString('en-US')} ${q ? 'matching' : 'in total'}.`
      }
      actions={
        <div className="flex gap-2">
          <Button variant="outline" size="sm" onClick={() => setImporting(true)}>
            <Upload aria-hidden /> Import
          </Button>
          <Button size="sm" onClick={() => setCreating(true)}>
            <Plus aria-hidden /> Create user
          </Button>
        </div>
      }
    >
      <div className="mb-3 flex items-center gap-2">
        <div className="relative w-80 max-w-full">
          <Search
            className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted"
            aria-hidden
          />
          <Input
            type="search"
            aria-label="Search users"
            placeholder="Search by email, name or id"
            className="pl-8"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </div>
      </div>
      <DataTable
        label="Users"
        columns={columns}
        data={users.data?.data}
        getRowId={(u) => u.id}
        isLoading={users.isLoading}
        error={users.error}
        onRetry={() => void users.refetch()}
        onRowClick={(u) => open(u.id)}
        rowHeight={52}
        empty={
          q
            ? {
                icon: Search,
                title: 'No user matches',
                description: `Nobody's email, name or id contains “${q}”. Check the spelling or clear the search.`,
                action: (
                  <Button variant="outline" size="sm" onClick={() => setText('')}>
                    Clear the search
                  </Button>
                ),
              }
            : {
                icon: Users,
                title: 'No users yet',
                description:
                  'Users appear here when they sign up through your app, or create one now.',
                action: (
                  <Button size="sm" onClick={() => setCreating(true)}>
                    <Plus aria-hidden /> Create user
                  </Button>
                ),
              }
        }
        pagination={
          total
            ? {
                offset,
                limit: USERS_PAGE_SIZE,
                total,
                onOffsetChange: (o) =>
                  void navigate({ search: (s) => ({ ...s, offset: o || undefined }) }),
              }
            : undefined
        }
      />
      <CreateUserDialog open={creating} onOpenChange={setCreating} />
      <ImportUsersDialog open={importing} onOpenChange={setImporting} />
      <UserSheet id={user} onClose={() => open(undefined)} onAction={setAction} />
      <UserActionDialogs
        action={action}
        onClose={() => setAction(undefined)}
        onDeleted={(id) => {
          if (id === user) open(undefined);
        }}
      />
    </Card>
  );
}
