/**
 * Building blocks of the create-table form and the structure tab: column and foreign-key
 * drafts with their editors (type picker with arrays and the project's enums), the SQL preview
 * (the server runs the change and rolls it back, so the preview is exactly what will run), and
 * API errors mapped back to the field they name (`columns[0].type: …`, `columns.0.type: …`).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { Trash2 } from 'lucide-react';
import { isApiError } from '../../lib/api';
import { cn } from '../../lib/cn';
import { Button } from '../../ui/button';
import { Checkbox } from '../../ui/checkbox';
import { CopyButton } from '../../ui/copy-button';
import { Input } from '../../ui/input';
import { Select } from '../../ui/select';
import { Skeleton } from '../../ui/misc';
import { useCatalog, type TablePreview } from './schema-hooks';

// ---- API errors by field ------------------------------------------------------------------------

export interface FieldErrors {
  /** Normalised field path (`columns.0.type`) → message. */
  byField: Record<string, string>;
  /** What names no field (a PostgreSQL error, a network failure). */
  general?: string;
}

/**
 * Splits an API error into per-field messages. Kiln's validation messages start with the field
 * path (`columns[0].type: unknown type "x"`; zod's `columns.0.type: …`, several joined by `; `).
 */
export function fieldErrors(err: unknown): FieldErrors {
  if (!err) return { byField: {} };
  const message = err instanceof Error ? err.message : String(err);
  if (!isApiError(err) || err.status !== 400) return { byField: {}, general: message };
  const byField: Record<string, string> = {};
  const rest: string[] = [];
  for (const part of message.split('; ')) {
    const m = /^([A-Za-z_][\w]*(?:\[\d+\]|\.\w+)*): (.+)$/s.exec(part);
    if (m) byField[m[1]!.replace(/\[(\d+)\]/g, '.$1')] = m[2]!;
    else rest.push(part);
  }
  return { byField, general: rest.length ? rest.join('; ') : undefined };
}

/** The errors under `prefix.` (e.g. a column's), keyed by the rest of the path. */
export function errorsUnder(errors: FieldErrors, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(errors.byField)) {
    if (k === prefix) out[''] = v;
    else if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = v;
  }
  return out;
}

// ---- column and foreign-key drafts ------------------------------------------------------------

export interface ColumnDraft {
  key: string;
  name: string;
  /** A PostgreSQL type name without `[]`. */
  baseType: string;
  isArray: boolean;
  defaultValue: string;
  nullable: boolean;
  unique: boolean;
  primaryKey: boolean;
}

export interface ForeignKeyDraft {
  key: string;
  column: string;
  refTable: string;
  refColumn: string;
  onDelete: string;
  onUpdate: string;
}

let seq = 0;
export const newKey = () => `k${++seq}`;

export const emptyColumn = (): ColumnDraft => ({
  key: newKey(),
  name: '',
  baseType: 'text',
  isArray: false,
  defaultValue: '',
  nullable: true,
  unique: false,
  primaryKey: false,
});

export const emptyForeignKey = (): ForeignKeyDraft => ({
  key: newKey(),
  column: '',
  refTable: '',
  refColumn: 'id',
  onDelete: 'NO ACTION',
  onUpdate: 'NO ACTION',
});

export const columnType = (c: Pick<ColumnDraft, 'baseType' | 'isArray'>) =>
  `${c.baseType}${c.isArray ? '[]' : ''}`;

/** The column as the API takes it (`columnDefinitionSchema`). */
export function columnBody(c: ColumnDraft) {
  return {
    columnName: c.name.trim(),
    type: columnType(c),
    isNullable: c.primaryKey ? false : c.nullable,
    isUnique: c.unique,
    isPrimaryKey: c.primaryKey || undefined,
    defaultValue: c.defaultValue.trim() ? c.defaultValue.trim() : undefined,
  };
}

export function foreignKeyBody(f: ForeignKeyDraft) {
  return {
    referenceTable: f.refTable,
    referenceColumns: [{ sourceColumn: f.column, referenceColumn: f.refColumn }],
    onDelete: f.onDelete as 'NO ACTION',
    onUpdate: f.onUpdate as 'NO ACTION',
  };
}

