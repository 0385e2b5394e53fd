/**
 * The diagram's canvas (lazy: @xyflow/react and its styles load only with it). Layout is layered:
 * a table sits one column right of every table it references (longest path, cycles broken), and
 * tables stack in their column by height. Edges are the foreign keys (`column → table.column`).
 */
import { memo, useMemo } from 'react';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
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
        className: 'kiln-fk-edge',
      })),
  );
  return { nodes, edges };
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
      {/* Edges run from a referencing table (right side) to the referenced one (left side). */}
      <Handle type="target" position={Position.Left} className="!bg-primary" />
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
            <span className="shrink-0 truncate font-mono text-muted">{c.type}</span>
          </li>
        ))}
      </ul>
      <Handle type="source" position={Position.Right} className="!bg-primary" />
    </div>
  );
});

const nodeTypes = { table: TableCard };

export default function DiagramCanvas({
  tables,
  onOpen,
}: {
  tables: TableDescription[];
  onOpen: (table: string) => void;
}) {
  const { dark } = useTheme();
  const { nodes, edges } = useMemo(() => layout(tables, onOpen), [tables, onOpen]);
  return (
    <div
      className="h-[calc(100vh-260px)] min-h-[480px] overflow-hidden rounded-lg border border-border bg-bg"
      role="region"
      aria-label="Schema diagram"
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        colorMode={dark ? 'dark' : 'light'}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
        minZoom={0.1}
        nodesConnectable={false}
      >
        <Background gap={20} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
