/**
 * The Authentication area's URL state (typed search params). PLACEHOLDER: the helper who builds this area
 * replaces these fields with the page's real state (tab, search, page).
 */
import { optionalString } from '../../lib/search';

export interface AuthSearch {
  tab?: string;
}

export function authSearch(s: Record<string, unknown>): AuthSearch {
  return { tab: optionalString(s.tab) };
}