/** A described column's type split into the picker's base type and array flag. */
export function splitType(type: string): { baseType: string; isArray: boolean } {
  const isArray = type.endsWith('[]');
  return { baseType: isArray ? type.slice(0, -2) : type, isArray };
}

export const BASE_TYPES = [
  'text',
  'varchar',
  'uuid',
  'integer',
  'bigint',
  'smallint',
  'numeric',
  'double precision',
  'real',
  'boolean',
  'timestamptz',
  'timestamp',
  'date',
  'time',
  'interval',
  'jsonb',
  'json',
  'bytea',
  'inet',
] as const;

/** The foreign-key row's grid (its header, ForeignKeyHeader, uses the same). */
const FK_GRID =
  'grid grid-cols-[minmax(0,1fr)_1rem_minmax(0,1.2fr)_minmax(0,1fr)_minmax(0,0.9fr)_minmax(0,0.9fr)_1.75rem]';

/** Select values stay on one line, cut with an ellipsis. */
const ONE_LINE = 'whitespace-nowrap [&>span]:truncate';

export function ForeignKeyHeader() {
  return (
    <div className={`${FK_GRID} gap-2 text-xs font-medium text-muted`} aria-hidden>
      <span>Column</span>
      <span />
      <span>References table</span>
      <span>Column</span>
      <span>On delete</span>
      <span>On update</span>
      <span />
    </div>
  );
}

export const REFERENTIAL_ACTIONS = ['NO ACTION', 'CASCADE', 'SET NULL', 'SET DEFAULT', 'RESTRICT'];

/** Base types for the picker: the common ones, the project's enums, and `current` if other. */
export function useTypeOptions(current?: string) {
  const enums = useCatalog('enums');
  return useMemo(() => {
    const opts: { value: string; label: string }[] = BASE_TYPES.map((t) => ({
      value: t,
      label: t,
    }));
    for (const e of enums.data ?? []) {
      const name = e.schemaName === 'public' ? e.enumName : `${e.schemaName}.${e.enumName}`;
      opts.push({ value: name, label: `${name} (enum)` });
    }
    if (current && !opts.some((o) => o.value === current))
      opts.push({ value: current, label: current });
    return opts;
  }, [enums.data, current]);
}

// ---- editors -----------------------------------------------------------------------------------

function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} role="alert" className="mt-1 text-xs font-medium text-danger">
      {message}
    </p>
  );
}

