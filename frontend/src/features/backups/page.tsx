/**
 * Backups: whether Kiln backs up its database (and why not, with what to set), the schedule,
 * retention, the restorable range and the archived WAL; the base backups, newest first, to
 * download (the tar) or delete; "Back up now" with its progress; and a point-in-time restore
 * (restore-dialog.tsx). The restore dialog's open state is in the URL (./search.ts).
 */
import { useCallback, useMemo, useState } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { Archive, ArchiveRestore, Download, History, Plus, Trash2 } from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { formatRelative } from '../../lib/format';
import { formatBytes } from '../storage/format';
import { useCronText } from '../jobs/cron-text';
import { Button } from '../../ui/button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { CopyButton } from '../../ui/copy-button';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { Badge, Card, PageHeader, Skeleton } from '../../ui/misc';
import { Tooltip } from '../../ui/menu';
import {
  isActive,
  useBackupJob,
  useBackups,
  useBackupSettings,
  useDeleteBackup,
  useDownloadBackup,
  useStartBackup,
  type Backup,
  type BackupList,
  type BackupSettings,
} from './hooks';
import { formatLocal, formatUtc, locationText } from './format';
import { JobProgress } from './job-progress';
import { RestoreDialog } from './restore-dialog';

export const Route = createLazyRoute('/app/backups')({ component: BackupsPage });

const route = getRouteApi('/app/backups');

function BackupsPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const [watched, setWatched] = useState<string>();
  const [dismissed, setDismissed] = useState<string>();
  const watchedJob = useBackupJob(watched);
  const restoring = watchedJob.data?.kind === 'restore' && isActive(watchedJob.data);
  const list = useBackups(!restoring);
  const settings = useBackupSettings(!restoring);
  const start = useStartBackup();
  // The job shown: the one started here, else one still running (started before a reload).
  const running = list.data?.jobs.find(isActive);
  const jobId = watched ?? running?.id;
  const shownJob = useBackupJob(watched ? undefined : running?.id).data ?? watchedJob.data;
  const job = shownJob && shownJob.id === jobId && shownJob.id !== dismissed ? shownJob : undefined;
  const busy = !!job && isActive(job);
  const enabled = list.data?.enabled ?? false;
  const range = list.data?.restorableRange ?? null;
  const setRestoreOpen = useCallback(
    (open: boolean) =>
      void navigate({ search: (s) => ({ ...s, restore: open ? true : undefined }) }),
    [navigate],
  );
  const { mutate: startMutate } = start;
  const backUp = useCallback(
    () =>
      startMutate(undefined, {
        onSuccess: (j) => {
          setDismissed(undefined);
          setWatched(j.id);
        },
      }),
    [startMutate],
  );

  const commands = useMemo<Command[]>(
    () => [
      {
        id: 'backups-now',
        label: 'Back up the database now',
        group: 'Backups',
        icon: Archive,
        keywords: ['backup', 'snapshot'],
        run: backUp,
      },
      {
        id: 'backups-restore',
        label: 'Restore the database to a point in time',
        group: 'Backups',
        icon: ArchiveRestore,
        keywords: ['restore', 'pitr', 'rollback'],
        run: () => setRestoreOpen(true),
      },
    ],
    [backUp, setRestoreOpen],
  );
  useRegisterCommands('backups', commands);

  return (
    <>
      <PageHeader
        title="Backups"
        description="Copies of the database and of its write-ahead log: it can go back to any moment since the oldest backup."
        actions={
          <>
            <Button
              variant="outline"
              onClick={() => setRestoreOpen(true)}
              disabled={!range || busy}
              title={range ? undefined : 'Needs at least one backup'}
            >
              <History aria-hidden /> Restore to a point in time
            </Button>
            <Button onClick={backUp} loading={start.isPending} disabled={!enabled || busy}>
              <Plus aria-hidden /> Back up now
            </Button>
          </>
        }
      />
      <div className="flex flex-col gap-6">
        <StatusCard list={list} settings={settings.data} />
        {job && (
          <JobProgress
            job={job}
            expectedBytes={
              // The newest backup of the kind being taken.
              list.data?.backups.findLast(
                (b) => (b.kind === 'logical') === !!settings.data?.externalDatabase,
              )?.sizeBytes
            }
            onDismiss={() => {
              setDismissed(job.id);
              setWatched(undefined);
            }}
          />
        )}
        <BackupsTable list={list} enabled={enabled} onBackUp={backUp} busy={busy} />
      </div>
      {range && (
        <RestoreDialog
          open={!!search.restore}
          onOpenChange={setRestoreOpen}
          from={range.from}
          onStarted={(j) => {
            setDismissed(undefined);
            setWatched(j.id);
          }}
        />
      )}
    </>
  );
}

