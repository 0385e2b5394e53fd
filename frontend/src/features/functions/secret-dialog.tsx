/**
 * A secret: a new one (name, value, optional expiry) or an existing one's settings (a new value,
 * active or not, expiry). The stored value is never shown here: an edit replaces it or keeps it.
 */
import { useId } from 'react';
import { Controller, useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { secretKeySchema } from '@kiln/shared-schemas';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { Dialog, DialogContent } from '../../ui/dialog';
import { FormField } from '../../ui/form-field';
import { Input, Label, Textarea } from '../../ui/input';
import { type SecretSummary, useCreateSecret, useUpdateSecret } from './hooks';

const formSchema = z.object({
  key: secretKeySchema,
  value: z.string().max(64 * 1024, 'at most 64 KB'),
  isActive: z.boolean(),
  /** A datetime-local value ("2026-12-31T23:59"), or empty for never. */
  expiresAt: z.string(),
});
type FormValues = z.infer<typeof formSchema>;

/** ISO (UTC) to the browser's local "YYYY-MM-DDTHH:mm" for a datetime-local input. */
function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function SecretDialog({
  open,
  onOpenChange,
  secret,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** The secret edited; a new one when absent. */
  secret?: SecretSummary;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <SecretForm secret={secret} onOpenChange={onOpenChange} />}
    </Dialog>
  );
}

function SecretForm({
  secret,
  onOpenChange,
}: {
  secret?: SecretSummary;
  onOpenChange: (open: boolean) => void;
}) {
  const create = useCreateSecret();
  const update = useUpdateSecret();
  const id = useId();
  const editing = Boolean(secret);
  const form = useForm<FormValues>({
    resolver: zodResolver(
      formSchema.refine((v) => editing || v.value.length > 0, {
        path: ['value'],
        message: 'a value is required',
      }),
    ),
    defaultValues: {
      key: secret?.key ?? '',
      value: '',
      isActive: secret?.isActive ?? true,
      expiresAt: toLocalInput(secret?.expiresAt ?? null),
    },
  });
  const { errors } = form.formState;

  const submit = form.handleSubmit(async (v) => {
    const expiresAt = v.expiresAt ? new Date(v.expiresAt).toISOString() : null;
    if (secret) {
      await update.mutateAsync({
        key: secret.key,
        change: {
          ...(v.value ? { value: v.value } : {}),
          isActive: v.isActive,
          expiresAt,
        },
      });
    } else {
      await create.mutateAsync({ key: v.key, value: v.value, expiresAt });
    }
    onOpenChange(false);
  });

  return (
    <DialogContent
      title={secret ? `Secret ${secret.key}` : 'New secret'}
      description={
        secret
          ? 'Leave the value empty to keep the stored one.'
          : 'Functions read it as an environment variable of this name.'
      }
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={create.isPending || update.isPending}>
            {secret ? 'Save' : 'Add secret'}
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
          label="Name"
          hint="Letters, digits and _, e.g. STRIPE_KEY"
          error={errors.key?.message}
        >
          <Input
            autoFocus={!editing}
            readOnly={editing}
            spellCheck={false}
            autoComplete="off"
            className="font-mono"
            placeholder="STRIPE_KEY"
            {...form.register('key')}
          />
        </FormField>
        <FormField
          label={editing ? 'New value' : 'Value'}
          hint={editing ? 'Optional: the stored value stays when empty.' : undefined}
          error={errors.value?.message}
        >
          <Textarea
            autoFocus={editing}
            rows={3}
            spellCheck={false}
            autoComplete="off"
            className="font-mono text-xs"
            {...form.register('value')}
          />
        </FormField>
        <FormField label="Expires" hint="Optional: after this, functions no longer get it.">
          <Input type="datetime-local" {...form.register('expiresAt')} />
        </FormField>
        {editing && (
          <div className="flex items-start justify-between gap-4">
            <div>
              <Label htmlFor={`${id}-active`}>Active</Label>
              <p id={`${id}-active-hint`} className="mt-0.5 text-xs text-muted">
                Off: functions no longer get it; the value is kept.
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
