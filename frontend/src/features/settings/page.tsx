/**
 * Settings: the project URL and keys (copy, rotate), the settings that change at run time (CORS
 * origins) and the environment's read-only ones with their source; the tab and the environment
 * filter are in the URL (see ./search.ts).
 */
import { useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { Globe, KeyRound, Variable } from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { PageHeader } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { EnvironmentTab } from './environment-tab';
import { ProjectTab } from './project-tab';
import { RuntimeTab } from './runtime-tab';
import type { SettingsTab } from './search';

export const Route = createLazyRoute('/app/settings')({ component: SettingsPage });

const route = getRouteApi('/app/settings');

function SettingsPage() {
  const { tab = 'project' } = route.useSearch();
  const navigate = route.useNavigate();
  const commands = useMemo<Command[]>(
    () => [
      {
        id: 'settings-tab-runtime',
        label: 'Settings: CORS origins',
        group: 'Settings',
        icon: Globe,
        keywords: ['cors', 'origins', 'runtime', 'session', 'policy', 'lifetime', 'timeout'],
        run: () => void navigate({ search: { tab: 'runtime' } }),
      },
      {
        id: 'settings-tab-environment',
        label: 'Settings: Environment',
        group: 'Settings',
        icon: Variable,
        keywords: ['env', 'variables', 'configuration'],
        run: () => void navigate({ search: { tab: 'environment' } }),
      },
    ],
    // The palette's entries are registered once; navigate reads the current location anyway.
    [],
  );
  useRegisterCommands('settings', commands);
  return (
    <>
      <PageHeader
        title="Settings"
        description="The project's URL and keys, the settings you can change while Kiln runs, and the ones it read from its environment."
      />
      <Tabs
        value={tab}
        onValueChange={(v) =>
          void navigate({
            search: (v as SettingsTab) === 'project' ? {} : { tab: v as SettingsTab },
          })
        }
      >
        <TabsList className="mb-2 w-full">
          <TabsTrigger value="project" className="inline-flex items-center gap-1.5">
            <KeyRound className="size-4" aria-hidden /> URL and keys
          </TabsTrigger>
          <TabsTrigger value="runtime" className="inline-flex items-center gap-1.5">
            <Globe className="size-4" aria-hidden /> CORS and run time
          </TabsTrigger>
          <TabsTrigger value="environment" className="inline-flex items-center gap-1.5">
            <Variable className="size-4" aria-hidden /> Environment
          </TabsTrigger>
        </TabsList>
        <TabsContent value="project">
          <ProjectTab />
        </TabsContent>
        <TabsContent value="runtime">
          <RuntimeTab />
        </TabsContent>
        <TabsContent value="environment">
          <EnvironmentTab />
        </TabsContent>
      </Tabs>
    </>
  );
}
