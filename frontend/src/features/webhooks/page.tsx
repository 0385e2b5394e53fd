/**
 * Webhooks: the incoming webhook endpoints (scheme, target, counts of received, repeated and
 * refused deliveries), the open endpoint's URL, secret and settings, and its recent deliveries
 * with their verification result and status; a delivery's headers and payload in a sheet. The
 * open endpoint, the status filter, the page and the open delivery are in the URL (./search.ts).
 */
import { useMemo, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { Eye, EyeOff, Plus, RotateCw, Trash2, Webhook } from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { formatCount, formatDateTime, formatRelative } from '../../lib/format';
import { queryKeys } from '../../lib/query';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { CopyButton } from '../../ui/copy-button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Label } from '../../ui/input';
import { Badge, Card, PageHeader, Skeleton, type BadgeTone } from '../../ui/misc';
import { Select } from '../../ui/select';
import { Sheet, SheetContent } from '../../ui/sheet';
import {
  DELIVERIES_PAGE,
  useDeleteEndpoint,
  useDeliveries,
  useDelivery,
  useEndpoint,
  useEndpoints,
  useRedeliver,
  useUpdateEndpoint,
  type DeliverySummary,
  type IncomingWebhook,
} from './hooks';
import { NewEndpointDialog } from './new-endpoint-dialog';
import { SCHEMES } from './schemes';
import { incomingStatuses, type IncomingStatus } from './search';

export const Route = createLazyRoute('/app/webhooks')({ component: WebhooksPage });

const route = getRouteApi('/app/webhooks');
const ANY = 'any';

const statusTones: Record<IncomingStatus, BadgeTone> = {
  stored: 'success',
  queued: 'info',
  unrouted: 'warning',
  refused: 'danger',
};

function targetText(t: IncomingWebhook['target']): string {
  if (t.type === 'queue') return `queue ${t.queue}`;
  if (t.type === 'function') return `function ${t.slug}`;
  return 'stored only';
}

function WebhooksPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const [creating, setCreating] = useState(false);
  const commands = useMemo<Command[]>(
    () => [
      {
        id: 'webhooks-new',
        label: 'New incoming webhook endpoint',
        group: 'Webhooks',
        icon: Webhook,
        keywords: ['webhook', 'incoming', 'endpoint', 'create'],
        run: () => setCreating(true),
      },
    ],
    [],
  );
  useRegisterCommands('webhooks', commands);
  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Endpoints other services deliver to: each delivery's signature is checked, the delivery stored once and handed to a job queue or a function."
        actions={
          <Button onClick={() => setCreating(true)}>
            <Plus aria-hidden /> New endpoint
          </Button>
        }
      />
      <div className="flex flex-col gap-6">
        <EndpointsTable
          selected={search.endpoint}
          onSelect={(name) => void navigate({ search: { endpoint: name } })}
          onCreate={() => setCreating(true)}
        />
        {search.endpoint && <EndpointDetail key={search.endpoint} name={search.endpoint} />}
      </div>
      <NewEndpointDialog open={creating} onOpenChange={setCreating} />
    </>
  );
}

