/**
 * The table list's "New table" action: a form for the table's name, columns (type picker with
 * arrays, default, nullable, unique, primary key), foreign keys and RLS, with the exact SQL the
 * server will run previewed as the form changes (POST /api/database/tables/preview runs it and
 * rolls back). Errors from the API are shown by the field they name.
 */
import { useMemo, useState } from 'react';
import { useNavigate } from '@tanstack/react-router';
import { Plus } from 'lucide-react';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { Dialog, DialogContent } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';
import { useTableStats } from './hooks';
import {
  useCreateTable,
  useDescribe,
  usePreviewCreate,
  type CreateTableBody,
} from './schema-hooks';
import {
  ColumnRow,
  ForeignKeyHeader,
  ForeignKeyRow,
  SqlPreview,
  columnBody,
  emptyColumn,
  emptyForeignKey,
  errorsUnder,
  fieldErrors,
  foreignKeyBody,
  useDebouncedPreview,
  type ColumnDraft,
  type ForeignKeyDraft,
} from './table-form';

export function NewTableButton({ schema }: { schema: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button onClick={() => setOpen(true)}>
        <Plus aria-hidden /> New table
      </Button>
      {open && <CreateTableDialog schema={schema} onClose={() => setOpen(false)} />}
    </>
  );
}

/** The referenced table's columns, for the foreign key's column picker. */
function useRefColumns(schema: string, table: string): string[] {
  const d = useDescribe(schema, table);
  return d.data?.columns.map((c) => c.columnName) ?? [];
}

function FkEditor(props: {
  fk: ForeignKeyDraft;
  index: number;
  schema: string;
  localColumns: string[];
  tables: string[];
  errors: Record<string, string>;
  onChange: (f: ForeignKeyDraft) => void;
  onRemove: () => void;
}) {
  const refColumns = useRefColumns(props.schema, props.fk.refTable);
  return <ForeignKeyRow {...props} refColumns={refColumns} />;
}

