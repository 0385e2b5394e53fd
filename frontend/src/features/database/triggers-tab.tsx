/** The table editor's triggers tab: the table's triggers (timing, events, level, action). */
import { useMemo } from 'react';
import { Zap } from 'lucide-react';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Badge } from '../../ui/misc';
import { useCatalog, type TriggerInfo } from './schema-hooks';
import type { TableTabProps } from './types';

export function TriggersTab({ schema, table }: TableTabProps) {
  const triggers = useCatalog('triggers', { schema, table });
  const columns = useMemo<ColumnDef<TriggerInfo, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Name',
        cell: ({ row }) => <span className="font-medium">{row.original.triggerName}</span>,
      },
      {
        id: 'when',
        header: 'When',
        cell: ({ row: { original: t } }) => (
          <span className="flex gap-1">
            <Badge>{t.actionTiming}</Badge>
            <Badge tone="primary">{t.eventManipulation}</Badge>
            <Badge>per {t.actionOrientation.toLowerCase()}</Badge>
          </span>
        ),
      },
      {
        id: 'condition',
        header: 'Condition',
        cell: ({ row }) =>
          row.original.actionCondition ? (
            <code className="font-mono text-xs">{row.original.actionCondition}</code>
          ) : (
            <span className="text-muted">—</span>
          ),
      },
      {
        id: 'action',
        header: 'Action',
        cell: ({ row }) => (
          <code className="block truncate font-mono text-xs" title={row.original.actionStatement}>
            {row.original.actionStatement}
          </code>
        ),
      },
    ],
    [],
  );
  return (
    <div className="flex flex-col gap-3">
      <h3 className="text-sm font-semibold">Triggers</h3>
      <DataTable
        label="Triggers"
        columns={columns}
        data={triggers.data}
        isLoading={triggers.isLoading}
        error={triggers.error}
        onRetry={() => void triggers.refetch()}
        getRowId={(t) => `${t.triggerName}:${t.eventManipulation}`}
        empty={{
          icon: Zap,
          title: 'No triggers',
          description:
            'Create triggers with SQL (SQL editor or a migration); they are listed here.',
        }}
      />
    </div>
  );
}

export default TriggersTab;
