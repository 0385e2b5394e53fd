/**
 * Payments: Stripe and Razorpay per environment (test / live). Connection (status, account,
 * masked key, webhook, last sync; connect, sync, disconnect), the catalog (Stripe products and
 * prices, Razorpay items and plans), and the customers, subscriptions and transactions Kiln keeps
 * in the `payments` schema, a server page at a time. Provider, environment, tab and page are in
 * the URL (./search.ts).
 */
import { useMemo, useState } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import {
  Archive,
  CreditCard,
  Link2,
  Package,
  Plus,
  Receipt,
  RefreshCw,
  Repeat,
  Unplug,
  Users,
} from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Button } from '../../ui/button';
import { CopyButton } from '../../ui/copy-button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Badge, Card, PageHeader, Skeleton, type BadgeTone } from '../../ui/misc';
import { Select } from '../../ui/select';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { ConnectDialog, NewPlanDialog, NewPriceDialog, NewProductDialog } from './dialogs';
import {
  LIST_PAGE,
  useArchivePrice,
  useConnections,
  useCustomers,
  useRazorpayCatalog,
  useRazorpaySubscriptions,
  useRazorpayWebhook,
  useRemoveKeys,
  useStripeCatalog,
  useStripeSubscriptions,
  useSync,
  useTransactions,
  useRotateRazorpaySecret,
  type PaymentCustomer,
  type PaymentTransaction,
  type RazorpayItem,
  type RazorpayPlan,
  type RazorpaySubscription,
  type StripePrice,
  type StripeProduct,
  type StripeSubscription,
} from './hooks';
import { formatMoney } from './money';
import type { Environment, PaymentTab, Provider } from './search';

export const Route = createLazyRoute('/app/payments')({ component: PaymentsPage });

const route = getRouteApi('/app/payments');

const PROVIDER_LABEL: Record<Provider, string> = { stripe: 'Stripe', razorpay: 'Razorpay' };

const tabs: { value: PaymentTab; label: string; icon: typeof CreditCard }[] = [
  { value: 'connection', label: 'Connection', icon: Link2 },
  { value: 'catalog', label: 'Catalog', icon: Package },
  { value: 'customers', label: 'Customers', icon: Users },
  { value: 'subscriptions', label: 'Subscriptions', icon: Repeat },
  { value: 'transactions', label: 'Transactions', icon: Receipt },
];

/** The URL state with its defaults. */
function usePaymentsSearch() {
  const s = route.useSearch();
  return {
    provider: s.provider ?? 'stripe',
    env: s.env ?? 'test',
    tab: s.tab ?? 'connection',
    offset: s.offset ?? 0,
  };
}

function PaymentsPage() {
  const { provider, env, tab } = usePaymentsSearch();
  const navigate = route.useNavigate();
  const commands = useMemo<Command[]>(
    () =>
      tabs.map((t) => ({
        id: `payments-${t.value}`,
        label: `Payments: ${t.label}`,
        group: 'Payments',
        icon: t.icon,
        keywords: ['payments', 'stripe', 'razorpay', t.value],
        run: () => void navigate({ search: (s) => ({ ...s, tab: t.value, offset: undefined }) }),
      })),
    [navigate],
  );
  useRegisterCommands('payments', commands);
  return (
    <>
      <PageHeader
        title="Payments"
        description="Stripe and Razorpay, per environment: keys, catalog, and the customers, subscriptions and transactions your app’s RLS policies can read from the payments schema."
        actions={
          <div className="flex items-end gap-3">
            <div className="w-36">
              <FormField label="Provider">
                <Select
                  value={provider}
                  onValueChange={(v) =>
                    void navigate({
                      search: (s) => ({ ...s, provider: v as Provider, offset: undefined }),
                    })
                  }
                  options={[
                    { value: 'stripe', label: 'Stripe' },
                    { value: 'razorpay', label: 'Razorpay' },
                  ]}
                />
              </FormField>
            </div>
            <div className="w-32">
              <FormField label="Environment">
                <Select
                  value={env}
                  onValueChange={(v) =>
                    void navigate({
                      search: (s) => ({ ...s, env: v as Environment, offset: undefined }),
                    })
                  }
                  options={[
                    { value: 'test', label: 'Test' },
                    { value: 'live', label: 'Live' },
                  ]}
                />
              </FormField>
            </div>
          </div>
        }
      />
      <Tabs
        value={tab}
        onValueChange={(v) =>
          void navigate({ search: (s) => ({ ...s, tab: v as PaymentTab, offset: undefined }) })
        }
      >
        <TabsList className="mb-2 w-full">
          {tabs.map((t) => (
            <TabsTrigger key={t.value} value={t.value} className="inline-flex items-center gap-1.5">
              <t.icon className="size-4" aria-hidden /> {t.label}
            </TabsTrigger>
          ))}
        </TabsList>
        <TabsContent value="connection">
          <ConnectionTab key={`${provider}-${env}`} provider={provider} env={env} />
        </TabsContent>
        <TabsContent value="catalog">
          {provider === 'stripe' ? <StripeCatalog env={env} /> : <RazorpayCatalog env={env} />}
        </TabsContent>
        <TabsContent value="customers">
          <CustomersTab provider={provider} env={env} />
        </TabsContent>
        <TabsContent value="subscriptions">
          {provider === 'stripe' ? (
            <StripeSubscriptions env={env} />
          ) : (
            <RazorpaySubscriptions env={env} />
          )}
        </TabsContent>
        <TabsContent value="transactions">
          <TransactionsTab provider={provider} env={env} />
        </TabsContent>
      </Tabs>
    </>
  );
}

