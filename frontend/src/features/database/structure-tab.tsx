/**
 * The table editor's structure tab: columns (with primary and foreign key markers), foreign keys
 * and the RLS switch. Changes are staged, previewed as the exact SQL the server will run
 * (POST /tables/:table/schema/preview, run and rolled back) and applied in one transaction
 * (PATCH /tables/:table/schema). Errors from the API are shown by the change they concern.
 */
import { useMemo, useState } from 'react';
import { KeyRound, Link2, Pencil, Plus, Trash2, Undo2 } from 'lucide-react';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { Dialog, DialogContent } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { Badge, Card, Skeleton } from '../../ui/misc';
import { useTableDescription, useTableStats, type ColumnInfo } from './hooks';
import { useAlterTable, useDescribe, usePreviewAlter, type AlterTableBody } from './schema-hooks';
import {
  ColumnRow,
  ForeignKeyHeader,
  ForeignKeyRow,
  SqlPreview,
  columnBody,
  columnType,
  emptyColumn,
  emptyForeignKey,
  errorsUnder,
  fieldErrors,
  foreignKeyBody,
  newKey,
  splitType,
  useDebouncedPreview,
  type ColumnDraft,
  type ForeignKeyDraft,
} from './table-form';
import type { TableTabProps } from './types';

type Pending =
  | { kind: 'add'; key: string; column: ColumnDraft }
  | { kind: 'update'; key: string; original: ColumnDraft; column: ColumnDraft }
  | { kind: 'drop'; key: string; name: string }
  | { kind: 'addFk'; key: string; fk: ForeignKeyDraft }
  | { kind: 'dropFk'; key: string; name: string }
  | { kind: 'rls'; key: string; enabled: boolean };

function draftOf(c: ColumnInfo): ColumnDraft {
  return {
    key: newKey(),
    name: c.columnName,
    ...splitType(c.type),
    defaultValue: c.defaultValue ?? '',
    nullable: c.isNullable,
    unique: c.isUnique,
    primaryKey: c.isPrimaryKey,
  };
}

/** An edited column as the API's `updateColumns` entry: only what changed. */
function updateBody(original: ColumnDraft, c: ColumnDraft) {
  const out: NonNullable<AlterTableBody['updateColumns']>[number] = {
    columnName: original.name,
  };
  if (c.name.trim() !== original.name) out.newColumnName = c.name.trim();
  if (columnType(c) !== columnType(original)) out.type = columnType(c);
  if (c.defaultValue.trim() !== original.defaultValue)
    out.defaultValue = c.defaultValue.trim() ? c.defaultValue.trim() : null;
  if (c.nullable !== original.nullable) out.isNullable = c.nullable;
  if (c.unique !== original.unique) out.isUnique = c.unique;
  return out;
}

/** The staged changes as one alter body, and where each change sits in it (for its errors). */
function alterBody(pending: Pending[]) {
  const body: AlterTableBody = {};
  const where = new Map<string, string>();
  const push = <K extends keyof AlterTableBody>(
    field: K,
    item: NonNullable<AlterTableBody[K]> extends (infer T)[] ? T : never,
    key: string,
  ) => {
    const list = ((body[field] as unknown[] | undefined) ??= []) as unknown[];
    where.set(key, `${field}.${list.length}`);
    list.push(item);
  };
  for (const p of pending) {
    if (p.kind === 'add') push('addColumns', columnBody(p.column), p.key);
    else if (p.kind === 'update') push('updateColumns', updateBody(p.original, p.column), p.key);
    else if (p.kind === 'drop') push('dropColumns', p.name, p.key);
    else if (p.kind === 'addFk') push('addForeignKeys', foreignKeyBody(p.fk), p.key);
    else if (p.kind === 'dropFk') push('dropForeignKeys', p.name, p.key);
    else {
      body.rlsEnabled = p.enabled;
      where.set(p.key, 'rlsEnabled');
    }
  }
  return { body, where };
}

function describePending(p: Pending): string {
  switch (p.kind) {
    case 'add':
      return `Add column ${p.column.name || '(unnamed)'} ${columnType(p.column)}`;
    case 'update':
      return `Change column ${p.original.name}${p.column.name !== p.original.name ? ` → ${p.column.name}` : ''}`;
    case 'drop':
      return `Drop column ${p.name}`;
    case 'addFk':
      return `Add foreign key ${p.fk.column} → ${p.fk.refTable}.${p.fk.refColumn}`;
    case 'dropFk':
      return `Drop foreign key ${p.name}`;
    case 'rls':
      return p.enabled ? 'Enable row-level security' : 'Disable row-level security';
  }
}

