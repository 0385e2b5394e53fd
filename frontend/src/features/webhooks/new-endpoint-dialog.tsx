/**
 * A new incoming webhook endpoint: name, verification scheme (with the HMAC header, encoding and
 * prefix when it is `hmac`), an optional secret (generated when empty), the idempotency key, the
 * replay window and where verified deliveries go. Opens the endpoint once it exists.
 */
import { useId } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import type { CreateIncomingWebhookRequest } from '@kiln/shared-schemas';
import { Button } from '../../ui/button';
import { Dialog, DialogContent } from '../../ui/dialog';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';
import { Select } from '../../ui/select';
import { useCreateEndpoint } from './hooks';
import { SCHEMES } from './schemes';

const route = getRouteApi('/app/webhooks');

const formSchema = z
  .object({
    name: z
      .string()
      .trim()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, "-" and "_" (63 at most)'),
    description: z.string().max(500),
    scheme: z.enum(['hmac', 'standard-webhooks', 'github', 'stripe', 'none']),
    header: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9-]{0,100}$/, 'an HTTP header name'),
    encoding: z.enum(['hex', 'base64']),
    prefix: z.string().max(50),
    secret: z
      .string()
      .trim()
      .refine((s) => s === '' || s.length >= 8, 'at least 8 characters (or empty to generate one)'),
    idempotencyKey: z
      .string()
      .trim()
      .regex(
        /^(|header:[A-Za-z0-9-]{1,100}|(\$\.)?[A-Za-z0-9_-]{1,100}(\.[A-Za-z0-9_-]{1,100}){0,15})$/,
        'header:<name> or a dotted path such as data.id',
      ),
    replayWindowSeconds: z.coerce.number().int().min(1).max(604_800),
    targetType: z.enum(['none', 'queue', 'function']),
    target: z.string().trim(),
  })
  .refine((v) => v.targetType === 'none' || v.target !== '', {
    path: ['target'],
    message: 'name the queue or the function',
  });
type FormInput = z.input<typeof formSchema>;
type FormValues = z.output<typeof formSchema>;

export function NewEndpointDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <NewEndpointForm onOpenChange={onOpenChange} />}
    </Dialog>
  );
}

function NewEndpointForm({ onOpenChange }: { onOpenChange: (open: boolean) => void }) {
  const create = useCreateEndpoint();
  const navigate = route.useNavigate();
  const id = useId();
  const form = useForm<FormInput, unknown, FormValues>({
    resolver: zodResolver(formSchema),
    defaultValues: {
      name: '',
      description: '',
      scheme: 'standard-webhooks',
      header: 'x-signature',
      encoding: 'hex',
      prefix: '',
      secret: '',
      idempotencyKey: '',
      replayWindowSeconds: 300,
      targetType: 'none',
      target: '',
    },
  });
  const { errors } = form.formState;
  const scheme = form.watch('scheme');
  const targetType = form.watch('targetType');
  const submit = form.handleSubmit(async (v) => {
    const body: CreateIncomingWebhookRequest = {
      name: v.name,
      description: v.description.trim() || null,
      verification:
        v.scheme === 'hmac'
          ? {
              scheme: 'hmac',
              header: v.header || 'x-signature',
              encoding: v.encoding,
              prefix: v.prefix,
            }
          : { scheme: v.scheme },
      ...(v.secret ? { secret: v.secret } : {}),
      ...(v.idempotencyKey ? { idempotencyKey: v.idempotencyKey } : {}),
      replayWindowSeconds: v.replayWindowSeconds,
      target:
        v.targetType === 'queue'
          ? { type: 'queue', queue: v.target }
          : v.targetType === 'function'
            ? { type: 'function', slug: v.target }
            : { type: 'none' },
    };
    const created = await create.mutateAsync(body);
    onOpenChange(false);
    void navigate({ search: { endpoint: created.name } });
  });
  return (
    <DialogContent
      size="lg"
      title="New endpoint"
      description="Senders deliver to /api/webhooks/in/<name>; each delivery is verified, stored and handed on."
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={create.isPending}>
            Create endpoint
          </Button>
        </>
      }
    >
      <form
        id={`${id}-form`}
        className="grid grid-cols-2 gap-4"
        onSubmit={(e) => void submit(e).catch(() => undefined)}
      >
        <FormField label="Name" hint="The last part of its URL" error={errors.name?.message}>
          <Input autoFocus placeholder="github" spellCheck={false} {...form.register('name')} />
        </FormField>
        <FormField label="Description" hint="Optional" error={errors.description?.message}>
          <Input {...form.register('description')} />
        </FormField>
        <FormField label="Verification" hint={SCHEMES[scheme].hint}>
          <Select
            value={form.watch('scheme')}
            onValueChange={(v) => form.setValue('scheme', v as FormInput['scheme'])}
            options={Object.entries(SCHEMES).map(([value, s]) => ({ value, label: s.label }))}
          />
        </FormField>
        <FormField
          label="Secret"
          hint="Empty: Kiln generates one (shown once the endpoint exists)"
          error={errors.secret?.message}
        >
          <Input type="password" autoComplete="off" {...form.register('secret')} />
        </FormField>
        {scheme === 'hmac' && (
          <>
            <FormField label="Signature header" error={errors.header?.message}>
              <Input spellCheck={false} {...form.register('header')} />
            </FormField>
            <div className="grid grid-cols-2 gap-4">
              <FormField label="Encoding">
                <Select
                  value={form.watch('encoding')}
                  onValueChange={(v) => form.setValue('encoding', v as FormInput['encoding'])}
                  options={[
                    { value: 'hex', label: 'hex' },
                    { value: 'base64', label: 'base64' },
                  ]}
                />
              </FormField>
              <FormField label="Prefix" hint="e.g. sha256=" error={errors.prefix?.message}>
                <Input spellCheck={false} {...form.register('prefix')} />
              </FormField>
            </div>
          </>
        )}
        <FormField
          label="Idempotency key"
          hint={`header:<name> or a JSON path. Empty: ${SCHEMES[scheme].defaultKey ?? 'none'}`}
          error={errors.idempotencyKey?.message}
        >
          <Input
            spellCheck={false}
            placeholder={SCHEMES[scheme].defaultKey ?? 'data.id'}
            {...form.register('idempotencyKey')}
          />
        </FormField>
        <FormField
          label="Replay window (seconds)"
          hint="Timestamped schemes refuse older or newer deliveries"
          error={errors.replayWindowSeconds?.message}
        >
          <Input type="number" min={1} {...form.register('replayWindowSeconds')} />
        </FormField>
        <FormField label="Hand deliveries to">
          <Select
            value={form.watch('targetType')}
            onValueChange={(v) => form.setValue('targetType', v as FormInput['targetType'])}
            options={[
              { value: 'none', label: 'Nothing (only store them)' },
              { value: 'queue', label: 'A job queue' },
              { value: 'function', label: 'An edge function' },
            ]}
          />
        </FormField>
        {targetType !== 'none' && (
          <FormField
            label={targetType === 'queue' ? 'Queue' : 'Function slug'}
            error={errors.target?.message}
          >
            <Input spellCheck={false} {...form.register('target')} />
          </FormField>
        )}
      </form>
    </DialogContent>
  );
}
