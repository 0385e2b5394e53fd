/**
 * The live inspector: subscribes to one channel (in the URL) as the admin and shows what arrives
 * (messages, row changes, presence, errors), the channel's members, and a box to publish.
 */
import { useEffect, useMemo, useState } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { Eraser, Radio, Send, Unplug, Users } from 'lucide-react';
import { toast } from 'sonner';
import { Button } from '../../ui/button';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Textarea } from '../../ui/input';
import { Badge, Card, EmptyState, type BadgeTone } from '../../ui/misc';
import { Select } from '../../ui/select';
import {
  FEED_LIMIT,
  useInspector,
  type ConnectionState,
  type FeedEntry,
  type FeedKind,
  type Member,
} from './socket';

const route = getRouteApi('/app/realtime');

const channelName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.:@/-]{1,255}$/, '1-255 letters, digits and _ . : @ / - (no % here)');

const connectionBadge: Record<ConnectionState, { tone: BadgeTone; label: string }> = {
  connecting: { tone: 'neutral', label: 'Connecting…' },
  connected: { tone: 'success', label: 'Connected' },
  disconnected: { tone: 'warning', label: 'Disconnected' },
  refused: { tone: 'danger', label: 'Refused' },
};

const kindLabels: Record<FeedKind, string> = {
  message: 'Message',
  database: 'Database',
  presence: 'Presence',
  error: 'Error',
};
const kindTones: Record<FeedKind, BadgeTone> = {
  message: 'primary',
  database: 'info',
  presence: 'neutral',
  error: 'danger',
};

export function InspectorTab() {
  const { channel } = route.useSearch();
  const navigate = route.useNavigate();
  const inspector = useInspector(channel);
  const { connection, connectError, subscription } = inspector;
  const [show, setShow] = useState<'all' | FeedKind>('all');

  const form = useForm<{ channel: string }>({
    resolver: zodResolver(z.object({ channel: channelName })),
    defaultValues: { channel: channel ?? '' },
  });
  useEffect(() => form.reset({ channel: channel ?? '' }), [channel, form]);

  // Errors the server sends (a refused publish...) also pop up where the admin is looking.
  const lastError = inspector.feed.find((e) => e.kind === 'error');
  useEffect(() => {
    if (!lastError) return;
    const body = lastError.payload as { code?: string; message?: string } | undefined;
    toast.error(body?.message ?? 'Realtime error', { description: body?.code });
  }, [lastError]);

  const shown = useMemo(
    () => (show === 'all' ? inspector.feed : inspector.feed.filter((e) => e.kind === show)),
    [inspector.feed, show],
  );
  const badge = connectionBadge[connection];
  // Admins (the dashboard, the API key) publish under one user id: shown as "admin".
  const adminIds = useMemo(
    () =>
      new Set(
        inspector.members.flatMap((m) =>
          m.role === 'project_admin' && m.userId ? [m.userId] : [],
        ),
      ),
    [inspector.members],
  );
  const subscribed = subscription.state === 'subscribed';

  return (
    // Wide: subscription and events on the left, publish and presence on the right. Narrower:
    // subscription, then publish and presence side by side, then the events.
    <div className="grid grid-cols-1 items-start gap-4 xl:grid-cols-[minmax(0,1fr)_22rem] xl:grid-rows-[auto_1fr]">
      <Card
        className="min-w-0 xl:col-start-1 xl:row-start-1"
        title="Subscription"
        description="The inspector connects as the admin, like @insforge/sdk does: what the channel's subscribers receive shows up below."
        actions={
          <Badge tone={badge.tone} role="status" aria-label={`Connection: ${badge.label}`}>
            {badge.label}
          </Badge>
        }
      >
        <form
          className="flex flex-wrap items-start gap-2"
          onSubmit={(e) =>
            void form.handleSubmit((v) =>
              navigate({ search: (s) => ({ ...s, channel: v.channel.trim() }) }),
            )(e)
          }
        >
          <div className="min-w-56 flex-1">
            <FormField label="Channel" error={form.formState.errors.channel?.message}>
              <Input
                placeholder="chat:lobby"
                spellCheck={false}
                autoComplete="off"
                className="font-mono"
                {...form.register('channel')}
              />
            </FormField>
          </div>
          <div className="flex gap-2 pt-6">
            <Button type="submit" loading={subscription.state === 'subscribing'}>
              <Radio aria-hidden /> Subscribe
            </Button>
            {channel && (
              <Button
                variant="outline"
                onClick={() => void navigate({ search: (s) => ({ ...s, channel: undefined }) })}
              >
                <Unplug aria-hidden /> Leave
              </Button>
            )}
          </div>
        </form>
        <SubscriptionStatus inspector={inspector} />
        {connection === 'refused' && (
          <ErrorPanel
            className="mt-3"
            title="The realtime server refused the connection"
            error={new Error(connectError ?? 'Connection refused')}
            onRetry={inspector.reconnect}
          />
        )}
      </Card>
      <div className="grid min-w-0 grid-cols-1 content-start gap-4 md:grid-cols-2 xl:col-start-2 xl:row-span-2 xl:row-start-1 xl:grid-cols-1">
        <PublishCard
          disabled={!subscribed}
          channel={channel}
          onPublish={(event, payload) => inspector.publish(event, payload)}
        />
        <PresenceCard
          members={inspector.members}
          total={inspector.total}
          self={inspector.socketId}
          subscribed={subscribed}
        />
      </div>
      <Card
        className="min-w-0 xl:col-start-1 xl:row-start-2"
        title="Events"
        description={`Newest first; the last ${FEED_LIMIT} are kept while this page is open.`}
        actions={
          <>
            <Select
              aria-label="Show"
              className="h-7 w-36 text-xs"
              value={show}
              onValueChange={(v) => setShow(v as 'all' | FeedKind)}
              options={[
                { value: 'all', label: 'All events' },
                { value: 'message', label: 'Messages' },
                { value: 'database', label: 'Database changes' },
                { value: 'presence', label: 'Presence' },
                { value: 'error', label: 'Errors' },
              ]}
            />
            <Button
              size="sm"
              variant="outline"
              onClick={inspector.clear}
              disabled={!inspector.feed.length}
            >
              <Eraser aria-hidden /> Clear
            </Button>
          </>
        }
      >
        <Feed
          entries={shown}
          channel={subscribed ? subscription.channel : undefined}
          admins={adminIds}
        />
      </Card>
    </div>
  );
}

