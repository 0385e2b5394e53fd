/**
 * The Jobs area's URL state: the tab; the job list's queue and status filters and page; the
 * schedule whose run logs are open and the page of its logs. Loaded with the route tree: no
 * runtime imports of shared-schemas.
 */
import { optionalEnum, optionalInt, optionalString } from '../../lib/search';

export const jobsTabs = ['queues', 'jobs', 'schedules'] as const;
export type JobsTab = (typeof jobsTabs)[number];

export const jobStatuses = [
  'queued',
  'running',
  'failed',
  'succeeded',
  'dead',
  'cancelled',
] as const;
export type JobStatusFilter = (typeof jobStatuses)[number];

export interface JobsSearch {
  tab?: JobsTab;
  /** Jobs: queue and status filters, and the first row of the page. */
  queue?: string;
  status?: JobStatusFilter;
  offset?: number;
  /** Schedules: the schedule whose runs are shown, and the first row of its logs. */
  schedule?: string;
  loffset?: number;
}

export function jobsSearch(s: Record<string, unknown>): JobsSearch {
  return {
    tab: optionalEnum(s.tab, jobsTabs),
    queue: optionalString(s.queue),
    status: optionalEnum(s.status, jobStatuses),
    offset: optionalInt(s.offset),
    schedule: optionalString(s.schedule),
    loffset: optionalInt(s.loffset),
  };
}
