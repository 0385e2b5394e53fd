/**
 * Queues with their target and per-status counts (a count opens the job list filtered by it),
 * created, edited and deleted here (./queue-dialog.tsx); and the recent failures (waiting for a retry, or dead) with their last error, Retry and Cancel.
 */
import { useMemo, useState } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { CircleCheck, Layers, Pencil, Plus, Trash2 } from 'lucide-react';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Button } from '../../ui/button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { ConfirmDialog } from '../../ui/dialog';
import { useDeleteQueue, useFailures, useQueues, type Job, type Queue } from './hooks';
import { QueueDialog } from './queue-dialog';
import { Section } from '../../ui/section';
import { describeTarget, JobActions, JobStatusBadge, statusTones } from './job-parts';
import type { JobStatusFilter } from './search';

const route = getRouteApi('/app/jobs');
const shown: JobStatusFilter[] = ['queued', 'running', 'failed', 'dead', 'succeeded'];
const countClass: Record<string, string> = {
  info: 'text-fg',
  primary: 'text-primary',
  warning: 'text-warning',
  success: 'text-success',
  danger: 'text-danger',
  neutral: 'text-muted',
};

/** Edit and Delete (after a confirmation: its jobs go with it). */
function QueueActions({ queue, onEdit }: { queue: Queue; onEdit: () => void }) {
  const remove = useDeleteQueue();
  const [confirming, setConfirming] = useState(false);
  const jobs = Object.values(queue.counts).reduce((a, b) => a + b, 0);
  return (
    <div className="flex justify-end gap-1">
      <Button
        size="icon-sm"
        variant="ghost"
        aria-label={`Edit queue ${queue.name}`}
        title="Edit"
        onClick={onEdit}
      >
        <Pencil aria-hidden />
      </Button>
      <Button
        size="icon-sm"
        variant="ghost"
        aria-label={`Delete queue ${queue.name}`}
        title="Delete"
        onClick={() => setConfirming(true)}
      >
        <Trash2 aria-hidden />
      </Button>
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={`Delete queue ${queue.name}?`}
        description={
          jobs > 0
            ? `Its ${jobs.toLocaleString('en-US')} job${jobs === 1 ? '' : 's'} are deleted with it, waiting ones included; enqueueing on it fails until it is created again.`
            : 'Enqueueing on it fails until it is created again.'
        }
        confirmLabel="Delete queue"
        destructive
        onConfirm={() => remove.mutateAsync(queue.name)}
      />
    </div>
  );
}

export function QueuesTab() {
  const queues = useQueues();
  const failures = useFailures();
  const navigate = route.useNavigate();
  const [open, setOpen] = useState(false);
  const [editing, setEditing] = useState<Queue | undefined>();

  const queueColumns = useMemo<ColumnDef<Queue, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Queue',
        size: 180,
        cell: ({ row }) => (
          <span
            className="line-clamp-2 font-mono text-sm break-all whitespace-normal"
            title={row.original.name}
          >
            {row.original.name}
          </span>
        ),
      },
      {
        id: 'target',
        header: 'Target',
        size: 320,
        cell: ({ row }) => {
          const t = describeTarget(row.original.target);
          return (
            <span className="line-clamp-2 text-xs break-all whitespace-normal text-muted" title={t}>
              {t}
            </span>
          );
        },
      },
      ...shown.map<ColumnDef<Queue, unknown>>((status) => ({
        id: status,
        header: () => <span className="block text-right capitalize">{status}</span>,
        size: 80,
        cell: ({ row }) => {
          const n = row.original.counts[status];
          return (
            <div className="flex justify-end">
              <button
                type="button"
                className={`cursor-pointer rounded px-1.5 font-medium tabular-nums hover:bg-surface-2 hover:underline ${
                  n > 0 ? countClass[statusTones[status]] : 'text-muted'
                }`}
                aria-label={`${n} ${status} jobs in ${row.original.name}`}
                onClick={() =>
                  void navigate({ search: { tab: 'jobs', queue: row.original.name, status } })
                }
              >
                {n.toLocaleString('en-US')}
              </button>
            </div>
          );
        },
      })),
      {
        id: 'actions',
        size: 88,
        header: () => <span className="sr-only">Actions</span>,
        cell: ({ row }) => (
          <QueueActions
            queue={row.original}
            onEdit={() => {
              setEditing(row.original);
              setOpen(true);
            }}
          />
        ),
      },
    ],
    [navigate],
  );

  const failureColumns = useMemo<ColumnDef<Job, unknown>[]>(
    () => [
      {
        id: 'when',
        header: 'Failed',
        size: 150,
        cell: ({ row }) => {
          const at = row.original.finishedAt ?? row.original.createdAt;
          return (
            <time dateTime={at} title={formatDateTime(at)} className="whitespace-nowrap text-muted">
              {formatRelative(at)}
            </time>
          );
        },
      },
      {
        id: 'queue',
        header: 'Queue',
        size: 160,
        cell: ({ row }) => (
          <span className="flex flex-col items-start gap-0.5">
            <span className="line-clamp-1 font-mono text-xs break-all whitespace-normal">
              {row.original.queue}
            </span>
            <JobStatusBadge status={row.original.status} />
          </span>
        ),
      },
      {
        id: 'attempts',
        header: 'Attempts',
        size: 84,
        cell: ({ row }) => (
          <span className="tabular-nums">
            {row.original.attempts}/{row.original.maxAttempts}
          </span>
        ),
      },
      {
        id: 'error',
        header: 'Last error',
        cell: ({ row }) => (
          <span
            className="line-clamp-2 font-mono text-xs break-all whitespace-normal text-danger"
            title={row.original.lastError ?? undefined}
          >
            {row.original.lastError ?? '—'}
          </span>
        ),
      },
      {
        id: 'actions',
        size: 180,
        header: () => <span className="sr-only">Actions</span>,
        cell: ({ row }) => <JobActions job={row.original} />,
      },
    ],
    [],
  );

  return (
    <div className="flex flex-col gap-4">
      <div className="flex items-center justify-end">
        <Button
          onClick={() => {
            setEditing(undefined);
            setOpen(true);
          }}
        >
          <Plus aria-hidden /> New queue
        </Button>
      </div>
      <DataTable
        label="Queues"
        columns={queueColumns}
        data={queues.data?.queues}
        getRowId={(q) => q.name}
        isLoading={queues.isLoading}
        error={queues.error}
        onRetry={() => void queues.refetch()}
        maxHeight="24rem"
        empty={{
          icon: Layers,
          title: 'No queues yet',
          description: (
            <>
              Create one with New queue (its target: an edge function, a URL or a SQL function) or{' '}
              <code className="font-mono">PUT /api/jobs/queues/&lt;name&gt;</code>, then enqueue
              jobs with <code className="font-mono">POST /api/jobs/queues/&lt;name&gt;/jobs</code>{' '}
              or <code className="font-mono">jobs.enqueue()</code> in SQL.
            </>
          ),
        }}
      />
      <Section
        title="Recent failures"
        description="Jobs waiting for a retry or dead after their last attempt, newest first."
      >
        <DataTable
          label="Recent failures"
          columns={failureColumns}
          data={failures.data?.failures}
          getRowId={(j) => j.id}
          rowHeight={56}
          isLoading={failures.isLoading}
          error={failures.error}
          onRetry={() => void failures.refetch()}
          maxHeight="28rem"
          empty={{
            icon: CircleCheck,
            title: 'No failures',
            description: 'Jobs that fail show up here with their last error.',
          }}
        />
      </Section>
      <QueueDialog open={open} onOpenChange={setOpen} queue={editing} />
    </div>
  );
}
