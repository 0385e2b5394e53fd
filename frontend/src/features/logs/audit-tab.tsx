/**
 * The audit trail: admin actions newest first, filtered by action, actor and time range, one
 * server page at a time (filters and page in the URL).
 */
import { useEffect, useMemo, useState } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { Search } from 'lucide-react';
import { formatDateTime } from '../../lib/format';
import { Button } from '../../ui/button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';
import { Badge } from '../../ui/misc';
import { Select } from '../../ui/select';
import { AUDIT_PAGE_SIZE, useAuditLog, type AuditLogEntry } from './hooks';
import { timeRangeLabels, timeRanges, type TimeRange } from './search';

const route = getRouteApi('/app/logs');

const ANY = 'any';

function detail(entry: AuditLogEntry, key: string): string | undefined {
  const v = entry.details[key];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

export function AuditTab() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const offset = search.offset ?? 0;
  const audit = useAuditLog({
    action: search.action,
    actor: search.actor,
    range: search.arange,
    offset,
  });
  const [action, setAction] = useState(search.action ?? '');
  const [actor, setActor] = useState(search.actor ?? '');
  useEffect(() => setAction(search.action ?? ''), [search.action]);
  useEffect(() => setActor(search.actor ?? ''), [search.actor]);

  const columns = useMemo<ColumnDef<AuditLogEntry, unknown>[]>(
    () => [
      {
        id: 'time',
        header: 'Time',
        size: 170,
        cell: ({ row }) => (
          <time dateTime={row.original.createdAt} className="whitespace-nowrap text-muted">
            {formatDateTime(row.original.createdAt)}
          </time>
        ),
      },
      {
        id: 'action',
        header: 'Action',
        cell: ({ row }) => (
          <span className="font-mono text-xs font-medium">{row.original.action}</span>
        ),
      },
      {
        id: 'module',
        header: 'Module',
        size: 100,
        cell: ({ row }) => <Badge>{row.original.module}</Badge>,
      },
      { id: 'actor', header: 'Actor', cell: ({ row }) => row.original.actor },
      {
        id: 'request',
        header: 'Request',
        cell: ({ row }) => {
          const method = detail(row.original, 'method');
          const path = detail(row.original, 'path');
          const status = detail(row.original, 'status');
          return (
            <span className="font-mono text-xs text-muted">
              {method && path ? `${method} ${path}` : '—'}
              {status && ` → ${status}`}
            </span>
          );
        },
      },
      { id: 'ip', header: 'IP', size: 120, cell: ({ row }) => row.original.ip ?? '—' },
    ],
    [],
  );

  return (
    <div className="flex flex-col gap-3">
      <form
        role="search"
        aria-label="Filter the audit trail"
        className="grid grid-cols-1 items-end gap-3 md:grid-cols-[minmax(0,1fr)_minmax(0,1fr)_11rem_auto]"
        onSubmit={(e) => {
          e.preventDefault();
          void navigate({
            search: (s) => ({
              ...s,
              action: action.trim() || undefined,
              actor: actor.trim() || undefined,
              offset: undefined,
            }),
          });
        }}
      >
        <FormField label="Action">
          <Input
            value={action}
            onChange={(e) => setAction(e.target.value)}
            placeholder="e.g. RUN_SQL, CREATE_TABLE"
          />
        </FormField>
        <FormField label="Actor">
          <Input
            value={actor}
            onChange={(e) => setActor(e.target.value)}
            placeholder="e.g. admin@example.com"
          />
        </FormField>
        <FormField label="Time range">
          <Select
            value={search.arange ?? ANY}
            onValueChange={(v) =>
              void navigate({
                search: (s) => ({
                  ...s,
                  arange: v === ANY ? undefined : (v as TimeRange),
                  offset: undefined,
                }),
              })
            }
            options={[
              { value: ANY, label: 'Any time' },
              ...timeRanges.map((r) => ({ value: r, label: timeRangeLabels[r] })),
            ]}
          />
        </FormField>
        <Button type="submit">
          <Search aria-hidden /> Filter
        </Button>
      </form>
      <DataTable
        label="Audit records"
        columns={columns}
        data={audit.data?.data}
        getRowId={(e) => e.id}
        isLoading={audit.isLoading}
        error={audit.error}
        onRetry={() => void audit.refetch()}
        maxHeight="calc(100vh - 20rem)"
        empty={{
          title: 'No audit records',
          description:
            search.action || search.actor || search.arange
              ? 'No admin action matches these filters. Clear them or widen the time range.'
              : 'Admin actions (running SQL, creating tables, rotating keys…) are recorded here.',
        }}
        pagination={{
          offset,
          limit: AUDIT_PAGE_SIZE,
          total: audit.data?.pagination.total,
          onOffsetChange: (o) =>
            void navigate({ search: (s) => ({ ...s, offset: o || undefined }) }),
        }}
      />
    </div>
  );
}
