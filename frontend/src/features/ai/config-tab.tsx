/**
 * The gateway's settings (GET|PUT /api/ai/config) in one form: per modality the models users may
 * call (every model the upstream offers, or only those checked) and the default; the system
 * prompt; the per-user limits (blank = the server's default, 0 = unlimited). Beside it, the
 * upstream and its key, which are server settings.
 */
import { useEffect, useId, useMemo, useState } from 'react';
import { Controller, useForm, useWatch, type Control } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { KeyRound, Save, Search, Undo2 } from 'lucide-react';
import type { UpdateAiConfigRequest } from '@kiln/shared-schemas';
import { formatCount } from '../../lib/format';
import { Button } from '../../ui/button';
import { Checkbox, Switch } from '../../ui/checkbox';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Label, Textarea } from '../../ui/input';
import { Badge, Card, EmptyState, Skeleton } from '../../ui/misc';
import { Select } from '../../ui/select';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import {
  useAiConfig,
  useAiModels,
  useSaveAiConfig,
  type AiConfigResponse,
  type AiModel,
} from './hooks';

const MODALITIES = ['chat', 'embedding', 'image'] as const;
type Modality = (typeof MODALITIES)[number];
const modalityLabels: Record<Modality, string> = {
  chat: 'Chat',
  embedding: 'Embeddings',
  image: 'Images',
};

const LIMITS = ['requestsPerMinute', 'requestsPerDay', 'tokensPerDay', 'imagesPerDay'] as const;
type LimitKey = (typeof LIMITS)[number];
const limitLabels: Record<LimitKey, { label: string; unit: string }> = {
  requestsPerMinute: { label: 'Requests per minute', unit: 'requests a minute' },
  requestsPerDay: { label: 'Requests per day', unit: 'requests a day' },
  tokensPerDay: { label: 'Tokens per day', unit: 'tokens a day' },
  imagesPerDay: { label: 'Images per day', unit: 'images a day' },
};

/** The default model select's "no default" entry (radix Select items cannot have ''). */
const NONE = '__none__';

const perModality = <T extends z.ZodType>(t: T) => z.object({ chat: t, embedding: t, image: t });
const formSchema = z
  .object({
    /** Per modality: true = only the checked models; false = every model the upstream offers. */
    restrict: perModality(z.boolean()),
    enabled: perModality(z.array(z.string())),
    defaults: perModality(z.string()),
    systemPrompt: z.string().max(100_000),
    limits: z.object(
      Object.fromEntries(
        LIMITS.map((k) => [
          k,
          z
            .string()
            .trim()
            .regex(/^\d{0,10}$/, 'A whole number (0 = unlimited), or blank for the server default')
            .refine((v) => v === '' || Number(v) <= 2_000_000_000, 'At most 2,000,000,000'),
        ]),
      ) as Record<LimitKey, z.ZodString>,
    ),
  })
  .superRefine((v, ctx) => {
    for (const m of MODALITIES) {
      if (!v.restrict[m]) continue;
      if (!v.enabled[m].length)
        ctx.addIssue({
          code: 'custom',
          path: ['enabled', m],
          message: 'Check at least one model, or allow every model',
        });
      else if (v.defaults[m] !== NONE && !v.enabled[m].includes(v.defaults[m]))
        ctx.addIssue({
          code: 'custom',
          path: ['defaults', m],
          message: 'The default must be one of the checked models',
        });
    }
  });
type FormValues = z.infer<typeof formSchema>;

function toForm(c: AiConfigResponse): FormValues {
  const each = <T,>(f: (m: Modality) => T) =>
    ({ chat: f('chat'), embedding: f('embedding'), image: f('image') }) as Record<Modality, T>;
  return {
    restrict: each((m) => c.enabledModels[m].length > 0),
    enabled: each((m) => [...c.enabledModels[m]]),
    defaults: each((m) => c.defaultModels[m] ?? NONE),
    systemPrompt: c.systemPrompt ?? '',
    limits: Object.fromEntries(
      LIMITS.map((k) => [k, c.limits[k] === null ? '' : String(c.limits[k])]),
    ) as Record<LimitKey, string>,
  };
}

function toRequest(v: FormValues): UpdateAiConfigRequest {
  const each = <T,>(f: (m: Modality) => T) =>
    ({ chat: f('chat'), embedding: f('embedding'), image: f('image') }) as Record<Modality, T>;
  return {
    enabledModels: each((m) => (v.restrict[m] ? v.enabled[m] : [])),
    defaultModels: each((m) => (v.defaults[m] === NONE ? null : v.defaults[m])),
    systemPrompt: v.systemPrompt.trim() === '' ? null : v.systemPrompt,
    limits: Object.fromEntries(
      LIMITS.map((k) => [k, v.limits[k].trim() === '' ? null : Number(v.limits[k])]),
    ) as Record<LimitKey, number | null>,
  };
}

export function ConfigTab() {
  const config = useAiConfig();
  const models = useAiModels(config.data?.upstream.configured === true);
  if (config.error) {
    return <ErrorPanel error={config.error} onRetry={() => void config.refetch()} />;
  }
  if (!config.data) return <Skeleton className="h-96 w-full" />;
  return (
    <div className="flex flex-col gap-4">
      <UpstreamCard config={config.data} />
      <ConfigForm config={config.data} models={models} />
    </div>
  );
}

