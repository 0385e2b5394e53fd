/**
 * OAuth providers: the built-in ones (configured or not) and custom OpenID Connect providers.
 * Each: enable, client id and secret (the secret is write-only: the API only says whether one is
 * set), the callback URL to register with the provider, remove.
 */
import { useId, useState } from 'react';
import { useForm, Controller } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { customProviderParamsSchema, oauthProviderConfigRequestSchema } from '@kiln/shared-schemas';
import { Pencil, Plus, Settings2, Trash2, Waypoints } from 'lucide-react';
import { apiOrigin } from '../../lib/api';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { CopyButton } from '../../ui/copy-button';
import { ConfirmDialog, Dialog, DialogContent } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Label } from '../../ui/input';
import { Badge, Card, EmptyState, Skeleton } from '../../ui/misc';
import {
  BUILT_IN_PROVIDERS,
  useOAuthConfigs,
  useRemoveProvider,
  useSaveProvider,
  type ProviderConfig,
} from './hooks';

function callbackUrl(key: string, custom: boolean): string {
  return `${apiOrigin}/api/auth/oauth/${custom ? 'custom/' : ''}${key || '<key>'}/callback`;
}

function CallbackUrl({ providerKey, custom }: { providerKey: string; custom: boolean }) {
  const url = callbackUrl(providerKey, custom);
  return (
    <div className="flex flex-col gap-1.5">
      <span className="text-sm font-medium">Callback URL</span>
      <div className="flex items-center gap-1">
        <code
          className="flex h-8 min-w-0 flex-1 items-center truncate rounded-md border border-border bg-surface-2 px-2.5 font-mono text-xs"
          title={url}
          data-testid="callback-url"
        >
          {url}
        </code>
        <CopyButton value={url} label="the callback URL" disabled={!providerKey} />
      </div>
      <p className="text-xs text-muted">Register exactly this redirect URI with the provider.</p>
    </div>
  );
}

const s = oauthProviderConfigRequestSchema.shape;
const providerFormSchema = z
  .object({
    custom: z.boolean(),
    key: z.string(),
    name: z.string().max(100),
    discoveryUrl: z.string(),
    clientId: s.clientId,
    clientSecret: z.string().max(2000),
    scopes: z.string().max(2000),
    enabled: z.boolean(),
  })
  .superRefine((v, ctx) => {
    if (!v.custom) return;
    const key = customProviderParamsSchema.shape.key.safeParse(v.key);
    if (!key.success)
      ctx.addIssue({ code: 'custom', path: ['key'], message: key.error.issues[0]!.message });
    if (!z.url({ protocol: /^https?$/ }).safeParse(v.discoveryUrl).success) {
      ctx.addIssue({
        code: 'custom',
        path: ['discoveryUrl'],
        message: 'Enter the discovery document URL (https://…/.well-known/openid-configuration)',
      });
    }
  });
type ProviderForm = z.infer<typeof providerFormSchema>;

interface Editing {
  custom: boolean;
  /** The provider's key; '' for a new custom provider. */
  key: string;
  label: string;
  existing?: ProviderConfig;
}

