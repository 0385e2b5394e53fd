/**
 * The AI area's URL state: the tab; the playground's model; the usage charts' range, metric and
 * grouping. Loaded with the route tree: no runtime imports of shared-schemas.
 */
import { optionalEnum, optionalString } from '../../lib/search';

export const aiTabs = ['playground', 'config', 'usage'] as const;
export type AiTab = (typeof aiTabs)[number];

export const usageRanges = ['7', '30', '90'] as const;
export type UsageRange = (typeof usageRanges)[number];
/** The usage tab's range when none is in the URL. */
export const DEFAULT_USAGE_RANGE: UsageRange = '30';

export const usageMetrics = ['tokens', 'requests'] as const;
export type UsageMetric = (typeof usageMetrics)[number];

export const usageGroups = ['model', 'user'] as const;
export type UsageGroup = (typeof usageGroups)[number];

export interface AiSearch {
  tab?: AiTab;
  /** Playground: the chat model (the configured default, else the first enabled, when absent). */
  model?: string;
  /** Usage: the last 7, 30 or 90 days. */
  days?: UsageRange;
  /** Usage: tokens (default) or requests per day. */
  metric?: UsageMetric;
  /** Usage: stacked by model (default) or by user. */
  by?: UsageGroup;
}

export function aiSearch(s: Record<string, unknown>): AiSearch {
  return {
    tab: optionalEnum(s.tab, aiTabs),
    model: optionalString(s.model),
    days: optionalEnum(typeof s.days === 'number' ? String(s.days) : s.days, usageRanges),
    metric: optionalEnum(s.metric, usageMetrics),
    by: optionalEnum(s.by, usageGroups),
  };
}
