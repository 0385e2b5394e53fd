/**
 * A queue's settings, new or existing (PUT /api/jobs/queues/{name}): where its jobs go (an edge
 * function, a URL, or a SQL function run as a chosen role), its retries (attempts, first backoff
 * and its cap), the time an attempt may take, how many of its jobs run at once across every
 * instance, and whether signed-in users may enqueue.
 */
import { useId } from 'react';
import { Controller, useForm, useWatch } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { Dialog, DialogContent } from '../../ui/dialog';
import { FormField } from '../../ui/form-field';
import { Input, Label } from '../../ui/input';
import { Select } from '../../ui/select';
import { usePutQueue, type Queue } from './hooks';

const kinds = ['function', 'http', 'sql'] as const;
type Kind = (typeof kinds)[number];
const roles = ['project_admin', 'authenticated', 'anon'] as const;
type Role = (typeof roles)[number];

const kindLabels: Record<Kind, { label: string; value: string; placeholder: string }> = {
  function: { label: 'Edge function', value: 'Function slug', placeholder: 'send-email' },
  http: { label: 'URL (signed POST)', value: 'URL', placeholder: 'https://example.com/hooks/job' },
  sql: {
    label: 'SQL function',
    value: 'Function (name or schema.name)',
    placeholder: 'public.process_upload',
  },
};

const roleLabels: Record<Role, string> = {
  project_admin: 'project_admin (bypasses RLS)',
  authenticated: 'authenticated',
  anon: 'anon',
};

/** A duration in ms as people read it (`1 s`, `1 h`, `1.5 s`); empty when not a number. */
export function humanMs(text: string): string {
  if (!/^\d+$/.test(text.trim())) return '';
  const ms = Number(text);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  for (const [size, unit] of units)
    if (ms >= size && ms % size === 0) return `${(ms / size).toLocaleString('en-US')} ${unit}`;
  if (ms >= 1000) return `${(ms / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })} s`;
  return `${ms} ms`;
}

/** A whole number between `min` and `max`, typed as text (empty: `empty`). */
const count = (min: number, max: number, what: string) =>
  z
    .string()
    .trim()
    .refine((v) => /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max, {
      message: `${what}: a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`,
    });

const formSchema = z
  .object({
    name: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, 'letters, digits, _ . : - (up to 100)'),
    kind: z.enum(kinds),
    target: z.string().trim().min(1, 'required').max(2048),
    role: z.enum(roles),
    maxAttempts: count(1, 100, 'attempts'),
    backoffMs: count(0, 86_400_000, 'ms'),
    backoffMaxMs: count(0, 86_400_000, 'ms'),
    timeoutMs: count(100, 3_600_000, 'ms'),
    concurrency: z
      .string()
      .trim()
      .refine((v) => v === '' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 1000), {
        message: 'empty (no limit) or 1 to 1,000',
      }),
    userEnqueue: z.boolean(),
  })
  .superRefine((v, ctx) => {
    if (v.kind === 'http' && !z.url({ protocol: /^https?$/ }).safeParse(v.target).success)
      ctx.addIssue({ code: 'custom', path: ['target'], message: 'an http(s) URL' });
    if (
      v.kind === 'sql' &&
      !/^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$/.test(v.target)
    )
      ctx.addIssue({ code: 'custom', path: ['target'], message: 'name or schema.name' });
  });
type FormValues = z.infer<typeof formSchema>;

function valuesOf(q: Queue | undefined): FormValues {
  const t = q?.target;
  return {
    name: q?.name ?? '',
    kind: t?.type ?? 'function',
    target: !t ? '' : t.type === 'function' ? t.slug : t.type === 'http' ? t.url : t.function,
    role: t?.type === 'sql' ? t.role : 'project_admin',
    maxAttempts: String(q?.maxAttempts ?? 5),
    backoffMs: String(q?.backoffMs ?? 1000),
    backoffMaxMs: String(q?.backoffMaxMs ?? 3_600_000),
    timeoutMs: String(q?.timeoutMs ?? 30_000),
    concurrency: q?.concurrency == null ? '' : String(q.concurrency),
    userEnqueue: q?.userEnqueue ?? false,
  };
}

function toRequest(v: FormValues) {
  const target =
    v.kind === 'function'
      ? { type: 'function' as const, slug: v.target }
      : v.kind === 'http'
        ? { type: 'http' as const, url: v.target }
        : { type: 'sql' as const, function: v.target, role: v.role };
  return {
    target,
    maxAttempts: Number(v.maxAttempts),
    backoffMs: Number(v.backoffMs),
    backoffMaxMs: Number(v.backoffMaxMs),
    timeoutMs: Number(v.timeoutMs),
    concurrency: v.concurrency === '' ? null : Number(v.concurrency),
    userEnqueue: v.userEnqueue,
  };
}

/** Mounted while open, so an edit starts from the queue's current settings. */
export function QueueDialog({
  open,
  onOpenChange,
  queue,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  queue?: Queue;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <QueueForm queue={queue} onOpenChange={onOpenChange} />}
    </Dialog>
  );
}

