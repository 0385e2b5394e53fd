/** The overview's URL state: which "Connect" snippet is shown. */
import { optionalEnum } from '../../lib/search';

export const connectTabs = ['sdk', 'curl', 'postgres'] as const;
export type ConnectTab = (typeof connectTabs)[number];

export interface OverviewSearch {
  connect?: ConnectTab;
}

export function overviewSearch(s: Record<string, unknown>): OverviewSearch {
  return { connect: optionalEnum(s.connect, connectTabs) };
}
