/**
 * The table editor's Rows tab: one server page of rows at a time through the records API
 * (limit/offset, `Prefer: count=estimated`, so a big table is never counted unasked) in
 * react-data-grid (virtualised, keyboard and ARIA grid; this module is loaded with React.lazy).
 * Sort, filters, page and page size live in the URL. Cells are edited in place with an editor
 * per type and saved by PATCH on the primary key (optimistic, rolled back on error); rows are
 * inserted in a form and deleted by selection. Foreign-key cells open the referenced row.
 */
import 'react-data-grid/lib/styles.css';
import './grid.css';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { getRouteApi, useNavigate } from '@tanstack/react-router';
import {
  DataGrid,
  SelectColumn,
  type Column,
  type DataGridHandle,
  type RenderCellProps,
  type RenderEditCellProps,
  type RenderHeaderCellProps,
  type SortColumn,
} from 'react-data-grid';
import {
  ArrowDown,
  ArrowUp,
  ChevronLeft,
  ChevronRight,
  Expand,
  Info,
  KeyRound,
  Link2,
  Plus,
  RefreshCw,
  Rows3,
  SearchX,
  Sigma,
  Trash2,
  X,
} from 'lucide-react';
import { toast } from 'sonner';
import { Button } from '../../ui/button';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { EmptyState, Skeleton } from '../../ui/misc';
import { queryKeys } from '../../lib/query';
import {
  columnKind,
  displayValue,
  editText,
  parseInput,
  shortType,
  ValueError,
  type ColumnKind,
  type EnumLookup,
} from './column-types';
import { CellViewer } from './cell-viewer';
import type { ForeignKeyTarget } from './fk-picker';
import { FkPicker } from './fk-picker';
import { FilterBuilder, filterLabel } from './filter-builder';
import {
  useDeleteRows,
  useEnums,
  useExactCount,
  rowsQueryOf,
  useRows,
  useTableDescription,
  useUpdateCell,
  type ColumnInfo,
  type Row,
  type RowsPage,
  type TableDescription,
} from './hooks';
import { InsertRowDialog } from './insert-row-dialog';
import { JsonDialog } from './json-dialog';
import { defaultPageSize, pageSizes, type RowFilter } from './search';
import type { TableTabProps } from './types';
import { NULL_OPTION } from './value-input';

const route = getRouteApi('/app/database/tables/$table');

/** Characters of a cell shown in the grid; longer values open in the viewer. */
const CELL_CHARS = 200;

