/** Functions and procedures of the exposed schemas (/database/functions?q=&item=), definitions on click. */
import { useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { SquareFunction } from 'lucide-react';
import type { ColumnDef } from '../../ui/data-table';
import { Badge } from '../../ui/misc';
import { CatalogList, Definition, qualifiedName } from './catalog-list';
import { useCatalog, type FunctionInfo } from './schema-hooks';

export const Route = createLazyRoute('/app/database/functions')({ component: Page });

const route = getRouteApi('/app/database/functions');

const idOf = (f: FunctionInfo) => `${f.schemaName}.${f.functionName}(${f.arguments})`;

function Page() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const functions = useCatalog('functions', { schema: search.schema });
  const columns = useMemo<ColumnDef<FunctionInfo, unknown>[]>(
    () => [
      {
        id: 'args',
        header: 'Arguments',
        cell: ({ row }) => (
          <code className="font-mono text-xs">{row.original.arguments || '—'}</code>
        ),
      },
      {
        id: 'returns',
        header: 'Returns',
        cell: ({ row }) => <code className="font-mono text-xs">{row.original.returns}</code>,
      },
      {
        id: 'flags',
        header: 'Kind',
        cell: ({ row: { original: f } }) => (
          <span className="flex flex-wrap gap-1">
            <Badge>{f.kind}</Badge>
            <Badge>{f.volatility}</Badge>
            {f.securityDefiner && <Badge tone="warning">security definer</Badge>}
          </span>
        ),
      },
    ],
    [],
  );
  return (
    <CatalogList
      title="Functions"
      description="Functions and procedures of the project's schemas; callable ones are served at /api/database/rpc/<name>."
      label="Functions"
      items={functions.data}
      isLoading={functions.isLoading}
      error={functions.error}
      onRetry={() => void functions.refetch()}
      columns={columns}
      nameOf={(f) => qualifiedName(f.schemaName, f.functionName)}
      idOf={idOf}
      textOf={(f) => `${f.schemaName}.${f.functionName} ${f.returns}`}
      search={search}
      setSearch={(patch) => void navigate({ search: (s) => ({ ...s, ...patch }) })}
      empty={{
        icon: SquareFunction,
        title: 'No functions',
        description: 'Create one with SQL (CREATE FUNCTION) in the SQL editor or a migration.',
      }}
      detail={(f) => ({
        title: `${qualifiedName(f.schemaName, f.functionName)}(${f.arguments})`,
        description: `Returns ${f.returns} · ${f.volatility}${f.securityDefiner ? ' · security definer' : ''}`,
        body: <Definition sql={f.functionDef} />,
      })}
    />
  );
}
