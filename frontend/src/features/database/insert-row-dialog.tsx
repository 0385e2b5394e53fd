/**
 * Insert a row: one input per column (per type, defaults shown), empty inputs left to the
 * column's default or NULL, POSTed to the records API; the API's message on failure.
 */
import { useState } from 'react';
import { Button } from '../../ui/button';
import { Dialog, DialogContent } from '../../ui/dialog';
import { FormField } from '../../ui/form-field';
import { Badge } from '../../ui/misc';
import { columnKind, parseInput, shortType, ValueError, type EnumLookup } from './column-types';
import type { ForeignKeyTarget } from './fk-picker';
import { useInsertRow, type ColumnInfo, type Row } from './hooks';
import { ValueInput } from './value-input';

export interface InsertRowDialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  schema: string;
  table: string;
  columns: ColumnInfo[];
  enums: EnumLookup;
  foreignKeys: Map<string, ForeignKeyTarget>;
  onInserted?: (row: Row | undefined) => void;
}

export function InsertRowDialog(props: InsertRowDialogProps) {
  return (
    <Dialog open={props.open} onOpenChange={props.onOpenChange}>
      {props.open && <InsertRowBody {...props} />}
    </Dialog>
  );
}

function InsertRowBody({
  onOpenChange,
  schema,
  table,
  columns,
  enums,
  foreignKeys,
  onInserted,
}: InsertRowDialogProps) {
  const insert = useInsertRow(schema, table);
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const editable = columns.filter((c) => !c.isGenerated);

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const values: Row = {};
    const errs: Record<string, string> = {};
    for (const c of editable) {
      const text = texts[c.columnName] ?? '';
      if (text === '') {
        if (!c.isNullable && c.defaultValue === undefined && !c.isIdentity) {
          errs[c.columnName] = 'Required: the column is NOT NULL and has no default';
        }
        continue;
      }
      try {
        values[c.columnName] = parseInput(text, c, columnKind(c.type, enums));
      } catch (err) {
        errs[c.columnName] = err instanceof ValueError ? err.message : String(err);
      }
    }
    setErrors(errs);
    if (Object.keys(errs).length) return;
    insert.mutate(values, {
      onSuccess: (rows) => {
        onInserted?.(rows[0]);
        onOpenChange(false);
      },
    });
  };

  return (
    <DialogContent
      title={`Insert a row into ${table}`}
      description="Empty fields take the column's default, or NULL."
      size="lg"
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form="insert-row-form" loading={insert.isPending}>
            Insert row
          </Button>
        </>
      }
    >
      <form id="insert-row-form" onSubmit={submit} className="flex flex-col gap-4" noValidate>
        {editable.map((c) => {
          const kind = columnKind(c.type, enums);
          const required = !c.isNullable && c.defaultValue === undefined && !c.isIdentity;
          const hint = c.isIdentity
            ? 'Identity: generated when empty'
            : c.defaultValue !== undefined
              ? `Default: ${c.defaultValue}`
              : c.isNullable
                ? 'Empty: NULL'
                : 'Required';
          return (
            <FormField
              key={c.columnName}
              label={`${c.columnName}${required ? ' *' : ''}`}
              hint={
                <span className="inline-flex flex-wrap items-center gap-1.5">
                  <Badge tone="neutral" className="font-mono">
                    {shortType(c.type)}
                  </Badge>
                  {c.isPrimaryKey && <Badge tone="primary">primary key</Badge>}
                  <span className="font-mono">{hint}</span>
                </span>
              }
              error={errors[c.columnName]}
            >
              <ValueInput
                kind={kind}
                label={c.columnName}
                text={texts[c.columnName] ?? ''}
                onText={(t) => setTexts((s) => ({ ...s, [c.columnName]: t }))}
                nullable={c.isNullable || c.defaultValue !== undefined || c.isIdentity}
                enumValues={enums(c.type)}
                fk={foreignKeys.get(c.columnName)}
                placeholder={
                  c.defaultValue !== undefined ? `DEFAULT` : c.isNullable ? 'NULL' : undefined
                }
              />
            </FormField>
          );
        })}
      </form>
    </DialogContent>
  );
}
