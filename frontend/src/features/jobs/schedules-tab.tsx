/**
 * Schedules with their expression (in words), target, next and last run: create, edit,
 * pause/resume, run now; a schedule's runs (status, HTTP code, duration, message) below the list,
 * the schedule and the page of its runs in the URL.
 */
import { useMemo, useState } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { CalendarClock, History, Pause, Pencil, Play, Plus, Trash2, Zap } from 'lucide-react';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Button } from '../../ui/button';
import { ConfirmDialog } from '../../ui/dialog';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Badge, type BadgeTone } from '../../ui/misc';
import { useCronText } from './cron-text';
import {
  LOGS_PAGE,
  useDeleteSchedule,
  useRunSchedule,
  useScheduleLogs,
  useSchedules,
  useUpdateSchedule,
  type Schedule,
  type ScheduleLog,
} from './hooks';
import { Section } from '../../ui/section';
import { ScheduleDialog } from './schedule-dialog';

const route = getRouteApi('/app/jobs');

const runTones: Record<ScheduleLog['status'], BadgeTone> = {
  queued: 'info',
  running: 'primary',
  succeeded: 'success',
  failed: 'danger',
  skipped: 'neutral',
};

function scheduleTarget(s: Schedule): string {
  const t = s.target;
  if (!t) return `${s.httpMethod} ${s.functionUrl ?? ''}`;
  if (t.type === 'function') return `function ${t.slug}`;
  if (t.type === 'sql') return `SQL ${t.function}()`;
  return `queue ${t.queue}`;
}

function CronCell({ expr, timeZone }: { expr: string; timeZone: string }) {
  const { text } = useCronText(expr);
  return (
    <span className="flex min-w-0 flex-col gap-0.5">
      <span className="font-mono text-xs break-all whitespace-normal">
        {expr}
        {timeZone !== 'UTC' && (
          <span className="inline-block whitespace-nowrap text-muted">&nbsp;· {timeZone}</span>
        )}
      </span>
      <span className="line-clamp-2 text-xs whitespace-normal text-muted">{text ?? ' '}</span>
    </span>
  );
}

function ScheduleActions({
  schedule,
  onEdit,
  onLogs,
}: {
  schedule: Schedule;
  onEdit: () => void;
  onLogs: () => void;
}) {
  const run = useRunSchedule();
  const update = useUpdateSchedule();
  const remove = useDeleteSchedule();
  const [confirming, setConfirming] = useState(false);
  const s = schedule;
  return (
    <div className="flex justify-end gap-1">
      <Button
        size="icon-sm"
        variant="ghost"
        aria-label={`Run ${s.name} now`}
        title="Run now"
        loading={run.isPending}
        onClick={() => void run.mutateAsync(s.id).then(onLogs, () => undefined)}
      >
        <Zap aria-hidden />
      </Button>
      <Button
        size="icon-sm"
        variant="ghost"
        aria-label={`${s.isActive ? 'Pause' : 'Resume'} ${s.name}`}
        title={s.isActive ? 'Pause' : 'Resume'}
        loading={update.isPending}
        onClick={() =>
          void update
            .mutateAsync({ id: s.id, body: { isActive: !s.isActive } })
            .catch(() => undefined)
        }
      >
        {s.isActive ? <Pause aria-hidden /> : <Play aria-hidden />}
      </Button>
      <Button
        size="icon-sm"
        variant="ghost"
        aria-label={`Edit ${s.name}`}
        title="Edit"
        onClick={onEdit}
      >
        <Pencil aria-hidden />
      </Button>
      <Button
        size="icon-sm"
        variant="ghost"
        aria-label={`Runs of ${s.name}`}
        title="Runs"
        onClick={onLogs}
      >
        <History aria-hidden />
      </Button>
      <Button
        size="icon-sm"
        variant="ghost"
        aria-label={`Delete ${s.name}`}
        title="Delete"
        onClick={() => setConfirming(true)}
      >
        <Trash2 aria-hidden />
      </Button>
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={`Delete ${s.name}?`}
        description="The schedule stops and its run logs are deleted with it."
        confirmLabel="Delete schedule"
        destructive
        onConfirm={() => remove.mutateAsync(s.id)}
      />
    </div>
  );
}

