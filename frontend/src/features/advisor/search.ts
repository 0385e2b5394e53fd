/** The Advisor area's URL state: the category shown (all when absent). */
import { optionalEnum } from '../../lib/search';

export const advisorCategories = ['security', 'performance', 'health'] as const;
export type AdvisorCategory = (typeof advisorCategories)[number];

export interface AdvisorSearch {
  category?: AdvisorCategory;
}

export function advisorSearch(s: Record<string, unknown>): AdvisorSearch {
  return { category: optionalEnum(s.category, advisorCategories) };
}
