/**
 * The settings read once at start (environment variables), each with its value and whether the
 * environment set it or Kiln's default applies. Secret values never reach the browser: the API
 * says only whether they are set. Filtered by text and source from the URL.
 */
import { useMemo } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { Lock, Search, Variable } from 'lucide-react';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Input } from '../../ui/input';
import { Card } from '../../ui/misc';
import { Select } from '../../ui/select';
import { SourceBadge } from './source-badge';
import { useSettings, type EnvironmentSetting } from './hooks';
import type { EnvironmentSource } from './search';

const route = getRouteApi('/app/settings');

const columns: ColumnDef<EnvironmentSetting, unknown>[] = [
  {
    id: 'name',
    header: 'Variable',
    size: 300,
    cell: ({ row }) => <span className="font-mono text-xs">{row.original.name}</span>,
  },
  {
    id: 'value',
    header: 'Value',
    cell: ({ row }) => {
      const v = row.original;
      if (v.secret)
        return (
          <span className="inline-flex items-center gap-1.5 text-muted">
            <Lock className="size-3.5 shrink-0" aria-hidden />
            {v.isSet ? 'set (hidden)' : 'not set'}
          </span>
        );
      if (v.value === null) return <span className="text-muted">not set</span>;
      return (
        <span className="block truncate font-mono text-xs" title={v.value}>
          {v.value}
        </span>
      );
    },
  },
  {
    id: 'source',
    header: 'Source',
    size: 130,
    cell: ({ row }) => <SourceBadge source={row.original.source} />,
  },
];

const sourceOptions = [
  { value: 'all', label: 'All sources' },
  { value: 'environment', label: 'Set in the environment' },
  { value: 'default', label: 'Defaults' },
];

export function EnvironmentTab() {
  const { q = '', source } = route.useSearch();
  const navigate = route.useNavigate();
  const settings = useSettings();
  const rows = useMemo(() => {
    const all = settings.data?.environment;
    if (!all) return undefined;
    const needle = q.toLowerCase();
    return all.filter(
      (v) =>
        (!source || v.source === source) &&
        (!needle ||
          v.name.toLowerCase().includes(needle) ||
          (v.value ?? '').toLowerCase().includes(needle)),
    );
  }, [settings.data, q, source]);
  const fromEnv = settings.data?.environment.filter((v) => v.source === 'environment').length;

  return (
    <Card
      title="Environment"
      description={
        fromEnv === undefined
          ? 'Read once at start; change them in the environment (or .env) and restart.'
          : `Read once at start; change them in the environment (or .env) and restart. ${fromEnv} of ${settings.data?.environment.length} are set in the environment.`
      }
      actions={
        <>
          <div className="relative w-56">
            <Search
              className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted"
              aria-hidden
            />
            <Input
              type="search"
              aria-label="Filter variables"
              placeholder="Filter variables"
              className="h-8 pl-8"
              defaultValue={q}
              onChange={(ev) => {
                const value = ev.target.value;
                void navigate({
                  search: (s) => ({ ...s, q: value || undefined }),
                  replace: true,
                });
              }}
            />
          </div>
          <div className="w-52">
            <Select
              aria-label="Source"
              value={source ?? 'all'}
              onValueChange={(v) =>
                void navigate({
                  search: (s) => ({
                    ...s,
                    source: v === 'all' ? undefined : (v as EnvironmentSource),
                  }),
                })
              }
              options={sourceOptions}
            />
          </div>
        </>
      }
    >
      <DataTable
        label="Environment variables"
        columns={columns}
        data={rows}
        getRowId={(v) => v.name}
        isLoading={settings.isLoading}
        error={settings.error}
        onRetry={() => void settings.refetch()}
        maxHeight="calc(100vh - 19rem)"
        empty={{
          icon: Variable,
          title: 'No variable matches',
          description: 'Try another part of the name or value, or all sources.',
        }}
      />
    </Card>
  );
}