/** Why backups are off, and what to set. */
function disabledReason(s: BackupSettings | undefined): { why: string; fix: React.ReactNode } {
  if (s?.schedule === 'off') {
    return {
      why: s.externalDatabase
        ? 'BACKUP_SCHEDULE is off: logical backups of the external PostgreSQL are turned off.'
        : 'BACKUP_SCHEDULE is off: WAL archiving and scheduled backups are turned off.',
      fix: (
        <>
          Set <code className="font-mono">BACKUP_SCHEDULE</code> to a cron expression (the default
          is <code className="font-mono">0 3 * * *</code>) and restart Kiln.
        </>
      ),
    };
  }
  if (s?.externalDatabase) {
    return {
      why: 'Kiln uses an external PostgreSQL (DATABASE_URL is set), whose write-ahead log Kiln cannot archive.',
      fix: "Use your database provider's point-in-time recovery, or Kiln's logical backups (BACKUP_SCHEDULE).",
    };
  }
  return {
    why: 'The embedded PostgreSQL is not archiving its write-ahead log.',
    fix: 'Restart Kiln: it turns archiving on when it starts the embedded server.',
  };
}

function Stat({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="flex min-w-0 flex-col gap-1">
      <dt className="text-xs font-medium text-muted">{label}</dt>
      <dd className="min-w-0 text-sm">{children}</dd>
    </div>
  );
}

function ScheduleText({ schedule }: { schedule: string }) {
  const { text } = useCronText(schedule);
  return (
    <>
      {text && <span className="block">{text} (UTC)</span>}
      <code className="block font-mono text-xs text-muted">{schedule}</code>
    </>
  );
}

