/**
 * EXPLAIN shown readably: a JSON plan (EXPLAIN (FORMAT JSON …)) as an indented tree of nodes with
 * their relation, cost, rows and (with ANALYZE) time, the most expensive node highlighted by its
 * own share (its cost or time less its children's). A text plan is shown as it came.
 */
import { Flame } from 'lucide-react';
import { cn } from '../../lib/cn';
import { Badge } from '../../ui/misc';
import type { StatementResult } from './hooks';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Schema?: string;
  Alias?: string;
  'Index Name'?: string;
  'Join Type'?: string;
  'Parent Relationship'?: string;
  'Startup Cost'?: number;
  'Total Cost'?: number;
  'Plan Rows'?: number;
  'Plan Width'?: number;
  'Actual Total Time'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Filter?: string;
  'Index Cond'?: string;
  'Hash Cond'?: string;
  'Merge Cond'?: string;
  'Join Filter'?: string;
  'Sort Key'?: string[];
  'Group Key'?: string[];
  Plans?: PlanNode[];
}

interface JsonPlan {
  Plan: PlanNode;
  'Planning Time'?: number;
  'Execution Time'?: number;
}

const PLAN_COLUMN = 'QUERY PLAN';

/** The JSON plan of an EXPLAIN result, or undefined when it is not one. */
export function jsonPlan(result: StatementResult): JsonPlan | undefined {
  if (result.command !== 'EXPLAIN' || result.rows.length !== 1) return undefined;
  let value: unknown = result.rows[0]?.[PLAN_COLUMN];
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const first = Array.isArray(value) ? (value[0] as JsonPlan | undefined) : undefined;
  return first && typeof first === 'object' && first.Plan ? first : undefined;
}

/** The lines of a text EXPLAIN, or undefined when it is not one. */
export function textPlan(result: StatementResult): string[] | undefined {
  if (result.command !== 'EXPLAIN' || !result.fields.some((f) => f.name === PLAN_COLUMN)) {
    return undefined;
  }
  const lines = result.rows.map((r) => r[PLAN_COLUMN]);
  return lines.every((l) => typeof l === 'string') ? (lines as string[]) : undefined;
}

const analyzed = (n: PlanNode) => n['Actual Total Time'] !== undefined;

/** What the node itself costs: its time (ANALYZE) or cost, less its children's. */
function selfWeight(n: PlanNode): number {
  const kids = n.Plans ?? [];
  if (analyzed(n)) {
    const total = (n['Actual Total Time'] ?? 0) * (n['Actual Loops'] ?? 1);
    const sub = kids.reduce(
      (s, k) => s + (k['Actual Total Time'] ?? 0) * (k['Actual Loops'] ?? 1),
      0,
    );
    return Math.max(0, total - sub);
  }
  const sub = kids.reduce((s, k) => s + (k['Total Cost'] ?? 0), 0);
  return Math.max(0, (n['Total Cost'] ?? 0) - sub);
}

function walk(n: PlanNode, visit: (n: PlanNode) => void): void {
  visit(n);
  for (const k of n.Plans ?? []) walk(k, visit);
}

const fmt = (n: number | undefined, digits = 2) =>
  n === undefined ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits });

