/**
 * User administration beyond the users list: bulk import with existing password hashes (a JSON
 * file or pasted JSON, every row answered), a user made a dashboard admin (or no longer), and an
 * invitation mailed again to a user who has no password yet.
 */
import { useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import {
  IMPORT_MAX_USERS,
  importUsersRequestSchema,
  type ImportUsersResponse,
  type inviteSentResponseSchema,
  type listProjectAdminsResponseSchema,
  type projectAdminSchema,
  type successMessageSchema,
} from '@kiln/shared-schemas';
import { FileUp, Mail, ShieldCheck, ShieldOff } from 'lucide-react';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/format';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';
import { Button } from '../../ui/button';
import { ConfirmDialog, Dialog, DialogContent } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Badge, Skeleton } from '../../ui/misc';
import type { User } from './hooks';

// ---- data -----------------------------------------------------------------------------------

const adminsKey = [...queryKeys.auth.all, 'admins'] as const;
type ProjectAdmin = z.infer<typeof projectAdminSchema>;

export function useProjectAdmins() {
  return useQuery({
    queryKey: adminsKey,
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof listProjectAdminsResponseSchema>>(
        '/api/auth/admins',
        undefined,
        signal,
      ),
  });
}

function useSetAdmin() {
  return useApiMutation({
    mutationFn: async ({ user, admin }: { user: User; admin: boolean }): Promise<unknown> => {
      const path = `/api/auth/admins/${encodeURIComponent(user.id)}`;
      if (admin) return api.put<ProjectAdmin>(path);
      return api.delete<z.infer<typeof successMessageSchema>>(path);
    },
    progress: 'Saving…',
    success: (_d, { user, admin }) =>
      admin ? `${user.email} is now a dashboard admin` : `${user.email} is no longer an admin`,
    invalidate: [adminsKey],
  });
}

function useResendInvite() {
  return useApiMutation({
    mutationFn: (user: User) =>
      api.post<z.infer<typeof inviteSentResponseSchema>>(
        `/api/auth/users/${encodeURIComponent(user.id)}/invite`,
        {},
      ),
    progress: 'Sending the invitation…',
  });
}

function useImportUsers() {
  return useApiMutation({
    mutationFn: (body: z.infer<typeof importUsersRequestSchema>) =>
      api.post<ImportUsersResponse>('/api/auth/users/import', body),
    progress: 'Importing…',
    success: (r) =>
      `${r.imported} user${r.imported === 1 ? '' : 's'} imported` +
      (r.failed ? `, ${r.failed} not (see the list)` : ''),
    invalidate: [queryKeys.auth.all, queryKeys.overview.all],
  });
}

// ---- the user sheet's sections ----------------------------------------------------------------

/** Whether the user is a dashboard admin, and the switch (confirmed either way). */
export function DashboardAdminSection({ user }: { user: User }) {
  const admins = useProjectAdmins();
  const setAdmin = useSetAdmin();
  const resend = useResendInvite();
  const [confirm, setConfirm] = useState<boolean>();
  const entry = admins.data?.admins.find((a) => a.id === user.id);
  const invited = !user.isAnonymous && !user.providers.length;
  return (
    <section aria-labelledby="user-dashboard-admin">
      <h3 id="user-dashboard-admin" className="mb-1 text-sm font-semibold">
        Dashboard access
      </h3>
      {admins.error ? (
        <ErrorPanel
          error={admins.error}
          title="Could not load the admins"
          onRetry={() => void admins.refetch()}
        />
      ) : !admins.data ? (
        <Skeleton className="h-12 w-full" />
      ) : (
        <div className="flex items-center justify-between gap-4 rounded-md border border-border px-3 py-2">
          <div className="min-w-0 text-sm">
            {entry ? (
              <>
                <span className="inline-flex items-center gap-2">
                  <Badge tone="success">admin</Badge>
                  {entry.mfa && <Badge>MFA</Badge>}
                </span>
                <p className="mt-1 text-xs text-muted">
                  Signs in to this dashboard with their own password
                  {entry.mfa ? ' and second factor' : ''}; made admin{' '}
                  {entry.grantedAt ? formatDateTime(entry.grantedAt) : ''}.
                </p>
              </>
            ) : (
              <p className="text-muted">
                Not an admin. An admin signs in to this dashboard with their own password (and
                second factor, once they enrol one) and can change everything here.
              </p>
            )}
          </div>
          {!user.isAnonymous && (
            <Button
              variant="outline"
              size="sm"
              className="shrink-0"
              onClick={() => setConfirm(!entry)}
            >
              {entry ? (
                <>
                  <ShieldOff aria-hidden /> Remove admin
                </>
              ) : (
                <>
                  <ShieldCheck aria-hidden /> Make admin
                </>
              )}
            </Button>
          )}
        </div>
      )}
      {invited && (
        <div className="mt-2 flex items-center justify-between gap-4 rounded-md border border-border px-3 py-2">
          <p className="text-sm text-muted">
            No password yet: the invitation link sets one (valid 7 days, once).
          </p>
          <Button
            variant="outline"
            size="sm"
            className="shrink-0"
            loading={resend.isPending}
            onClick={() => void resend.mutateAsync(user).catch(() => {})}
          >
            <Mail aria-hidden /> Send the invitation again
          </Button>
        </div>
      )}
      <ConfirmDialog
        open={confirm !== undefined}
        onOpenChange={(o) => !o && setConfirm(undefined)}
        title={confirm ? 'Make this user a dashboard admin?' : 'Remove this admin?'}
        description={
          confirm ? (
            <>
              <span className="font-medium text-fg">{user.email}</span> will sign in to this
              dashboard with their own password and can read and change everything: data, users,
              keys and settings.
            </>
          ) : (
            <>
              <span className="font-medium text-fg">{user.email}</span> loses dashboard access;
              their admin sessions end at once. Their account as a user of your app stays.
            </>
          )
        }
        confirmLabel={confirm ? 'Make admin' : 'Remove admin'}
        destructive={!confirm}
        onConfirm={() => setAdmin.mutateAsync({ user, admin: Boolean(confirm) })}
      />
    </section>
  );
}

