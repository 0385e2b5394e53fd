/**
 * Every job, newest first, one server page at a time, filtered by queue and status: its payload,
 * attempts, last error and times, with Retry and Cancel where they apply. Re-read every few
 * seconds while a job on the page is queued or running.
 */
import { useMemo } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { ListChecks, RotateCw } from 'lucide-react';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Button } from '../../ui/button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { FormField } from '../../ui/form-field';
import { Select } from '../../ui/select';
import { JOBS_PAGE, useJobs, useQueues, type Job } from './hooks';
import { JobActions, JobStatusBadge } from './job-parts';
import { jobStatuses, type JobStatusFilter } from './search';

const route = getRouteApi('/app/jobs');
const ANY = 'any';

function payloadText(p: unknown): string {
  try {
    return JSON.stringify(p) ?? '';
  } catch {
    return String(p);
  }
}

export function JobsTab() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const offset = search.offset ?? 0;
  const jobs = useJobs({ queue: search.queue, status: search.status, offset });
  const queues = useQueues();

  const columns = useMemo<ColumnDef<Job, unknown>[]>(
    () => [
      {
        id: 'created',
        header: 'Enqueued',
        size: 110,
        cell: ({ row }) => (
          <time
            dateTime={row.original.createdAt}
            title={formatDateTime(row.original.createdAt)}
            className="whitespace-nowrap text-muted"
          >
            {formatRelative(row.original.createdAt)}
          </time>
        ),
      },
      {
        id: 'queue',
        header: 'Queue',
        size: 140,
        cell: ({ row }) => (
          <span
            className="line-clamp-2 font-mono text-xs break-all whitespace-normal"
            title={row.original.queue}
          >
            {row.original.queue}
          </span>
        ),
      },
      {
        id: 'status',
        header: 'Status',
        size: 100,
        cell: ({ row }) => <JobStatusBadge status={row.original.status} />,
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
        id: 'detail',
        header: 'Payload · last error',
        cell: ({ row }) => {
          const j = row.original;
          const payload = payloadText(j.payload);
          return (
            <span className="flex min-w-0 flex-col gap-0.5 text-xs">
              <span
                className="line-clamp-1 font-mono break-all whitespace-normal text-muted"
                title={payload}
              >
                {payload}
              </span>
              {j.lastError && (
                <span
                  className="line-clamp-1 font-mono break-all whitespace-normal text-danger"
                  title={j.lastError}
                >
                  {j.lastError}
                </span>
              )}
            </span>
          );
        },
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
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-end gap-3">
        <div className="w-56">
          <FormField label="Queue">
            <Select
              value={search.queue ?? ANY}
              onValueChange={(v) =>
                void navigate({
                  search: (s) => ({ ...s, queue: v === ANY ? undefined : v, offset: undefined }),
                })
              }
              options={[
                { value: ANY, label: 'Every queue' },
                ...(queues.data?.queues ?? []).map((q) => ({ value: q.name, label: q.name })),
                ...(search.queue && !queues.data?.queues.some((q) => q.name === search.queue)
                  ? [{ value: search.queue, label: search.queue }]
                  : []),
              ]}
            />
          </FormField>
        </div>
        <div className="w-44">
          <FormField label="Status">
            <Select
              value={search.status ?? ANY}
              onValueChange={(v) =>
                void navigate({
                  search: (s) => ({
                    ...s,
                    status: v === ANY ? undefined : (v as JobStatusFilter),
                    offset: undefined,
                  }),
                })
              }
              options={[
                { value: ANY, label: 'Any status' },
                ...jobStatuses.map((s) => ({ value: s, label: s })),
              ]}
            />
          </FormField>
        </div>
        <Button
          variant="outline"
          className="ml-auto"
          onClick={() => void jobs.refetch()}
          loading={jobs.isFetching && !jobs.isLoading}
        >
          <RotateCw aria-hidden /> Refresh
        </Button>
      </div>
      <DataTable
        label="Jobs"
        columns={columns}
        rowHeight={52}
        data={jobs.data?.data}
        getRowId={(j) => j.id}
        isLoading={jobs.isLoading}
        error={jobs.error}
        onRetry={() => void jobs.refetch()}
        maxHeight="calc(100vh - 20rem)"
        empty={{
          icon: ListChecks,
          title: 'No jobs',
          description:
            search.queue || search.status
              ? 'No job matches these filters.'
              : 'Jobs enqueued through the API or jobs.enqueue() in SQL show up here.',
        }}
        pagination={{
          offset,
          limit: JOBS_PAGE,
          total: jobs.data?.pagination.total,
          onOffsetChange: (o) =>
            void navigate({ search: (s) => ({ ...s, offset: o || undefined }) }),
        }}
      />
    </div>
  );
}
