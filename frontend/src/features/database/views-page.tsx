/** Views and materialized views of the exposed schemas (/database/views?q=&item=). */
import { useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { Eye } from 'lucide-react';
import type { ColumnDef } from '../../ui/data-table';
import { Badge } from '../../ui/misc';
import { CatalogList, Definition, qualifiedName } from './catalog-list';
import { useCatalog, type ViewInfo } from './schema-hooks';

export const Route = createLazyRoute('/app/database/views')({ component: Page });

const route = getRouteApi('/app/database/views');

function Page() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const views = useCatalog('views', { schema: search.schema });
  const columns = useMemo<ColumnDef<ViewInfo, unknown>[]>(
    () => [
      {
        id: 'kind',
        header: 'Kind',
        size: 160,
        cell: ({ row }) =>
          row.original.materialized ? (
            <Badge tone="primary">materialized</Badge>
          ) : (
            <Badge>view</Badge>
          ),
      },
      {
        id: 'def',
        header: 'Definition',
        cell: ({ row }) => (
          <code className="block truncate font-mono text-xs text-muted">
            {row.original.definition.replace(/\s+/g, ' ').trim()}
          </code>
        ),
      },
    ],
    [],
  );
  return (
    <CatalogList
      title="Views"
      description="Views and materialized views; the records API serves them like tables."
      label="Views"
      items={views.data}
      isLoading={views.isLoading}
      error={views.error}
      onRetry={() => void views.refetch()}
      columns={columns}
      nameOf={(v) => qualifiedName(v.schemaName, v.viewName)}
      idOf={(v) => `${v.schemaName}.${v.viewName}`}
      textOf={(v) => `${v.schemaName}.${v.viewName}`}
      search={search}
      setSearch={(patch) => void navigate({ search: (s) => ({ ...s, ...patch }) })}
      empty={{
        icon: Eye,
        title: 'No views',
        description: 'Create one with SQL (CREATE VIEW … WITH (security_invoker)) so RLS applies.',
      }}
      detail={(v) => ({
        title: qualifiedName(v.schemaName, v.viewName),
        description: v.materialized ? 'Materialized view' : 'View',
        body: <Definition sql={v.definition.trim()} />,
      })}
    />
  );
}
