/** The admin's live sessions (every browser or client signed in to the dashboard): revoke any. */
import { useState } from 'react';
import { MonitorSmartphone } from 'lucide-react';
import {
  useAdminSessions,
  useRevokeAdminSession,
  useRevokeOtherAdminSessions,
  type AdminSessions,
} from '../features/session/hooks';
import { formatDateTime, formatRelative } from '../lib/format';
import { Button } from '../ui/button';
import { DataTable, type ColumnDef } from '../ui/data-table';
import { ConfirmDialog, Dialog, DialogContent } from '../ui/dialog';
import { Badge } from '../ui/misc';

type AdminSessionRow = AdminSessions['sessions'][number];

function describeAgent(ua: string | null): string {
  if (!ua) return 'Unknown client';
  const browser = /(Firefox|Edg|Chrome|Safari)\/[\d.]+/.exec(ua)?.[1];
  const os = /(Windows|Mac OS X|Linux|Android|iPhone)/.exec(ua)?.[1];
  if (browser || os) return [browser === 'Edg' ? 'Edge' : browser, os].filter(Boolean).join(' on ');
  return ua.slice(0, 60);
}

export function SessionsDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const sessions = useAdminSessions(open);
  const revoke = useRevokeAdminSession();
  const revokeOthers = useRevokeOtherAdminSessions();
  const [target, setTarget] = useState<AdminSessionRow | null>(null);
  const [othersOpen, setOthersOpen] = useState(false);
  const others = (sessions.data?.sessions ?? []).filter((s) => !s.current).length;

  const columns: ColumnDef<AdminSessionRow, unknown>[] = [
    {
      id: 'client',
      header: 'Client',
      cell: ({ row }) => (
        <div className="flex items-center gap-2">
          <span className="truncate" title={row.original.userAgent ?? undefined}>
            {describeAgent(row.original.userAgent)}
          </span>
          {row.original.current && <Badge tone="success">This browser</Badge>}
        </div>
      ),
    },
    { id: 'ip', header: 'IP', cell: ({ row }) => row.original.ip ?? '—' },
    {
      id: 'lastUsed',
      header: 'Last used',
      cell: ({ row }) => (
        <span title={formatDateTime(row.original.lastUsedAt)}>
          {formatRelative(row.original.lastUsedAt)}
        </span>
      ),
    },
    {
      id: 'actions',
      header: () => <span className="sr-only">Actions</span>,
      cell: ({ row }) =>
        row.original.current ? null : (
          <Button variant="outline" size="sm" onClick={() => setTarget(row.original)}>
            Revoke
          </Button>
        ),
    },
  ];

  return (
    <>
      <Dialog open={open} onOpenChange={onOpenChange}>
        <DialogContent
          size="lg"
          title="Admin sessions"
          description="Every browser or client signed in to this dashboard. Revoking one signs it out at once."
          footer={
            <Button variant="outline" disabled={others === 0} onClick={() => setOthersOpen(true)}>
              Sign out all other sessions
            </Button>
          }
        >
          <DataTable
            label="Admin sessions"
            columns={columns}
            data={sessions.data?.sessions}
            getRowId={(s) => s.id}
            isLoading={sessions.isLoading}
            error={sessions.error}
            onRetry={() => void sessions.refetch()}
            maxHeight={360}
            empty={{ icon: MonitorSmartphone, title: 'No admin sessions' }}
          />
        </DialogContent>
      </Dialog>
      <ConfirmDialog
        open={target !== null}
        onOpenChange={(o) => !o && setTarget(null)}
        title="Revoke this session?"
        description={`${describeAgent(target?.userAgent ?? null)} will be signed out at once.`}
        confirmLabel="Revoke session"
        destructive
        onConfirm={() => revoke.mutateAsync(target!.id)}
      />
      <ConfirmDialog
        open={othersOpen}
        onOpenChange={setOthersOpen}
        title="Sign out all other sessions?"
        description={`${others} other session${others === 1 ? '' : 's'} will be signed out at once. This browser stays signed in.`}
        confirmLabel="Sign out others"
        destructive
        onConfirm={() => revokeOthers.mutateAsync()}
      />
    </>
  );
}
