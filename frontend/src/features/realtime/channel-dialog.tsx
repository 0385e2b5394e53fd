/**
 * A channel's settings: new, or an existing one's. The pattern is a channel name or a LIKE
 * pattern (`%` matches anything); webhook URLs are one per line.
 */
import { useId } from 'react';
import { Controller, useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { realtimeChannelRequestSchema } from '@kiln/shared-schemas';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { Dialog, DialogContent } from '../../ui/dialog';
import { FormField } from '../../ui/form-field';
import { Input, Label, Textarea } from '../../ui/input';
import { type RealtimeChannel, useCreateChannel, useUpdateChannel } from './hooks';

const MAX_WEBHOOKS = 20;

function splitLines(v: string): string[] {
  return v
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter(Boolean);
}

const formSchema = z.object({
  pattern: realtimeChannelRequestSchema.shape.pattern,
  description: z.string().max(1000),
  enabled: z.boolean(),
  webhookUrls: z.string().superRefine((v, ctx) => {
    const urls = splitLines(v);
    if (urls.length > MAX_WEBHOOKS)
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_WEBHOOKS} URLs` });
    const bad = urls.find((u) => !z.url({ protocol: /^https?$/ }).safeParse(u).success);
    if (bad) ctx.addIssue({ code: 'custom', message: `not an http(s) URL: ${bad}` });
  }),
});
type FormValues = z.infer<typeof formSchema>;

function valuesOf(c: RealtimeChannel | undefined): FormValues {
  return {
    pattern: c?.pattern ?? '',
    description: c?.description ?? '',
    enabled: c?.enabled ?? true,
    webhookUrls: c?.webhookUrls.join('\n') ?? '',
  };
}

/** Mounted while open, so an edit starts from the channel's current settings. */
export function ChannelDialog({
  open,
  onOpenChange,
  channel,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** The channel edited; a new one when absent. */
  channel?: RealtimeChannel;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <ChannelForm channel={channel} onOpenChange={onOpenChange} />}
    </Dialog>
  );
}

function ChannelForm({
  channel: editing,
  onOpenChange,
}: {
  channel?: RealtimeChannel;
  onOpenChange: (open: boolean) => void;
}) {
  const create = useCreateChannel();
  const update = useUpdateChannel();
  const id = useId();
  const form = useForm<FormValues>({
    resolver: zodResolver(formSchema),
    defaultValues: valuesOf(editing),
  });
  const { errors } = form.formState;

  const submit = form.handleSubmit(async (v) => {
    const body = {
      pattern: v.pattern,
      description: v.description.trim() || null,
      enabled: v.enabled,
      webhookUrls: splitLines(v.webhookUrls),
    };
    if (editing) await update.mutateAsync({ id: editing.id, body });
    else await create.mutateAsync(body);
    onOpenChange(false);
  });

  return (
    <DialogContent
      title={editing ? `Channel ${editing.pattern}` : 'New channel'}
      description="Who may subscribe and publish is decided by the RLS policies of realtime.channels and realtime.messages."
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={create.isPending || update.isPending}>
            {editing ? 'Save' : 'Create channel'}
          </Button>
        </>
      }
    >
      <form
        id={`${id}-form`}
        className="flex flex-col gap-4"
        onSubmit={(e) => void submit(e).catch(() => undefined)}
      >
        <FormField
          label="Pattern"
          hint="A channel name (chat:lobby) or a pattern with % as a wildcard (orders:%)."
          error={errors.pattern?.message}
        >
          <Input
            autoFocus={!editing}
            placeholder="orders:%"
            spellCheck={false}
            autoComplete="off"
            className="font-mono"
            {...form.register('pattern')}
          />
        </FormField>
        <FormField label="Description" error={errors.description?.message}>
          <Input placeholder="Optional" {...form.register('description')} />
        </FormField>
        <div className="flex items-start justify-between gap-4">
          <div>
            <Label htmlFor={`${id}-enabled`}>Enabled</Label>
            <p id={`${id}-enabled-hint`} className="mt-0.5 text-xs text-muted">
              Off: nobody can subscribe to or publish on the channels it matches, and its webhooks
              are not called.
            </p>
          </div>
          <Controller
            control={form.control}
            name="enabled"
            render={({ field }) => (
              <Switch
                id={`${id}-enabled`}
                aria-describedby={`${id}-enabled-hint`}
                checked={field.value}
                onCheckedChange={field.onChange}
              />
            )}
          />
        </div>
        <FormField
          label="Webhook URLs"
          hint={`Optional, one per line (at most ${MAX_WEBHOOKS}). Every message is POSTed to each, signed with the webhook secret.`}
          error={errors.webhookUrls?.message}
        >
          <Textarea
            rows={3}
            placeholder="https://example.com/hooks/orders"
            spellCheck={false}
            className="font-mono text-xs"
            {...form.register('webhookUrls')}
          />
        </FormField>
      </form>
    </DialogContent>
  );
}