export function RowsTab({ schema, table }: TableTabProps) {
  const desc = useTableDescription(schema, table);
  const enums = useEnums();
  if (desc.error) {
    return (
      <ErrorPanel
        error={desc.error}
        title={`Could not describe ${table}`}
        onRetry={() => void desc.refetch()}
      />
    );
  }
  if (!desc.data || enums.isLoading) {
    return (
      <div className="flex flex-col gap-2" aria-busy="true" aria-label="Loading rows">
        <Skeleton className="h-8 w-full" />
        <Skeleton className="h-[420px] w-full" />
      </div>
    );
  }
  const lookup: EnumLookup = (type) => {
    const t = type.replace(/"/g, '');
    return enums.data?.enums.find(
      (e) => `${e.schemaName}.${e.enumName}` === t || (e.enumName === t && e.schemaName === schema),
    )?.values;
  };
  return <RowsEditor schema={schema} table={table} desc={desc.data} enums={lookup} />;
}

export default RowsTab;

// ---- cells -------------------------------------------------------------------------------------

interface GridColumnMeta {
  info: ColumnInfo;
  kind: ColumnKind;
  fk?: ForeignKeyTarget;
  enumValues?: string[];
}

/** Invalid input typed in an inline editor: not saved, reported. */
class Invalid {
  constructor(readonly message: string) {}
}

const shown = new WeakMap<object, string>();

/** The cell's text, cut to CELL_CHARS (JSON stringified once per value object). */
function cellText(value: unknown): { text: string; cut: boolean } {
  let full: string;
  if (value !== null && typeof value === 'object') {
    full = shown.get(value) ?? JSON.stringify(value);
    shown.set(value, full);
  } else {
    full = displayValue(value);
  }
  return full.length > CELL_CHARS
    ? { text: `${full.slice(0, CELL_CHARS)}…`, cut: true }
    : { text: full, cut: false };
}

interface CellActions {
  openViewer: (column: string, value: unknown) => void;
  openReference: (fk: ForeignKeyTarget, value: unknown) => void;
}

function CellView({
  props,
  meta,
  actions,
}: {
  props: RenderCellProps<Row>;
  meta: GridColumnMeta;
  actions: CellActions;
}) {
  const value = props.row[meta.info.columnName];
  if (value === null || value === undefined) return <span className="kiln-null">NULL</span>;
  const { text, cut } = cellText(
    // 2026-11-30T12:36:18.964+00:00 → 2026-11-30 12:36:18.964+00:00 (as psql shows it)
    meta.kind === 'timestamp' && typeof value === 'string' ? value.replace('T', ' ') : value,
  );
  const viewable = cut || meta.kind === 'json' || meta.kind === 'array';
  return (
    <span className="flex min-w-0 items-center gap-1">
      <span
        className={
          meta.kind === 'uuid' || meta.kind === 'json' || meta.kind === 'array'
            ? 'min-w-0 flex-1 truncate font-mono text-xs'
            : meta.kind === 'integer' || meta.kind === 'number'
              ? 'min-w-0 flex-1 truncate text-right'
              : 'min-w-0 flex-1 truncate'
        }
      >
        {text}
      </span>
      {meta.fk && (
        <button
          type="button"
          tabIndex={-1}
          className="shrink-0 cursor-pointer rounded p-0.5 text-muted hover:bg-border hover:text-fg"
          aria-label={`Open the ${meta.fk.table} row ${text}`}
          title={`Open the ${meta.fk.table} row (Alt+Enter)`}
          onClick={(e) => {
            e.stopPropagation();
            actions.openReference(meta.fk!, value);
          }}
        >
          <Link2 className="size-3.5" aria-hidden />
        </button>
      )}
      {viewable && (
        <button
          type="button"
          tabIndex={-1}
          className="shrink-0 cursor-pointer rounded p-0.5 text-muted hover:bg-border hover:text-fg"
          aria-label={`View the whole ${meta.info.columnName}`}
          title="View the whole value (Alt+Enter)"
          onClick={(e) => {
            e.stopPropagation();
            actions.openViewer(meta.info.columnName, value);
          }}
        >
          <Expand className="size-3.5" aria-hidden />
        </button>
      )}
    </span>
  );
}

function HeaderCell({ props, meta }: { props: RenderHeaderCellProps<Row>; meta: GridColumnMeta }) {
  const dir = props.sortDirection;
  return (
    <span
      className="flex min-w-0 items-center gap-1.5"
      title={`${meta.info.columnName} · ${meta.info.type}${meta.fk ? ` → ${meta.fk.table}.${meta.fk.column}` : ''}`}
    >
      {meta.info.isPrimaryKey && (
        <KeyRound className="size-3.5 shrink-0 text-primary" aria-label="primary key" />
      )}
      {meta.fk && <Link2 className="size-3.5 shrink-0 text-muted" aria-label="foreign key" />}
      <span className="truncate">{meta.info.columnName}</span>
      <span className="truncate font-mono text-[11px] font-normal text-muted">
        {shortType(meta.info.type)}
      </span>
      {dir === 'ASC' && <ArrowUp className="ml-auto size-3.5 shrink-0" aria-label="ascending" />}
      {dir === 'DESC' && (
        <ArrowDown className="ml-auto size-3.5 shrink-0" aria-label="descending" />
      )}
    </span>
  );
}

// ---- editors -----------------------------------------------------------------------------------

const editorInput =
  'size-full border-0 bg-surface px-2 text-[13px] text-fg outline-2 -outline-offset-2 outline-ring';

function withValue(p: RenderEditCellProps<Row>, column: string, value: unknown): Row {
  return Object.is(p.row[column], value) ? p.row : { ...p.row, [column]: value };
}

/** Text, numbers, uuids, dates and times: the text is parsed on every change; Enter saves. */
function TextEditor({ p, meta }: { p: RenderEditCellProps<Row>; meta: GridColumnMeta }) {
  const col = meta.info.columnName;
  const original = useRef(p.row);
  const [text, setText] = useState(() => editText(original.current[col], meta.kind));
  const [error, setError] = useState<string>();
  const [pickOpen, setPickOpen] = useState(false);
  const change = (next: string) => {
    setText(next);
    try {
      const v = parseInput(next, meta.info, meta.kind);
      setError(undefined);
      const same = displayValue(v) === displayValue(original.current[col]);
      p.onRowChange(same ? original.current : { ...original.current, [col]: v });
    } catch (err) {
      const message = err instanceof ValueError ? err.message : String(err);
      setError(message);
      p.onRowChange({ ...original.current, [col]: new Invalid(`${col}: ${message}`) });
    }
  };
  const type =
    meta.kind === 'date'
      ? 'date'
      : meta.kind === 'time'
        ? 'time'
        : meta.kind === 'timestamp'
          ? 'datetime-local'
          : 'text';
  return (
    <span className="flex size-full items-center">
      <input
        autoFocus
        aria-label={`Edit ${col}`}
        aria-invalid={error ? true : undefined}
        title={error}
        type={type}
        step={type === 'time' || type === 'datetime-local' ? 1 : undefined}
        spellCheck={false}
        className={`${editorInput} ${error ? 'outline-danger' : ''} ${meta.kind === 'uuid' ? 'font-mono text-xs' : ''}`}
        value={text}
        placeholder={meta.info.isNullable ? 'NULL' : undefined}
        onChange={(e) => change(e.target.value)}
      />
      {meta.fk && (
        <>
          <button
            type="button"
            className="mr-1 shrink-0 cursor-pointer rounded p-1 text-muted hover:bg-border hover:text-fg"
            aria-label={`Pick a row of ${meta.fk.table}`}
            onClick={() => setPickOpen(true)}
          >
            <Link2 className="size-3.5" aria-hidden />
          </button>
          <span onKeyDown={(e) => e.stopPropagation()}>
            <FkPicker
              open={pickOpen}
              onOpenChange={(open) => {
                setPickOpen(open);
                if (!open) p.onClose(false, true);
              }}
              target={meta.fk}
              onPick={(v) => {
                setPickOpen(false);
                p.onRowChange(withValue(p, col, v), true);
              }}
            />
          </span>
        </>
      )}
    </span>
  );
}

/** Booleans and enums: a select; choosing saves. */
function SelectEditor({ p, meta }: { p: RenderEditCellProps<Row>; meta: GridColumnMeta }) {
  const col = meta.info.columnName;
  const options = meta.kind === 'boolean' ? ['true', 'false'] : (meta.enumValues ?? []);
  const current = p.row[col];
  return (
    <select
      autoFocus
      aria-label={`Edit ${col}`}
      className={editorInput}
      value={current === null || current === undefined ? NULL_OPTION : String(current)}
      onChange={(e) => {
        const raw = e.target.value;
        const v = raw === NULL_OPTION ? null : meta.kind === 'boolean' ? raw === 'true' : raw;
        p.onRowChange(withValue(p, col, v), true);
      }}
    >
      {(meta.info.isNullable || current === null) && <option value={NULL_OPTION}>NULL</option>}
      {options.map((o) => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </select>
  );
}

/** JSON and arrays: the JSON editor dialog; Save stores the value. */
function JsonEditor({ p, meta }: { p: RenderEditCellProps<Row>; meta: GridColumnMeta }) {
  const col = meta.info.columnName;
  return (
    // Keys typed in the dialog (a portal) would bubble to the grid's editor cell through the
    // React tree, where Enter commits and closes: they stay in the dialog.
    <span onKeyDown={(e) => e.stopPropagation()}>
      <JsonDialog
        open
        onOpenChange={(open) => {
          if (!open) p.onClose(false, true);
        }}
        title={`Edit ${col}`}
        value={p.row[col]}
        arrayOnly={meta.kind === 'array'}
        nullable={meta.info.isNullable}
        onSave={(v) => p.onRowChange(withValue(p, col, v), true)}
      />
    </span>
  );
}

function renderEditor(meta: GridColumnMeta) {
  return function Editor(p: RenderEditCellProps<Row>) {
    if (meta.kind === 'json' || meta.kind === 'array') return <JsonEditor p={p} meta={meta} />;
    if (meta.kind === 'boolean' || meta.kind === 'enum') return <SelectEditor p={p} meta={meta} />;
    return <TextEditor p={p} meta={meta} />;
  };
}

function columnWidth(kind: ColumnKind): number {
  switch (kind) {
    case 'boolean':
      return 110;
    case 'integer':
    case 'number':
      return 120;
    case 'date':
    case 'time':
      return 140;
    case 'uuid':
      return 300;
    case 'timestamp':
      return 230;
    case 'json':
    case 'array':
      return 260;
    default:
      return 200;
  }
}

// ---- the editor --------------------------------------------------------------------------------

function rowKeyOf(pk: string[]) {
  return (row: Row) => pk.map((c) => displayValue(row[c])).join('\u0001');
}

function RowsEditor({
  schema,
  table,
  desc,
  enums,
}: TableTabProps & { desc: TableDescription; enums: EnumLookup }) {
  const search = route.useSearch();
  const navigate = useNavigate();
  const routeNavigate = route.useNavigate();
  const qc = useQueryClient();

  const pk = useMemo(
    () => desc.columns.filter((c) => c.isPrimaryKey).map((c) => c.columnName),
    [desc],
  );
  const isTable = desc.kind === 'table' || desc.kind === 'partitioned_table';
  const editable = isTable && pk.length > 0;
  const fks = useMemo(() => {
    const m = new Map<string, ForeignKeyTarget>();
    for (const fk of desc.foreignKeys) {
      if (fk.referenceColumns.length !== 1) continue;
      const rc = fk.referenceColumns[0]!;
      m.set(rc.sourceColumn, {
        schema: fk.referenceSchema,
        table: fk.referenceTable,
        column: rc.referenceColumn,
      });
    }
    return m;
  }, [desc]);
  const metas = useMemo(
    () =>
      desc.columns.map<GridColumnMeta>((info) => {
        const kind = columnKind(info.type, enums);
        return { info, kind, fk: fks.get(info.columnName), enumValues: enums(info.type) };
      }),
    // enums is a fresh closure per render of the parent; the description decides the kinds.
    [desc, fks],
  );

  const size = search.size ?? defaultPageSize;
  const page = search.page ?? 1;
  const filters = useMemo(() => search.filter ?? [], [search.filter]);
  const rowsQuery = rowsQueryOf(schema, table, desc, search);
  const sort = rowsQuery.sort;
  const sortColumn = sort?.replace(/\.(asc|desc)$/, '');
  const rows = useRows(rowsQuery);
  const rowsKey = [...queryKeys.database.rows(schema, table), rowsQuery];
  const [exactAsked, setExactAsked] = useState(false);
  const exact = useExactCount({ schema, table, filter: search.filter }, exactAsked);
  useEffect(() => setExactAsked(false), [schema, table, search.filter]);

  const [selected, setSelected] = useState<ReadonlySet<string>>(() => new Set());
  useEffect(() => setSelected(new Set()), [schema, table, page, size, search.filter, sort]);
  // A new page (or order, filter, size) starts at its first row, once its rows arrived (the
  // grid keeps its scroll while the previous page is still shown).
  const gridRef = useRef<DataGridHandle>(null);
  const viewKey = JSON.stringify([schema, table, page, size, search.filter, sort]);
  const shownKey = useRef(viewKey);
  useEffect(() => {
    if (rows.isPlaceholderData || !rows.data || shownKey.current === viewKey) return;
    shownKey.current = viewKey;
    gridRef.current?.element?.scrollTo({ top: 0 });
  }, [rows.data, rows.isPlaceholderData, viewKey]);
  const [viewer, setViewer] = useState<{ column: string; value: unknown }>();
  const [inserting, setInserting] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const update = useUpdateCell(schema, table);
  const remove = useDeleteRows(schema, table);
  const keyOf = useMemo(() => rowKeyOf(pk), [pk]);

  const setSearch = useCallback(
    (patch: Record<string, unknown>) =>
      void routeNavigate({ search: (s) => ({ ...s, ...patch }), replace: false }),
    [routeNavigate],
  );

  const actions = useMemo<CellActions>(
    () => ({
      openViewer: (column, value) => setViewer({ column, value }),
      openReference: (fk, value) =>
        void navigate({
          to: '/database/tables/$table',
          params: { table: fk.table },
          search: {
            schema: fk.schema === 'public' ? undefined : fk.schema,
            filter: [{ column: fk.column, op: 'eq', value: displayValue(value) }],
          },
        }),
    }),
    [navigate],
  );

  const columns = useMemo<Column<Row>[]>(() => {
    const cols: Column<Row>[] = metas.map((meta) => ({
      key: meta.info.columnName,
      name: meta.info.columnName,
      width: Math.max(
        columnWidth(meta.kind),
        Math.min(
          340,
          (meta.info.isPrimaryKey || meta.fk ? 96 : 76) +
            meta.info.columnName.length * 8 +
            shortType(meta.info.type).length * 6.5,
        ),
      ),
      minWidth: 80,
      resizable: true,
      sortable: true,
      editable: editable && !meta.info.isGenerated,
      renderEditCell: editable && !meta.info.isGenerated ? renderEditor(meta) : undefined,
      editorOptions:
        meta.kind === 'json' || meta.kind === 'array'
          ? { displayCellContent: true, commitOnOutsideClick: false }
          : meta.fk
            ? { commitOnOutsideClick: false }
            : undefined,
      renderHeaderCell: (props) => <HeaderCell props={props} meta={meta} />,
      renderCell: (props) => <CellView props={props} meta={meta} actions={actions} />,
    }));
    return editable ? [{ ...SelectColumn, frozen: true }, ...cols] : cols;
  }, [metas, editable, actions]);

  const sortColumns = useMemo<SortColumn[]>(
    () =>
      sort && sortColumn
        ? [{ columnKey: sortColumn, direction: sort.endsWith('.desc') ? 'DESC' : 'ASC' }]
        : [],
    [sort, sortColumn],
  );

  /** A committed inline edit: optimistic, PATCHed by primary key, rolled back on error. */
  const onRowsChange = (next: Row[], data: { indexes: number[]; column: { key: string } }) => {
    const i = data.indexes[0];
    if (i === undefined) return;
    const column = data.column.key;
    const before = rows.data?.rows[i];
    const after = next[i];
    if (!before || !after) return;
    const value = after[column];
    if (value instanceof Invalid) {
      toast.error(`Not saved: ${value.message}`);
      return;
    }
    const key = keyOf(before);
    const previous = qc.getQueryData<RowsPage>(rowsKey);
    const patch = (fn: (r: Row) => Row) =>
      qc.setQueryData<RowsPage>(rowsKey, (p) =>
        p ? { ...p, rows: p.rows.map((r) => (keyOf(r) === key ? fn(r) : r)) } : p,
      );
    patch((r) => ({ ...r, [column]: value }));
    update.mutate(
      { pk, row: before, column, value },
      {
        onSuccess: (saved) => patch(() => saved),
        onError: () => qc.setQueryData(rowsKey, previous),
      },
    );
  };

  const data = rows.data;
  const total = exact.data ?? data?.total;
  const totalExact = exact.data !== undefined || (data?.exact ?? false);
  const pageCount = total !== undefined ? Math.max(1, Math.ceil(total / size)) : undefined;
  const hasNext = data
    ? totalExact && total !== undefined
      ? page * size < total
      : data.rows.length >= size
    : false;
  const selectedRows = data?.rows.filter((r) => selected.has(keyOf(r))) ?? [];
  const first = data && data.rows.length ? (page - 1) * size + 1 : 0;
  const last = data ? (page - 1) * size + data.rows.length : 0;

  return (
    <div className="flex flex-col">
      {!editable && (
        <div
          role="note"
          className="mb-2 flex items-start gap-2 rounded-md border border-border bg-info-soft px-3 py-2 text-sm"
        >
          <Info className="mt-0.5 size-4 shrink-0" aria-hidden />
          {isTable ? (
            <span>
              <strong className="font-medium">Read-only:</strong> {table} has no primary key, so a
              row cannot be addressed for an edit or a delete. Add a primary key in the Structure
              tab to edit rows here.
            </span>
          ) : (
            <span>
              <strong className="font-medium">Read-only:</strong> {table} is a{' '}
              {desc.kind.replace('_', ' ')}; change the rows of its underlying tables instead.
            </span>
          )}
        </div>
      )}
      {/* toolbar */}
      <div className="flex flex-wrap items-center gap-2 rounded-t-lg border border-b-0 border-border bg-surface px-2 py-2">
        <FilterBuilder
          columns={desc.columns}
          filters={filters}
          onApply={(f) => setSearch({ filter: f.length ? f : undefined, page: undefined })}
        />
        {filters.map((f, i) => (
          <span
            key={`${f.column}-${i}`}
            className="inline-flex max-w-64 items-center gap-1 rounded-md border border-border bg-surface-2 py-0.5 pr-0.5 pl-2 text-xs"
            data-testid="filter-chip"
          >
            <span className="truncate font-mono">{filterLabel(f)}</span>
            <button
              type="button"
              className="cursor-pointer rounded p-0.5 text-muted hover:bg-border hover:text-fg"
              aria-label={`Remove filter ${filterLabel(f)}`}
              onClick={() => {
                const rest: RowFilter[] = filters.filter((_, j) => j !== i);
                setSearch({ filter: rest.length ? rest : undefined, page: undefined });
              }}
            >
              <X className="size-3" aria-hidden />
            </button>
          </span>
        ))}
        {sort && (
          <span className="inline-flex items-center gap-1 rounded-md border border-border bg-surface-2 py-0.5 pr-0.5 pl-2 text-xs">
            <span className="font-mono">
              sorted by {sortColumn} {sort.endsWith('.desc') ? '↓' : '↑'}
            </span>
            <button
              type="button"
              className="cursor-pointer rounded p-0.5 text-muted hover:bg-border hover:text-fg"
              aria-label="Remove the sort"
              onClick={() => setSearch({ sort: undefined, page: undefined })}
            >
              <X className="size-3" aria-hidden />
            </button>
          </span>
        )}
        <div className="ml-auto flex items-center gap-1.5">
          {editable && selected.size > 0 && (
            <Button variant="danger" size="sm" onClick={() => setDeleting(true)}>
              <Trash2 aria-hidden />
              Delete {selected.size} {selected.size === 1 ? 'row' : 'rows'}
            </Button>
          )}
          <Button
            variant="ghost"
            size="icon-sm"
            aria-label="Refresh rows"
            title="Refresh rows"
            onClick={() => void rows.refetch()}
          >
            <RefreshCw className={rows.isFetching ? 'animate-spin' : undefined} aria-hidden />
          </Button>
          {isTable && (
            <Button size="sm" onClick={() => setInserting(true)} disabled={!isTable}>
              <Plus aria-hidden />
              Insert row
            </Button>
          )}
        </div>
      </div>
      {/* grid */}
      {rows.error ? (
        <div className="rounded-b-lg border border-border p-4">
          <ErrorPanel
            error={rows.error}
            title="Could not load the rows"
            onRetry={() => void rows.refetch()}
          />
        </div>
      ) : !data ? (
        <Skeleton
          className="w-full rounded-t-none"
          style={{ blockSize: 'max(20rem, calc(100vh - 340px))' }}
        />
      ) : (
        <DataGrid
          ref={gridRef}
          aria-label={`Rows of ${table}`}
          aria-rowcount={total !== undefined ? total + 1 : undefined}
          className={data.rows.length ? 'kiln-grid' : 'kiln-grid kiln-grid-empty'}
          style={
            data.rows.length ? { blockSize: 'max(20rem, calc(100vh - 340px))' } : { blockSize: 40 }
          }
          columns={columns}
          rows={data.rows}
          rowKeyGetter={editable ? keyOf : undefined}
          rowHeight={34}
          headerRowHeight={38}
          selectedRows={editable ? selected : undefined}
          onSelectedRowsChange={editable ? setSelected : undefined}
          sortColumns={sortColumns}
          onSortColumnsChange={(cols) => {
            const c = cols[0];
            setSearch({
              sort: c ? `${c.columnKey}.${c.direction === 'DESC' ? 'desc' : 'asc'}` : undefined,
              page: undefined,
            });
          }}
          onRowsChange={editable ? onRowsChange : undefined}
          onCellKeyDown={(args, event) => {
            // Alt+Enter: what the cell's buttons do (they stay out of the tab order, so Enter
            // on an active cell always opens its editor).
            if (args.mode !== 'ACTIVE' || event.key !== 'Enter') return;
            const meta = metas.find((m) => m.info.columnName === args.column?.key);
            if (!event.altKey) {
              // Enter opens a dialog editor: without this, the browser would also "press" the
              // button that the dialog focuses (its Close button) with the same key.
              if (meta?.kind === 'json' || meta?.kind === 'array') event.preventDefault();
              return;
            }
            const value = args.row?.[meta?.info.columnName ?? ''];
            if (!meta || value === null || value === undefined) return;
            event.preventGridDefault();
            event.preventDefault();
            if (meta.fk) actions.openReference(meta.fk, value);
            else actions.openViewer(meta.info.columnName, value);
          }}
        />
      )}
      {data && data.rows.length === 0 && !rows.error && (
        <div
          className="rounded-b-lg border border-t-0 border-border bg-surface"
          data-testid="rows-empty"
        >
          {filters.length ? (
            <EmptyState
              icon={SearchX}
              title="No row matches the filters"
              description="Change or remove a filter to see rows."
              action={
                <Button
                  variant="outline"
                  size="sm"
                  onClick={() => setSearch({ filter: undefined, page: undefined })}
                >
                  Clear filters
                </Button>
              }
            />
          ) : (
            <EmptyState
              icon={Rows3}
              title={`${table} has no rows yet`}
              description={
                isTable
                  ? 'Insert a row here, import a file, or write to the table through the API.'
                  : 'The view returns no rows.'
              }
              action={
                isTable ? (
                  <Button size="sm" onClick={() => setInserting(true)}>
                    <Plus aria-hidden />
                    Insert row
                  </Button>
                ) : undefined
              }
            />
          )}
        </div>
      )}
      {/* footer: count and pages */}
      <div className="flex flex-wrap items-center justify-between gap-3 pt-2 text-sm text-muted">
        <div className="flex items-center gap-2">
          <span aria-live="polite" data-testid="row-range">
            {data
              ? data.rows.length
                ? `Rows ${first.toLocaleString('en-US')}–${last.toLocaleString('en-US')}`
                : 'No rows'
              : 'Loading…'}
            {total !== undefined && data && data.rows.length > 0 && (
              <>
                {' of '}
                <span
                  data-testid="row-total"
                  title={totalExact ? 'Exact count' : "The planner's estimate"}
                >
                  {totalExact ? '' : '~'}
                  {total.toLocaleString('en-US')}
                </span>
              </>
            )}
          </span>
          {!totalExact && data && (
            <Button
              variant="link"
              size="sm"
              className="text-xs"
              onClick={() => setExactAsked(true)}
              loading={exact.isFetching}
              title="Runs count(*) with the filters: slow on a big table"
            >
              <Sigma aria-hidden />
              Count exactly
            </Button>
          )}
        </div>
        <div className="flex items-center gap-2">
          <label className="flex items-center gap-1.5 text-xs">
            Rows per page
            <select
              className="h-7 rounded-md border border-border-strong bg-surface px-1.5 text-xs text-fg"
              value={size}
              onChange={(e) => {
                const n = Number(e.target.value);
                setSearch({ size: n === defaultPageSize ? undefined : n, page: undefined });
              }}
            >
              {pageSizes.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <Button
            variant="outline"
            size="icon-sm"
            aria-label="Previous page"
            disabled={page <= 1}
            onClick={() => setSearch({ page: page - 1 > 1 ? page - 1 : undefined })}
          >
            <ChevronLeft aria-hidden />
          </Button>
          <span className="text-xs tabular-nums" data-testid="page">
            Page {page.toLocaleString('en-US')}
            {pageCount !== undefined &&
              ` of ${totalExact ? '' : '~'}${pageCount.toLocaleString('en-US')}`}
          </span>
          <Button
            variant="outline"
            size="icon-sm"
            aria-label="Next page"
            disabled={!hasNext}
            onClick={() => setSearch({ page: page + 1 })}
          >
            <ChevronRight aria-hidden />
          </Button>
        </div>
      </div>

      {viewer && (
        <CellViewer
          open
          onOpenChange={(o) => !o && setViewer(undefined)}
          column={viewer.column}
          value={viewer.value}
        />
      )}
      <InsertRowDialog
        open={inserting}
        onOpenChange={setInserting}
        schema={schema}
        table={table}
        columns={desc.columns}
        enums={enums}
        foreignKeys={fks}
      />
      <ConfirmDialog
        open={deleting}
        onOpenChange={setDeleting}
        destructive
        title={`Delete ${selectedRows.length} ${selectedRows.length === 1 ? 'row' : 'rows'}?`}
        description={`The selected rows of ${table} are deleted for good (rows that reference them may block it, or go too if their foreign key cascades).`}
        confirmLabel="Delete"
        onConfirm={async () => {
          await remove.mutateAsync({ pk, rows: selectedRows });
          setSelected(new Set());
        }}
      />
    </div>
  );
}