const statusTone: Record<string, BadgeTone> = {
  connected: 'success',
  unconfigured: 'neutral',
  error: 'danger',
};

function When({ at }: { at: string | null }) {
  if (!at) return <span className="text-muted">—</span>;
  return (
    <time dateTime={at} title={formatDateTime(at)} className="whitespace-nowrap">
      {formatRelative(at)}
    </time>
  );
}

function ConnectionTab({ provider, env }: { provider: Provider; env: Environment }) {
  const connections = useConnections(provider);
  const sync = useSync(provider);
  const remove = useRemoveKeys(provider);
  const [connecting, setConnecting] = useState(false);
  const [removing, setRemoving] = useState(false);
  const c = connections.data?.find((x) => x.environment === env);
  const name = PROVIDER_LABEL[provider];
  if (connections.error)
    return (
      <ErrorPanel
        error={connections.error}
        title={`Could not load the ${name} connection`}
        onRetry={() => void connections.refetch()}
      />
    );
  if (!c) return <Skeleton className="h-56" />;
  const connected = c.status !== 'unconfigured';
  const counts = Object.entries(c.lastSyncCounts).filter(([, n]) => n > 0);
  return (
    <div className="flex flex-col gap-6">
      <Card
        title={`${name} · ${env}`}
        description={
          connected
            ? `Kiln calls ${name} with this key and keeps what it learns in the payments schema.`
            : `Not connected: the SDK’s ${name} calls answer 409 PAYMENTS_NOT_CONFIGURED until you add the ${env} keys.`
        }
        actions={
          <>
            <Badge tone={statusTone[c.status] ?? 'neutral'}>{c.status}</Badge>
            {connected && (
              <Button
                variant="outline"
                size="sm"
                loading={sync.isPending}
                onClick={() => void sync.mutateAsync(env).catch(() => undefined)}
              >
                <RefreshCw aria-hidden /> Sync now
              </Button>
            )}
            <Button
              size="sm"
              variant={connected ? 'outline' : 'primary'}
              onClick={() => setConnecting(true)}
            >
              <Link2 aria-hidden /> {connected ? 'Replace keys' : 'Connect'}
            </Button>
            {connected && (
              <Button variant="danger" size="sm" onClick={() => setRemoving(true)}>
                <Unplug aria-hidden /> Disconnect
              </Button>
            )}
          </>
        }
      >
        {connected ? (
          <dl className="grid grid-cols-[max-content_minmax(0,1fr)] items-center gap-x-6 gap-y-3 text-sm">
            {c.accountId && (
              <>
                <dt className="text-muted">Account</dt>
                <dd className="truncate">
                  {c.accountId}
                  {c.accountName && <span className="text-muted"> · {c.accountName}</span>}
                </dd>
              </>
            )}
            <dt className="text-muted">Key</dt>
            <dd>
              <code className="font-mono text-xs">{c.maskedKey}</code>
            </dd>
            <dt className="text-muted">Webhook URL</dt>
            <dd className="flex min-w-0 items-center gap-1">
              <code className="truncate font-mono text-xs" title={c.webhookEndpointUrl ?? ''}>
                {c.webhookEndpointUrl ?? '—'}
              </code>
              {c.webhookEndpointUrl && (
                <CopyButton value={c.webhookEndpointUrl} label="webhook URL" />
              )}
            </dd>
            {provider === 'razorpay' && <RazorpaySecret env={env} />}
            <dt className="text-muted">Last sync</dt>
            <dd className="flex flex-wrap items-center gap-2">
              <When at={c.lastSyncedAt} />
              {c.lastSyncStatus && (
                <Badge tone={c.lastSyncStatus === 'succeeded' ? 'success' : 'danger'}>
                  {c.lastSyncStatus}
                </Badge>
              )}
              {c.lastSyncStatus === 'succeeded' && (
                <span className="text-muted">
                  {counts.length
                    ? counts.map(([k, n]) => `${n} ${k}`).join(' · ')
                    : 'nothing at the provider yet'}
                </span>
              )}
            </dd>
            {c.lastSyncError && (
              <>
                <dt className="text-muted">Error</dt>
                <dd className="text-danger">{c.lastSyncError}</dd>
              </>
            )}
          </dl>
        ) : (
          <p className="text-sm text-muted">
            {provider === 'stripe'
              ? 'Paste a secret key (sk_… or a restricted rk_… key). Kiln checks it, registers its webhook endpoint with your Stripe account and syncs products, prices and subscriptions.'
              : 'Paste the key ID and secret from Razorpay’s dashboard. Kiln checks them and shows the webhook URL and secret to enter there.'}
          </p>
        )}
      </Card>
      <ConnectDialog provider={provider} env={env} open={connecting} onOpenChange={setConnecting} />
      <ConfirmDialog
        open={removing}
        onOpenChange={setRemoving}
        title={`Disconnect ${name} ${env}?`}
        description="The keys are removed (and Stripe’s webhook endpoint with them). The catalog, customers and subscriptions Kiln keeps stay, but checkouts and webhooks stop."
        confirmLabel="Disconnect"
        destructive
        onConfirm={async () => {
          await remove.mutateAsync(env);
        }}
      />
    </div>
  );
}