function EndpointsTable({
  selected,
  onSelect,
  onCreate,
}: {
  selected: string | undefined;
  onSelect: (name: string) => void;
  onCreate: () => void;
}) {
  const endpoints = useEndpoints();
  const columns = useMemo<ColumnDef<IncomingWebhook, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Endpoint',
        cell: ({ row }) => (
          <span className="flex min-w-0 items-center gap-2">
            <button
              type="button"
              className="cursor-pointer truncate font-mono text-sm font-medium hover:underline"
              aria-current={row.original.name === selected ? 'true' : undefined}
              onClick={() => onSelect(row.original.name)}
            >
              {row.original.name}
            </button>
            {!row.original.enabled && <Badge tone="warning">off</Badge>}
          </span>
        ),
      },
      {
        id: 'scheme',
        header: 'Verification',
        size: 200,
        cell: ({ row }) => SCHEMES[row.original.verification.scheme].label,
      },
      {
        id: 'target',
        header: 'Hands to',
        size: 200,
        cell: ({ row }) => (
          <span className="block truncate text-muted" title={targetText(row.original.target)}>
            {targetText(row.original.target)}
          </span>
        ),
      },
      {
        id: 'received',
        header: 'Received',
        size: 90,
        cell: ({ row }) => (
          <span className="tabular-nums">{formatCount(row.original.counts.received)}</span>
        ),
      },
      {
        id: 'duplicates',
        header: 'Repeats',
        size: 90,
        cell: ({ row }) => (
          <span className="tabular-nums">{formatCount(row.original.counts.duplicates)}</span>
        ),
      },
      {
        id: 'refused',
        header: 'Refused',
        size: 90,
        cell: ({ row }) =>
          row.original.counts.refused ? (
            <Badge tone="danger" className="tabular-nums">
              {formatCount(row.original.counts.refused)}
            </Badge>
          ) : (
            <span className="text-muted tabular-nums">0</span>
          ),
      },
      {
        id: 'last',
        header: 'Last delivery',
        size: 140,
        cell: ({ row }) =>
          row.original.lastReceivedAt ? (
            <time
              dateTime={row.original.lastReceivedAt}
              title={formatDateTime(row.original.lastReceivedAt)}
              className="whitespace-nowrap text-muted"
            >
              {formatRelative(row.original.lastReceivedAt)}
            </time>
          ) : (
            <span className="text-muted">never</span>
          ),
      },
    ],
    [onSelect, selected],
  );
  return (
    <DataTable
      label="Incoming webhook endpoints"
      columns={columns}
      data={endpoints.data}
      getRowId={(e) => e.name}
      isLoading={endpoints.isLoading}
      error={endpoints.error}
      onRetry={() => void endpoints.refetch()}
      onRowClick={(e) => onSelect(e.name)}
      maxHeight="18rem"
      empty={{
        icon: Webhook,
        title: 'No endpoints yet',
        description:
          'Create one for each service that sends you webhooks (GitHub, Stripe, Resend, Svix…): it gets a URL and a secret to give the sender.',
        action: (
          <Button variant="outline" onClick={onCreate}>
            <Plus aria-hidden /> New endpoint
          </Button>
        ),
      }}
    />
  );
}

function EndpointDetail({ name }: { name: string }) {
  const endpoint = useEndpoint(name);
  const update = useUpdateEndpoint();
  const remove = useDeleteEndpoint();
  const navigate = route.useNavigate();
  const [showSecret, setShowSecret] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const e = endpoint.data;
  if (endpoint.error)
    return (
      <ErrorPanel
        error={endpoint.error}
        title={`Could not load the endpoint ${name}`}
        onRetry={() => void endpoint.refetch()}
      />
    );
  if (!e) return <Skeleton className="h-48" />;
  const deliveryUrl = e.verification.scheme === 'none' ? `${e.url}/${e.secret}` : e.url;
  const v = e.verification;
  return (
    <>
      <Card
        title={<span className="font-mono">{e.name}</span>}
        description={e.description ?? undefined}
        actions={
          <>
            <div className="flex items-center gap-2">
              <Label htmlFor="endpoint-enabled" className="text-sm">
                Receiving
              </Label>
              <Switch
                id="endpoint-enabled"
                checked={e.enabled}
                disabled={update.isPending}
                onCheckedChange={(enabled) =>
                  void update.mutateAsync({ name, body: { enabled } }).catch(() => undefined)
                }
              />
            </div>
            <Button variant="danger" size="sm" onClick={() => setDeleting(true)}>
              <Trash2 aria-hidden /> Delete
            </Button>
          </>
        }
      >
        <dl className="grid grid-cols-[max-content_minmax(0,1fr)] items-center gap-x-6 gap-y-3 text-sm">
          <dt className="text-muted">Delivery URL</dt>
          <dd className="flex min-w-0 items-center gap-1">
            <code className="truncate font-mono text-xs" title={e.url}>
              {e.verification.scheme === 'none' && !showSecret ? `${e.url}/••••••••` : deliveryUrl}
            </code>
            <CopyButton value={deliveryUrl} label="delivery URL" />
          </dd>
          <dt className="text-muted">Secret</dt>
          <dd className="flex min-w-0 items-center gap-1">
            <code className="truncate font-mono text-xs">
              {showSecret ? e.secret : '•'.repeat(24)}
            </code>
            <Button
              size="icon-sm"
              variant="ghost"
              aria-label={showSecret ? 'Hide the secret' : 'Show the secret'}
              aria-pressed={showSecret}
              onClick={() => setShowSecret((s) => !s)}
            >
              {showSecret ? <EyeOff aria-hidden /> : <Eye aria-hidden />}
            </Button>
            <CopyButton value={e.secret} label="secret" />
          </dd>
          <dt className="text-muted">Verification</dt>
          <dd>
            {SCHEMES[v.scheme].label}
            {v.scheme === 'hmac' && (
              <span className="text-muted">
                {' '}
                — <code className="font-mono text-xs">{v.header}</code>, {v.encoding}
                {v.prefix && (
                  <>
                    , prefix <code className="font-mono text-xs">{v.prefix}</code>
                  </>
                )}
              </span>
            )}
            {(v.scheme === 'standard-webhooks' || v.scheme === 'stripe') && (
              <span className="text-muted"> — replay window {e.replayWindowSeconds} s</span>
            )}
          </dd>
          <dt className="text-muted">Idempotency key</dt>
          <dd>
            {e.idempotencyKey ? (
              <code className="font-mono text-xs">{e.idempotencyKey}</code>
            ) : (
              <span className="text-muted">none (every delivery is handed on)</span>
            )}
          </dd>
          <dt className="text-muted">Hands to</dt>
          <dd>{targetText(e.target)}</dd>
        </dl>
      </Card>
      <Deliveries name={name} handsOn={e.target.type !== 'none'} />
      <ConfirmDialog
        open={deleting}
        onOpenChange={setDeleting}
        title={`Delete ${name}?`}
        description="Its deliveries go with it, and senders get 404 from then on."
        confirmLabel="Delete endpoint"
        destructive
        typeToConfirm={name}
        onConfirm={async () => {
          await remove.mutateAsync(name);
          void navigate({ search: {} });
        }}
      />
    </>
  );
}