function QueueForm({
  queue: editing,
  onOpenChange,
}: {
  queue?: Queue;
  onOpenChange: (open: boolean) => void;
}) {
  const put = usePutQueue();
  const id = useId();
  const form = useForm<FormValues>({
    resolver: zodResolver(formSchema),
    defaultValues: valuesOf(editing),
  });
  const { errors } = form.formState;
  const [kind, backoff, backoffMax, timeout] = useWatch({
    control: form.control,
    name: ['kind', 'backoffMs', 'backoffMaxMs', 'timeoutMs'],
  });
  const inWords = (ms: string) => (humanMs(ms) ? ` (${humanMs(ms)})` : '');
  const labels = kindLabels[kind];

  const submit = form.handleSubmit(async (v) => {
    await put.mutateAsync({ name: v.name, body: toRequest(v) });
    onOpenChange(false);
  });

  return (
    <DialogContent
      title={editing ? `Queue ${editing.name}` : 'New queue'}
      description="Where the queue's jobs go and how they are retried. Changes apply to the jobs that run from now on."
      size="lg"
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={put.isPending}>
            {editing ? 'Save' : 'Create queue'}
          </Button>
        </>
      }
    >
      <form
        id={`${id}-form`}
        className="flex flex-col gap-4"
        onSubmit={(e) => void submit(e).catch(() => undefined)}
      >
        {!editing && (
          <FormField
            label="Name"
            hint="Jobs are enqueued by it: POST /api/jobs/queues/<name>/jobs or jobs.enqueue('<name>', …) in SQL."
            error={errors.name?.message}
          >
            <Input
              autoFocus
              spellCheck={false}
              autoComplete="off"
              className="font-mono"
              placeholder="emails"
              {...form.register('name')}
            />
          </FormField>
        )}
        <div className="grid gap-4 sm:grid-cols-[12rem_1fr]">
          <Controller
            control={form.control}
            name="kind"
            render={({ field }) => (
              <FormField label="Target">
                <Select
                  value={field.value}
                  onValueChange={(v) => field.onChange(v as Kind)}
                  options={kinds.map((k) => ({ value: k, label: kindLabels[k].label }))}
                />
              </FormField>
            )}
          />
          <FormField
            label={labels.value}
            hint={
              kind === 'function'
                ? 'POSTed the payload, with X-Job-Id, X-Job-Attempt and X-Job-Queue headers.'
                : kind === 'http'
                  ? 'Signed with X-Kiln-Timestamp and X-Kiln-Signature, like realtime webhooks.'
                  : 'Called as fn(payload jsonb) in its own transaction.'
            }
            error={errors.target?.message}
          >
            <Input
              spellCheck={false}
              autoComplete="off"
              className="font-mono"
              placeholder={labels.placeholder}
              {...form.register('target')}
            />
          </FormField>
        </div>
        {kind === 'sql' && (
          <div className="grid gap-4 sm:grid-cols-[18rem_1fr]">
            <Controller
              control={form.control}
              name="role"
              render={({ field }) => (
                <FormField label="Run as" hint="authenticated and anon are held to RLS.">
                  <Select
                    value={field.value}
                    onValueChange={(v) => field.onChange(v as Role)}
                    options={roles.map((r) => ({ value: r, label: roleLabels[r] }))}
                  />
                </FormField>
              )}
            />
          </div>
        )}
        <div className="grid gap-4 sm:grid-cols-3">
          <FormField
            label="Max attempts"
            hint="Then the job is dead."
            error={errors.maxAttempts?.message}
          >
            <Input inputMode="numeric" {...form.register('maxAttempts')} />
          </FormField>
          <FormField
            label="Backoff (ms)"
            hint={`Doubles each attempt, with jitter${inWords(backoff)}.`}
            error={errors.backoffMs?.message}
          >
            <Input inputMode="numeric" {...form.register('backoffMs')} />
          </FormField>
          <FormField
            label="Backoff cap (ms)"
            hint={`The longest wait${inWords(backoffMax)}.`}
            error={errors.backoffMaxMs?.message}
          >
            <Input inputMode="numeric" {...form.register('backoffMaxMs')} />
          </FormField>
          <FormField
            label="Timeout (ms)"
            hint={`Per attempt${inWords(timeout)}.`}
            error={errors.timeoutMs?.message}
          >
            <Input inputMode="numeric" {...form.register('timeoutMs')} />
          </FormField>
          <FormField
            label="Concurrency"
            hint="At once, across instances; empty: no limit."
            error={errors.concurrency?.message}
          >
            <Input inputMode="numeric" placeholder="No limit" {...form.register('concurrency')} />
          </FormField>
        </div>
        <div className="flex items-start justify-between gap-4">
          <div>
            <Label htmlFor={`${id}-users`}>Signed-in users may enqueue</Label>
            <p id={`${id}-users-hint`} className="mt-0.5 text-xs text-muted">
              Off: only admins and the API key (and the SQL they run).
            </p>
          </div>
          <Controller
            control={form.control}
            name="userEnqueue"
            render={({ field }) => (
              <Switch
                id={`${id}-users`}
                aria-describedby={`${id}-users-hint`}
                checked={field.value}
                onCheckedChange={field.onChange}
              />
            )}
          />
        </div>
      </form>
    </DialogContent>
  );
}
