/**
 * The table editor's indexes tab: the table's indexes (definition, unique, primary), a form to
 * create one (columns, method, unique, name) and dropping one after a confirmation; both through
 * the table alter endpoint (addIndexes / dropIndexes).
 */
import { useMemo, useState } from 'react';
import { ListTree, Plus, Trash2 } from 'lucide-react';
import { Button } from '../../ui/button';
import { Checkbox } from '../../ui/checkbox';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { ConfirmDialog, Dialog, DialogContent } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';
import { Badge } from '../../ui/misc';
import { Select } from '../../ui/select';
import { useTableDescription } from './hooks';
import { useAlterTable, useCatalog, type IndexInfo } from './schema-hooks';
import { errorsUnder, fieldErrors } from './table-form';
import type { TableTabProps } from './types';

const METHODS = ['btree', 'hash', 'gin', 'gist', 'brin'] as const;

export function IndexesTab({ schema, table }: TableTabProps) {
  const indexes = useCatalog('indexes', { schema, table });
  const described = useTableDescription(schema, table);
  const [creating, setCreating] = useState(false);
  const [dropping, setDropping] = useState<IndexInfo | null>(null);
  const drop = useAlterTable(table, schema, 'Dropping the index…', 'Index dropped');
  const constraintNames = new Set(described.data?.constraints.map((c) => c.constraintName) ?? []);
  const isTable = described.data?.kind === 'table' || described.data?.kind === 'partitioned_table';

  const columns = useMemo<ColumnDef<IndexInfo, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Name',
        cell: ({ row: { original: i } }) => (
          <span className="inline-flex items-center gap-2 font-medium">
            {i.indexName}
            {i.isPrimary && <Badge tone="warning">primary</Badge>}
            {i.isUnique && !i.isPrimary && <Badge>unique</Badge>}
          </span>
        ),
      },
      {
        id: 'columns',
        header: 'Columns',
        cell: ({ row }) => {
          const m = /USING (\w+) \((.*)\)/.exec(row.original.indexDef);
          return (
            <span className="inline-flex min-w-0 items-center gap-2" title={row.original.indexDef}>
              <code className="truncate font-mono text-xs">{m ? m[2] : row.original.indexDef}</code>
              {m && <Badge>{m[1]}</Badge>}
            </span>
          );
        },
      },
      {
        id: 'actions',
        header: () => <span className="sr-only">Actions</span>,
        size: 48,
        cell: ({ row: { original: i } }) =>
          // Indexes backing a constraint go with the constraint.
          i.isPrimary || constraintNames.has(i.indexName) ? null : (
            <Button
              variant="ghost"
              size="icon-sm"
              aria-label={`Drop index ${i.indexName}`}
              onClick={() => setDropping(i)}
            >
              <Trash2 aria-hidden />
            </Button>
          ),
      },
    ],
    [described.data],
  );

  return (
    <div className="flex flex-col gap-3">
      <div className="flex items-center justify-between gap-2">
        <h3 className="text-sm font-semibold">Indexes</h3>
        {isTable && (
          <Button size="sm" onClick={() => setCreating(true)}>
            <Plus aria-hidden /> New index
          </Button>
        )}
      </div>
      <DataTable
        label="Indexes"
        columns={columns}
        data={indexes.data}
        isLoading={indexes.isLoading}
        error={indexes.error}
        onRetry={() => void indexes.refetch()}
        getRowId={(i) => i.indexName}
        empty={{
          icon: ListTree,
          title: 'No indexes',
          description: 'Index the columns your queries and policies filter on.',
        }}
      />
      {creating && (
        <IndexDialog
          schema={schema}
          table={table}
          columns={described.data?.columns.map((c) => c.columnName) ?? []}
          onClose={() => setCreating(false)}
        />
      )}
      <ConfirmDialog
        open={dropping !== null}
        onOpenChange={(o) => !o && setDropping(null)}
        title={`Drop index ${dropping?.indexName ?? ''}?`}
        description="Queries that used it may become slower."
        confirmLabel="Drop index"
        destructive
        onConfirm={() => drop.mutateAsync({ dropIndexes: [dropping!.indexName] })}
      />
    </div>
  );
}

function IndexDialog({
  schema,
  table,
  columns,
  onClose,
}: {
  schema: string;
  table: string;
  columns: string[];
  onClose: () => void;
}) {
  const [picked, setPicked] = useState<string[]>([]);
  const [name, setName] = useState('');
  const [unique, setUnique] = useState(false);
  const [method, setMethod] = useState<(typeof METHODS)[number]>('btree');
  const create = useAlterTable(table, schema, 'Creating the index…', 'Index created');
  const errors = errorsUnder(fieldErrors(create.error), 'addIndexes.0');
  const general = fieldErrors(create.error).general;
  const submit = () =>
    create.mutate(
      {
        addIndexes: [
          { columns: picked, unique, method, indexName: name.trim() ? name.trim() : undefined },
        ],
      },
      { onSuccess: onClose },
    );
  return (
    <Dialog open onOpenChange={(o) => !o && !create.isPending && onClose()}>
      <DialogContent
        title="New index"
        description={`On ${schema}.${table}. Columns in the order picked.`}
        footer={
          <>
            <Button variant="outline" onClick={onClose} disabled={create.isPending}>
              Cancel
            </Button>
            <Button onClick={submit} loading={create.isPending} disabled={!picked.length}>
              Create index
            </Button>
          </>
        }
      >
        <div className="flex flex-col gap-4">
          <fieldset>
            <legend className="mb-1.5 text-sm font-medium">Columns</legend>
            <div className="grid grid-cols-2 gap-1.5">
              {columns.map((c) => (
                <label key={c} className="flex items-center gap-2 text-sm">
                  <Checkbox
                    checked={picked.includes(c)}
                    onCheckedChange={(v) =>
                      setPicked((p) => (v === true ? [...p, c] : p.filter((x) => x !== c)))
                    }
                  />
                  {c}
                  {picked.includes(c) && (
                    <span className="text-xs text-muted">#{picked.indexOf(c) + 1}</span>
                  )}
                </label>
              ))}
            </div>
            {errors.columns && (
              <p role="alert" className="mt-1 text-xs font-medium text-danger">
                {errors.columns}
              </p>
            )}
          </fieldset>
          <div className="grid grid-cols-2 gap-4">
            <FormField label="Name (optional)" error={errors.indexName}>
              <Input value={name} onChange={(e) => setName(e.target.value)} spellCheck={false} />
            </FormField>
            <FormField label="Method">
              <Select
                value={method}
                onValueChange={(v) => setMethod(v as (typeof METHODS)[number])}
                options={METHODS.map((m) => ({ value: m, label: m }))}
              />
            </FormField>
          </div>
          <label className="flex items-center gap-2 text-sm">
            <Checkbox checked={unique} onCheckedChange={(v) => setUnique(v === true)} />
            Unique
          </label>
          {general && <ErrorPanel error={create.error} title="Not created" />}
        </div>
      </DialogContent>
    </Dialog>
  );
}

export default IndexesTab;