export function CreateTableDialog({ schema, onClose }: { schema: string; onClose: () => void }) {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [autoFields, setAutoFields] = useState(true);
  const [rls, setRls] = useState(true);
  const [columns, setColumns] = useState<ColumnDraft[]>([emptyColumn()]);
  const [fks, setFks] = useState<ForeignKeyDraft[]>([]);
  const stats = useTableStats(schema);
  const tables = useMemo(
    () =>
      (stats.data?.data ?? [])
        .filter((t) => t.schemaName === schema && t.kind === 'table')
        .map((t) => t.tableName),
    [stats.data, schema],
  );

  // Rows left empty are not part of the table.
  const filled = columns.filter((c) => c.name.trim());
  const body: CreateTableBody = {
    tableName: name.trim(),
    schemaName: schema === 'public' ? undefined : schema,
    columns: filled.map(columnBody),
    foreignKeys: fks.filter((f) => f.column && f.refTable).map(foreignKeyBody),
    rlsEnabled: rls,
    autoFields,
  };
  const previewCreate = usePreviewCreate();
  const { preview, error, loading } = useDebouncedPreview(
    body,
    Boolean(body.tableName),
    previewCreate.mutateAsync,
  );
  const create = useCreateTable((created) => {
    onClose();
    void navigate({
      to: '/database/tables/$table',
      params: { table: created.tableName },
      search: {
        schema: created.schemaName === 'public' ? undefined : created.schemaName,
        tab: 'structure',
      },
    });
  });
  const errors = fieldErrors(create.error ?? error);
  // Errors are indexed by the position among the filled columns.
  const columnErrors = (c: ColumnDraft) => {
    const i = filled.indexOf(c);
    return i >= 0 ? errorsUnder(errors, `columns.${i}`) : {};
  };
  const fkIndexes = fks.filter((f) => f.column && f.refTable);
  const localColumns = [
    ...(autoFields ? ['id', 'created_at', 'updated_at'] : []),
    ...filled.map((c) => c.name.trim()),
  ];

  return (
    <Dialog open onOpenChange={(o) => !o && !create.isPending && onClose()}>
      <DialogContent
        size="xl"
        title="New table"
        description={`In the ${schema} schema. Review the SQL, then create.`}
        footer={
          <>
            <Button variant="outline" onClick={onClose} disabled={create.isPending}>
              Cancel
            </Button>
            <Button
              onClick={() => create.mutate(body)}
              loading={create.isPending}
              disabled={!preview || Boolean(error)}
            >
              Create table
            </Button>
          </>
        }
      >
        <form
          className="flex flex-col gap-5"
          onSubmit={(e) => {
            e.preventDefault();
            if (preview && !error) create.mutate(body);
          }}
        >
          <div className="grid grid-cols-[minmax(0,1fr)_auto_auto] items-end gap-4">
            <FormField
              label="Table name"
              error={errors.byField.tableName}
              hint="Letters, digits and _ (e.g. orders)"
            >
              <Input
                value={name}
                onChange={(e) => setName(e.target.value)}
                autoFocus
                spellCheck={false}
                autoComplete="off"
              />
            </FormField>
            <label className="flex items-center gap-2 pb-2 text-sm">
              <Switch checked={autoFields} onCheckedChange={setAutoFields} />
              id, created_at, updated_at
            </label>
            <label className="flex items-center gap-2 pb-2 text-sm">
              <Switch checked={rls} onCheckedChange={setRls} />
              Row-level security
            </label>
          </div>
          {!rls && (
            <p className="rounded-md bg-warning-soft p-2.5 text-sm text-warning">
              Without RLS anyone holding the anon key can read and change every row.
            </p>
          )}

          <fieldset className="flex flex-col">
            <legend className="mb-1 text-sm font-semibold">Columns</legend>
            <div className="grid grid-cols-[minmax(0,1.2fr)_minmax(0,1.2fr)_minmax(0,1fr)_15rem] gap-2 text-xs font-medium text-muted">
              <span>Name</span>
              <span>Type</span>
              <span>Default</span>
              <span className="text-right">Nullable · unique · primary key</span>
            </div>
            {columns.map((c, i) => (
              <ColumnRow
                key={c.key}
                column={c}
                index={i}
                errors={columnErrors(c)}
                onChange={(next) => setColumns((cs) => cs.map((x) => (x.key === c.key ? next : x)))}
                onRemove={() => setColumns((cs) => cs.filter((x) => x.key !== c.key))}
              />
            ))}
            <div>
              <Button
                variant="outline"
                size="sm"
                className="mt-2"
                onClick={() => setColumns((cs) => [...cs, emptyColumn()])}
              >
                <Plus aria-hidden /> Add column
              </Button>
            </div>
          </fieldset>

          <fieldset className="flex flex-col">
            <legend className="mb-1 text-sm font-semibold">Foreign keys</legend>
            {fks.length === 0 && (
              <p className="text-sm text-muted">
                None. A foreign key links a column to a row of another table.
              </p>
            )}
            {fks.length > 0 && <ForeignKeyHeader />}
            {fks.map((f, i) => (
              <FkEditor
                key={f.key}
                fk={f}
                index={i}
                schema={schema}
                localColumns={localColumns}
                tables={tables}
                errors={
                  fkIndexes.includes(f)
                    ? errorsUnder(errors, `foreignKeys.${fkIndexes.indexOf(f)}`)
                    : {}
                }
                onChange={(next) => setFks((xs) => xs.map((x) => (x.key === f.key ? next : x)))}
                onRemove={() => setFks((xs) => xs.filter((x) => x.key !== f.key))}
              />
            ))}
            <div>
              <Button
                variant="outline"
                size="sm"
                className="mt-2"
                onClick={() => setFks((xs) => [...xs, emptyForeignKey()])}
              >
                <Plus aria-hidden /> Add foreign key
              </Button>
            </div>
          </fieldset>

          {errors.general && (
            <ErrorPanel error={create.error ?? error} title="This table cannot be created" />
          )}
          <SqlPreview
            preview={preview}
            loading={loading}
            idle="Name the table to see the SQL."
            error={
              Object.keys(errors.byField).length && !create.error
                ? 'Fix the fields marked above.'
                : undefined
            }
          />
        </form>
      </DialogContent>
    </Dialog>
  );
}
