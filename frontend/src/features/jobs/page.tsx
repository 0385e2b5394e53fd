/**
 * Jobs: the background job queues with their per-status counts and recent failures (retry,
 * cancel), every job one page at a time (queue and status filters), and the schedules with their
 * next runs, a cron field explained in words with the next five times, pause/resume, run now and
 * each schedule's run logs. The tab and every filter are in the URL (see ./search.ts).
 */
import { useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { CalendarClock, Layers, ListChecks } from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { PageHeader } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { JobsTab } from './jobs-tab';
import { QueuesTab } from './queues-tab';
import { SchedulesTab } from './schedules-tab';
import type { JobsTab as Tab } from './search';

export const Route = createLazyRoute('/app/jobs')({ component: JobsPage });

const route = getRouteApi('/app/jobs');

const tabs: { value: Tab; label: string; icon: typeof Layers }[] = [
  { value: 'queues', label: 'Queues', icon: Layers },
  { value: 'jobs', label: 'Jobs', icon: ListChecks },
  { value: 'schedules', label: 'Schedules', icon: CalendarClock },
];

function JobsPage() {
  const { tab = 'queues' } = route.useSearch();
  const navigate = route.useNavigate();
  const commands = useMemo<Command[]>(
    () =>
      tabs
        .filter((t) => t.value !== 'queues')
        .map((t) => ({
          id: `jobs-tab-${t.value}`,
          label: `Jobs: ${t.label}`,
          group: 'Jobs',
          icon: t.icon,
          keywords: ['jobs', 'queue', 'cron', t.value],
          run: () => void navigate({ search: { tab: t.value } }),
        })),
    // Registered once; navigate reads the current location anyway.
    [],
  );
  useRegisterCommands('jobs', commands);
  return (
    <>
      <PageHeader
        title="Jobs"
        description="Background job queues, their failures, and schedules that run on a cron expression."
      />
      <Tabs
        value={tab}
        onValueChange={(v) =>
          void navigate({ search: (v as Tab) === 'queues' ? {} : { tab: v as Tab } })
        }
      >
        <TabsList className="mb-2 w-full">
          {tabs.map((t) => (
            <TabsTrigger key={t.value} value={t.value} className="inline-flex items-center gap-1.5">
              <t.icon className="size-4" aria-hidden /> {t.label}
            </TabsTrigger>
          ))}
        </TabsList>
        <TabsContent value="queues">
          <QueuesTab />
        </TabsContent>
        <TabsContent value="jobs">
          <JobsTab />
        </TabsContent>
        <TabsContent value="schedules">
          <SchedulesTab />
        </TabsContent>
      </Tabs>
    </>
  );
}
