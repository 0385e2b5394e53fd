/**
 * The filter builder: rows of column · operator · value in a popover, applied together (AND)
 * through the records API's operators; the applied filters live in the URL (`?filter=`).
 */
import { useState } from 'react';
import { Filter, Plus, X } from 'lucide-react';
import { Button } from '../../ui/button';
import { Input } from '../../ui/input';
import { Popover, PopoverContent, PopoverTrigger } from '../../ui/menu';
import type { ColumnInfo } from './hooks';
import { filterOps, type FilterOp, type RowFilter } from './search';

export const opLabels: Record<FilterOp, string> = {
  eq: '=',
  neq: '≠',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  like: 'like',
  ilike: 'ilike',
  is: 'is',
  in: 'in',
  cs: 'contains',
  cd: 'contained in',
};

const opHints: Partial<Record<FilterOp, string>> = {
  like: 'a*b (* matches anything)',
  ilike: '*text* (any case)',
  is: 'null, true or false',
  in: 'a, b, c',
  cs: '{a,b} or {"k":1}',
  cd: '{a,b}',
};

const selectClass =
  'h-8 rounded-md border border-border-strong bg-surface px-2 text-sm text-fg focus-visible:outline-2 focus-visible:outline-ring';

interface Draft extends RowFilter {
  key: number;
}

let nextKey = 1;

export function FilterBuilder({
  columns,
  filters,
  onApply,
}: {
  columns: ColumnInfo[];
  filters: RowFilter[];
  onApply: (filters: RowFilter[]) => void;
}) {
  const [open, setOpen] = useState(false);
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const first = columns[0]?.columnName ?? '';
  const change = (next: boolean) => {
    if (next) {
      const current = filters.map((f) => ({ ...f, key: nextKey++ }));
      setDrafts(
        current.length ? current : [{ column: first, op: 'eq', value: '', key: nextKey++ }],
      );
    }
    setOpen(next);
  };
  const update = (key: number, patch: Partial<RowFilter>) =>
    setDrafts((ds) => ds.map((d) => (d.key === key ? { ...d, ...patch } : d)));
  const apply = () => {
    onApply(
      drafts
        .filter((d) => d.column && (d.value !== '' || d.op === 'eq' || d.op === 'neq'))
        .map(({ key: _key, ...f }) => f),
    );
    setOpen(false);
  };
  return (
    <Popover open={open} onOpenChange={change}>
      <PopoverTrigger asChild>
        <Button variant="outline" size="sm">
          <Filter aria-hidden />
          Filter
          {filters.length > 0 && (
            <span className="rounded bg-primary px-1 text-xs text-primary-fg">
              {filters.length}
            </span>
          )}
        </Button>
      </PopoverTrigger>
      <PopoverContent
        align="start"
        className="w-[min(40rem,calc(100vw-2rem))]"
        aria-label="Filters"
      >
        <form
          className="flex flex-col gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            apply();
          }}
        >
          <p className="text-xs text-muted">Rows matching every filter are shown.</p>
          {drafts.map((d, i) => (
            <div key={d.key} className="flex items-center gap-2" data-testid="filter-row">
              <select
                aria-label={`Filter ${i + 1} column`}
                className={`${selectClass} w-40`}
                value={d.column}
                onChange={(e) => update(d.key, { column: e.target.value })}
              >
                {columns.map((c) => (
                  <option key={c.columnName} value={c.columnName}>
                    {c.columnName}
                  </option>
                ))}
              </select>
              <select
                aria-label={`Filter ${i + 1} operator`}
                className={`${selectClass} w-32`}
                value={`${d.not ? 'not.' : ''}${d.op}`}
                onChange={(e) => {
                  const v = e.target.value;
                  const not = v.startsWith('not.');
                  update(d.key, { op: (not ? v.slice(4) : v) as FilterOp, not: not || undefined });
                }}
              >
                {filterOps.map((op) => (
                  <option key={op} value={op}>
                    {opLabels[op]}
                  </option>
                ))}
                <option value="not.is">is not</option>
                <option value="not.ilike">not ilike</option>
                <option value="not.in">not in</option>
              </select>
              <Input
                aria-label={`Filter ${i + 1} value`}
                className="min-w-0 flex-1"
                placeholder={opHints[d.op] ?? 'value'}
                value={d.value}
                onChange={(e) => update(d.key, { value: e.target.value })}
              />
              <Button
                type="button"
                variant="ghost"
                size="icon-sm"
                aria-label={`Remove filter ${i + 1}`}
                onClick={() => setDrafts((ds) => ds.filter((x) => x.key !== d.key))}
              >
                <X aria-hidden />
              </Button>
            </div>
          ))}
          <div className="flex items-center justify-between gap-2 pt-1">
            <Button
              type="button"
              variant="ghost"
              size="sm"
              onClick={() =>
                setDrafts((ds) => [...ds, { column: first, op: 'eq', value: '', key: nextKey++ }])
              }
            >
              <Plus aria-hidden />
              Add filter
            </Button>
            <div className="flex gap-2">
              {filters.length > 0 && (
                <Button
                  type="button"
                  variant="outline"
                  size="sm"
                  onClick={() => {
                    onApply([]);
                    setOpen(false);
                  }}
                >
                  Clear all
                </Button>
              )}
              <Button type="submit" size="sm">
                Apply
              </Button>
            </div>
          </div>
        </form>
      </PopoverContent>
    </Popover>
  );
}

/** An applied filter as a chip: `name ilike *ann*`. */
export function filterLabel(f: RowFilter): string {
  const op = f.not ? `not ${opLabels[f.op]}` : opLabels[f.op];
  return `${f.column} ${op} ${f.value}`;
}
