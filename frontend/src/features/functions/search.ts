/**
 * The Functions area's URL state: the tab (functions or secrets), the open function and its view
 * (code, test, logs), and whether its live log is paused. Loaded with the route tree: no runtime
 * imports of shared-schemas.
 */
import { optionalEnum, optionalString } from '../../lib/search';

export const functionsTabs = ['functions', 'secrets'] as const;
export type FunctionsTab = (typeof functionsTabs)[number];

export const functionViews = ['code', 'test', 'logs'] as const;
export type FunctionView = (typeof functionViews)[number];

export interface FunctionsSearch {
  /** Secrets, or the functions (the default). */
  tab?: FunctionsTab;
  /** The slug of the function open (the list when absent). */
  fn?: string;
  /** The open function's view: its code (the default), the test panel or its live log. */
  view?: FunctionView;
  /** The live log stopped (it follows new lines by default). */
  paused?: boolean;
}

export function functionsSearch(s: Record<string, unknown>): FunctionsSearch {
  return {
    tab: optionalEnum(s.tab, functionsTabs),
    fn: optionalString(s.fn),
    view: optionalEnum(s.view, functionViews),
    paused: s.paused === true || s.paused === 'true' ? true : undefined,
  };
}
