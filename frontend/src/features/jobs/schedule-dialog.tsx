/**
 * A schedule's settings, new or existing: name, cron expression (explained in words as it is
 * typed, with the next five times from GET /api/schedules/preview), time zone, where a tick
 * goes (an edge function or a URL with its method and headers — values may name secrets as
 * ${{secrets.NAME}} —, a SQL function and the role it runs as, a job queue) with its JSON body,
 * and what a tick does while the previous run still goes (skip it or queue it).
 */
import { useEffect, useId, useMemo, useState } from 'react';
import { Controller, useFieldArray, useForm, useWatch } from 'react-hook-form';
import { Plus, X } from 'lucide-react';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { Dialog, DialogContent } from '../../ui/dialog';
import { FormField } from '../../ui/form-field';
import { Input, Label, Textarea } from '../../ui/input';
import { Select } from '../../ui/select';
import { useCronText } from './cron-text';
import { useCreateSchedule, useSchedulePreview, useUpdateSchedule, type Schedule } from './hooks';

const targetTypes = ['function', 'sql', 'queue', 'url'] as const;
type TargetType = (typeof targetTypes)[number];

const targetLabels: Record<TargetType, { label: string; value: string; placeholder: string }> = {
  function: { label: 'Edge function', value: 'Function slug', placeholder: 'nightly-report' },
  sql: {
    label: 'SQL function',
    value: 'Function (name or schema.name)',
    placeholder: 'public.cleanup',
  },
  queue: { label: 'Job queue', value: 'Queue', placeholder: 'emails' },
  url: { label: 'URL', value: 'URL', placeholder: 'https://example.com/hooks/tick' },
};

const methods = ['POST', 'GET', 'PUT', 'PATCH', 'DELETE'] as const;
const roles = ['project_admin', 'authenticated', 'anon'] as const;
const overlaps = ['skip', 'queue'] as const;
const overlapLabels: Record<(typeof overlaps)[number], string> = {
  skip: 'Skip the tick (logged as skipped)',
  queue: 'Queue it: run after the previous one',
};

