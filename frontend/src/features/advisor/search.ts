/**
 * The Advisor area's URL state (typed search params). PLACEHOLDER: the helper who builds this area
 * replaces these fields with the page's real state (category, severity).
 */
import { optionalString } from '../../lib/search';

export interface AdvisorSearch {
  tab?: string;
}

export function advisorSearch(s: Record<string, unknown>): AdvisorSearch {
  return { tab: optionalString(s.tab) };
}
