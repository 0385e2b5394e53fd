/**
 * The Authentication area's URL state: the tab, and per tab what a shared link should reopen
 * (the users' search and page, the user whose details are open, the email template edited).
 * This file is loaded with the route tree (not lazily): no runtime imports of shared-schemas.
 */
import { optionalEnum, optionalInt, optionalString } from '../../lib/search';

export const authTabs = ['users', 'settings', 'oauth', 'email'] as const;
export type AuthTab = (typeof authTabs)[number];

export interface AuthSearch {
  tab?: AuthTab;
  /** Users: the search text (email, name or id). */
  q?: string;
  /** Users: the first row of the page shown. */
  offset?: number;
  /** Users: the user whose detail sheet is open. */
  user?: string;
  /** Email: the template being edited (checked against the template types by the page). */
  template?: string;
}

export function authSearch(s: Record<string, unknown>): AuthSearch {
  return {
    tab: optionalEnum(s.tab, authTabs),
    q: optionalString(s.q),
    offset: optionalInt(s.offset),
    user: optionalString(s.user),
    template: optionalString(s.template),
  };
}
