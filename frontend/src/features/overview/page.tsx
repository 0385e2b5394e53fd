/**
 * The project at a glance: health, counts, the keys (copy, rotate), how to connect, and the
 * latest admin actions.
 */
import { useState } from 'react';
import { createLazyRoute, Link } from '@tanstack/react-router';
import {
  Activity,
  Database,
  Eye,
  EyeOff,
  FolderArchive,
  Radio,
  RefreshCw,
  SquareFunction,
  Users,
} from 'lucide-react';
import { apiOrigin } from '../../lib/api';
import { formatCount, formatDateTime, formatRelative } from '../../lib/format';
import { Button } from '../../ui/button';
import { CopyButton } from '../../ui/copy-button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Badge, Card, PageHeader, Skeleton } from '../../ui/misc';
import { Select } from '../../ui/select';
import { ConnectPanel } from './connect-panel';
import {
  useHealth,
  useKey,
  useMetadata,
  useRecentActivity,
  useRotateKey,
  useUserCount,
  type AuditPage,
  type KeyKind,
} from './hooks';

export const Route = createLazyRoute('/app/')({ component: OverviewPage });

function HealthCard() {
  const health = useHealth();
  return (
    <div className="rounded-lg border border-border bg-surface p-4 shadow-xs" data-testid="health">
      <div className="flex items-center justify-between text-muted">
        <span className="text-xs font-medium">API health</span>
        <Activity className="size-4" aria-hidden />
      </div>
      {health.isLoading ? (
        <>
          <Skeleton className="mt-2 h-7 w-24" />
          <Skeleton className="mt-2 h-3 w-20" />
        </>
      ) : health.error ? (
        <>
          <p className="mt-1 flex items-center gap-2 text-lg font-semibold text-danger">
            Unreachable
          </p>
          <Button variant="link" className="text-xs" onClick={() => void health.refetch()}>
            Retry
          </Button>
        </>
      ) : (
        <>
          <p className="mt-1 flex items-center gap-2 text-lg leading-8 font-semibold">
            <span className="size-2 rounded-full bg-success" aria-hidden />
            {health.data!.status === 'ok' ? 'Operational' : health.data!.status}
          </p>
          <p
            className="truncate text-xs text-muted"
            title={`${health.data!.service} ${health.data!.version}, checked ${formatDateTime(health.data!.timestamp)}`}
          >
            {health.data!.service} {health.data!.version}
          </p>
        </>
      )}
    </div>
  );
}

function Stat({
  label,
  value,
  icon: Icon,
  to,
  loading,
}: {
  label: string;
  value: number | undefined;
  icon: React.ComponentType<{ className?: string }>;
  to?: '/database' | '/auth';
  loading: boolean;
}) {
  const body = (
    <>
      <div className="flex items-center justify-between text-muted">
        <span className="text-xs font-medium">{label}</span>
        <Icon className="size-4" aria-hidden />
      </div>
      {loading ? (
        <Skeleton className="mt-2 h-7 w-12" />
      ) : (
        <p
          className="mt-1 text-2xl leading-8 font-semibold tabular-nums"
          data-testid={`count-${label.toLowerCase()}`}
        >
          {value === undefined ? '—' : formatCount(value)}
        </p>
      )}
    </>
  );
  const cls = 'block rounded-lg border border-border bg-surface p-4 shadow-xs';
  return to ? (
    <Link to={to} className={`${cls} hover:border-border-strong`}>
      {body}
    </Link>
  ) : (
    <div className={cls}>{body}</div>
  );
}

function Counts() {
  const metadata = useMetadata();
  const users = useUserCount();
  const m = metadata.data;
  const tables = m?.database.tables.filter(
    (t) => t.kind === 'table' || t.kind === 'partitioned_table',
  ).length;
  return (
    <div className="flex flex-col gap-2">
      <div className="grid grid-cols-6 gap-3 max-[1180px]:grid-cols-3">
        <HealthCard />
        <Stat label="Users" value={users.data} icon={Users} to="/auth" loading={users.isLoading} />
        <Stat
          label="Tables"
          value={tables}
          icon={Database}
          to="/database"
          loading={metadata.isLoading}
        />
        <Stat
          label="Buckets"
          value={m?.storage.buckets.length}
          icon={FolderArchive}
          loading={metadata.isLoading}
        />
        <Stat
          label="Functions"
          value={m?.functions.length}
          icon={SquareFunction}
          loading={metadata.isLoading}
        />
        <Stat
          label="Channels"
          value={m?.realtime.channels.length}
          icon={Radio}
          loading={metadata.isLoading}
        />
      </div>
      {(metadata.error ?? users.error) && (
        <ErrorPanel
          error={metadata.error ?? users.error}
          title="Could not load the counts"
          onRetry={() => {
            void metadata.refetch();
            void users.refetch();
          }}
        />
      )}
    </div>
  );
}

const graceChoices = {
  api: [
    { value: '0', label: 'Revoke the old key at once' },
    { value: '1', label: 'Keep the old key for 1 hour' },
    { value: '24', label: 'Keep the old key for 24 hours' },
    { value: '168', label: 'Keep the old key for 7 days' },
  ],
  anon: [
    { value: '0', label: 'Revoke the old key at once' },
    { value: '24', label: 'Keep the old key for 24 hours' },
    { value: '168', label: 'Keep the old key for 7 days' },
    { value: '720', label: 'Keep the old key for 30 days' },
  ],
};

