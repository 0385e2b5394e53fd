/**
 * The table editor (/database/tables/$table?schema=&tab=): the table's header and its tabs
 * (rows, structure, policies, indexes, triggers), the tab in the URL. Each tab is its own lazy
 * component, so the grid and the forms load only when shown.
 */
import { lazy, Suspense } from 'react';
import { createLazyRoute, getRouteApi, Link } from '@tanstack/react-router';
import { ArrowLeft } from 'lucide-react';
import { Badge, Skeleton } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { useTableStats } from './hooks';
import { tableTabs, type TableTab } from './search';

export const Route = createLazyRoute('/app/database/tables/$table')({ component: TablePage });

const route = getRouteApi('/app/database/tables/$table');

const RowsTab = lazy(() => import('./rows-tab'));
const StructureTab = lazy(() => import('./structure-tab'));
const PoliciesTab = lazy(() => import('./policies-tab'));
const IndexesTab = lazy(() => import('./indexes-tab'));
const TriggersTab = lazy(() => import('./triggers-tab'));

const tabLabels: Record<TableTab, string> = {
  rows: 'Rows',
  structure: 'Structure',
  policies: 'Policies',
  indexes: 'Indexes',
  triggers: 'Triggers',
};

const tabComponents: Record<TableTab, React.ComponentType<{ schema: string; table: string }>> = {
  rows: RowsTab,
  structure: StructureTab,
  policies: PoliciesTab,
  indexes: IndexesTab,
  triggers: TriggersTab,
};

function TableBadges({ schema, table }: { schema: string; table: string }) {
  const stats = useTableStats(schema);
  const t = stats.data?.data.find((s) => s.schemaName === schema && s.tableName === table);
  if (!t) return null;
  return (
    <div className="flex items-center gap-1.5">
      {t.rlsEnabled ? (
        <Badge tone="success">RLS on</Badge>
      ) : (
        <Badge tone={t.exposed ? 'danger' : 'warning'}>RLS off</Badge>
      )}
      {!t.exposed && <Badge tone="neutral">not exposed</Badge>}
    </div>
  );
}

function TablePage() {
  const { table } = route.useParams();
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const schema = search.schema ?? 'public';
  const tab = search.tab ?? 'rows';
  const Active = tabComponents[tab];
  return (
    <div className="flex min-w-0 flex-col gap-3">
      <div className="flex flex-wrap items-center gap-3">
        <Link
          to="/database"
          search={{ schema: search.schema }}
          className="inline-flex items-center gap-1 text-sm text-muted hover:text-fg"
        >
          <ArrowLeft className="size-4" aria-hidden />
          Tables
        </Link>
        <h2 className="min-w-0 truncate text-lg font-semibold tracking-tight">
          {schema !== 'public' && <span className="text-muted">{schema}.</span>}
          {table}
        </h2>
        <TableBadges schema={schema} table={table} />
      </div>
      <Tabs
        value={tab}
        onValueChange={(v) =>
          void navigate({
            search: (s) => ({ ...s, tab: v === 'rows' ? undefined : (v as TableTab) }),
          })
        }
      >
        <TabsList>
          {tableTabs.map((t) => (
            <TabsTrigger key={t} value={t}>
              {tabLabels[t]}
            </TabsTrigger>
          ))}
        </TabsList>
        <TabsContent value={tab}>
          <Suspense fallback={<Skeleton className="h-96 w-full" />}>
            <Active schema={schema} table={table} />
          </Suspense>
        </TabsContent>
      </Tabs>
    </div>
  );
}
