/**
 * The SQL editor area's URL state (typed search params). PLACEHOLDER: the helper who builds this area
 * replaces these fields with the page's real state (tab, snippet).
 */
import { optionalString } from '../../lib/search';

export interface SqlSearch {
  tab?: string;
}

export function sqlSearch(s: Record<string, unknown>): SqlSearch {
  return { tab: optionalString(s.tab) };
}