function Deliveries({ name, handsOn }: { name: string; handsOn: boolean }) {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const offset = search.offset ?? 0;
  const deliveries = useDeliveries(name, { status: search.status, offset });
  const client = useQueryClient();
  const open = (id: string | undefined) =>
    void navigate({ search: (s) => ({ ...s, delivery: id }) });
  const columns = useMemo<ColumnDef<DeliverySummary, unknown>[]>(
    () => [
      {
        id: 'time',
        header: 'Received',
        size: 170,
        cell: ({ row }) => (
          <button
            type="button"
            className="cursor-pointer whitespace-nowrap text-muted hover:text-fg hover:underline"
            aria-label={`Open the delivery of ${formatDateTime(row.original.receivedAt)}`}
            onClick={() => void navigate({ search: (s) => ({ ...s, delivery: row.original.id }) })}
          >
            <time dateTime={row.original.receivedAt}>
              {formatDateTime(row.original.receivedAt)}
            </time>
          </button>
        ),
      },
      {
        id: 'status',
        header: 'Status',
        size: 110,
        cell: ({ row }) => (
          <Badge tone={statusTones[row.original.status]}>{row.original.status}</Badge>
        ),
      },
      {
        id: 'verification',
        header: 'Verification',
        size: 230,
        cell: ({ row }) => (
          <span
            className={
              row.original.status === 'refused'
                ? 'font-mono text-xs text-danger'
                : 'font-mono text-xs'
            }
          >
            {row.original.verification}
          </span>
        ),
      },
      {
        id: 'key',
        header: 'Idempotency key',
        cell: ({ row }) => (
          <span className="flex min-w-0 items-center gap-1.5">
            <span className="truncate font-mono text-xs" title={row.original.idempotencyKey ?? ''}>
              {row.original.idempotencyKey ?? '—'}
            </span>
            {row.original.duplicates > 0 && (
              <Badge tone="neutral" title="Repeats answered 200 and not handed on">
                ×{row.original.duplicates + 1}
              </Badge>
            )}
          </span>
        ),
      },
      {
        id: 'job',
        header: 'Job',
        size: 120,
        cell: ({ row }) =>
          row.original.job ? (
            <span className="text-xs">{row.original.job.status ?? 'purged'}</span>
          ) : (
            <span className="text-xs text-muted">{row.original.error ? 'no queue' : '—'}</span>
          ),
      },
      {
        id: 'size',
        header: 'Size',
        size: 90,
        cell: ({ row }) => (
          <span className="text-xs tabular-nums">{formatCount(row.original.size)} B</span>
        ),
      },
    ],
    [navigate],
  );
  return (
    <Card
      title="Deliveries"
      description="Newest first, refused ones included (only their time, size and reason are kept)."
      actions={
        <Button
          variant="outline"
          size="sm"
          // The endpoints' counts too.
          onClick={() => void client.invalidateQueries({ queryKey: queryKeys.webhooks.all })}
          loading={deliveries.isFetching && !deliveries.isLoading}
        >
          <RotateCw aria-hidden /> Refresh
        </Button>
      }
    >
      <div className="flex flex-col gap-3">
        <div className="w-48">
          <FormField label="Status">
            <Select
              value={search.status ?? ANY}
              onValueChange={(s) =>
                void navigate({
                  search: (p) => ({
                    ...p,
                    status: s === ANY ? undefined : (s as IncomingStatus),
                    offset: undefined,
                  }),
                })
              }
              options={[
                { value: ANY, label: 'Any status' },
                ...incomingStatuses.map((s) => ({ value: s, label: s })),
              ]}
            />
          </FormField>
        </div>
        <DataTable
          label="Deliveries"
          columns={columns}
          data={deliveries.data?.data}
          getRowId={(d) => d.id}
          isLoading={deliveries.isLoading}
          error={deliveries.error}
          onRetry={() => void deliveries.refetch()}
          onRowClick={(d) => open(d.id)}
          maxHeight="calc(100vh - 24rem)"
          empty={{
            icon: Webhook,
            title: 'No deliveries',
            description: search.status
              ? 'No delivery has this status.'
              : 'Give the sender the delivery URL and the secret; what it sends shows up here.',
          }}
          pagination={{
            offset,
            limit: DELIVERIES_PAGE,
            total: deliveries.data?.pagination.total,
            onOffsetChange: (o) =>
              void navigate({ search: (s) => ({ ...s, offset: o || undefined }) }),
          }}
        />
      </div>
      <DeliverySheet
        name={name}
        id={search.delivery}
        handsOn={handsOn}
        onClose={() => open(undefined)}
      />
    </Card>
  );
}