/** A header name as HTTP allows (a token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,200}$/;

const formSchema = z
  .object({
    name: z.string().trim().min(3, 'at least 3 characters').max(200),
    cronSchedule: z.string().trim().min(1, 'a cron expression').max(200),
    timeZone: z.string().trim().min(1, 'a time zone, e.g. UTC or Europe/Paris').max(100),
    targetType: z.enum(targetTypes),
    targetValue: z.string().trim().min(1, 'required').max(2048),
    body: z.string().refine((v) => {
      if (!v.trim()) return true;
      try {
        const parsed: unknown = JSON.parse(v);
        return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
      } catch {
        return false;
      }
    }, 'a JSON object, or empty'),
    isActive: z.boolean(),
    httpMethod: z.enum(methods),
    // Checked below, only for the targets that send them.
    headers: z.array(z.object({ name: z.string().trim(), value: z.string() })),
    role: z.enum(roles),
    overlap: z.enum(overlaps),
  })
  .superRefine((v, ctx) => {
    if (v.targetType === 'url' || v.targetType === 'function')
      v.headers.forEach((h, i) => {
        if (!HEADER_NAME.test(h.name))
          ctx.addIssue({
            code: 'custom',
            path: ['headers', i, 'name'],
            message: 'a header name (letters, digits, - …)',
          });
        if (h.value.length > 8192)
          ctx.addIssue({
            code: 'custom',
            path: ['headers', i, 'value'],
            message: 'at most 8,192 characters',
          });
      });
    if (v.targetType === 'url' && !z.url({ protocol: /^https?$/ }).safeParse(v.targetValue).success)
      ctx.addIssue({ code: 'custom', path: ['targetValue'], message: 'an http(s) URL' });
  });
type FormValues = z.infer<typeof formSchema>;

function valuesOf(s: Schedule | undefined): FormValues {
  const t = s?.target;
  const body = s?.body && typeof s.body === 'object' ? JSON.stringify(s.body, null, 2) : '';
  return {
    name: s?.name ?? '',
    cronSchedule: s?.cronSchedule ?? '0 3 * * *',
    timeZone: s?.timeZone ?? 'UTC',
    targetType: t ? t.type : s ? 'url' : 'function',
    targetValue: !t
      ? (s?.functionUrl ?? '')
      : t.type === 'function'
        ? t.slug
        : t.type === 'sql'
          ? t.function
          : t.queue,
    body: body === '{}' ? '' : body,
    isActive: s?.isActive ?? true,
    httpMethod: s?.httpMethod ?? 'POST',
    headers: Object.entries(s?.headers ?? {}).map(([name, value]) => ({ name, value })),
    role: t?.type === 'sql' ? t.role : 'project_admin',
    overlap: s?.overlap ?? 'skip',
  };
}

function toRequest(v: FormValues) {
  const target =
    v.targetType === 'function'
      ? { type: 'function' as const, slug: v.targetValue }
      : v.targetType === 'sql'
        ? { type: 'sql' as const, function: v.targetValue, role: v.role }
        : v.targetType === 'queue'
          ? { type: 'queue' as const, queue: v.targetValue }
          : undefined;
  return {
    name: v.name,
    cronSchedule: v.cronSchedule,
    timeZone: v.timeZone,
    ...(target ? { target } : { functionUrl: v.targetValue }),
    body: v.body.trim() ? (JSON.parse(v.body) as Record<string, unknown>) : {},
    httpMethod: v.httpMethod,
    // Headers go with calls (URL and function targets); rows left from another target do not.
    headers:
      v.targetType === 'url' || v.targetType === 'function'
        ? Object.fromEntries(v.headers.map((h) => [h.name, h.value]))
        : {},
    overlap: v.overlap,
  };
}

/** The IANA zones this browser knows, offered as the time zone is typed. */
function useTimeZones(): string[] {
  return useMemo(() => {
    try {
      return Intl.supportedValuesOf('timeZone');
    } catch {
      return [];
    }
  }, []);
}