function RazorpaySecret({ env }: { env: Environment }) {
  const setup = useRazorpayWebhook(env, true);
  const rotate = useRotateRazorpaySecret();
  const [shown, setShown] = useState(false);
  const secret = setup.data?.webhookSecret;
  return (
    <>
      <dt className="text-muted">Webhook secret</dt>
      <dd className="flex min-w-0 items-center gap-1">
        <code className="truncate font-mono text-xs">
          {secret ? (shown ? secret : '•'.repeat(24)) : '…'}
        </code>
        <Button
          size="sm"
          variant="ghost"
          aria-pressed={shown}
          disabled={!secret}
          onClick={() => setShown((s) => !s)}
        >
          {shown ? 'Hide' : 'Show'}
        </Button>
        {secret && <CopyButton value={secret} label="webhook secret" />}
        <Button
          size="sm"
          variant="outline"
          loading={rotate.isPending}
          onClick={() => void rotate.mutateAsync(env).catch(() => undefined)}
        >
          Rotate
        </Button>
      </dd>
    </>
  );
}

function StripeCatalog({ env }: { env: Environment }) {
  const catalog = useStripeCatalog(env, true);
  const archive = useArchivePrice(env);
  const [newProduct, setNewProduct] = useState(false);
  const [priceFor, setPriceFor] = useState<StripeProduct | null>(null);
  const products = catalog.data?.products;
  const names = new Map((products ?? []).map((p) => [p.productId, p.name]));
  const productColumns: ColumnDef<StripeProduct, unknown>[] = [
    {
      id: 'name',
      header: 'Product',
      cell: ({ row }) => (
        <span className="flex min-w-0 flex-col">
          <span className="truncate font-medium">{row.original.name}</span>
          <code className="truncate font-mono text-xs text-muted">{row.original.productId}</code>
        </span>
      ),
    },
    {
      id: 'active',
      header: 'Status',
      size: 100,
      cell: ({ row }) => (
        <Badge tone={row.original.active ? 'success' : 'neutral'}>
          {row.original.active ? 'active' : 'archived'}
        </Badge>
      ),
    },
    {
      id: 'prices',
      header: 'Prices',
      size: 80,
      cell: ({ row }) => (
        <span className="tabular-nums">
          {
            (catalog.data?.prices ?? []).filter((p) => p.productId === row.original.productId)
              .length
          }
        </span>
      ),
    },
    {
      id: 'actions',
      header: '',
      size: 130,
      cell: ({ row }) => (
        <Button
          size="sm"
          variant="outline"
          aria-label={`New price for ${row.original.name}`}
          onClick={() => setPriceFor(row.original)}
        >
          <Plus aria-hidden /> Price
        </Button>
      ),
    },
  ];
  const priceColumns: ColumnDef<StripePrice, unknown>[] = [
    {
      id: 'amount',
      header: 'Price',
      size: 200,
      cell: ({ row }) => (
        <span className="flex min-w-0 flex-col">
          <span className="font-medium tabular-nums">
            {formatMoney(row.original.unitAmount, row.original.currency)}
            {row.original.recurringInterval && (
              <span className="text-muted">
                {' '}
                /{' '}
                {row.original.recurringIntervalCount && row.original.recurringIntervalCount > 1
                  ? `${row.original.recurringIntervalCount} ${row.original.recurringInterval}s`
                  : row.original.recurringInterval}
              </span>
            )}
          </span>
          <code className="truncate font-mono text-xs text-muted">{row.original.priceId}</code>
        </span>
      ),
    },
    {
      id: 'product',
      header: 'Product',
      cell: ({ row }) => (
        <span className="block truncate">
          {names.get(row.original.productId ?? '') ?? row.original.productId ?? '—'}
        </span>
      ),
    },
    {
      id: 'type',
      header: 'Type',
      size: 110,
      cell: ({ row }) => <span className="text-muted">{row.original.type.replace('_', '-')}</span>,
    },
    {
      id: 'active',
      header: 'Status',
      size: 100,
      cell: ({ row }) => (
        <Badge tone={row.original.active ? 'success' : 'neutral'}>
          {row.original.active ? 'active' : 'archived'}
        </Badge>
      ),
    },
    {
      id: 'actions',
      header: '',
      size: 120,
      cell: ({ row }) =>
        row.original.active && (
          <Button
            size="sm"
            variant="ghost"
            aria-label={`Archive ${row.original.priceId}`}
            onClick={() => void archive.mutateAsync(row.original.priceId).catch(() => undefined)}
          >
            <Archive aria-hidden /> Archive
          </Button>
        ),
    },
  ];
  return (
    <div className="flex flex-col gap-6">
      <Card
        title="Products"
        description="As last synced from Stripe (webhooks keep them current)."
        actions={
          <Button size="sm" onClick={() => setNewProduct(true)}>
            <Plus aria-hidden /> New product
          </Button>
        }
      >
        <DataTable
          label="Products"
          columns={productColumns}
          data={products}
          getRowId={(p) => p.productId}
          isLoading={catalog.isLoading}
          error={catalog.error}
          onRetry={() => void catalog.refetch()}
          maxHeight="20rem"
          empty={{
            icon: Package,
            title: 'No products',
            description: 'Create one here or in Stripe’s dashboard (then sync).',
          }}
        />
      </Card>
      <Card title="Prices" description="Prices cannot be deleted at Stripe: they are archived.">
        <DataTable
          label="Prices"
          columns={priceColumns}
          data={catalog.data?.prices}
          getRowId={(p) => p.priceId}
          isLoading={catalog.isLoading}
          error={catalog.error}
          onRetry={() => void catalog.refetch()}
          maxHeight="20rem"
          empty={{
            icon: CreditCard,
            title: 'No prices',
            description: 'Add a price to a product to sell it with a checkout session.',
          }}
        />
      </Card>
      <NewProductDialog env={env} open={newProduct} onOpenChange={setNewProduct} />
      <NewPriceDialog env={env} product={priceFor} onClose={() => setPriceFor(null)} />
    </div>
  );
}