function DeliverySheet({
  name,
  id,
  handsOn,
  onClose,
}: {
  name: string;
  id: string | undefined;
  /** The endpoint has a target: a stored delivery can be handed on again. */
  handsOn: boolean;
  onClose: () => void;
}) {
  const delivery = useDelivery(name, id);
  const redeliver = useRedeliver();
  const d = delivery.data;
  return (
    <Sheet open={Boolean(id)} onOpenChange={(o) => !o && onClose()}>
      <SheetContent
        title="Delivery"
        description={d ? `${formatDateTime(d.receivedAt)} · ${d.verification}` : undefined}
        footer={
          d &&
          handsOn &&
          d.status !== 'refused' && (
            <Button
              variant="outline"
              loading={redeliver.isPending}
              onClick={() => void redeliver.mutateAsync({ name, id: d.id }).catch(() => undefined)}
            >
              <RotateCw aria-hidden /> Hand on again
            </Button>
          )
        }
      >
        {delivery.error ? (
          <ErrorPanel
            error={delivery.error}
            title="Could not load the delivery"
            onRetry={() => void delivery.refetch()}
          />
        ) : !d ? (
          <Skeleton className="h-64" />
        ) : (
          <div className="flex flex-col gap-4 text-sm">
            <div className="flex flex-wrap gap-2">
              <Badge tone={statusTones[d.status]}>{d.status}</Badge>
              {d.job && <Badge tone="info">job {d.job.status ?? 'purged'}</Badge>}
              {d.duplicates > 0 && (
                <Badge tone="neutral">
                  {d.duplicates} {d.duplicates === 1 ? 'repeat' : 'repeats'}
                </Badge>
              )}
            </div>
            {d.error && <p className="text-danger">{d.error}</p>}
            <section aria-label="Headers">
              <h3 className="mb-1.5 text-xs font-semibold text-muted uppercase">Headers</h3>
              {d.headers ? (
                <dl className="grid grid-cols-[max-content_minmax(0,1fr)] gap-x-4 gap-y-1 font-mono text-xs">
                  {Object.entries(d.headers).map(([k, value]) => (
                    <div key={k} className="contents">
                      <dt className="text-muted">{k}</dt>
                      <dd className="break-all">{value}</dd>
                    </div>
                  ))}
                </dl>
              ) : (
                <p className="text-muted">Not kept for a refused delivery.</p>
              )}
            </section>
            <section aria-label="Payload">
              <h3 className="mb-1.5 text-xs font-semibold text-muted uppercase">Payload</h3>
              {d.status === 'refused' ? (
                <p className="text-muted">Not kept for a refused delivery.</p>
              ) : (
                <pre className="max-h-96 overflow-auto rounded-md border border-border bg-surface-2 p-3 font-mono text-xs">
                  {typeof d.payload === 'string' ? d.payload : JSON.stringify(d.payload, null, 2)}
                </pre>
              )}
            </section>
          </div>
        )}
      </SheetContent>
    </Sheet>
  );
}