function UpstreamCard({ config }: { config: AiConfigResponse }) {
  return (
    <Card
      title="Upstream"
      description="Where Kiln relays AI calls. Server settings: change them in the environment and restart."
      actions={
        config.upstream.configured ? (
          <Badge tone="success">Configured</Badge>
        ) : (
          <Badge tone="warning">Not configured</Badge>
        )
      }
    >
      <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-6 gap-y-2 text-sm">
        <dt className="text-muted">Base URL</dt>
        <dd className="truncate font-mono text-xs leading-5" title={config.upstream.baseUrl}>
          {config.upstream.baseUrl}
        </dd>
        <dt className="text-muted">API key</dt>
        <dd className="flex items-center gap-2">
          <KeyRound className="size-3.5 text-muted" aria-hidden />
          <span className="font-mono text-xs">{config.apiKey.maskedKey ?? 'none'}</span>
          <span className="text-xs text-muted">(OPENROUTER_API_KEY or AI_API_KEY)</span>
        </dd>
      </dl>
      <p className="mt-3 text-xs text-muted">
        To rotate the key: create a new one at the provider, set it in the environment, restart
        Kiln, then revoke the old one at the provider. Kiln never sees the provider account, so it
        cannot mint keys itself.
      </p>
    </Card>
  );
}

function ConfigForm({
  config,
  models,
}: {
  config: AiConfigResponse;
  models: ReturnType<typeof useAiModels>;
}) {
  const save = useSaveAiConfig();
  const form = useForm<FormValues>({
    resolver: zodResolver(formSchema),
    defaultValues: toForm(config),
  });
  const { errors, isDirty } = form.formState;
  const [modality, setModality] = useState<Modality>('chat');

  // A newer copy from the server (saved elsewhere) replaces an untouched form.
  useEffect(() => {
    if (!form.formState.isDirty) form.reset(toForm(config));
  }, [config, form]);

  const submit = form.handleSubmit(async (values) => {
    const saved = await save.mutateAsync(toRequest(values)).catch(() => undefined);
    if (saved) form.reset(toForm({ ...config, ...saved }));
  });

  const modalityWithError = MODALITIES.find((m) => errors.enabled?.[m] || errors.defaults?.[m]);
  useEffect(() => {
    if (modalityWithError) setModality(modalityWithError);
  }, [modalityWithError]);

  return (
    <form
      aria-label="AI settings"
      className="flex flex-col gap-4"
      noValidate
      onSubmit={(e) => void submit(e)}
    >
      <Card
        title="Models"
        description="Which models users may call, per kind of call, and the one used when a call names none."
      >
        {models.error ? (
          <ErrorPanel
            title="The upstream's models could not be listed"
            error={models.error}
            onRetry={() => void models.refetch()}
          />
        ) : !config.upstream.configured ? (
          <EmptyState
            title="No AI upstream is configured"
            description="Set OPENROUTER_API_KEY, or AI_BASE_URL and AI_API_KEY, then restart Kiln to choose models."
          />
        ) : !models.data ? (
          <Skeleton className="h-64 w-full" />
        ) : (
          <Tabs value={modality} onValueChange={(v) => setModality(v as Modality)}>
            <TabsList aria-label="Kind of call" className="w-full">
              {MODALITIES.map((m) => (
                <TabsTrigger key={m} value={m}>
                  {modalityLabels[m]}
                  {(errors.enabled?.[m] || errors.defaults?.[m]) && (
                    <span className="ml-1.5 text-danger">
                      <span aria-hidden>•</span>
                      <span className="sr-only">(has an error)</span>
                    </span>
                  )}
                </TabsTrigger>
              ))}
            </TabsList>
            {MODALITIES.map((m) => (
              <TabsContent key={m} value={m}>
                <ModalityModels
                  modality={m}
                  models={models.data}
                  control={form.control}
                  enabledError={errors.enabled?.[m]?.message}
                  defaultError={errors.defaults?.[m]?.message}
                />
              </TabsContent>
            ))}
          </Tabs>
        )}
      </Card>

      <Card
        title="System prompt"
        description="Sent first, as a system message, in every chat call (users’ apps add theirs after it)."
      >
        <FormField label="System prompt" hint="Blank: none." error={errors.systemPrompt?.message}>
          <Textarea
            className="min-h-28"
            placeholder="You are the assistant of …"
            {...form.register('systemPrompt')}
          />
        </FormField>
      </Card>

      <Card
        title="Per-user limits"
        description="For signed-in users’ calls; admins and the API key are not limited. Blank: the server’s default (AI_USER_DAILY_*); 0: unlimited."
      >
        <div className="grid grid-cols-4 gap-3 max-[1180px]:grid-cols-2">
          {LIMITS.map((k) => {
            const now = config.effectiveLimits[k];
            return (
              <FormField
                key={k}
                label={limitLabels[k].label}
                error={errors.limits?.[k]?.message}
                hint={
                  now === null
                    ? 'Now: unlimited'
                    : `Now: ${formatCount(now)} ${limitLabels[k].unit}`
                }
              >
                <Input
                  inputMode="numeric"
                  placeholder={config.limits[k] === null ? 'Server default' : ''}
                  {...form.register(`limits.${k}`)}
                />
              </FormField>
            );
          })}
        </div>
      </Card>

      <div className="flex items-center justify-end gap-2">
        {isDirty && <span className="mr-auto text-sm text-muted">Unsaved changes</span>}
        <Button
          variant="outline"
          disabled={!isDirty || save.isPending}
          onClick={() => form.reset(toForm(config))}
        >
          <Undo2 aria-hidden /> Discard
        </Button>
        <Button type="submit" disabled={!isDirty} loading={save.isPending}>
          <Save aria-hidden /> Save settings
        </Button>
      </div>
    </form>
  );
}

