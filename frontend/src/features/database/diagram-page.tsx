/**
 * The schema diagram (/database/diagram?schema=): the tables of a schema with their columns, key
 * markers and foreign keys as edges. The canvas (@xyflow/react) is a lazy chunk: it loads only
 * here. Descriptions are fetched per table (at most MAX_TABLES of them).
 */
import { lazy, Suspense, useCallback, useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { Network } from 'lucide-react';
import { ErrorPanel } from '../../ui/error-panel';
import { Card, EmptyState, Skeleton } from '../../ui/misc';
import { Select } from '../../ui/select';
import { useTableStats } from './hooks';
import { useTableDescriptions } from './schema-hooks';
import { SectionHeader } from './section-header';

export const Route = createLazyRoute('/app/database/diagram')({ component: Page });

const route = getRouteApi('/app/database/diagram');
const DiagramCanvas = lazy(() => import('./diagram-canvas'));

export const MAX_TABLES = 80;

function Page() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const schema = search.schema ?? 'public';
  const stats = useTableStats();
  const exposed = stats.data?.exposedSchemas ?? ['public'];
  const names = useMemo(
    () =>
      (stats.data?.data ?? [])
        .filter(
          (t) => t.schemaName === schema && (t.kind === 'table' || t.kind === 'partitioned_table'),
        )
        .map((t) => t.tableName)
        .sort()
        .slice(0, MAX_TABLES),
    [stats.data, schema],
  );
  const total = (stats.data?.data ?? []).filter((t) => t.schemaName === schema).length;
  const described = useTableDescriptions(names, schema);
  const open = useCallback(
    (table: string) =>
      void navigate({
        to: '/database/tables/$table',
        params: { table },
        search: { schema: schema === 'public' ? undefined : schema, tab: 'structure' },
      }),
    [navigate, schema],
  );
  const failed = described.find((d) => d.error);
  const tables = described.every((d) => d.data) ? described.map((d) => d.data!) : undefined;

  let body: React.ReactNode;
  if (stats.error || failed) {
    body = (
      <ErrorPanel
        error={stats.error ?? failed?.error}
        title="Could not load the schema"
        onRetry={() => {
          void stats.refetch();
          described.forEach((d) => void d.refetch());
        }}
      />
    );
  } else if (!stats.data || !tables) {
    body = <Skeleton className="h-[560px] w-full" />;
  } else if (tables.length === 0) {
    body = (
      <Card>
        <EmptyState
          icon={Network}
          title={`No tables in ${schema}`}
          description="Create a table (Tables → New table) and its relationships appear here."
        />
      </Card>
    );
  } else {
    body = (
      <Suspense fallback={<Skeleton className="h-[560px] w-full" />}>
        <DiagramCanvas tables={tables} onOpen={open} />
      </Suspense>
    );
  }

  return (
    <div className="flex flex-col gap-4">
      <SectionHeader
        title="Diagram"
        description={
          total > MAX_TABLES
            ? `The first ${MAX_TABLES} of ${total} tables (by name) and their foreign keys. Click a table to open it.`
            : 'Tables and their foreign keys. Click a table to open it; drag to move, scroll to zoom.'
        }
        actions={
          exposed.length > 1 && (
            <Select
              aria-label="Schema"
              className="w-40"
              value={schema}
              onValueChange={(v) =>
                void navigate({ search: { schema: v === 'public' ? undefined : v } })
              }
              options={exposed.map((s) => ({ value: s, label: s }))}
            />
          )
        }
      />
      {body}
    </div>
  );
}
