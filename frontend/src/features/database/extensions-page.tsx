/**
 * PostgreSQL extensions (/database/extensions?q=&item=): available and installed ones with their
 * versions. Kiln's API does not install extensions (that takes the database owner): the panel
 * gives the SQL to run in the SQL editor's unrestricted mode or a migration.
 */
import { useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { Puzzle } from 'lucide-react';
import type { ColumnDef } from '../../ui/data-table';
import { Badge } from '../../ui/misc';
import { CopyButton } from '../../ui/copy-button';
import { CatalogList, Definition } from './catalog-list';
import { useCatalog, type ExtensionInfo } from './schema-hooks';

export const Route = createLazyRoute('/app/database/extensions')({ component: Page });

const route = getRouteApi('/app/database/extensions');

function Page() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const extensions = useCatalog('extensions');
  // Installed first, then by name.
  const items = useMemo(
    () =>
      extensions.data
        ?.slice()
        .sort((a, b) => Number(b.installed) - Number(a.installed) || a.name.localeCompare(b.name)),
    [extensions.data],
  );
  const columns = useMemo<ColumnDef<ExtensionInfo, unknown>[]>(
    () => [
      {
        id: 'status',
        header: 'Status',
        size: 140,
        cell: ({ row: { original: e } }) =>
          e.installed ? (
            <Badge tone="success">installed {e.installedVersion}</Badge>
          ) : (
            <Badge>available {e.defaultVersion ?? ''}</Badge>
          ),
      },
      {
        id: 'comment',
        header: 'Description',
        cell: ({ row }) => <span className="text-muted">{row.original.comment ?? ''}</span>,
      },
    ],
    [],
  );
  return (
    <CatalogList
      title="Extensions"
      description="PostgreSQL extensions available to this database, installed ones first."
      label="Extensions"
      items={items}
      isLoading={extensions.isLoading}
      error={extensions.error}
      onRetry={() => void extensions.refetch()}
      columns={columns}
      nameOf={(e) => e.name}
      idOf={(e) => e.name}
      textOf={(e) => `${e.name} ${e.comment ?? ''}`}
      search={search}
      setSearch={(patch) => void navigate({ search: (s) => ({ ...s, ...patch }) })}
      empty={{
        icon: Puzzle,
        title: 'No extensions',
        description: 'This PostgreSQL build ships none.',
      }}
      detail={(e) => {
        const sql = e.installed
          ? `DROP EXTENSION "${e.name}";`
          : `CREATE EXTENSION IF NOT EXISTS "${e.name}" SCHEMA extensions;`;
        return {
          title: e.name,
          description: e.comment ?? undefined,
          body: (
            <div className="flex flex-col gap-3 text-sm">
              <p>
                {e.installed
                  ? `Installed, version ${e.installedVersion ?? '?'}${e.defaultVersion && e.defaultVersion !== e.installedVersion ? ` (${e.defaultVersion} available)` : ''}.`
                  : `Not installed; version ${e.defaultVersion ?? '?'} is available.`}
              </p>
              <p className="text-muted">
                {e.installed ? 'To remove it' : 'To install it'}, run this as the database owner
                (the SQL editor&apos;s unrestricted mode, or a migration):
              </p>
              <div className="flex items-start gap-2">
                <div className="min-w-0 flex-1">
                  <Definition sql={sql} />
                </div>
                <CopyButton value={sql} label="SQL" />
              </div>
            </div>
          ),
        };
      }}
    />
  );
}