/** A time in the schedule's zone (falls back to the browser's when the zone is unknown). */
export function formatInZone(iso: string, timeZone: string): string {
  const opts: Intl.DateTimeFormatOptions = {
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
    timeZoneName: 'short',
  };
  try {
    return new Intl.DateTimeFormat('en-US', { ...opts, timeZone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat('en-US', opts).format(new Date(iso));
  }
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** The expression in words and its next five times. */
function CronPreview({ cron, timeZone }: { cron: string; timeZone: string }) {
  const debouncedCron = useDebounced(cron.trim(), 250);
  const debouncedZone = useDebounced(timeZone.trim(), 250);
  const words = useCronText(debouncedCron);
  const preview = useSchedulePreview(debouncedCron, debouncedZone);
  const apiError = preview.error instanceof Error ? preview.error.message : undefined;
  return (
    <div
      className="rounded-md border border-border bg-surface-2 px-3 py-2.5 text-sm"
      aria-live="polite"
      data-testid="cron-preview"
    >
      <p className="font-medium">
        {apiError ? (
          <span className="text-danger">{apiError}</span>
        ) : (
          (words.text ?? (words.error ? <span className="text-muted">{cron}</span> : '…'))
        )}
      </p>
      {!apiError && (
        <>
          <p className="mt-2 text-xs font-medium text-muted">Next runs ({debouncedZone})</p>
          <ol className="mt-1 flex flex-col gap-0.5 font-mono text-xs" aria-label="Next runs">
            {(preview.data?.nextRuns ?? []).map((t) => (
              <li key={t}>
                <time dateTime={t}>{formatInZone(t, debouncedZone)}</time>
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

/** Mounted while open, so an edit starts from the schedule's current settings. */
export function ScheduleDialog({
  open,
  onOpenChange,
  schedule,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  schedule?: Schedule;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <ScheduleForm schedule={schedule} onOpenChange={onOpenChange} />}
    </Dialog>
  );
}

function ScheduleForm({
  schedule: editing,
  onOpenChange,
}: {
  schedule?: Schedule;
  onOpenChange: (open: boolean) => void;
}) {
  const create = useCreateSchedule();
  const update = useUpdateSchedule();
  const id = useId();
  const form = useForm<FormValues>({
    resolver: zodResolver(formSchema),
    defaultValues: valuesOf(editing),
  });
  const { errors } = form.formState;
  const [cron, timeZone, targetType] = useWatch({
    control: form.control,
    name: ['cronSchedule', 'timeZone', 'targetType'],
  });
  const labels = targetLabels[targetType];
  const headers = useFieldArray({ control: form.control, name: 'headers' });
  const zones = useTimeZones();
  const calls = targetType === 'url' || targetType === 'function';

  const submit = form.handleSubmit(async (v) => {
    const body = toRequest(v);
    if (editing) await update.mutateAsync({ id: editing.id, body });
    else await create.mutateAsync({ ...body, isActive: v.isActive });
    onOpenChange(false);
  });

  return (
    <DialogContent
      title={editing ? `Schedule ${editing.name}` : 'New schedule'}
      description="Cron with 5 fields, or 6 with seconds first; read in the schedule's time zone."
      size="lg"
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={create.isPending || update.isPending}>
            {editing ? 'Save' : 'Create schedule'}
          </Button>
        </>
      }
    >
      <form
        id={`${id}-form`}
        className="flex flex-col gap-4"
        onSubmit={(e) => void submit(e).catch(() => undefined)}
      >
        <FormField label="Name" error={errors.name?.message}>
          <Input autoFocus={!editing} placeholder="Nightly report" {...form.register('name')} />
        </FormField>
        <div className="grid gap-4 sm:grid-cols-[1fr_12rem]">
          <FormField
            label="Cron expression"
            hint="e.g. 0 3 * * * (03:00 daily), */15 * * * * *, or 30 seconds"
            error={errors.cronSchedule?.message}
          >
            <Input
              spellCheck={false}
              autoComplete="off"
              className="font-mono"
              {...form.register('cronSchedule')}
            />
          </FormField>
          <FormField label="Time zone" error={errors.timeZone?.message}>
            <Input
              spellCheck={false}
              autoComplete="off"
              placeholder="UTC"
              list={`${id}-zones`}
              {...form.register('timeZone')}
            />
          </FormField>
          <datalist id={`${id}-zones`}>
            {zones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </div>
        <CronPreview cron={cron} timeZone={timeZone} />
        <div className="grid gap-4 sm:grid-cols-[12rem_1fr]">
          <Controller
            control={form.control}
            name="targetType"
            render={({ field }) => (
              <FormField label="Target">
                <Select
                  value={field.value}
                  onValueChange={(v) => field.onChange(v as TargetType)}
                  options={targetTypes.map((t) => ({ value: t, label: targetLabels[t].label }))}
                />
              </FormField>
            )}
          />
          <FormField label={labels.value} error={errors.targetValue?.message}>
            <Input
              spellCheck={false}
              autoComplete="off"
              className="font-mono"
              placeholder={labels.placeholder}
              {...form.register('targetValue')}
            />
          </FormField>
        </div>
        {targetType === 'sql' && (
          <Controller
            control={form.control}
            name="role"
            render={({ field }) => (
              <FormField
                label="Run as"
                hint="The role the function runs as: authenticated and anon are held to RLS."
              >
                <Select
                  value={field.value}
                  onValueChange={(v) => field.onChange(v as (typeof roles)[number])}
                  options={roles.map((r) => ({
                    value: r,
                    label: r === 'project_admin' ? 'project_admin (bypasses RLS)' : r,
                  }))}
                />
              </FormField>
            )}
          />
        )}
        {calls && (
          <div role="group" aria-labelledby={`${id}-headers`} className="flex flex-col gap-2">
            <div className="grid gap-4 sm:grid-cols-[12rem_1fr]">
              <Controller
                control={form.control}
                name="httpMethod"
                render={({ field }) => (
                  <FormField label="Method">
                    <Select
                      value={field.value}
                      onValueChange={(v) => field.onChange(v as (typeof methods)[number])}
                      options={methods.map((m) => ({ value: m, label: m }))}
                    />
                  </FormField>
                )}
              />
              <div className="flex flex-col gap-1.5">
                <span id={`${id}-headers`} className="text-sm font-medium">
                  Headers
                </span>
                <p className="text-xs text-muted" id={`${id}-headers-hint`}>
                  A value may name a secret as{' '}
                  <code className="font-mono">{'${{secrets.NAME}}'}</code>: it is read at every run,
                  and stored sealed.
                </p>
              </div>
            </div>
            {headers.fields.map((f, i) => (
              <div key={f.id} className="grid grid-cols-[12rem_1fr_auto] items-start gap-2">
                <div className="flex flex-col gap-1">
                  <Input
                    aria-label={`Header ${i + 1} name`}
                    aria-invalid={errors.headers?.[i]?.name ? true : undefined}
                    spellCheck={false}
                    autoComplete="off"
                    className="font-mono text-xs"
                    placeholder="Authorization"
                    {...form.register(`headers.${i}.name`)}
                  />
                  {errors.headers?.[i]?.name && (
                    <p role="alert" className="text-xs font-medium text-danger">
                      {errors.headers[i].name.message}
                    </p>
                  )}
                </div>
                <div className="flex flex-col gap-1">
                  <Input
                    aria-label={`Header ${i + 1} value`}
                    aria-describedby={`${id}-headers-hint`}
                    spellCheck={false}
                    autoComplete="off"
                    className="font-mono text-xs"
                    placeholder={'Bearer ${{secrets.API_TOKEN}}'}
                    {...form.register(`headers.${i}.value`)}
                  />
                  {errors.headers?.[i]?.value && (
                    <p role="alert" className="text-xs font-medium text-danger">
                      {errors.headers[i].value.message}
                    </p>
                  )}
                </div>
                <Button
                  size="icon-sm"
                  variant="ghost"
                  aria-label={`Remove header ${i + 1}`}
                  title="Remove"
                  onClick={() => headers.remove(i)}
                >
                  <X aria-hidden />
                </Button>
              </div>
            ))}
            <div>
              <Button
                size="sm"
                variant="outline"
                onClick={() => headers.append({ name: '', value: '' })}
              >
                <Plus aria-hidden /> Add header
              </Button>
            </div>
          </div>
        )}
        <FormField
          label="Body (JSON)"
          hint="Optional: sent with each call (the payload for SQL and queue targets)."
          error={errors.body?.message}
        >
          <Textarea
            rows={3}
            spellCheck={false}
            placeholder='{"report": "daily"}'
            className="font-mono text-xs"
            {...form.register('body')}
          />
        </FormField>
        <Controller
          control={form.control}
          name="overlap"
          render={({ field }) => (
            <FormField
              label="While the previous run still goes"
              hint="What a tick does when the run before it has not finished."
            >
              <Select
                value={field.value}
                onValueChange={(v) => field.onChange(v as (typeof overlaps)[number])}
                options={overlaps.map((o) => ({ value: o, label: overlapLabels[o] }))}
              />
            </FormField>
          )}
        />
        {!editing && (
          <div className="flex items-start justify-between gap-4">
            <div>
              <Label htmlFor={`${id}-active`}>Active</Label>
              <p id={`${id}-active-hint`} className="mt-0.5 text-xs text-muted">
                Off: created paused; resume it from the list.
              </p>
            </div>
            <Controller
              control={form.control}
              name="isActive"
              render={({ field }) => (
                <Switch
                  id={`${id}-active`}
                  aria-describedby={`${id}-active-hint`}
                  checked={field.value}
                  onCheckedChange={field.onChange}
                />
              )}
            />
          </div>
        )}
      </form>
    </DialogContent>
  );
}