function RunLogs({ schedule }: { schedule: Schedule }) {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const offset = search.loffset ?? 0;
  const logs = useScheduleLogs(schedule.id, offset);
  const columns = useMemo<ColumnDef<ScheduleLog, unknown>[]>(
    () => [
      {
        id: 'at',
        header: 'Started',
        size: 170,
        cell: ({ row }) => (
          <time
            dateTime={row.original.executedAt}
            title={row.original.tick ? `tick ${formatDateTime(row.original.tick)}` : 'run now'}
            className="whitespace-nowrap text-muted"
          >
            {formatDateTime(row.original.executedAt)}
          </time>
        ),
      },
      {
        id: 'status',
        header: 'Status',
        size: 110,
        cell: ({ row }) => (
          <span className="flex items-center gap-1.5">
            <Badge tone={runTones[row.original.status]}>{row.original.status}</Badge>
            {row.original.tick === null && <span className="text-xs text-muted">manual</span>}
          </span>
        ),
      },
      {
        id: 'code',
        header: 'Code',
        size: 64,
        cell: ({ row }) => (
          <span className="font-mono text-xs tabular-nums">{row.original.statusCode || '—'}</span>
        ),
      },
      {
        id: 'duration',
        header: () => <span className="block text-right">Duration</span>,
        size: 90,
        cell: ({ row }) => (
          <span className="block text-right text-xs tabular-nums">
            {row.original.durationMs} ms
          </span>
        ),
      },
      {
        id: 'message',
        header: 'Message',
        cell: ({ row }) => (
          <span
            className={`block truncate font-mono text-xs ${row.original.success ? 'text-muted' : 'text-danger'}`}
            title={row.original.message ?? undefined}
          >
            {row.original.message ?? '—'}
          </span>
        ),
      },
    ],
    [],
  );
  return (
    <Section
      title={`Runs of ${schedule.name}`}
      description="Newest first: every tick and every run started by hand."
    >
      <DataTable
        label={`Runs of ${schedule.name}`}
        columns={columns}
        data={logs.data?.logs}
        getRowId={(l) => l.id}
        isLoading={logs.isLoading}
        error={logs.error}
        onRetry={() => void logs.refetch()}
        maxHeight="24rem"
        empty={{
          icon: History,
          title: 'No runs yet',
          description: 'Runs appear at the next tick, or use Run now.',
        }}
        pagination={{
          offset,
          limit: LOGS_PAGE,
          total: logs.data?.totalCount,
          onOffsetChange: (o) =>
            void navigate({ search: (s) => ({ ...s, loffset: o || undefined }) }),
        }}
      />
    </Section>
  );
}

export function SchedulesTab() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const schedules = useSchedules();
  const [editing, setEditing] = useState<Schedule | undefined>();
  const [open, setOpen] = useState(false);
  const selected = schedules.data?.find((s) => s.id === search.schedule);

  const columns = useMemo<ColumnDef<Schedule, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Name',
        size: 170,
        cell: ({ row }) => (
          <span className="flex min-w-0 flex-col items-start gap-0.5">
            <span
              className="line-clamp-1 font-medium break-all whitespace-normal"
              title={row.original.name}
            >
              {row.original.name}
            </span>
            <Badge tone={row.original.isActive ? 'success' : 'neutral'}>
              {row.original.isActive ? 'active' : 'paused'}
            </Badge>
          </span>
        ),
      },
      {
        id: 'cron',
        header: 'Schedule',
        cell: ({ row }) => (
          <CronCell expr={row.original.cronSchedule} timeZone={row.original.timeZone} />
        ),
      },
      {
        id: 'target',
        header: 'Target',
        size: 170,
        cell: ({ row }) => {
          const t = scheduleTarget(row.original);
          return (
            <span className="line-clamp-2 font-mono text-xs break-all whitespace-normal" title={t}>
              {t}
            </span>
          );
        },
      },
      {
        id: 'runs',
        header: 'Next · last run',
        size: 130,
        cell: ({ row }) => {
          const s = row.original;
          const last = s.lastExecutedAt;
          return (
            <span className="flex flex-col gap-0.5 text-xs whitespace-nowrap">
              {s.isActive && s.nextRun ? (
                <time dateTime={s.nextRun} title={formatDateTime(s.nextRun)}>
                  next {formatRelative(s.nextRun)}
                </time>
              ) : (
                <span className="text-muted">{s.isActive ? 'no next run' : 'paused'}</span>
              )}
              {last ? (
                <time dateTime={last} title={formatDateTime(last)} className="text-muted">
                  last {formatRelative(last)}
                </time>
              ) : (
                <span className="text-muted">never run</span>
              )}
            </span>
          );
        },
      },
      {
        id: 'actions',
        size: 170,
        header: () => <span className="sr-only">Actions</span>,
        cell: ({ row }) => (
          <ScheduleActions
            schedule={row.original}
            onEdit={() => {
              setEditing(row.original);
              setOpen(true);
            }}
            onLogs={() =>
              void navigate({
                search: (s) => ({ ...s, schedule: row.original.id, loffset: undefined }),
              })
            }
          />
        ),
      },
    ],
    [navigate],
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
          <Plus aria-hidden /> New schedule
        </Button>
      </div>
      <DataTable
        label="Schedules"
        columns={columns}
        data={schedules.data}
        getRowId={(s) => s.id}
        rowHeight={56}
        isLoading={schedules.isLoading}
        error={schedules.error}
        onRetry={() => void schedules.refetch()}
        maxHeight="28rem"
        empty={{
          icon: CalendarClock,
          title: 'No schedules',
          description:
            'A schedule calls an edge function, a SQL function, a job queue or a URL on a cron expression.',
        }}
      />
      {selected && <RunLogs schedule={selected} />}
      <ScheduleDialog open={open} onOpenChange={setOpen} schedule={editing} />
    </div>
  );
}