function RazorpayCatalog({ env }: { env: Environment }) {
  const catalog = useRazorpayCatalog(env, true);
  const [newPlan, setNewPlan] = useState(false);
  const itemColumns: ColumnDef<RazorpayItem, unknown>[] = [
    {
      id: 'name',
      header: 'Item',
      cell: ({ row }) => (
        <span className="flex min-w-0 flex-col">
          <span className="truncate font-medium">{row.original.name}</span>
          <code className="truncate font-mono text-xs text-muted">{row.original.itemId}</code>
        </span>
      ),
    },
    {
      id: 'amount',
      header: 'Amount',
      size: 160,
      cell: ({ row }) => (
        <span className="tabular-nums">
          {formatMoney(row.original.amount, row.original.currency)}
        </span>
      ),
    },
    {
      id: 'active',
      header: 'Status',
      size: 100,
      cell: ({ row }) => (
        <Badge tone={row.original.active ? 'success' : 'neutral'}>
          {row.original.active ? 'active' : 'inactive'}
        </Badge>
      ),
    },
  ];
  const planColumns: ColumnDef<RazorpayPlan, unknown>[] = [
    {
      id: 'plan',
      header: 'Plan',
      cell: ({ row }) => <code className="font-mono text-xs">{row.original.planId}</code>,
    },
    {
      id: 'amount',
      header: 'Amount',
      size: 200,
      cell: ({ row }) => (
        <span className="tabular-nums">
          {formatMoney(row.original.amount, row.original.currency)}
          <span className="text-muted">
            {' '}
            / {row.original.interval > 1 ? `${row.original.interval} ` : ''}
            {row.original.period}
          </span>
        </span>
      ),
    },
    {
      id: 'item',
      header: 'Item',
      cell: ({ row }) => (
        <code className="truncate font-mono text-xs text-muted">{row.original.itemId}</code>
      ),
    },
  ];
  return (
    <div className="flex flex-col gap-6">
      <Card
        title="Plans"
        description="What subscriptions are created from."
        actions={
          <Button size="sm" onClick={() => setNewPlan(true)}>
            <Plus aria-hidden /> New plan
          </Button>
        }
      >
        <DataTable
          label="Plans"
          columns={planColumns}
          data={catalog.data?.plans}
          getRowId={(p) => p.planId}
          isLoading={catalog.isLoading}
          error={catalog.error}
          onRetry={() => void catalog.refetch()}
          maxHeight="20rem"
          empty={{
            icon: Repeat,
            title: 'No plans',
            description: 'Create one here or in Razorpay’s dashboard (then sync).',
          }}
        />
      </Card>
      <Card title="Items" description="Plans’ items and standalone items.">
        <DataTable
          label="Items"
          columns={itemColumns}
          data={catalog.data?.items}
          getRowId={(i) => i.itemId}
          isLoading={catalog.isLoading}
          error={catalog.error}
          onRetry={() => void catalog.refetch()}
          maxHeight="20rem"
          empty={{ icon: Package, title: 'No items', description: 'Items come with plans.' }}
        />
      </Card>
      <NewPlanDialog env={env} open={newPlan} onOpenChange={setNewPlan} />
    </div>
  );
}

