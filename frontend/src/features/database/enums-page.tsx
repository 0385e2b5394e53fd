/** Enum types of the exposed schemas (/database/enums?q=&item=): their values in order. */
import { useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { ListOrdered } from 'lucide-react';
import type { ColumnDef } from '../../ui/data-table';
import { Badge } from '../../ui/misc';
import { CatalogList, Definition, qualifiedName } from './catalog-list';
import { useCatalog, type EnumInfo } from './schema-hooks';

export const Route = createLazyRoute('/app/database/enums')({ component: Page });

const route = getRouteApi('/app/database/enums');

const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;

function Page() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const enums = useCatalog('enums', { schema: search.schema });
  const columns = useMemo<ColumnDef<EnumInfo, unknown>[]>(
    () => [
      {
        id: 'values',
        header: 'Values',
        cell: ({ row }) => (
          <span className="flex flex-wrap gap-1 overflow-hidden">
            {row.original.values.slice(0, 8).map((v) => (
              <Badge key={v}>{v}</Badge>
            ))}
            {row.original.values.length > 8 && (
              <span className="text-xs text-muted">+{row.original.values.length - 8} more</span>
            )}
          </span>
        ),
      },
    ],
    [],
  );
  return (
    <CatalogList
      title="Enums"
      description="Enumerated types: a column of one accepts only its values (the table editor offers them as a list)."
      label="Enums"
      items={enums.data}
      isLoading={enums.isLoading}
      error={enums.error}
      onRetry={() => void enums.refetch()}
      columns={columns}
      nameOf={(e) => qualifiedName(e.schemaName, e.enumName)}
      idOf={(e) => `${e.schemaName}.${e.enumName}`}
      textOf={(e) => `${e.schemaName}.${e.enumName} ${e.values.join(' ')}`}
      search={search}
      setSearch={(patch) => void navigate({ search: (s) => ({ ...s, ...patch }) })}
      empty={{
        icon: ListOrdered,
        title: 'No enums',
        description: "Create one with SQL: CREATE TYPE mood AS ENUM ('happy', 'sad').",
      }}
      detail={(e) => ({
        title: qualifiedName(e.schemaName, e.enumName),
        description: `${e.values.length} value${e.values.length === 1 ? '' : 's'}, in order`,
        body: (
          <Definition
            sql={`CREATE TYPE "${e.schemaName}"."${e.enumName}" AS ENUM (\n  ${e.values.map(literal).join(',\n  ')}\n);`}
          />
        ),
      })}
    />
  );
}
