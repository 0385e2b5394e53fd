/**
 * The table list (/database/tables?schema=&q=): tables of the exposed schemas (or of the schema
 * picked) with the planner's row estimate, size, RLS and policies, from the catalog (never
 * count(*)). A row opens the table editor.
 */
import { useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { Search, Table2 } from 'lucide-react';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Input } from '../../ui/input';
import { Badge } from '../../ui/misc';
import { Select } from '../../ui/select';
import { formatBytes, formatEstimate } from './format';
import { useSchemas, useTableStats, type TableStat } from './hooks';
import { NewTableButton } from './new-table-button';
import { SectionHeader } from './section-header';

export const Route = createLazyRoute('/app/database/')({ component: TablesPage });

const route = getRouteApi('/app/database/');

const EXPOSED = '__exposed__';

const kindLabel: Record<TableStat['kind'], string> = {
  table: 'table',
  view: 'view',
  materialized_view: 'materialized view',
  partitioned_table: 'partitioned',
  foreign_table: 'foreign',
};

function TablesPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const stats = useTableStats(search.schema);
  const schemas = useSchemas();
  const q = search.q?.toLowerCase() ?? '';
  const rows = useMemo(
    () =>
      stats.data?.data.filter(
        (t) => !q || t.tableName.toLowerCase().includes(q) || t.schemaName.includes(q),
      ),
    [stats.data, q],
  );
  const multiSchema = !search.schema && (stats.data?.exposedSchemas.length ?? 1) > 1;

  const columns = useMemo<ColumnDef<TableStat, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Name',
        cell: ({ row: { original: t } }) => (
          <span className="inline-flex min-w-0 items-center gap-2 font-medium">
            <Table2 className="size-4 shrink-0 text-muted" aria-hidden />
            <span className="truncate">
              {multiSchema && t.schemaName !== 'public' && (
                <span className="text-muted">{t.schemaName}.</span>
              )}
              {t.tableName}
            </span>
            {t.kind !== 'table' && <Badge tone="neutral">{kindLabel[t.kind]}</Badge>}
          </span>
        ),
      },
      {
        id: 'rows',
        header: () => <span title="The planner's estimate (no count is run)">Rows (est.)</span>,
        cell: ({ row: { original: t } }) => (
          <span
            className={t.estimatedRows === null ? 'text-xs text-muted' : 'tabular-nums'}
            data-testid="estimated-rows"
            title={
              t.estimatedRows === null
                ? 'Not analyzed yet: PostgreSQL has no estimate'
                : `${t.estimatedRows.toLocaleString('en-US')} rows (estimate)`
            }
          >
            {formatEstimate(t.estimatedRows)}
          </span>
        ),
      },
      {
        id: 'size',
        header: 'Size',
        cell: ({ row: { original: t } }) => (
          <span
            className="tabular-nums"
            title={`table ${formatBytes(t.tableBytes)}, indexes ${formatBytes(t.indexBytes)}`}
          >
            {formatBytes(t.totalBytes)}
          </span>
        ),
      },
      {
        id: 'rls',
        header: 'Security',
        cell: ({ row: { original: t } }) =>
          t.kind === 'view' ? (
            <span className="text-muted">—</span>
          ) : (
            <span className="inline-flex items-center gap-1.5">
              {t.rlsEnabled ? (
                <Badge tone="success">RLS on</Badge>
              ) : (
                <Badge tone={t.exposed ? 'danger' : 'warning'}>RLS off</Badge>
              )}
              <span className="text-xs text-muted">
                {t.policyCount === 1 ? '1 policy' : `${t.policyCount} policies`}
              </span>
            </span>
          ),
      },
      {
        id: 'exposed',
        header: 'API',
        cell: ({ row: { original: t } }) =>
          t.exposed ? (
            <Badge tone="info">exposed</Badge>
          ) : (
            <span className="text-xs text-muted">not exposed</span>
          ),
      },
    ],
    [multiSchema],
  );

  const schemaOptions = [
    { value: EXPOSED, label: 'Exposed schemas' },
    ...(schemas.data?.schemas ?? [])
      .filter((s) => !s.name.startsWith('pg_') && s.name !== 'information_schema')
      .map((s) => ({ value: s.name, label: s.isExposed ? `${s.name} (exposed)` : s.name })),
  ];
  if (search.schema && !schemaOptions.some((o) => o.value === search.schema)) {
    schemaOptions.push({ value: search.schema, label: search.schema });
  }

  return (
    <div className="flex flex-col gap-4">
      <SectionHeader
        title="Tables"
        description="Row counts are PostgreSQL's estimates, so this page stays fast on big tables."
        actions={<NewTableButton schema={search.schema ?? 'public'} />}
      />
      <section className="rounded-lg border border-border bg-surface shadow-xs">
        <div className="flex flex-wrap items-center gap-2 border-b border-border p-3">
          <div className="relative w-64">
            <Search
              className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted"
              aria-hidden
            />
            <Input
              type="search"
              aria-label="Search tables"
              placeholder="Search tables…"
              className="pl-8"
              defaultValue={search.q ?? ''}
              onChange={(e) =>
                void navigate({
                  search: (s) => ({ ...s, q: e.target.value || undefined }),
                  replace: true,
                })
              }
            />
          </div>
          <div className="w-56">
            <Select
              aria-label="Schema"
              value={search.schema ?? EXPOSED}
              options={schemaOptions}
              onValueChange={(v) =>
                void navigate({ search: (s) => ({ ...s, schema: v === EXPOSED ? undefined : v }) })
              }
            />
          </div>
          {stats.data && (
            <span className="ml-auto text-xs text-muted">
              {rows?.length === stats.data.data.length
                ? `${stats.data.data.length} ${stats.data.data.length === 1 ? 'table' : 'tables'}`
                : `${rows?.length ?? 0} of ${stats.data.data.length}`}
            </span>
          )}
        </div>
        <DataTable
          label="Tables"
          columns={columns}
          data={rows}
          isLoading={stats.isLoading}
          error={stats.error}
          onRetry={() => void stats.refetch()}
          getRowId={(t) => `${t.schemaName}.${t.tableName}`}
          maxHeight="calc(100vh - 260px)"
          onRowClick={(t) =>
            void navigate({
              to: '/database/tables/$table',
              params: { table: t.tableName },
              search: { schema: t.schemaName === 'public' ? undefined : t.schemaName },
            })
          }
          empty={
            q
              ? {
                  icon: Search,
                  title: 'No table matches',
                  description: `No table name contains “${search.q}”. Clear the search or pick another schema.`,
                }
              : {
                  icon: Table2,
                  title: 'No tables yet',
                  description:
                    'Create a table with New table, in the SQL editor (CREATE TABLE …), or import a CSV or JSON file.',
                }
          }
        />
      </section>
    </div>
  );
}