/** One column as a row of the create form's grid (or the column dialog's body). */
export function ColumnRow({
  column,
  index,
  errors,
  onChange,
  onRemove,
  lockPrimaryKey,
}: {
  column: ColumnDraft;
  index: number;
  /** Errors keyed by `columnName`, `type`, `defaultValue`… */
  errors: Record<string, string>;
  onChange: (next: ColumnDraft) => void;
  onRemove?: () => void;
  /** The primary key cannot be changed here (editing an existing column). */
  lockPrimaryKey?: boolean;
}) {
  const typeOptions = useTypeOptions(column.baseType);
  const set = (patch: Partial<ColumnDraft>) => onChange({ ...column, ...patch });
  const n = index + 1;
  const id = `col-${column.key}`;
  return (
    <div className="grid grid-cols-[minmax(0,1.2fr)_minmax(0,1.2fr)_minmax(0,1fr)_15rem] items-start gap-2 border-b border-border py-2 last:border-b-0">
      <div className="min-w-0">
        <Input
          aria-label={`Column ${n} name`}
          placeholder="column_name"
          value={column.name}
          onChange={(e) => set({ name: e.target.value })}
          aria-invalid={errors.columnName ? true : undefined}
          aria-describedby={errors.columnName ? `${id}-name-err` : undefined}
          spellCheck={false}
        />
        <FieldError id={`${id}-name-err`} message={errors.columnName ?? errors['']} />
      </div>
      <div className="min-w-0">
        <div className="flex items-center gap-2">
          <Select
            className={ONE_LINE}
            aria-label={`Column ${n} type`}
            value={column.baseType}
            onValueChange={(v) => set({ baseType: v })}
            options={typeOptions}
            aria-invalid={errors.type ? true : undefined}
            aria-describedby={errors.type ? `${id}-type-err` : undefined}
          />
          <label className="flex shrink-0 items-center gap-1 text-xs text-muted">
            <Checkbox
              checked={column.isArray}
              onCheckedChange={(v) => set({ isArray: v === true })}
              aria-label={`Column ${n} is an array`}
            />
            []
          </label>
        </div>
        <FieldError id={`${id}-type-err`} message={errors.type} />
      </div>
      <div className="min-w-0">
        <Input
          aria-label={`Column ${n} default value`}
          placeholder="default (e.g. now())"
          value={column.defaultValue}
          onChange={(e) => set({ defaultValue: e.target.value })}
          aria-invalid={errors.defaultValue ? true : undefined}
          aria-describedby={errors.defaultValue ? `${id}-def-err` : undefined}
          spellCheck={false}
        />
        <FieldError id={`${id}-def-err`} message={errors.defaultValue} />
      </div>
      <div className="flex items-center justify-end gap-3 pt-1.5">
        <Flag
          label="Nullable"
          short="null"
          n={n}
          checked={column.nullable && !column.primaryKey}
          disabled={column.primaryKey}
          onChange={(v) => set({ nullable: v })}
        />
        <Flag
          label="Unique"
          short="unique"
          n={n}
          checked={column.unique}
          onChange={(v) => set({ unique: v })}
        />
        <Flag
          label="Primary key"
          short="PK"
          n={n}
          checked={column.primaryKey}
          disabled={lockPrimaryKey}
          onChange={(v) => set({ primaryKey: v })}
        />
        {onRemove && (
          <Button
            variant="ghost"
            size="icon-sm"
            aria-label={`Remove column ${n}`}
            onClick={onRemove}
          >
            <Trash2 aria-hidden />
          </Button>
        )}
      </div>
    </div>
  );
}

function Flag({
  label,
  short,
  n,
  checked,
  disabled,
  onChange,
}: {
  label: string;
  short: string;
  n: number;
  checked: boolean;
  disabled?: boolean;
  onChange: (v: boolean) => void;
}) {
  return (
    <label className="flex items-center gap-1 text-xs text-muted" title={label}>
      <Checkbox
        checked={checked}
        disabled={disabled}
        onCheckedChange={(v) => onChange(v === true)}
        aria-label={`Column ${n} ${label.toLowerCase()}`}
      />
      {short}
    </label>
  );
}

/** One foreign key: local column → referenced table.column, with the referential actions. */
export function ForeignKeyRow({
  fk,
  index,
  localColumns,
  tables,
  refColumns,
  errors,
  onChange,
  onRemove,
}: {
  fk: ForeignKeyDraft;
  index: number;
  localColumns: string[];
  tables: string[];
  /** Columns of the referenced table (once known). */
  refColumns: string[];
  errors: Record<string, string>;
  onChange: (next: ForeignKeyDraft) => void;
  onRemove?: () => void;
}) {
  const n = index + 1;
  const set = (patch: Partial<ForeignKeyDraft>) => onChange({ ...fk, ...patch });
  const opts = (xs: string[], current: string) =>
    [...new Set([...xs, ...(current ? [current] : [])])].map((x) => ({ value: x, label: x }));
  const refErr = errors.referenceTable ?? errors[''];
  const colErr = Object.entries(errors).find(([k]) => k.startsWith('referenceColumns'))?.[1];
  return (
    <div className="border-b border-border py-2 last:border-b-0">
      <div className={`${FK_GRID} items-center gap-2`}>
        <Select
          className={ONE_LINE}
          aria-label={`Foreign key ${n} column`}
          placeholder="column"
          value={fk.column}
          onValueChange={(v) => set({ column: v })}
          options={opts(localColumns, fk.column)}
        />
        <span className="text-xs text-muted" aria-hidden>
          →
        </span>
        <Select
          className={ONE_LINE}
          aria-label={`Foreign key ${n} referenced table`}
          placeholder="table"
          value={fk.refTable}
          onValueChange={(v) => set({ refTable: v, refColumn: 'id' })}
          options={opts(tables, fk.refTable)}
          aria-invalid={refErr ? true : undefined}
        />
        <Select
          className={ONE_LINE}
          aria-label={`Foreign key ${n} referenced column`}
          placeholder="column"
          value={fk.refColumn}
          onValueChange={(v) => set({ refColumn: v })}
          options={opts(refColumns, fk.refColumn)}
        />
        <Select
          className={ONE_LINE}
          aria-label={`Foreign key ${n} on delete`}
          value={fk.onDelete}
          onValueChange={(v) => set({ onDelete: v })}
          options={REFERENTIAL_ACTIONS.map((a) => ({ value: a, label: a }))}
        />
        <Select
          className={ONE_LINE}
          aria-label={`Foreign key ${n} on update`}
          value={fk.onUpdate}
          onValueChange={(v) => set({ onUpdate: v })}
          options={REFERENTIAL_ACTIONS.map((a) => ({ value: a, label: a }))}
        />
        {onRemove ? (
          <Button
            variant="ghost"
            size="icon-sm"
            aria-label={`Remove foreign key ${n}`}
            onClick={onRemove}
          >
            <Trash2 aria-hidden />
          </Button>
        ) : (
          <span />
        )}
      </div>
      <FieldError id={`fk-${fk.key}-err`} message={refErr ?? colErr} />
    </div>
  );
}