function SubscriptionStatus({ inspector }: { inspector: ReturnType<typeof useInspector> }) {
  const s = inspector.subscription;
  if (s.state === 'subscribed')
    return (
      <p className="mt-3 text-sm text-muted" role="status">
        Subscribed to <span className="font-mono text-fg">{s.channel}</span>
      </p>
    );
  if (s.state === 'refused')
    return (
      <ErrorPanel
        className="mt-3"
        title={`Could not subscribe to ${s.channel}`}
        error={new Error(`${s.message} (${s.code})`)}
      />
    );
  if (s.state === 'idle')
    return (
      <p className="mt-3 text-sm text-muted">
        Enter a channel an enabled channel row matches, e.g. a name from the Channels tab.
      </p>
    );
  return null;
}

function formatTime(iso: string): string {
  const d = new Date(iso);
  const hms = d.toLocaleTimeString('en-GB', { hour12: false });
  return `${hms}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function withoutMeta(payload: unknown): unknown {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return payload;
  const { meta: _meta, ...rest } = payload as Record<string, unknown>;
  return rest;
}

function senderOf(e: FeedEntry, admins: Set<string>): string | undefined {
  const meta = (e.payload as { meta?: { senderType?: string; senderId?: string } } | null)?.meta;
  if (!meta?.senderType) return undefined;
  if (meta.senderId && admins.has(meta.senderId)) return 'admin';
  return meta.senderId ? `${meta.senderType} ${meta.senderId}` : meta.senderType;
}

function Feed({
  entries,
  channel,
  admins,
}: {
  entries: FeedEntry[];
  channel?: string;
  admins: Set<string>;
}) {
  if (!entries.length)
    return (
      <EmptyState
        icon={Radio}
        title={channel ? `Waiting for events on ${channel}` : 'Not subscribed'}
        description={
          channel
            ? 'Publish with the Publish box, from an app with client.realtime.publish(), or from SQL with realtime.publish().'
            : 'Subscribe to a channel to watch its messages, presence and database changes live.'
        }
      />
    );
  return (
    <div role="log" aria-label="Events" className="-mx-4 -my-4 max-h-[32rem] overflow-auto">
      <ol className="divide-y divide-border">
        {entries.map((e) => {
          const sender = senderOf(e, admins);
          return (
            <li key={e.seq} className="px-4 py-2.5" aria-label={`${kindLabels[e.kind]} ${e.event}`}>
              <div className="flex flex-wrap items-center gap-2 text-xs">
                <time dateTime={e.receivedAt} className="font-mono text-muted tabular-nums">
                  {formatTime(e.receivedAt)}
                </time>
                <Badge tone={kindTones[e.kind]}>{kindLabels[e.kind]}</Badge>
                <span className="font-mono font-medium break-all">{e.event}</span>
                {sender && <span className="truncate text-muted">from {sender}</span>}
              </div>
              <pre className="mt-1.5 max-h-48 overflow-auto rounded bg-surface-2 px-2.5 py-1.5 font-mono text-xs break-all whitespace-pre-wrap">
                {JSON.stringify(withoutMeta(e.payload), null, 2)}
              </pre>
            </li>
          );
        })}
      </ol>
    </div>
  );
}

const publishSchema = z.object({
  event: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.:-]{1,255}$/, '1-255 letters, digits and _ . : -'),
  payload: z.string().superRefine((v, ctx) => {
    try {
      const parsed: unknown = JSON.parse(v || '{}');
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        ctx.addIssue({ code: 'custom', message: 'a JSON object, e.g. {"text": "hi"}' });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not JSON: ${(err as Error).message}` });
    }
  }),
});
type PublishValues = z.infer<typeof publishSchema>;