function mask(key: string): string {
  const prefix = key.slice(0, key.indexOf('_') + 1);
  return `${prefix}${'•'.repeat(16)}${key.slice(-4)}`;
}

function KeyRow({ kind }: { kind: KeyKind }) {
  const key = useKey(kind);
  const rotate = useRotateKey(kind);
  const [revealed, setRevealed] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [grace, setGrace] = useState('24');
  const label = kind === 'api' ? 'API key' : 'Anon key';
  const inText = kind === 'api' ? 'API key' : 'anon key';
  const hint =
    kind === 'api'
      ? 'Full admin access (bypasses RLS). Keep it on servers and in CI only.'
      : 'Safe in browsers and apps: requests run as the anon role, under RLS.';
  return (
    <div className="flex flex-col gap-1.5" data-testid={`key-${kind}`}>
      <div className="flex items-center justify-between">
        <span className="text-sm font-medium">{label}</span>
        {kind === 'api' && <Badge tone="warning">secret</Badge>}
      </div>
      <div className="flex items-center gap-1">
        <div className="flex h-8 min-w-0 flex-1 items-center rounded-md border border-border bg-surface-2 px-2.5 font-mono text-xs">
          {key.isLoading ? (
            <Skeleton className="h-3 w-full" />
          ) : key.data ? (
            <span className="truncate" data-testid={`key-${kind}-value`}>
              {revealed ? key.data : mask(key.data)}
            </span>
          ) : (
            <span className="text-danger">unavailable</span>
          )}
        </div>
        <Button
          variant="ghost"
          size="icon-sm"
          aria-label={revealed ? `Hide the ${inText}` : `Show the ${inText}`}
          aria-pressed={revealed}
          onClick={() => setRevealed((r) => !r)}
          disabled={!key.data}
        >
          {revealed ? <EyeOff aria-hidden /> : <Eye aria-hidden />}
        </Button>
        <CopyButton value={key.data ?? ''} label={`the ${inText}`} disabled={!key.data} />
        <Button
          variant="outline"
          size="sm"
          onClick={() => setConfirming(true)}
          disabled={!key.data}
        >
          <RefreshCw aria-hidden /> Rotate
        </Button>
      </div>
      <p className="text-xs text-muted">{hint}</p>
      {key.error && (
        <ErrorPanel
          error={key.error}
          title={`Could not load the ${inText}`}
          onRetry={() => void key.refetch()}
        />
      )}
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={`Rotate the ${inText}?`}
        description={`A new ${inText} is issued. Clients using the old one must switch to it before the old one stops working.`}
        confirmLabel={`Rotate ${inText}`}
        destructive
        onConfirm={() => rotate.mutateAsync(Number(grace)).then(() => setRevealed(true))}
      >
        <FormField label="The old key">
          <Select value={grace} onValueChange={setGrace} options={graceChoices[kind]} />
        </FormField>
      </ConfirmDialog>
    </div>
  );
}

function KeysCard() {
  return (
    <Card title="Project API" description="Where clients connect, and the keys they use.">
      <div className="flex flex-col gap-5">
        <div className="flex flex-col gap-1.5">
          <span className="text-sm font-medium">API URL</span>
          <div className="flex items-center gap-1">
            <code
              className="flex h-8 min-w-0 flex-1 items-center truncate rounded-md border border-border bg-surface-2 px-2.5 font-mono text-xs"
              data-testid="api-url"
            >
              {apiOrigin}
            </code>
            <CopyButton value={apiOrigin} label="the API URL" />
          </div>
        </div>
        <KeyRow kind="anon" />
        <KeyRow kind="api" />
      </div>
    </Card>
  );
}

type AuditEntry = AuditPage['data'][number];

const activityColumns: ColumnDef<AuditEntry, unknown>[] = [
  {
    id: 'action',
    header: 'Action',
    cell: ({ row }) => <span className="font-mono text-xs">{row.original.action}</span>,
  },
  { id: 'module', header: 'Area', cell: ({ row }) => <Badge>{row.original.module}</Badge> },
  { id: 'actor', header: 'By', cell: ({ row }) => row.original.actor },
  {
    id: 'when',
    header: 'When',
    cell: ({ row }) => (
      <span title={formatDateTime(row.original.createdAt)}>
        {formatRelative(row.original.createdAt)}
      </span>
    ),
  },
];

function RecentActivity() {
  const activity = useRecentActivity(10);
  return (
    <Card title="Recent admin activity" description="The latest entries of the audit trail.">
      <DataTable
        label="Admin activity"
        columns={activityColumns}
        data={activity.data?.data}
        getRowId={(e) => e.id}
        isLoading={activity.isLoading}
        error={activity.error}
        onRetry={() => void activity.refetch()}
        maxHeight={420}
        empty={{
          icon: Activity,
          title: 'No admin activity yet',
          description:
            'Changes made with the dashboard or the API key (tables, users, keys, settings) appear here.',
        }}
      />
    </Card>
  );
}

function OverviewPage() {
  return (
    <>
      <PageHeader title="Overview" description="Your Kiln project at a glance." />
      <div className="flex flex-col gap-4">
        <Counts />
        <div className="grid grid-cols-2 gap-4 max-[1180px]:grid-cols-1">
          <KeysCard />
          <ConnectPanel />
        </div>
        <RecentActivity />
      </div>
    </>
  );
}