// ---- import ---------------------------------------------------------------------------------

const EXAMPLE = `[
  { "email": "ada@example.com", "passwordHash": "$2b$10$…", "emailVerified": true },
  { "email": "alan@example.com", "passwordHash": "$argon2id$v=19$m=65536,t=3,p=4$…" }
]`;

/** `[…]` or `{users: […]}` from the file or text, checked like the API checks it. */
function parseImport(
  text: string,
): { ok: true; body: z.infer<typeof importUsersRequestSchema> } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `Not JSON: ${(err as Error).message}` };
  }
  const parsed = importUsersRequestSchema.safeParse(Array.isArray(json) ? { users: json } : json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    return { ok: false, error: `${where}${issue.message}` };
  }
  return { ok: true, body: parsed.data };
}

const STATUS = {
  201: { label: 'imported', tone: 'success' },
  400: { label: 'refused', tone: 'danger' },
  409: { label: 'duplicate', tone: 'warning' },
} as const;

export function ImportUsersDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  const importUsers = useImportUsers();
  const file = useRef<HTMLInputElement>(null);
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string>();
  const [result, setResult] = useState<ImportUsersResponse>();
  const close = (o: boolean) => {
    if (!o) {
      setText('');
      setProblem(undefined);
      setResult(undefined);
    }
    onOpenChange(o);
  };
  const submit = async () => {
    const parsed = parseImport(text);
    if (!parsed.ok) {
      setProblem(parsed.error);
      return;
    }
    setProblem(undefined);
    await importUsers.mutateAsync(parsed.body).then(setResult, () => {});
  };
  return (
    <Dialog open={open} onOpenChange={close}>
      <DialogContent
        title="Import users"
        size="lg"
        description={`Up to ${IMPORT_MAX_USERS} users with the password hashes of the system they come from: bcrypt, argon2id/argon2i, scrypt ($scrypt$ln=…,r=…,p=…$salt$hash) or PBKDF2-SHA256 (Django's pbkdf2_sha256$…). They keep signing in with their passwords; each hash becomes argon2id at the user's next sign-in.`}
        footer={
          result ? (
            <Button onClick={() => close(false)}>Done</Button>
          ) : (
            <>
              <Button variant="outline" onClick={() => close(false)}>
                Cancel
              </Button>
              <Button
                loading={importUsers.isPending}
                disabled={!text.trim()}
                onClick={() => void submit()}
              >
                Import
              </Button>
            </>
          )
        }
      >
        {result ? (
          <div className="flex flex-col gap-3">
            <p className="text-sm" role="status">
              <span className="font-medium">{result.imported} imported</span>
              {result.failed > 0 && <span className="text-muted">, {result.failed} not</span>}.
            </p>
            <div className="max-h-80 overflow-auto rounded-md border border-border">
              <table className="w-full text-left text-sm" aria-label="Import results">
                <thead className="sticky top-0 bg-surface-2 text-xs text-muted">
                  <tr>
                    <th className="px-3 py-2 font-medium">Row</th>
                    <th className="px-3 py-2 font-medium">Email</th>
                    <th className="px-3 py-2 font-medium">Result</th>
                    <th className="px-3 py-2 font-medium">Details</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-border">
                  {result.results.map((r) => (
                    <tr key={r.index}>
                      <td className="px-3 py-2 text-muted tabular-nums">{r.index + 1}</td>
                      <td className="max-w-56 truncate px-3 py-2" title={r.email}>
                        {r.email}
                      </td>
                      <td className="px-3 py-2">
                        <Badge tone={STATUS[r.status].tone}>{STATUS[r.status].label}</Badge>
                      </td>
                      <td className="px-3 py-2 text-muted">
                        {r.error ? (
                          <span className="break-words">{r.error.message}</span>
                        ) : r.algorithm ? (
                          `${r.algorithm} hash`
                        ) : (
                          'no password'
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        ) : (
          <div className="flex flex-col gap-3">
            <div className="flex items-center gap-2">
              <input
                ref={file}
                type="file"
                accept="application/json,.json"
                className="sr-only"
                aria-label="JSON file of users"
                onChange={(e) => {
                  const chosen = e.target.files?.[0];
                  if (chosen) void chosen.text().then(setText);
                  e.target.value = '';
                }}
              />
              <Button variant="outline" size="sm" onClick={() => file.current?.click()}>
                <FileUp aria-hidden /> Choose a JSON file
              </Button>
              <span className="text-xs text-muted">or paste the JSON below.</span>
            </div>
            <FormField
              label="Users (JSON)"
              hint="An array of {email, passwordHash?, emailVerified?, name?, appMetadata?, userMetadata?, appRoles?}, or {users: […]}. Each row is answered: the valid ones are created even when others are not."
              error={problem}
            >
              <textarea
                className="min-h-48 w-full rounded-md border border-border bg-surface px-3 py-2 font-mono text-xs outline-none focus-visible:ring-2 focus-visible:ring-ring"
                spellCheck={false}
                placeholder={EXAMPLE}
                value={text}
                onChange={(e) => setText(e.target.value)}
              />
            </FormField>
          </div>
        )}
      </DialogContent>
    </Dialog>
  );
}