function PublishCard({
  disabled,
  channel,
  onPublish,
}: {
  disabled: boolean;
  channel?: string;
  onPublish: (event: string, payload: Record<string, unknown>) => void;
}) {
  const form = useForm<PublishValues>({
    resolver: zodResolver(publishSchema),
    defaultValues: { event: '', payload: '{\n  "text": "hello"\n}' },
  });
  const { errors } = form.formState;
  return (
    <Card
      title="Publish"
      description={
        channel ? (
          <>
            To <span className="font-mono">{channel}</span>, as the admin; every subscriber and
            webhook gets it.
          </>
        ) : (
          'Subscribe to a channel first.'
        )
      }
    >
      <form
        className="flex flex-col gap-3"
        aria-label="Publish a message"
        onSubmit={(e) =>
          void form.handleSubmit((v) =>
            onPublish(v.event.trim(), JSON.parse(v.payload || '{}') as Record<string, unknown>),
          )(e)
        }
      >
        <FormField label="Event" error={errors.event?.message}>
          <Input
            placeholder="e.g. new_message"
            spellCheck={false}
            autoComplete="off"
            className="font-mono"
            {...form.register('event')}
          />
        </FormField>
        <FormField label="Payload (JSON)" error={errors.payload?.message}>
          <Textarea
            rows={5}
            spellCheck={false}
            className="font-mono text-xs"
            {...form.register('payload')}
          />
        </FormField>
        <Button type="submit" disabled={disabled} className="self-end">
          <Send aria-hidden /> Publish
        </Button>
      </form>
    </Card>
  );
}

function PresenceCard({
  members,
  total,
  self,
  subscribed,
}: {
  members: Member[];
  total: number;
  self?: string;
  subscribed: boolean;
}) {
  return (
    <Card
      title="Presence"
      description={
        subscribed
          ? `${total} connected${members.length < total ? `, the first ${members.length} listed` : ''}`
          : 'Members of the subscribed channel.'
      }
    >
      {!subscribed || !members.length ? (
        <p className="flex items-center gap-2 text-sm text-muted">
          <Users className="size-4" aria-hidden /> {subscribed ? 'Nobody yet.' : 'Not subscribed.'}
        </p>
      ) : (
        <ul aria-label="Members" className="-my-1 flex flex-col divide-y divide-border">
          {members.map((m) => (
            <li key={m.presenceId} className="flex items-center gap-2 py-1.5 text-xs">
              <span className="min-w-0 flex-1">
                <span
                  className={
                    m.role === 'project_admin'
                      ? 'block truncate font-medium'
                      : 'block truncate font-mono'
                  }
                  title={m.userId ?? m.presenceId}
                >
                  {m.role === 'project_admin' ? 'Admin' : (m.userId ?? m.presenceId)}
                </span>
                <span className="text-muted">
                  {m.role === 'project_admin' ? 'admin' : m.userId ? 'user' : 'connection'} · joined{' '}
                  {new Date(m.joinedAt).toLocaleTimeString('en-GB', { hour12: false })}
                </span>
              </span>
              <Badge tone={m.role === 'project_admin' ? 'primary' : 'neutral'}>{m.role}</Badge>
              {m.presenceId === self && <Badge tone="success">you</Badge>}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