function ProviderDialog({ editing, onClose }: { editing: Editing; onClose: () => void }) {
  const save = useSaveProvider();
  const { existing, custom } = editing;
  const enabledId = useId();
  const form = useForm<ProviderForm>({
    resolver: zodResolver(providerFormSchema),
    defaultValues: {
      custom,
      key: editing.key,
      name: existing?.name ?? '',
      discoveryUrl: existing?.discoveryUrl ?? '',
      clientId: existing?.clientId ?? '',
      clientSecret: '',
      scopes: existing?.scopes.join(' ') ?? '',
      enabled: existing?.enabled ?? true,
    },
  });
  const errors = form.formState.errors;
  const key = form.watch('key');
  const submit = form.handleSubmit(async (v) => {
    const scopes = v.scopes.split(/[\s,]+/).filter(Boolean);
    const ok = await save
      .mutateAsync({
        key: v.key,
        custom,
        done: `${custom ? v.name || v.key : editing.label} saved`,
        config: {
          name: custom ? v.name || null : (existing?.name ?? null),
          clientId: v.clientId,
          // Write-only: left empty, the stored secret stays.
          ...(v.clientSecret ? { clientSecret: v.clientSecret } : {}),
          // Built-in: none means the provider's defaults; custom: openid email profile.
          scopes: scopes.length ? scopes : custom ? undefined : [],
          discoveryUrl: custom ? v.discoveryUrl : null,
          enabled: v.enabled,
        },
      })
      .then(
        () => true,
        () => false,
      );
    if (ok) onClose();
  });
  const title = existing
    ? `${editing.label}`
    : custom
      ? 'Add an OpenID Connect provider'
      : `Configure ${editing.label}`;
  return (
    <Dialog open onOpenChange={(o) => !o && onClose()}>
      <DialogContent
        title={title}
        description={
          custom
            ? 'Any provider that publishes an OpenID Connect discovery document (Okta, Auth0, Keycloak, Entra ID…).'
            : `Create an OAuth app in ${editing.label}'s developer console, register the callback URL below, and paste its client id and secret.`
        }
        size="lg"
        footer={
          <>
            <Button variant="outline" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" form="provider-form" loading={save.isPending}>
              Save provider
            </Button>
          </>
        }
      >
        <form
          id="provider-form"
          className="flex flex-col gap-4"
          onSubmit={(e) => void submit(e)}
          noValidate
        >
          {custom && (
            <div className="grid grid-cols-2 gap-3">
              <FormField
                label="Key"
                error={errors.key?.message}
                hint="In the sign-in and callback URLs; a-z, 0-9, _ and -."
              >
                <Input
                  autoComplete="off"
                  spellCheck={false}
                  readOnly={Boolean(existing)}
                  aria-readonly={Boolean(existing) || undefined}
                  placeholder="okta"
                  {...form.register('key')}
                />
              </FormField>
              <FormField
                label="Display name"
                error={errors.name?.message}
                hint="What the sign-in button says."
              >
                <Input autoComplete="off" placeholder="Okta" {...form.register('name')} />
              </FormField>
              <div className="col-span-2">
                <FormField label="Discovery URL" error={errors.discoveryUrl?.message}>
                  <Input
                    autoComplete="off"
                    spellCheck={false}
                    placeholder="https://example.okta.com/.well-known/openid-configuration"
                    {...form.register('discoveryUrl')}
                  />
                </FormField>
              </div>
            </div>
          )}
          <CallbackUrl providerKey={key} custom={custom} />
          <div className="grid grid-cols-2 gap-3">
            <FormField label="Client ID" error={errors.clientId?.message}>
              <Input autoComplete="off" spellCheck={false} {...form.register('clientId')} />
            </FormField>
            <FormField
              label="Client secret"
              error={errors.clientSecret?.message}
              hint={
                existing?.hasClientSecret
                  ? 'A secret is set: leave empty to keep it.'
                  : 'Never shown again once saved.'
              }
            >
              <Input
                type="password"
                autoComplete="new-password"
                placeholder={existing?.hasClientSecret ? '••••••••  (unchanged)' : ''}
                {...form.register('clientSecret')}
              />
            </FormField>
          </div>
          <FormField
            label="Scopes (optional)"
            error={errors.scopes?.message}
            hint={
              custom
                ? 'Separated by spaces; empty: openid email profile.'
                : "Separated by spaces; empty: the provider's defaults."
            }
          >
            <Input autoComplete="off" spellCheck={false} {...form.register('scopes')} />
          </FormField>
          <div className="flex items-center gap-3">
            <Controller
              control={form.control}
              name="enabled"
              render={({ field }) => (
                <Switch id={enabledId} checked={field.value} onCheckedChange={field.onChange} />
              )}
            />
            <Label htmlFor={enabledId}>Enabled: apps may offer this provider</Label>
          </div>
        </form>
      </DialogContent>
    </Dialog>
  );
}

function StatusBadge({ config }: { config: ProviderConfig | undefined }) {
  if (!config) return <Badge>not configured</Badge>;
  return config.enabled ? (
    <Badge tone="success">enabled</Badge>
  ) : (
    <Badge tone="warning">disabled</Badge>
  );
}

function EnabledSwitch({ config, label }: { config: ProviderConfig; label: string }) {
  const save = useSaveProvider();
  return (
    <Switch
      aria-label={`${label} enabled`}
      checked={config.enabled}
      disabled={save.isPending}
      onCheckedChange={(enabled) =>
        void save
          .mutateAsync({
            key: config.key,
            custom: config.custom,
            done: `${label} ${enabled ? 'enabled' : 'disabled'}`,
            config: {
              name: config.name,
              clientId: config.clientId,
              scopes: config.scopes,
              discoveryUrl: config.discoveryUrl,
              enabled,
            },
          })
          .catch(() => {})
      }
    />
  );
}

