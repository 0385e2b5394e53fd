/**
 * The Settings area's URL state: the tab, and the environment list's filter (text and source).
 * Loaded with the route tree: no runtime imports of shared-schemas.
 */
import { optionalEnum, optionalString } from '../../lib/search';

export const settingsTabs = ['project', 'runtime', 'environment'] as const;
export type SettingsTab = (typeof settingsTabs)[number];

export const environmentSources = ['environment', 'default'] as const;
export type EnvironmentSource = (typeof environmentSources)[number];

export interface SettingsSearch {
  tab?: SettingsTab;
  /** Environment tab: text matched against the variable's name and value. */
  q?: string;
  /** Environment tab: only the variables set in the environment, or only the defaults. */
  source?: EnvironmentSource;
}

export function settingsSearch(s: Record<string, unknown>): SettingsSearch {
  return {
    tab: optionalEnum(s.tab, settingsTabs),
    q: optionalString(s.q),
    source: optionalEnum(s.source, environmentSources),
  };
}
