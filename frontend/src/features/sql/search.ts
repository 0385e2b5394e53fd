/**
 * The SQL editor's URL state: the open editor tab, the snippet it shows, the side panel (snippets
 * or history), the snippet search and the history's filter and page. The tabs' contents are
 * drafts kept in localStorage (./tabs.ts), not in the URL.
 */
import { optionalEnum, optionalInt, optionalString } from '../../lib/search';

export const sqlPanels = ['snippets', 'history'] as const;
export type SqlPanel = (typeof sqlPanels)[number];
export const historyStatuses = ['success', 'error'] as const;
export type HistoryStatus = (typeof historyStatuses)[number];

export interface SqlSearch {
  /** The active editor tab's id. */
  tab?: string;
  /** A saved snippet to show (opened into a tab when no tab holds it yet). */
  snippet?: string;
  panel?: SqlPanel;
  /** Snippet search text. */
  q?: string;
  /** History filter by status. */
  status?: HistoryStatus;
  /** History page offset. */
  offset?: number;
}

export function sqlSearch(s: Record<string, unknown>): SqlSearch {
  return {
    tab: optionalString(s.tab),
    snippet: optionalString(s.snippet),
    panel: optionalEnum(s.panel, sqlPanels),
    q: optionalString(s.q),
    status: optionalEnum(s.status, historyStatuses),
    offset: optionalInt(s.offset),
  };
}
