/**
 * The results of a run: per statement its rows in a grid (virtualised), row count, duration and a
 * truncation notice, EXPLAIN as a plan tree, notices, CSV/JSON export; or the error with its
 * SQLSTATE, detail, hint and a button back to the failing position.
 */
import { useMemo, useState } from 'react';
import { AlertTriangle, Braces, CheckCircle2, Crosshair, FileDown, Play } from 'lucide-react';
import { isApiError } from '../../lib/api';
import { cn } from '../../lib/cn';
import { Button } from '../../ui/button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Badge, EmptyState, Kbd, Skeleton } from '../../ui/misc';
import { cellText, download, toCsv, toJson } from './export';
import { jsonPlan, PlanTree, TextPlan, textPlan } from './explain';
import type { RawSqlResult, StatementResult } from './hooks';

export type RunState =
  | { status: 'idle' }
  | { status: 'running'; query: string }
  | { status: 'done'; query: string; result: RawSqlResult }
  | { status: 'error'; query: string; error: unknown; line?: number; column?: number };

type Row = Record<string, unknown>;

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
export const modKey = isMac ? '⌘' : 'Ctrl';

function plural(n: number, one: string, many = `${one}s`) {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

function Cell({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="text-muted italic">NULL</span>;
  const text = cellText(value);
  return (
    <span className="font-mono text-xs" title={text.length > 60 ? text.slice(0, 2000) : undefined}>
      {text.length > 300 ? `${text.slice(0, 300)}…` : text}
    </span>
  );
}

function ResultGrid({ statement }: { statement: StatementResult }) {
  const columns = useMemo<ColumnDef<Row, unknown>[]>(
    () =>
      statement.fields.map((f, i) => ({
        id: `c${i}`,
        accessorFn: (row: Row) => row[f.name],
        header: () => (
          <span className="inline-flex items-baseline gap-1.5 normal-case">
            <span className="text-fg">{f.name}</span>
            {f.dataType && <span className="font-normal text-muted">{f.dataType}</span>}
          </span>
        ),
        cell: (ctx) => <Cell value={ctx.getValue()} />,
      })),
    [statement],
  );
  return (
    <DataTable
      columns={columns}
      data={statement.rows}
      label="Result rows"
      rowHeight={34}
      maxHeight={420}
      empty={{ title: 'No rows', description: 'The statement ran and returned no rows.' }}
    />
  );
}

function StatementView({ statement, index }: { statement: StatementResult; index: number }) {
  const plan = jsonPlan(statement);
  const text = plan ? undefined : textPlan(statement);
  const returnsRows = statement.fields.length > 0;
  const name = `result-${index + 1}`;
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-2 text-sm">
        <Badge tone="success">
          <CheckCircle2 className="size-3" aria-hidden /> {statement.command || 'OK'}
        </Badge>
        <span data-testid="row-count" className="tabular-nums">
          {plan || text
            ? 'Query plan'
            : statement.rowCount === null
              ? 'No rows'
              : returnsRows
                ? plural(statement.rowCount, 'row')
                : `${plural(statement.rowCount, 'row')} affected`}
        </span>
        {statement.durationMs !== undefined && (
          <span className="text-muted tabular-nums" data-testid="duration">
            {statement.durationMs} ms
          </span>
        )}
        {statement.truncated && (
          <Badge tone="warning" data-testid="truncated">
            <AlertTriangle className="size-3" aria-hidden /> Showing the first{' '}
            {statement.rows.length.toLocaleString('en-US')} rows
          </Badge>
        )}
        {returnsRows && !plan && !text && (
          <div className="ml-auto flex gap-1.5">
            <Button
              variant="outline"
              size="sm"
              onClick={() => download(`${name}.csv`, toCsv(statement), 'text/csv;charset=utf-8')}
            >
              <FileDown aria-hidden /> CSV
            </Button>
            <Button
              variant="outline"
              size="sm"
              onClick={() => download(`${name}.json`, toJson(statement), 'application/json')}
            >
              <Braces aria-hidden /> JSON
            </Button>
          </div>
        )}
      </div>
      {plan ? (
        <PlanTree plan={plan} />
      ) : text ? (
        <TextPlan lines={text} />
      ) : returnsRows ? (
        <ResultGrid statement={statement} />
      ) : null}
    </div>
  );
}

function ErrorView({
  state,
  onShowPosition,
}: {
  state: Extract<RunState, { status: 'error' }>;
  onShowPosition: () => void;
}) {
  const err = state.error;
  const api = isApiError(err) ? err : undefined;
  const d = api?.details ?? {};
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const sqlState = str(d.sqlState);
  const detail = str(d.detail);
  const hint = str(d.hint) ?? api?.nextActions;
  return (
    <div
      role="alert"
      data-testid="sql-error"
      className="rounded-lg border border-danger/40 bg-danger-soft p-4 text-sm"
    >
      <div className="flex items-start gap-3">
        <AlertTriangle className="mt-0.5 size-4 shrink-0 text-danger" aria-hidden />
        <div className="flex min-w-0 flex-1 flex-col gap-1.5">
          <p className="font-semibold break-words text-danger [font-feature-settings:'calt'_0]">
            {err instanceof Error ? err.message : String(err)}
          </p>
          <div className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted">
            {api && <span>{api.code}</span>}
            {sqlState && (
              <span>
                SQLSTATE <span className="font-mono text-fg">{sqlState}</span>
              </span>
            )}
            {state.line !== undefined && (
              <span className="inline-flex items-center gap-1.5">
                <span data-testid="error-position">
                  line {state.line}, column {state.column}
                </span>
                <Button variant="link" className="gap-1 text-xs" onClick={onShowPosition}>
                  <Crosshair className="size-3.5" aria-hidden /> Show in editor
                </Button>
              </span>
            )}
            {api?.requestId && <span className="break-all">request {api.requestId}</span>}
          </div>
          {detail && (
            <p className="text-fg">
              <span className="font-medium">Detail:</span> {detail}
            </p>
          )}
          {hint && (
            <p className="text-fg">
              <span className="font-medium">Hint:</span> {hint}
            </p>
          )}
        </div>
      </div>
    </div>
  );
}

export function Results({
  state,
  onShowPosition,
}: {
  state: RunState;
  onShowPosition: () => void;
}) {
  const [picked, setPicked] = useState<{ result: RawSqlResult; index: number } | null>(null);
  if (state.status === 'idle') {
    return (
      <EmptyState
        icon={Play}
        title="Run a query to see its results"
        description={
          <>
            Press <Kbd>{modKey}</Kbd> <Kbd>Enter</Kbd> to run the whole editor, or select some text
            to run just that. <Kbd>{modKey}</Kbd> <Kbd>Shift</Kbd> <Kbd>Enter</Kbd> explains it,{' '}
            <Kbd>{modKey}</Kbd> <Kbd>S</Kbd> saves it. <Kbd>Esc</Kbd> then <Kbd>Tab</Kbd> leaves the
            editor.
          </>
        }
      />
    );
  }
  if (state.status === 'running') {
    return (
      <div className="flex flex-col gap-2" aria-busy="true" aria-label="Running">
        <Skeleton className="h-5 w-48" />
        <Skeleton className="h-8 w-full" />
        <Skeleton className="h-8 w-full" />
        <Skeleton className="h-8 w-2/3" />
      </div>
    );
  }
  if (state.status === 'error') return <ErrorView state={state} onShowPosition={onShowPosition} />;

  const { result } = state;
  const statements = result.statements;
  if (statements.length === 0) {
    return (
      <EmptyState
        icon={CheckCircle2}
        title="Nothing to run"
        description="The query had no statements."
      />
    );
  }
  // The statement shown: the one picked for this result, else the last that returned rows.
  const fallback = Math.max(
    0,
    statements.findLastIndex((s) => s.fields.length > 0),
  );
  const index = picked?.result === result ? picked.index : fallback;
  const current = statements[Math.min(index, statements.length - 1)]!;
  return (
    <div className="flex flex-col gap-3">
      {statements.length > 1 && (
        <div className="flex flex-wrap items-center gap-1.5" role="group" aria-label="Statements">
          <span className="mr-1 text-xs text-muted">
            {statements.length} statements
            {result.durationMs !== undefined && ` · ${result.durationMs} ms`}
          </span>
          {statements.map((s, i) => (
            <button
              key={i}
              type="button"
              aria-pressed={i === index}
              onClick={() => setPicked({ result, index: i })}
              className={cn(
                'cursor-pointer rounded-md border px-2 py-1 text-xs',
                i === index
                  ? 'border-primary bg-accent text-fg'
                  : 'border-border text-muted hover:bg-surface-2 hover:text-fg',
              )}
            >
              {i + 1}. {s.command || 'OK'}
              {s.rowCount !== null && <span className="ml-1 tabular-nums">({s.rowCount})</span>}
            </button>
          ))}
        </div>
      )}
      <StatementView key={`${index}`} statement={current} index={index} />
      {result.notices.length > 0 && (
        <ul className="flex flex-col gap-1 text-xs" aria-label="Notices">
          {result.notices.map((n, i) => (
            <li key={i} className="rounded border border-border bg-surface-2 px-2 py-1">
              <span className="font-semibold">{n.severity}</span> {n.message}
              {n.detail && <span className="text-muted"> — {n.detail}</span>}
              {n.hint && <span className="text-muted"> (hint: {n.hint})</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