/** Pagination in the URL for the billing lists. */
function usePage() {
  const { offset } = usePaymentsSearch();
  const navigate = route.useNavigate();
  return {
    offset,
    pagination: (rows: number | undefined) => ({
      offset,
      limit: LIST_PAGE,
      total: rows !== undefined && rows < LIST_PAGE ? offset + rows : undefined,
      onOffsetChange: (o: number) =>
        void navigate({ search: (s) => ({ ...s, offset: o || undefined }) }),
    }),
  };
}

function Subject({ type, id }: { type: string | null; id: string | null }) {
  if (!type || !id) return <span className="text-muted">unmapped</span>;
  return (
    <span className="block truncate font-mono text-xs" title={`${type}:${id}`}>
      {type === 'user' ? id : `${type}:${id}`}
    </span>
  );
}

function CustomersTab({ provider, env }: { provider: Provider; env: Environment }) {
  const { offset, pagination } = usePage();
  const customers = useCustomers(provider, env, offset);
  const columns: ColumnDef<PaymentCustomer, unknown>[] = [
    {
      id: 'customer',
      header: 'Customer',
      cell: ({ row }) => (
        <span className="flex min-w-0 flex-col">
          <span className="truncate">{row.original.email ?? row.original.name ?? '—'}</span>
          <code className="truncate font-mono text-xs text-muted">
            {row.original.providerCustomerId}
          </code>
        </span>
      ),
    },
    {
      id: 'payments',
      header: 'Payments',
      size: 100,
      cell: ({ row }) => <span className="tabular-nums">{row.original.paymentsCount}</span>,
    },
    {
      id: 'spend',
      header: 'Total spend',
      size: 150,
      cell: ({ row }) => (
        <span className="tabular-nums">
          {row.original.totalSpend === null
            ? '—'
            : formatMoney(row.original.totalSpend, row.original.totalSpendCurrency ?? 'usd')}
        </span>
      ),
    },
    {
      id: 'last',
      header: 'Last payment',
      size: 140,
      cell: ({ row }) => <When at={row.original.lastPaymentAt} />,
    },
  ];
  return (
    <DataTable
      label="Customers"
      columns={columns}
      data={customers.data}
      getRowId={(c) => c.providerCustomerId}
      isLoading={customers.isLoading}
      error={customers.error}
      onRetry={() => void customers.refetch()}
      maxHeight="calc(100vh - 22rem)"
      empty={{
        icon: Users,
        title: 'No customers',
        description:
          'A customer is created for a user at their first checkout (client.payments.stripe.createCheckoutSession) or Razorpay subscription.',
      }}
      pagination={pagination(customers.data?.length)}
    />
  );
}