function StatusCard({
  list,
  settings,
}: {
  list: ReturnType<typeof useBackups>;
  settings: BackupSettings | undefined;
}) {
  if (list.error) {
    return (
      <ErrorPanel
        error={list.error}
        title="Could not read the backups"
        onRetry={() => void list.refetch()}
      />
    );
  }
  if (!list.data) {
    return (
      <Card aria-busy="true" aria-label="Backup status">
        <div className="grid grid-cols-2 gap-4 lg:grid-cols-4">
          {Array.from({ length: 4 }, (_, i) => (
            <div key={i} className="flex flex-col gap-2">
              <Skeleton className="h-3 w-20" />
              <Skeleton className="h-4 w-32" />
            </div>
          ))}
        </div>
      </Card>
    );
  }
  const data: BackupList = list.data;
  if (!data.enabled) {
    const { why, fix } = disabledReason(settings);
    return (
      <Card aria-label="Backup status">
        <div className="flex flex-col gap-2 text-sm">
          <p className="flex items-center gap-2 font-semibold">
            <Badge tone="warning">Backups off</Badge> {why}
          </p>
          <p className="text-muted">{fix}</p>
          {data.backups.length > 0 && (
            <p className="text-muted">
              The backups taken before are listed below and can still be downloaded.
            </p>
          )}
        </div>
      </Card>
    );
  }
  const range = data.restorableRange;
  const offsite = data.offsite;
  return (
    <Card aria-label="Backup status">
      <dl className="grid grid-cols-2 gap-x-10 gap-y-4 xl:grid-cols-[auto_auto_auto_1fr]">
        <Stat label="State">
          <Badge tone="success">Enabled</Badge>
          <span className="mt-1 block text-xs text-muted">
            {settings?.externalDatabase
              ? 'Logical backups (external PostgreSQL)'
              : `WAL archived${settings?.verify === false ? '' : ', backups verified'}`}
          </span>
        </Stat>
        {settings?.schedule && settings.schedule !== 'off' && (
          <Stat label="Schedule">
            <ScheduleText schedule={settings.schedule} />
          </Stat>
        )}
        {settings?.retention !== undefined && (
          <Stat label="Retention">
            <span className="tabular-nums">{settings.retention}</span> base backup
            {settings.retention === 1 ? '' : 's'}
            <span className="block text-xs text-muted">older ones are removed</span>
          </Stat>
        )}
        <Stat label="Restorable range">
          {range ? (
            <>
              <span className="block tabular-nums">
                {formatUtc(range.from)} <span className="text-muted">to now</span>
              </span>
              <span className="block text-xs text-muted">{formatLocal(range.from)}</span>
              <span className="block text-xs text-muted">
                <span className="tabular-nums">{formatBytes(range.archivedWalBytes)}</span> of
                write-ahead log archived
              </span>
            </>
          ) : settings?.externalDatabase ? (
            <span className="block max-w-md text-xs text-muted">
              Point-in-time recovery of an external PostgreSQL is your provider&apos;s; a logical
              backup restores into an empty database (its row&apos;s command).
            </span>
          ) : (
            <span className="text-muted">Nothing yet: take a first backup</span>
          )}
        </Stat>
      </dl>
      {offsite && (
        <div className="mt-4 flex flex-col gap-1 border-t border-border pt-3 text-sm">
          <p>
            <span className="font-medium">Off-site copy</span>{' '}
            <code className="font-mono text-xs break-all">{offsite.target}</code>
          </p>
          <p className="text-xs text-muted tabular-nums">
            {offsite.pendingBackups} backup{offsite.pendingBackups === 1 ? '' : 's'} and{' '}
            {offsite.pendingWal} WAL file{offsite.pendingWal === 1 ? '' : 's'} waiting
            {offsite.lastUploadAt ? ` · last upload ${formatUtc(offsite.lastUploadAt)}` : ''}
          </p>
          {offsite.lastError && (
            <p className="text-xs text-danger">
              Last attempt failed
              {offsite.lastErrorAt ? ` ${formatRelative(offsite.lastErrorAt)}` : ''}:{' '}
              {offsite.lastError}
            </p>
          )}
        </div>
      )}
    </Card>
  );
}

