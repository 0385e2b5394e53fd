/**
 * Logs: the explorer (one source or all, text, level and time range, newest first with "load
 * older", a line's detail in a sheet) and the audit trail of admin actions; the tab and every
 * filter are in the URL (see ./search.ts).
 */
import { useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { History, ScrollText } from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { PageHeader } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { AuditTab } from './audit-tab';
import { ExplorerTab } from './explorer-tab';
import type { LogsTab } from './search';

export const Route = createLazyRoute('/app/logs')({ component: LogsPage });

const route = getRouteApi('/app/logs');

function LogsPage() {
  const { tab = 'lines' } = route.useSearch();
  const navigate = route.useNavigate();
  const commands = useMemo<Command[]>(
    () => [
      {
        id: 'logs-tab-audit',
        label: 'Logs: Audit trail',
        group: 'Logs',
        icon: History,
        keywords: ['audit', 'admin actions'],
        run: () => void navigate({ search: { tab: 'audit' } }),
      },
    ],
    // The palette's entries are registered once; navigate reads the current location anyway.
    [],
  );
  useRegisterCommands('logs', commands);
  return (
    <>
      <PageHeader
        title="Logs"
        description="API access, edge functions, authentication and PostgreSQL lines, and the audit trail of admin actions."
      />
      <Tabs
        value={tab}
        onValueChange={(v) =>
          void navigate({ search: (v as LogsTab) === 'audit' ? { tab: 'audit' } : {} })
        }
      >
        <TabsList className="mb-2 w-full">
          <TabsTrigger value="lines" className="inline-flex items-center gap-1.5">
            <ScrollText className="size-4" aria-hidden /> Explorer
          </TabsTrigger>
          <TabsTrigger value="audit" className="inline-flex items-center gap-1.5">
            <History className="size-4" aria-hidden /> Audit trail
          </TabsTrigger>
        </TabsList>
        <TabsContent value="lines">
          <ExplorerTab />
        </TabsContent>
        <TabsContent value="audit">
          <AuditTab />
        </TabsContent>
      </Tabs>
    </>
  );
}
