/**
 * Realtime: channels (names or `%` patterns, enabled, webhook URLs), a live inspector that
 * subscribes to a channel as the admin over Socket.IO (messages, database changes and presence as
 * they arrive, a publish box), the stored message history, and the webhook deliveries with
 * replay. The tab and every filter are in the URL (see ./search.ts).
 */
import { lazy, Suspense, useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { History, ListTree, Radio, Webhook } from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { PageHeader, Skeleton } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { ChannelsTab } from './channels-tab';
import { useChannels } from './hooks';
import { DeliveriesTab } from './deliveries-tab';
import { MessagesTab } from './messages-tab';
import type { RealtimeTab } from './search';

// The inspector brings socket.io-client: loaded when its tab is first opened.
const InspectorTab = lazy(() =>
  import('./inspector-tab').then((m) => ({ default: m.InspectorTab })),
);

export const Route = createLazyRoute('/app/realtime')({ component: RealtimePage });

const route = getRouteApi('/app/realtime');

const tabs: { value: RealtimeTab; label: string; icon: typeof Radio }[] = [
  { value: 'channels', label: 'Channels', icon: ListTree },
  { value: 'inspector', label: 'Inspector', icon: Radio },
  { value: 'messages', label: 'Messages', icon: History },
  { value: 'deliveries', label: 'Webhook deliveries', icon: Webhook },
];

/** One palette entry per channel name (patterns cannot be subscribed to as they are). */
function useChannelCommands() {
  const channels = useChannels();
  const navigate = route.useNavigate();
  const commands = useMemo<Command[]>(
    () =>
      (channels.data ?? [])
        .filter((c) => !c.pattern.includes('%'))
        .map((c) => ({
          id: `realtime-channel:${c.id}`,
          group: 'Channels',
          label: `Inspect ${c.pattern}`,
          keywords: ['realtime', 'channel', 'subscribe'],
          icon: Radio,
          run: () => void navigate({ search: { tab: 'inspector', channel: c.pattern } }),
        })),
    [channels.data, navigate],
  );
  useRegisterCommands('realtime-channels', commands);
}

function RealtimePage() {
  const { tab = 'channels' } = route.useSearch();
  const navigate = route.useNavigate();
  const commands = useMemo<Command[]>(
    () =>
      tabs
        .filter((t) => t.value !== 'channels')
        .map((t) => ({
          id: `realtime-tab-${t.value}`,
          label: `Realtime: ${t.label}`,
          group: 'Realtime',
          icon: t.icon,
          keywords: ['realtime', 'socket', t.value],
          run: () => void navigate({ search: { tab: t.value } }),
        })),
    // Registered once; navigate reads the current location anyway.
    [],
  );
  useRegisterCommands('realtime', commands);
  useChannelCommands();
  return (
    <>
      <PageHeader
        title="Realtime"
        description="Channels, a live inspector over Socket.IO, the stored message history and webhook deliveries."
      />
      <Tabs
        value={tab}
        onValueChange={(v) =>
          void navigate({
            search: (v as RealtimeTab) === 'channels' ? {} : { tab: v as RealtimeTab },
          })
        }
      >
        <TabsList className="mb-2 w-full">
          {tabs.map((t) => (
            <TabsTrigger key={t.value} value={t.value} className="inline-flex items-center gap-1.5">
              <t.icon className="size-4" aria-hidden /> {t.label}
            </TabsTrigger>
          ))}
        </TabsList>
        <TabsContent value="channels">
          <ChannelsTab />
        </TabsContent>
        <TabsContent value="inspector">
          <Suspense fallback={<Skeleton className="h-64 w-full" />}>
            <InspectorTab />
          </Suspense>
        </TabsContent>
        <TabsContent value="messages">
          <MessagesTab />
        </TabsContent>
        <TabsContent value="deliveries">
          <DeliveriesTab />
        </TabsContent>
      </Tabs>
    </>
  );
}
