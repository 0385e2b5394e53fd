/**
 * AI: a playground (streamed chat with a model picker, tool calls and token counts), the
 * gateway's configuration (enabled and default models per modality, system prompt, per-user
 * limits, the upstream and its key) and usage charts (tokens and requests per day, by model or
 * by user). The tab and each view's choices are in the URL (see ./search.ts).
 */
import { lazy, Suspense, useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { BarChart3, MessagesSquare, SlidersHorizontal } from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { PageHeader, Skeleton } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { ConfigTab } from './config-tab';
import { useChat } from './hooks';
import { PlaygroundTab } from './playground-tab';
import type { AiTab } from './search';

export const Route = createLazyRoute('/app/ai')({ component: AiPage });

const route = getRouteApi('/app/ai');

// The charts and their tables load when the Usage tab is first opened.
const UsageTab = lazy(() => import('./usage-tab').then((m) => ({ default: m.UsageTab })));

function AiPage() {
  const { tab = 'playground' } = route.useSearch();
  const navigate = route.useNavigate();
  // Here rather than in the tab: the conversation survives a look at the other tabs.
  const chat = useChat();
  const commands = useMemo<Command[]>(
    () => [
      {
        id: 'ai-tab-config',
        label: 'AI: Configuration',
        group: 'AI',
        icon: SlidersHorizontal,
        keywords: ['models', 'system prompt', 'limits'],
        run: () => void navigate({ search: { tab: 'config' } }),
      },
      {
        id: 'ai-tab-usage',
        label: 'AI: Usage',
        group: 'AI',
        icon: BarChart3,
        keywords: ['tokens', 'requests', 'charts'],
        run: () => void navigate({ search: { tab: 'usage' } }),
      },
    ],
    // The palette's entries are registered once; navigate reads the current location anyway.
    [],
  );
  useRegisterCommands('ai', commands);
  return (
    <>
      <PageHeader
        title="AI"
        description="Try the models your users reach through /api/ai, choose which ones they may use and how much, and see what they used."
      />
      <Tabs
        value={tab}
        onValueChange={(v) =>
          void navigate({
            search: (s) => ({
              model: s.model,
              tab: (v as AiTab) === 'playground' ? undefined : (v as AiTab),
            }),
          })
        }
      >
        <TabsList className="mb-2 w-full">
          <TabsTrigger value="playground" className="inline-flex items-center gap-1.5">
            <MessagesSquare className="size-4" aria-hidden /> Playground
          </TabsTrigger>
          <TabsTrigger value="config" className="inline-flex items-center gap-1.5">
            <SlidersHorizontal className="size-4" aria-hidden /> Configuration
          </TabsTrigger>
          <TabsTrigger value="usage" className="inline-flex items-center gap-1.5">
            <BarChart3 className="size-4" aria-hidden /> Usage
          </TabsTrigger>
        </TabsList>
        <TabsContent value="playground">
          <PlaygroundTab chat={chat} />
        </TabsContent>
        <TabsContent value="config">
          <ConfigTab />
        </TabsContent>
        <TabsContent value="usage">
          <Suspense fallback={<Skeleton className="h-72 w-full" />}>
            <UsageTab />
          </Suspense>
        </TabsContent>
      </Tabs>
    </>
  );
}
