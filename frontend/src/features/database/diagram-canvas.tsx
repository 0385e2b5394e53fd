/**
 * The diagram's canvas (lazy: @xyflow/react and its styles load only with it). Layout is layered:
 * a table sits one column right of every table it references (longest path, cycles broken), and
 * tables stack in their column by height. Edges are the foreign keys (`column → table.column`).
 */
import { memo, useEffect, useMemo, useRef } from 'react';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type ReactFlowInstance,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { KeyRound, Link2 } from 'lucide-react';
import { useTheme } from '../../lib/theme';
import type { TableDescription } from './hooks';

const NODE_WIDTH = 260;
const ROW = 24;
const HEADER = 36;
const GAP_X = 120;
const GAP_Y = 40;

type TableNode = Node<{ table: TableDescription; onOpen: (t: string) => void }, 'table'>;

/** Column (layer) of each table: 1 + the deepest table it references. */
export function layers(tables: TableDescription[]): Map<string, number> {
  const refs = new Map(
    tables.map((t) => [
      t.tableName,
      t.foreignKeys
        .filter((f) => f.referenceSchema === t.schemaName && f.referenceTable !== t.tableName)
        .map((f) => f.referenceTable),
    ]),
  );
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return 0; // a cycle: cut it here
    visiting.add(name);
    let d = 0;
    for (const r of refs.get(name) ?? []) if (refs.has(r)) d = Math.max(d, visit(r) + 1);
    visiting.delete(name);
    depth.set(name, d);
    return d;
  };
  for (const t of tables) visit(t.tableName);
  return depth;
}

function layout(tables: TableDescription[], onOpen: (t: string) => void) {
  const depth = layers(tables);
  const y = new Map<number, number>();
  const nodes: TableNode[] = tables.map((t) => {
    const d = depth.get(t.tableName) ?? 0;
    const top = y.get(d) ?? 0;
    y.set(d, top + HEADER + t.columns.length * ROW + GAP_Y);
    return {
      id: t.tableName,
      type: 'table',
      position: { x: d * (NODE_WIDTH + GAP_X), y: top },
      data: { table: t, onOpen },
    };
  });
  const names = new Set(tables.map((t) => t.tableName));
  const edges: Edge[] = tables.flatMap((t) =>
    t.foreignKeys
      .filter((f) => f.referenceSchema === t.schemaName && names.has(f.referenceTable))
      .map((f) => ({
        id: `${t.tableName}:${f.constraintName}`,
        source: t.tableName,
        target: f.referenceTable,
        label: f.referenceColumns.map((m) => `${m.sourceColumn} → ${m.referenceColumn}`).join(', '),
        markerEnd: { type: MarkerType.ArrowClosed },
      })),
  );
  return { nodes, edges };
}

const SHORT_TYPES: Record<string, string> = {
  'timestamp with time zone': 'timestamptz',
  'timestamp without time zone': 'timestamp',
  'time with time zone': 'timetz',
  'time without time zone': 'time',
  'character varying': 'varchar',
  'double precision': 'float8',
};

/** PostgreSQL's long type names in their usual short spelling (arrays and lengths kept). */
export function shortType(type: string): string {
  for (const [long, short] of Object.entries(SHORT_TYPES))
    if (type.startsWith(long)) return short + type.slice(long.length);
  return type;
}

const TableCard = memo(function TableCard({ data }: NodeProps<TableNode>) {
  const t = data.table;
  const fk = new Set(t.foreignKeys.flatMap((f) => f.referenceColumns.map((m) => m.sourceColumn)));
  return (
    <div
      className="overflow-hidden rounded-md border border-border-strong bg-surface text-fg shadow-sm"
      style={{ width: NODE_WIDTH }}
      data-testid={`diagram-table-${t.tableName}`}
    >
      {/* Referenced tables sit to the left: an edge leaves the referencing table on its left
          side and reaches the referenced one on its right side. */}
      <Handle type="source" position={Position.Left} className="!bg-primary" />
      <button
        type="button"
        onClick={() => data.onOpen(t.tableName)}
        className="nodrag flex w-full cursor-pointer items-center justify-between gap-2 border-b border-border bg-surface-2 px-3 text-left text-sm font-semibold hover:text-primary"
        style={{ height: HEADER }}
        aria-label={`Open table ${t.tableName}`}
      >
        <span className="truncate">{t.tableName}</span>
        {t.rlsEnabled ? null : (
          <span className="text-[10px] font-medium text-warning">RLS off</span>
        )}
      </button>
      <ul>
        {t.columns.map((c) => (
          <li
            key={c.columnName}
            className="flex items-center justify-between gap-2 px-3 text-xs"
            style={{ height: ROW }}
          >
            <span className="flex min-w-0 items-center gap-1.5">
              {c.isPrimaryKey ? (
                <KeyRound className="size-3 shrink-0 text-warning" aria-label="primary key" />
              ) : fk.has(c.columnName) ? (
                <Link2 className="size-3 shrink-0 text-primary" aria-label="foreign key" />
              ) : (
                <span className="size-3 shrink-0" />
              )}
              <span className="truncate">{c.columnName}</span>
            </span>
            <span className="max-w-[45%] shrink-0 truncate font-mono text-muted" title={c.type}>
              {shortType(c.type)}
            </span>
          </li>
        ))}
      </ul>
      <Handle type="target" position={Position.Right} className="!bg-primary" />
    </div>
  );
});

const nodeTypes = { table: TableCard };
const FIT = { padding: 0.15, maxZoom: 1 };

/**
 * xyflow's colours from the dashboard's tokens (inline, so they win over its own light and dark
 * values): both themes follow the `dark` class.
 */
const FLOW_THEME = {
  '--xy-background-color': 'var(--kiln-bg)',
  '--xy-background-pattern-color': 'var(--kiln-border-strong)',
  '--xy-edge-stroke': 'var(--kiln-muted)',
  '--xy-edge-label-background-color': 'var(--kiln-surface)',
  '--xy-edge-label-color': 'var(--kiln-fg)',
  '--xy-controls-button-background-color': 'var(--kiln-surface)',
  '--xy-controls-button-background-color-hover': 'var(--kiln-surface-2)',
  '--xy-controls-button-color': 'var(--kiln-fg)',
  '--xy-controls-button-border-color': 'var(--kiln-border)',
  '--xy-attribution-background-color': 'transparent',
} as React.CSSProperties;

export default function DiagramCanvas({
  tables,
  onOpen,
}: {
  tables: TableDescription[];
  onOpen: (table: string) => void;
}) {
  const { dark } = useTheme();
  const { nodes, edges } = useMemo(() => layout(tables, onOpen), [tables, onOpen]);
  // Fit again when the canvas changes size (window resized, sidebar toggled).
  const box = useRef<HTMLDivElement>(null);
  const flow = useRef<ReactFlowInstance<TableNode> | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => void flow.current?.fitView(FIT));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return (
    <div
      ref={box}
      className="h-[calc(100vh-260px)] min-h-[480px] overflow-hidden rounded-lg border border-border bg-bg"
      role="region"
      aria-label="Schema diagram"
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        colorMode={dark ? 'dark' : 'light'}
        style={FLOW_THEME}
        fitView
        fitViewOptions={FIT}
        onInit={(instance) => {
          flow.current = instance;
        }}
        minZoom={0.1}
        nodesConnectable={false}
      >
        <Background gap={20} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