function ProviderRow({
  label,
  sub,
  config,
  onEdit,
  onRemove,
}: {
  label: string;
  sub: React.ReactNode;
  config: ProviderConfig | undefined;
  onEdit: () => void;
  onRemove?: () => void;
}) {
  return (
    <li
      className="flex items-center gap-4 px-4 py-3"
      data-testid={`provider-${config?.key ?? label.toLowerCase()}`}
    >
      <div className="min-w-0 flex-1">
        <div className="flex items-center gap-2">
          <span className="text-sm font-medium">{label}</span>
          <StatusBadge config={config} />
        </div>
        <div className="mt-0.5 truncate text-xs text-muted">{sub}</div>
      </div>
      {config && <EnabledSwitch config={config} label={label} />}
      <Button
        variant="outline"
        size="sm"
        onClick={onEdit}
        aria-label={`${config ? 'Edit' : 'Configure'} ${label}`}
      >
        {config ? <Pencil aria-hidden /> : <Settings2 aria-hidden />}
        {config ? 'Edit' : 'Configure'}
      </Button>
      {config && onRemove && (
        <Button variant="ghost" size="icon-sm" aria-label={`Remove ${label}`} onClick={onRemove}>
          <Trash2 aria-hidden />
        </Button>
      )}
    </li>
  );
}

export function OAuthTab() {
  const configs = useOAuthConfigs();
  const remove = useRemoveProvider();
  const [editing, setEditing] = useState<Editing>();
  const [removing, setRemoving] = useState<{ config: ProviderConfig; label: string }>();

  if (configs.error) {
    return (
      <ErrorPanel
        error={configs.error}
        title="Could not load the OAuth providers"
        onRetry={() => void configs.refetch()}
      />
    );
  }
  const data = configs.data;
  const byKey = new Map(data?.builtIn.map((c) => [c.key, c]));
  const loadingRows = (
    <ul className="flex flex-col gap-2 p-4" aria-busy>
      {[0, 1, 2].map((i) => (
        <Skeleton key={i} className="h-10 w-full" />
      ))}
    </ul>
  );
  return (
    <div className="flex flex-col gap-4">
      <Card
        title="Built-in providers"
        description="Sign-in with the accounts your users already have. Apps start the flow at GET /api/auth/oauth/<provider>."
        className="[&>div]:p-0"
      >
        {!data ? (
          loadingRows
        ) : (
          <ul className="divide-y divide-border" aria-label="Built-in providers">
            {BUILT_IN_PROVIDERS.map((p) => {
              const config = byKey.get(p.key);
              return (
                <ProviderRow
                  key={p.key}
                  label={p.label}
                  config={config}
                  sub={
                    config ? (
                      <>
                        client <span className="font-mono">{config.clientId}</span>
                        {config.hasClientSecret ? ' · secret set' : ' · no secret'}
                      </>
                    ) : (
                      'Not set up yet: configure it with your OAuth app’s client id and secret.'
                    )
                  }
                  onEdit={() =>
                    setEditing({ custom: false, key: p.key, label: p.label, existing: config })
                  }
                  onRemove={config ? () => setRemoving({ config, label: p.label }) : undefined}
                />
              );
            })}
          </ul>
        )}
      </Card>

      <Card
        title="Custom OpenID Connect providers"
        description="Your identity provider, found through its discovery document. Apps start the flow at GET /api/auth/oauth/custom/<key>."
        actions={
          <Button
            size="sm"
            onClick={() => setEditing({ custom: true, key: '', label: 'OpenID Connect provider' })}
          >
            <Plus aria-hidden /> Add provider
          </Button>
        }
        className="[&>div]:p-0"
      >
        {!data ? (
          loadingRows
        ) : data.custom.length === 0 ? (
          <EmptyState
            icon={Waypoints}
            title="No custom provider"
            description="Add one with its discovery URL, client id and secret to let users sign in with your own identity provider."
          />
        ) : (
          <ul className="divide-y divide-border" aria-label="Custom providers">
            {data.custom.map((c) => (
              <ProviderRow
                key={c.key}
                label={c.name ?? c.key}
                config={c}
                sub={
                  <>
                    <span className="font-mono">{c.key}</span> · {c.discoveryUrl}
                  </>
                }
                onEdit={() =>
                  setEditing({ custom: true, key: c.key, label: c.name ?? c.key, existing: c })
                }
                onRemove={() => setRemoving({ config: c, label: c.name ?? c.key })}
              />
            ))}
          </ul>
        )}
      </Card>

      {editing && <ProviderDialog editing={editing} onClose={() => setEditing(undefined)} />}
      <ConfirmDialog
        open={Boolean(removing)}
        onOpenChange={(o) => !o && setRemoving(undefined)}
        title={`Remove ${removing?.label ?? 'the provider'}?`}
        description="Its client id and secret are deleted and apps can no longer start sign-in with it. Users keep their accounts; identities from it stay linked."
        confirmLabel="Remove provider"
        destructive
        onConfirm={() =>
          removing &&
          remove.mutateAsync({ key: removing.config.key, custom: removing.config.custom })
        }
      />
    </div>
  );
}