function ModalityModels({
  modality,
  models,
  control,
  enabledError,
  defaultError,
}: {
  modality: Modality;
  models: AiModel[];
  control: Control<FormValues>;
  enabledError?: string;
  defaultError?: string;
}) {
  const id = useId();
  const [filter, setFilter] = useState('');
  const restrict = useWatch({ control, name: `restrict.${modality}` });
  const enabled = useWatch({ control, name: `enabled.${modality}` });
  const shown = useMemo(() => {
    const q = filter.trim().toLowerCase();
    return q ? models.filter((m) => m.id.toLowerCase().includes(q)) : models;
  }, [models, filter]);
  const defaultOptions = useMemo(
    () => [
      { value: NONE, label: 'None: calls must name a model' },
      ...(restrict ? enabled : models.map((m) => m.id)).map((m) => ({ value: m, label: m })),
    ],
    [restrict, enabled, models],
  );
  const label = modalityLabels[modality].toLowerCase();
  return (
    <div className="flex flex-col gap-4">
      <div className="flex items-start justify-between gap-4">
        <div className="min-w-0">
          <Label htmlFor={`${id}-restrict`}>Only the models checked below</Label>
          <p id={`${id}-restrict-hint`} className="mt-0.5 text-xs text-muted">
            Off: users may call every model the upstream offers for {label}.
          </p>
        </div>
        <Controller
          control={control}
          name={`restrict.${modality}`}
          render={({ field }) => (
            <Switch
              id={`${id}-restrict`}
              aria-describedby={`${id}-restrict-hint`}
              checked={field.value}
              onCheckedChange={field.onChange}
            />
          )}
        />
      </div>
      <Controller
        control={control}
        name={`enabled.${modality}`}
        render={({ field }) => (
          <fieldset
            aria-describedby={enabledError ? `${id}-enabled-error` : undefined}
            className="rounded-md border border-border"
          >
            <legend className="sr-only">Enabled {label} models</legend>
            <div className="flex items-center gap-3 border-b border-border px-3 py-2">
              <div className="relative w-64">
                <Search
                  className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted"
                  aria-hidden
                />
                <Input
                  aria-label={`Filter ${label} models`}
                  placeholder="Filter models"
                  className="h-8 pl-8"
                  value={filter}
                  onChange={(e) => setFilter(e.target.value)}
                />
              </div>
              <span className="ml-auto text-xs text-muted">
                {restrict
                  ? `${field.value.length} of ${models.length} checked`
                  : `All ${models.length} allowed`}
              </span>
            </div>
            <ul className="max-h-64 divide-y divide-border overflow-y-auto">
              {shown.map((m) => {
                const checked = !restrict || field.value.includes(m.id);
                const boxId = `${id}-${m.id}`;
                return (
                  <li key={m.id} className="flex items-center gap-3 px-3 py-2">
                    <Checkbox
                      id={boxId}
                      checked={checked}
                      disabled={!restrict}
                      onCheckedChange={(on) =>
                        field.onChange(
                          on === true
                            ? [...field.value, m.id]
                            : field.value.filter((x) => x !== m.id),
                        )
                      }
                    />
                    <label
                      htmlFor={boxId}
                      className="min-w-0 flex-1 truncate font-mono text-xs"
                      title={m.name}
                    >
                      {m.id}
                    </label>
                    <span className="shrink-0 text-xs text-muted">
                      {m.inputModality.join(', ')} → {m.outputModality.join(', ')}
                    </span>
                  </li>
                );
              })}
              {!shown.length && (
                <li className="px-3 py-6 text-center text-sm text-muted">No model matches.</li>
              )}
            </ul>
          </fieldset>
        )}
      />
      {enabledError && (
        <p
          id={`${id}-enabled-error`}
          role="alert"
          className="-mt-2 text-xs font-medium text-danger"
        >
          {enabledError}
        </p>
      )}
      <div className="max-w-md">
        <Controller
          control={control}
          name={`defaults.${modality}`}
          render={({ field }) => (
            <FormField
              label={`Default ${label} model`}
              error={defaultError}
              hint="Used when a call names no model."
            >
              <Select value={field.value} onValueChange={field.onChange} options={defaultOptions} />
            </FormField>
          )}
        />
      </div>
    </div>
  );
}
