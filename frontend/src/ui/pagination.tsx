import { ChevronLeft, ChevronRight } from 'lucide-react';
import { Button } from './button';

export interface PaginationProps {
  offset: number;
  limit: number;
  /** Total rows, or undefined when unknown (then "next" stays enabled while pages are full). */
  total?: number;
  /** Rows on the current page (to tell the last page when the total is unknown). */
  pageRows?: number;
  /** Marks the total as the planner's estimate. */
  estimated?: boolean;
  onOffsetChange: (offset: number) => void;
}

/** Server-side paging: the caller keeps offset/limit in the URL and fetches one page. */
export function Pagination({
  offset,
  limit,
  total,
  pageRows,
  estimated,
  onOffsetChange,
}: PaginationProps) {
  const first = total === 0 ? 0 : offset + 1;
  const last = offset + (pageRows ?? Math.min(limit, Math.max(0, (total ?? limit) - offset)));
  const hasNext = total !== undefined ? offset + limit < total : (pageRows ?? 0) >= limit;
  const fmt = (n: number) => n.toLocaleString('en-US');
  return (
    <div className="flex items-center justify-between gap-3 text-sm text-muted">
      <span aria-live="polite">
        {first}–{last}
        {total !== undefined && ` of ${estimated ? '~' : ''}${fmt(total)}`}
      </span>
      <div className="flex items-center gap-1">
        <Button
          variant="outline"
          size="icon-sm"
          aria-label="Previous page"
          disabled={offset === 0}
          onClick={() => onOffsetChange(Math.max(0, offset - limit))}
        >
          <ChevronLeft aria-hidden />
        </Button>
        <Button
          variant="outline"
          size="icon-sm"
          aria-label="Next page"
          disabled={!hasNext}
          onClick={() => onOffsetChange(offset + limit)}
        >
          <ChevronRight aria-hidden />
        </Button>
      </div>
    </div>
  );
}