function BackupsTable({
  list,
  enabled,
  onBackUp,
  busy,
}: {
  list: ReturnType<typeof useBackups>;
  enabled: boolean;
  onBackUp: () => void;
  busy: boolean;
}) {
  const [deleting, setDeleting] = useState<Backup>();
  const del = useDeleteBackup();
  const download = useDownloadBackup();
  const rows = useMemo(
    () => (list.data ? [...list.data.backups].reverse() : undefined),
    [list.data],
  );
  const withLocation = rows?.some((b) => locationText(b.location) !== undefined) ?? false;
  const withKind = rows?.some((b) => b.kind !== undefined) ?? false;
  const columns = useMemo<ColumnDef<Backup, unknown>[]>(
    () => [
      {
        id: 'backup',
        header: 'Backup',
        cell: ({ row }) => (
          <div className="flex min-w-0 flex-col">
            <span className="truncate tabular-nums">{formatUtc(row.original.finishedAt)}</span>
            <span className="truncate text-xs text-muted" title={row.original.id}>
              <span className="font-mono">{row.original.id}</span> ·{' '}
              {formatRelative(row.original.finishedAt)}
            </span>
          </div>
        ),
      },
      ...(withKind
        ? [
            {
              id: 'kind',
              header: 'Kind',
              size: 100,
              cell: ({ row }: { row: { original: Backup } }) => (
                <Badge tone={row.original.kind === 'logical' ? 'info' : 'neutral'}>
                  {row.original.kind}
                </Badge>
              ),
            },
          ]
        : []),
      {
        id: 'size',
        header: () => <span className="block text-right">Size</span>,
        size: 110,
        cell: ({ row }) => (
          <span className="block text-right tabular-nums" title={`${row.original.sizeBytes} bytes`}>
            {formatBytes(row.original.sizeBytes)}
          </span>
        ),
      },
      {
        id: 'verified',
        header: 'Verified',
        size: 130,
        cell: ({ row }) =>
          row.original.verifiedAt ? (
            <Tooltip content={`Restored and queried ${formatUtc(row.original.verifiedAt)}`}>
              <Badge tone="success" tabIndex={0}>
                Verified
              </Badge>
            </Tooltip>
          ) : (
            <Badge tone="neutral">Not verified</Badge>
          ),
      },
      ...(withLocation
        ? [
            {
              id: 'location',
              header: 'Location',
              size: 130,
              cell: ({ row }: { row: { original: Backup } }) => {
                const text = locationText(row.original.location);
                return text ? (
                  <span className="block truncate text-sm" title={text}>
                    {text}
                  </span>
                ) : null;
              },
            },
          ]
        : []),
      {
        id: 'actions',
        header: () => <span className="sr-only">Actions</span>,
        size: 110,
        cell: ({ row }) => (
          <div className="flex justify-end gap-1">
            {row.original.kind === 'logical' && (
              <CopyButton
                value={`pnpm kiln restore --logical ${row.original.id} --database-url postgres://user:pass@host/emptydb`}
                label={`restore command of backup ${row.original.id}`}
              />
            )}
            <Tooltip content="Download (tar)">
              <Button
                variant="ghost"
                size="icon-sm"
                onClick={() => download.mutate(row.original.id)}
                loading={download.isPending && download.variables === row.original.id}
                aria-label={`Download backup ${row.original.id}`}
              >
                <Download aria-hidden />
              </Button>
            </Tooltip>
            <Tooltip content="Delete">
              <Button
                variant="ghost"
                size="icon-sm"
                onClick={() => setDeleting(row.original)}
                aria-label={`Delete backup ${row.original.id}`}
              >
                <Trash2 aria-hidden />
              </Button>
            </Tooltip>
          </div>
        ),
      },
    ],
    [download, withKind, withLocation],
  );
  return (
    <Card
      title="Backups"
      description="Newest first. A download is the backup's files as a tar archive."
      className="[&>div]:p-0"
    >
      <DataTable
        label="Backups"
        columns={columns}
        data={list.error ? undefined : rows}
        isLoading={list.isLoading}
        error={list.error}
        onRetry={() => void list.refetch()}
        getRowId={(b) => b.id}
        rowHeight={56}
        className="[&>div:first-child]:rounded-none [&>div:first-child]:border-0"
        empty={{
          icon: Archive,
          title: 'No backups yet',
          description: enabled
            ? 'Take the first one now; after it, the database can be restored to any moment since.'
            : 'Backups are off (see above).',
          action: enabled ? (
            <Button onClick={onBackUp} disabled={busy}>
              <Plus aria-hidden /> Back up now
            </Button>
          ) : undefined,
        }}
      />
      <ConfirmDialog
        open={!!deleting}
        onOpenChange={(open) => !open && setDeleting(undefined)}
        title="Delete this backup?"
        description={
          deleting && (
            <>
              Backup <span className="font-mono">{deleting.id}</span> (
              {formatBytes(deleting.sizeBytes)}) is removed from disk. Times before the next backup
              can no longer be restored if it is the oldest.
            </>
          )
        }
        confirmLabel="Delete backup"
        destructive
        onConfirm={() => deleting && del.mutateAsync(deleting.id)}
      />
    </Card>
  );
}