const subscriptionTone = (status: string): BadgeTone =>
  status === 'active' || status === 'trialing'
    ? 'success'
    : status === 'past_due' || status === 'unpaid' || status === 'halted' || status === 'pending'
      ? 'warning'
      : status === 'canceled' || status === 'cancelled' || status === 'incomplete_expired'
        ? 'neutral'
        : 'info';

function StripeSubscriptions({ env }: { env: Environment }) {
  const { offset, pagination } = usePage();
  const subscriptions = useStripeSubscriptions(env, offset);
  const columns: ColumnDef<StripeSubscription, unknown>[] = [
    {
      id: 'id',
      header: 'Subscription',
      cell: ({ row }) => (
        <code className="block truncate font-mono text-xs">{row.original.subscriptionId}</code>
      ),
    },
    {
      id: 'subject',
      header: 'Subject',
      cell: ({ row }) => <Subject type={row.original.subjectType} id={row.original.subjectId} />,
    },
    {
      id: 'status',
      header: 'Status',
      size: 120,
      cell: ({ row }) => (
        <span className="flex items-center gap-1">
          <Badge tone={subscriptionTone(row.original.status)}>{row.original.status}</Badge>
          {row.original.cancelAtPeriodEnd && (
            <Badge tone="warning" title="Cancels at the end of the period">
              ends
            </Badge>
          )}
        </span>
      ),
    },
    {
      id: 'period',
      header: 'Period ends',
      size: 140,
      cell: ({ row }) => <When at={row.original.currentPeriodEnd} />,
    },
  ];
  return (
    <DataTable
      label="Subscriptions"
      columns={columns}
      data={subscriptions.data}
      getRowId={(s) => s.subscriptionId}
      isLoading={subscriptions.isLoading}
      error={subscriptions.error}
      onRetry={() => void subscriptions.refetch()}
      maxHeight="calc(100vh - 22rem)"
      empty={{
        icon: Repeat,
        title: 'No subscriptions',
        description: 'Subscriptions arrive with Stripe’s webhooks (or a sync).',
      }}
      pagination={pagination(subscriptions.data?.length)}
    />
  );
}

