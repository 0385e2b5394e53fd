/**
 * The Database area's URL state (typed search params). PLACEHOLDER: the helper who builds this area
 * replaces these fields with the page's real state (table, filters, sort, page).
 */
import { optionalString } from '../../lib/search';

export interface DatabaseSearch {
  tab?: string;
}

export function databaseSearch(s: Record<string, unknown>): DatabaseSearch {
  return { tab: optionalString(s.tab) };
}
