/**
 * Picks a referenced row for a foreign-key cell: a page of the referenced table's rows (20 at a
 * time, searchable by its key or text columns through the records API), one click picks.
 */
import { useMemo, useState } from 'react';
import { Search } from 'lucide-react';
import { Button } from '../../ui/button';
import { Dialog, DialogContent } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { Input } from '../../ui/input';
import { Skeleton } from '../../ui/misc';
import { columnKind, displayValue } from './column-types';
import { useRows, useTableDescription } from './hooks';
import type { RowFilter } from './search';

export interface ForeignKeyTarget {
  schema: string;
  table: string;
  column: string;
}

export function FkPicker({
  open,
  onOpenChange,
  target,
  onPick,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  target: ForeignKeyTarget;
  onPick: (value: unknown) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <PickerBody target={target} onPick={onPick} />}
    </Dialog>
  );
}

function PickerBody({
  target,
  onPick,
}: {
  target: ForeignKeyTarget;
  onPick: (v: unknown) => void;
}) {
  const [q, setQ] = useState('');
  const desc = useTableDescription(target.schema, target.table);
  const shown = useMemo(() => {
    const cols = desc.data?.columns ?? [];
    const texts = cols.filter((c) => columnKind(c.type) === 'text').map((c) => c.columnName);
    return [target.column, ...texts.filter((c) => c !== target.column).slice(0, 2)];
  }, [desc.data, target.column]);
  const keyKind = columnKind(
    desc.data?.columns.find((c) => c.columnName === target.column)?.type ?? 'text',
  );
  const filter = useMemo<RowFilter[] | undefined>(() => {
    const term = q.trim();
    if (!term) return undefined;
    // A text column that contains it, or the key itself when the term could be one.
    const text = shown.slice(1)[0];
    if (text && !(keyKind === 'integer' && /^\d+$/.test(term))) {
      return [{ column: text, op: 'ilike', value: `*${term}*` }];
    }
    return [{ column: target.column, op: 'eq', value: term }];
  }, [q, shown, keyKind, target.column]);
  const rows = useRows({
    schema: target.schema,
    table: target.table,
    filter,
    limit: 20,
    offset: 0,
    tieBreak: [target.column],
  });
  return (
    <DialogContent
      title={`Pick a row of ${target.table}`}
      description={`The value of ${target.table}.${target.column} is stored in this cell.`}
      size="lg"
    >
      <div className="flex flex-col gap-3">
        <div className="relative">
          <Search
            className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted"
            aria-hidden
          />
          <Input
            type="search"
            aria-label={`Search ${target.table}`}
            placeholder={
              shown[1] ? `Search by ${shown[1]} or ${target.column}…` : `Find by ${target.column}…`
            }
            className="pl-8"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            autoFocus
          />
        </div>
        {rows.error ? (
          <ErrorPanel error={rows.error} title="Could not load the rows" />
        ) : !rows.data ? (
          <Skeleton className="h-40 w-full" />
        ) : rows.data.rows.length === 0 ? (
          <p className="py-6 text-center text-sm text-muted">No row matches.</p>
        ) : (
          <ul className="divide-y divide-border rounded-md border border-border" aria-label="Rows">
            {rows.data.rows.map((r) => (
              <li key={displayValue(r[target.column])}>
                <Button
                  variant="ghost"
                  className="h-auto w-full justify-start gap-3 rounded-none px-3 py-2 text-left"
                  onClick={() => onPick(r[target.column])}
                >
                  <span className="font-mono text-xs">{displayValue(r[target.column])}</span>
                  {shown.slice(1).map((c) => (
                    <span key={c} className="min-w-0 truncate text-muted">
                      {displayValue(r[c])}
                    </span>
                  ))}
                </Button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </DialogContent>
  );
}