function NodeView({ node, hottest, total }: { node: PlanNode; hottest: PlanNode; total: number }) {
  const hot = node === hottest;
  const share = total > 0 ? selfWeight(node) / total : 0;
  const conds = (
    [
      ['Index cond', node['Index Cond']],
      ['Hash cond', node['Hash Cond']],
      ['Merge cond', node['Merge Cond']],
      ['Join filter', node['Join Filter']],
      ['Filter', node.Filter],
      ['Sort key', node['Sort Key']?.join(', ')],
      ['Group key', node['Group Key']?.join(', ')],
    ] as const
  ).filter(([, v]) => v);
  return (
    <li>
      <div
        data-testid="plan-node"
        data-hot={hot || undefined}
        className={cn(
          'rounded-md border bg-surface px-3 py-2',
          hot ? 'border-danger/60 bg-danger-soft' : 'border-border',
        )}
      >
        <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
          <span className="font-semibold">
            {node['Join Type'] ? `${node['Join Type']} ` : ''}
            {node['Node Type']}
          </span>
          {node['Relation Name'] && (
            <span className="font-mono text-xs">
              on {node.Schema ? `${node.Schema}.` : ''}
              {node['Relation Name']}
              {node.Alias && node.Alias !== node['Relation Name'] ? ` ${node.Alias}` : ''}
            </span>
          )}
          {node['Index Name'] && (
            <span className="font-mono text-xs text-muted">using {node['Index Name']}</span>
          )}
          {hot && (
            <Badge tone="danger">
              <Flame className="size-3" aria-hidden /> Most expensive
            </Badge>
          )}
          <span className="ml-auto text-xs text-muted tabular-nums">
            {Math.round(share * 100)}% of the {analyzed(node) ? 'time' : 'cost'}
          </span>
        </div>
        <div className="mt-1 flex flex-wrap gap-x-4 gap-y-0.5 text-xs text-muted tabular-nums">
          <span>
            cost {fmt(node['Startup Cost'])}..{fmt(node['Total Cost'])}
          </span>
          <span>rows {fmt(node['Plan Rows'], 0)}</span>
          {analyzed(node) && (
            <>
              <span className="text-fg">time {fmt(node['Actual Total Time'], 3)} ms</span>
              <span className="text-fg">actual rows {fmt(node['Actual Rows'], 0)}</span>
              <span>loops {fmt(node['Actual Loops'], 0)}</span>
            </>
          )}
        </div>
        {conds.length > 0 && (
          <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-2 text-xs">
            {conds.map(([k, v]) => (
              <div key={k} className="contents">
                <dt className="text-muted">{k}</dt>
                <dd className="font-mono break-all">{v}</dd>
              </div>
            ))}
          </dl>
        )}
        <div className="mt-1.5 h-1 overflow-hidden rounded bg-surface-2" aria-hidden>
          <div
            className={cn('h-full', hot ? 'bg-danger' : 'bg-primary/60')}
            style={{ width: `${Math.max(1, share * 100)}%` }}
          />
        </div>
      </div>
      {node.Plans?.length ? (
        <ul className="mt-2 ml-4 flex flex-col gap-2 border-l border-border pl-4">
          {node.Plans.map((k, i) => (
            <NodeView key={i} node={k} hottest={hottest} total={total} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

export function PlanTree({ plan }: { plan: JsonPlan }) {
  let hottest = plan.Plan;
  let total = 0;
  walk(plan.Plan, (n) => {
    const w = selfWeight(n);
    total += w;
    if (w > selfWeight(hottest)) hottest = n;
  });
  return (
    <div className="flex flex-col gap-3" data-testid="plan-tree">
      <div className="flex flex-wrap gap-4 text-xs text-muted">
        <span>
          Total cost <span className="text-fg tabular-nums">{fmt(plan.Plan['Total Cost'])}</span>
        </span>
        {plan['Planning Time'] !== undefined && (
          <span>
            Planning{' '}
            <span className="text-fg tabular-nums">{fmt(plan['Planning Time'], 3)} ms</span>
          </span>
        )}
        {plan['Execution Time'] !== undefined && (
          <span>
            Execution{' '}
            <span className="text-fg tabular-nums">{fmt(plan['Execution Time'], 3)} ms</span>
          </span>
        )}
      </div>
      <ul aria-label="Query plan" className="flex flex-col gap-2 text-sm">
        <NodeView node={plan.Plan} hottest={hottest} total={total} />
      </ul>
    </div>
  );
}

export function TextPlan({ lines }: { lines: string[] }) {
  return (
    <pre
      tabIndex={0}
      aria-label="Query plan"
      className="max-h-96 overflow-auto rounded-md border border-border bg-surface-2 p-3 font-mono text-xs leading-relaxed"
    >
      {lines.join('\n')}
    </pre>
  );
}