function RazorpaySubscriptions({ env }: { env: Environment }) {
  const { offset, pagination } = usePage();
  const subscriptions = useRazorpaySubscriptions(env, offset);
  const columns: ColumnDef<RazorpaySubscription, unknown>[] = [
    {
      id: 'id',
      header: 'Subscription',
      cell: ({ row }) => (
        <span className="flex min-w-0 flex-col">
          <code className="truncate font-mono text-xs">{row.original.subscriptionId}</code>
          <code className="truncate font-mono text-xs text-muted">{row.original.planId}</code>
        </span>
      ),
    },
    {
      id: 'subject',
      header: 'Subject',
      cell: ({ row }) => <Subject type={row.original.subjectType} id={row.original.subjectId} />,
    },
    {
      id: 'status',
      header: 'Status',
      size: 120,
      cell: ({ row }) => (
        <Badge tone={subscriptionTone(row.original.status)}>{row.original.status}</Badge>
      ),
    },
    {
      id: 'paid',
      header: 'Paid',
      size: 90,
      cell: ({ row }) => (
        <span className="tabular-nums">
          {row.original.paidCount ?? 0}
          {row.original.totalCount ? ` / ${row.original.totalCount}` : ''}
        </span>
      ),
    },
    {
      id: 'period',
      header: 'Period ends',
      size: 140,
      cell: ({ row }) => <When at={row.original.currentEnd} />,
    },
  ];
  return (
    <DataTable
      label="Subscriptions"
      columns={columns}
      data={subscriptions.data}
      getRowId={(s) => s.subscriptionId}
      isLoading={subscriptions.isLoading}
      error={subscriptions.error}
      onRetry={() => void subscriptions.refetch()}
      maxHeight="calc(100vh - 22rem)"
      empty={{
        icon: Repeat,
        title: 'No subscriptions',
        description: 'Subscriptions are created by client.payments.razorpay.createSubscription.',
      }}
      pagination={pagination(subscriptions.data?.length)}
    />
  );
}

const transactionTone: Record<PaymentTransaction['status'], BadgeTone> = {
  succeeded: 'success',
  pending: 'info',
  failed: 'danger',
  refunded: 'neutral',
  partially_refunded: 'warning',
};

function TransactionsTab({ provider, env }: { provider: Provider; env: Environment }) {
  const { offset, pagination } = usePage();
  const transactions = useTransactions(provider, env, offset);
  const columns: ColumnDef<PaymentTransaction, unknown>[] = [
    {
      id: 'time',
      header: 'When',
      size: 140,
      cell: ({ row }) => <When at={row.original.paidAt ?? row.original.createdAt} />,
    },
    {
      id: 'amount',
      header: 'Amount',
      size: 140,
      cell: ({ row }) => (
        <span className="font-medium tabular-nums">
          {formatMoney(row.original.amount, row.original.currency ?? 'usd')}
        </span>
      ),
    },
    {
      id: 'status',
      header: 'Status',
      size: 120,
      cell: ({ row }) => (
        <Badge tone={transactionTone[row.original.status]}>
          {row.original.status.replace('_', ' ')}
        </Badge>
      ),
    },
    {
      id: 'type',
      header: 'Type',
      size: 170,
      cell: ({ row }) => (
        <span className="text-muted">{row.original.type.replaceAll('_', ' ')}</span>
      ),
    },
    {
      id: 'subject',
      header: 'Subject',
      cell: ({ row }) => <Subject type={row.original.subjectType} id={row.original.subjectId} />,
    },
    {
      id: 'ref',
      header: 'Reference',
      cell: ({ row }) => (
        <code className="block truncate font-mono text-xs text-muted">
          {row.original.providerReferenceId}
        </code>
      ),
    },
  ];
  return (
    <DataTable
      label="Transactions"
      columns={columns}
      data={transactions.data}
      getRowId={(t) => `${t.providerReferenceType}:${t.providerReferenceId}`}
      isLoading={transactions.isLoading}
      error={transactions.error}
      onRetry={() => void transactions.refetch()}
      maxHeight="calc(100vh - 22rem)"
      empty={{
        icon: Receipt,
        title: 'No transactions',
        description: 'Payments, invoices and failures are recorded from the provider’s webhooks.',
      }}
      pagination={pagination(transactions.data?.length)}
    />
  );
}