// ---- SQL preview -------------------------------------------------------------------------------

/**
 * Asks the server for the statements `body` would run, 400 ms after the last change. `enabled`
 * false (the form is incomplete) clears it. Returns the preview, whether it is current, and the
 * error (by field).
 */
export function useDebouncedPreview<B>(
  body: B,
  enabled: boolean,
  run: (body: B) => Promise<TablePreview>,
) {
  const key = JSON.stringify(body);
  const [state, setState] = useState<{
    key?: string;
    preview?: TablePreview;
    error?: unknown;
    loading: boolean;
  }>({ loading: false });
  const latest = useRef(key);
  latest.current = key;
  const runRef = useRef(run);
  runRef.current = run;
  useEffect(() => {
    if (!enabled) {
      setState({ loading: false });
      return;
    }
    setState((s) => ({ ...s, loading: true }));
    const timer = setTimeout(() => {
      runRef
        .current(JSON.parse(key) as B)
        .then((preview) => {
          if (latest.current === key) setState({ key, preview, loading: false });
        })
        .catch((error: unknown) => {
          if (latest.current === key) setState({ key, error, loading: false });
        });
    }, 400);
    return () => clearTimeout(timer);
  }, [key, enabled]);
  const current = state.key === key && !state.loading;
  return {
    preview: current ? state.preview : undefined,
    error: current ? state.error : undefined,
    loading: enabled && !current,
  };
}

export function SqlPreview({
  preview,
  loading,
  error,
  idle,
  className,
}: {
  preview?: TablePreview;
  loading: boolean;
  error?: string;
  /** Shown when there is nothing to preview yet. */
  idle: string;
  className?: string;
}) {
  return (
    <section aria-label="SQL preview" className={cn('flex min-w-0 flex-col gap-1.5', className)}>
      <div className="flex items-center justify-between gap-2">
        <h3 className="text-sm font-semibold">SQL that will run</h3>
        {preview && preview.statements.length > 0 && <CopyButton value={preview.sql} label="SQL" />}
      </div>
      {loading ? (
        <Skeleton className="h-20 w-full" />
      ) : error ? (
        <p role="alert" className="rounded-md bg-danger-soft p-3 text-sm text-danger">
          {error}
        </p>
      ) : preview ? (
        <pre
          data-testid="sql-preview"
          tabIndex={0}
          className="max-h-64 overflow-auto rounded-md border border-border bg-surface-2 p-3 font-mono text-xs leading-relaxed break-words whitespace-pre-wrap text-fg"
        >
          {preview.statements.length ? preview.sql : '-- nothing to change'}
        </pre>
      ) : (
        <p className="rounded-md border border-dashed border-border p-3 text-sm text-muted">
          {idle}
        </p>
      )}
    </section>
  );
}