export function StructureTab({ schema, table }: TableTabProps) {
  const described = useTableDescription(schema, table);
  const [pending, setPending] = useState<Pending[]>([]);
  const [columnDialog, setColumnDialog] = useState<
    | { mode: 'add'; column: ColumnDraft }
    | { mode: 'edit'; original: ColumnDraft; column: ColumnDraft }
    | null
  >(null);
  const [fkDialog, setFkDialog] = useState<ForeignKeyDraft | null>(null);

  const { body, where } = useMemo(() => alterBody(pending), [pending]);
  const previewAlter = usePreviewAlter(table, schema);
  const { preview, error, loading } = useDebouncedPreview(
    body,
    pending.length > 0,
    previewAlter.mutateAsync,
  );
  const alter = useAlterTable(table, schema);
  const errors = fieldErrors(alter.error ?? error);

  if (described.isLoading) return <Skeleton className="h-96 w-full" />;
  if (described.error || !described.data)
    return (
      <ErrorPanel
        error={described.error}
        title="Could not load the table"
        onRetry={() => void described.refetch()}
      />
    );
  const t = described.data;
  const isTable = t.kind === 'table' || t.kind === 'partitioned_table';
  const fkColumns = new Map<string, string>();
  for (const fk of t.foreignKeys)
    for (const m of fk.referenceColumns)
      fkColumns.set(m.sourceColumn, `${fk.referenceTable}.${m.referenceColumn}`);
  const dropped = new Set(pending.flatMap((p) => (p.kind === 'drop' ? [p.name] : [])));
  const droppedFks = new Set(pending.flatMap((p) => (p.kind === 'dropFk' ? [p.name] : [])));
  const rlsPending = pending.find((p) => p.kind === 'rls');
  const rlsShown = rlsPending?.kind === 'rls' ? rlsPending.enabled : t.rlsEnabled;
  const stage = (p: Pending) => setPending((ps) => [...ps, p]);
  const unstage = (key: string) => setPending((ps) => ps.filter((p) => p.key !== key));

  return (
    <div className="flex flex-col gap-4">
      {pending.length > 0 && (
        <Card
          title="Pending changes"
          description="Nothing is changed until you apply. All changes run in one transaction."
          actions={
            <>
              <Button
                size="sm"
                variant="outline"
                onClick={() => setPending([])}
                disabled={alter.isPending}
              >
                Discard
              </Button>
              <Button
                size="sm"
                loading={alter.isPending}
                disabled={!preview || Boolean(error)}
                onClick={() => alter.mutate(body, { onSuccess: () => setPending([]) })}
              >
                Apply changes
              </Button>
            </>
          }
        >
          <div className="flex flex-col gap-4">
            <ul className="flex flex-col gap-1.5">
              {pending.map((p) => {
                const mine = errorsUnder(errors, where.get(p.key) ?? '—');
                const message = Object.entries(mine)
                  .map(([k, v]) => (k ? `${k}: ${v}` : v))
                  .join('; ');
                return (
                  <li key={p.key} className="flex flex-col gap-0.5 text-sm">
                    <span className="flex items-center justify-between gap-2">
                      <span>{describePending(p)}</span>
                      <Button
                        variant="ghost"
                        size="icon-sm"
                        aria-label={`Undo: ${describePending(p)}`}
                        onClick={() => unstage(p.key)}
                      >
                        <Undo2 aria-hidden />
                      </Button>
                    </span>
                    {message && (
                      <span role="alert" className="text-xs font-medium text-danger">
                        {message}
                      </span>
                    )}
                  </li>
                );
              })}
            </ul>
            {errors.general && (
              <ErrorPanel error={alter.error ?? error} title="These changes cannot be applied" />
            )}
            <SqlPreview preview={preview} loading={loading} idle="Stage a change to see its SQL." />
          </div>
        </Card>
      )}

      <Card
        title="Columns"
        description={`${t.columns.length} column${t.columns.length === 1 ? '' : 's'}`}
        actions={
          isTable && (
            <Button
              size="sm"
              variant="outline"
              onClick={() => setColumnDialog({ mode: 'add', column: emptyColumn() })}
            >
              <Plus aria-hidden /> Add column
            </Button>
          )
        }
        className="[&>div]:p-0"
      >
        <div className="overflow-x-auto">
          <table className="w-full text-sm" aria-label="Columns">
            <thead className="bg-surface-2 text-left text-xs text-muted">
              <tr>
                <th scope="col" className="px-4 py-2 font-semibold">
                  Name
                </th>
                <th scope="col" className="px-3 py-2 font-semibold">
                  Type
                </th>
                <th scope="col" className="px-3 py-2 font-semibold">
                  Default
                </th>
                <th scope="col" className="px-3 py-2 font-semibold">
                  Constraints
                </th>
                <th scope="col" className="px-3 py-2">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {t.columns.map((c) => (
                <tr
                  key={c.columnName}
                  className={`border-t border-border ${dropped.has(c.columnName) ? 'opacity-50 line-through' : ''}`}
                >
                  <td className="px-4 py-2 font-medium">
                    <span className="inline-flex items-center gap-1.5">
                      {c.isPrimaryKey && (
                        <KeyRound className="size-3.5 text-warning" aria-label="Primary key" />
                      )}
                      {fkColumns.has(c.columnName) && (
                        <Link2 className="size-3.5 text-primary" aria-label="Foreign key" />
                      )}
                      {c.columnName}
                    </span>
                  </td>
                  <td className="px-3 py-2 font-mono text-xs">{c.type}</td>
                  <td className="max-w-56 truncate px-3 py-2 font-mono text-xs text-muted">
                    {c.defaultValue ?? ''}
                  </td>
                  <td className="px-3 py-2">
                    <span className="flex flex-wrap gap-1">
                      {c.isPrimaryKey && <Badge tone="warning">primary key</Badge>}
                      {!c.isNullable && !c.isPrimaryKey && <Badge>not null</Badge>}
                      {c.isUnique && !c.isPrimaryKey && <Badge>unique</Badge>}
                      {fkColumns.has(c.columnName) && (
                        <Badge tone="info">→ {fkColumns.get(c.columnName)}</Badge>
                      )}
                      {c.isIdentity && <Badge>identity</Badge>}
                      {c.isGenerated && <Badge>generated</Badge>}
                    </span>
                  </td>
                  <td className="px-3 py-2 text-right whitespace-nowrap">
                    {isTable && !dropped.has(c.columnName) && (
                      <>
                        <Button
                          variant="ghost"
                          size="icon-sm"
                          aria-label={`Edit column ${c.columnName}`}
                          onClick={() => {
                            const original = draftOf(c);
                            setColumnDialog({ mode: 'edit', original, column: { ...original } });
                          }}
                        >
                          <Pencil aria-hidden />
                        </Button>
                        <Button
                          variant="ghost"
                          size="icon-sm"
                          aria-label={`Drop column ${c.columnName}`}
                          onClick={() => stage({ kind: 'drop', key: newKey(), name: c.columnName })}
                        >
                          <Trash2 aria-hidden />
                        </Button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>

      {isTable && (
        <Card
          title="Foreign keys"
          actions={
            <Button size="sm" variant="outline" onClick={() => setFkDialog(emptyForeignKey())}>
              <Plus aria-hidden /> Add foreign key
            </Button>
          }
        >
          {t.foreignKeys.length === 0 ? (
            <p className="text-sm text-muted">
              No foreign keys. Add one to link a column to another table&apos;s rows.
            </p>
          ) : (
            <ul className="flex flex-col divide-y divide-border">
              {t.foreignKeys.map((fk) => (
                <li
                  key={fk.constraintName}
                  className={`flex items-center justify-between gap-3 py-2 text-sm ${droppedFks.has(fk.constraintName) ? 'opacity-50 line-through' : ''}`}
                >
                  <span className="min-w-0">
                    <span className="font-medium">
                      {fk.referenceColumns.map((m) => m.sourceColumn).join(', ')}
                    </span>
                    <span className="text-muted"> → </span>
                    <span className="font-medium">
                      {fk.referenceTable}.
                      {fk.referenceColumns.map((m) => m.referenceColumn).join(', ')}
                    </span>
                    <span className="mt-0.5 block text-xs text-muted">
                      {fk.constraintName} · on delete {fk.onDelete} · on update {fk.onUpdate}
                    </span>
                  </span>
                  {!droppedFks.has(fk.constraintName) && (
                    <Button
                      variant="ghost"
                      size="icon-sm"
                      aria-label={`Drop foreign key ${fk.constraintName}`}
                      onClick={() =>
                        stage({ kind: 'dropFk', key: newKey(), name: fk.constraintName })
                      }
                    >
                      <Trash2 aria-hidden />
                    </Button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </Card>
      )}

      {isTable && (
        <Card title="Row-level security">
          <label className="flex items-center gap-3 text-sm">
            <Switch
              checked={rlsShown}
              onCheckedChange={(enabled) => {
                setPending((ps) => {
                  const rest = ps.filter((p) => p.kind !== 'rls');
                  return enabled === t.rlsEnabled
                    ? rest
                    : [...rest, { kind: 'rls', key: newKey(), enabled }];
                });
              }}
            />
            <span>
              {rlsShown
                ? 'On: only rows your policies allow are visible through the API.'
                : 'Off: anyone holding the anon key can read and change every row.'}
            </span>
          </label>
        </Card>
      )}

      {columnDialog && (
        <ColumnDialog
          initial={columnDialog.column}
          editing={columnDialog.mode === 'edit'}
          onClose={() => setColumnDialog(null)}
          onStage={(column) => {
            stage(
              columnDialog.mode === 'add'
                ? { kind: 'add', key: newKey(), column }
                : { kind: 'update', key: newKey(), original: columnDialog.original, column },
            );
            setColumnDialog(null);
          }}
        />
      )}
      {fkDialog && (
        <ForeignKeyDialog
          schema={schema}
          initial={fkDialog}
          localColumns={t.columns.map((c) => c.columnName)}
          onClose={() => setFkDialog(null)}
          onStage={(fk) => {
            stage({ kind: 'addFk', key: newKey(), fk });
            setFkDialog(null);
          }}
        />
      )}
    </div>
  );
}

function ColumnDialog({
  initial,
  editing,
  onClose,
  onStage,
}: {
  initial: ColumnDraft;
  editing: boolean;
  onClose: () => void;
  onStage: (c: ColumnDraft) => void;
}) {
  const [column, setColumn] = useState(initial);
  return (
    <Dialog open onOpenChange={(o) => !o && onClose()}>
      <DialogContent
        size="xl"
        title={editing ? `Edit column ${initial.name}` : 'Add column'}
        description="Staged with the other changes; the SQL is shown before anything runs."
        footer={
          <>
            <Button variant="outline" onClick={onClose}>
              Cancel
            </Button>
            <Button disabled={!column.name.trim()} onClick={() => onStage(column)}>
              Stage change
            </Button>
          </>
        }
      >
        <ColumnRow
          column={column}
          index={0}
          errors={{}}
          onChange={setColumn}
          lockPrimaryKey={editing}
        />
      </DialogContent>
    </Dialog>
  );
}

function ForeignKeyDialog({
  schema,
  initial,
  localColumns,
  onClose,
  onStage,
}: {
  schema: string;
  initial: ForeignKeyDraft;
  localColumns: string[];
  onClose: () => void;
  onStage: (fk: ForeignKeyDraft) => void;
}) {
  const [fk, setFk] = useState(initial);
  const stats = useTableStats(schema);
  const tables = (stats.data?.data ?? [])
    .filter((t) => t.schemaName === schema && t.kind === 'table')
    .map((t) => t.tableName);
  const ref = useDescribe(schema, fk.refTable);
  return (
    <Dialog open onOpenChange={(o) => !o && onClose()}>
      <DialogContent
        size="xl"
        title="Add foreign key"
        description="Links a column to a row of another table."
        footer={
          <>
            <Button variant="outline" onClick={onClose}>
              Cancel
            </Button>
            <Button disabled={!fk.column || !fk.refTable} onClick={() => onStage(fk)}>
              Stage change
            </Button>
          </>
        }
      >
        <ForeignKeyHeader />
        <ForeignKeyRow
          fk={fk}
          index={0}
          localColumns={localColumns}
          tables={tables}
          refColumns={ref.data?.columns.map((c) => c.columnName) ?? []}
          errors={{}}
          onChange={setFk}
        />
      </DialogContent>
    </Dialog>
  );
}

export default StructureTab;
