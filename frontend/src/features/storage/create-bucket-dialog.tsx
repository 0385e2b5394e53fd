/**
 * A bucket's settings: new (name, public or private, optional size and type limits, user uploads)
 * or an existing one's (all but the name).
 */
import { useId } from 'react';
import { useNavigate } from '@tanstack/react-router';
import { Controller, useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { bucketNameSchema, mimeTypePattern } from '@kiln/shared-schemas';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { Dialog, DialogContent } from '../../ui/dialog';
import { FormField } from '../../ui/form-field';
import { Input, Label } from '../../ui/input';
import { formatBytes, parseBytes } from './format';
import { type Bucket, useCreateBucket, useUpdateBucket } from './hooks';

const formSchema = z.object({
  bucketName: bucketNameSchema,
  isPublic: z.boolean(),
  allowUserUploads: z.boolean(),
  maxFileSize: z.string().refine((v) => {
    const n = parseBytes(v);
    return n === undefined || (Number.isFinite(n) && n > 0);
  }, 'a size such as 10 MB, 512 KB or 2048'),
  allowedMimeTypes: z
    .string()
    .refine(
      (v) => splitTypes(v).every((t) => mimeTypePattern.safeParse(t).success),
      'comma-separated types such as image/png, image/*',
    ),
});
type FormValues = z.infer<typeof formSchema>;

function splitTypes(v: string): string[] {
  return v
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

const defaults: FormValues = {
  bucketName: '',
  isPublic: false,
  allowUserUploads: false,
  maxFileSize: '',
  allowedMimeTypes: '',
};

function valuesOf(b: Bucket | undefined): FormValues {
  if (!b) return defaults;
  return {
    bucketName: b.name,
    isPublic: b.isPublic,
    allowUserUploads: b.allowUserUploads,
    maxFileSize: b.maxFileSize ? formatBytes(b.maxFileSize) : '',
    allowedMimeTypes: b.allowedMimeTypes?.join(', ') ?? '',
  };
}

/** Mounted while open, so an edit starts from the bucket's current settings. */
export function CreateBucketDialog({
  open,
  onOpenChange,
  bucket,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** The bucket edited; a new one when absent. */
  bucket?: Bucket;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <BucketForm bucket={bucket} onOpenChange={onOpenChange} />}
    </Dialog>
  );
}

function BucketForm({
  bucket: editing,
  onOpenChange,
}: {
  bucket?: Bucket;
  onOpenChange: (open: boolean) => void;
}) {
  const create = useCreateBucket();
  const update = useUpdateBucket();
  const navigate = useNavigate();
  const id = useId();
  const form = useForm<FormValues>({
    resolver: zodResolver(formSchema),
    defaultValues: valuesOf(editing),
  });
  const { errors } = form.formState;

  const submit = form.handleSubmit(async (v) => {
    const types = splitTypes(v.allowedMimeTypes);
    const settings = {
      isPublic: v.isPublic,
      allowUserUploads: v.allowUserUploads,
      maxFileSize: parseBytes(v.maxFileSize) ?? null,
      allowedMimeTypes: types.length ? types : null,
    };
    if (editing) {
      await update.mutateAsync({ name: editing.name, settings });
      onOpenChange(false);
      return;
    }
    const bucket = await create.mutateAsync({ bucketName: v.bucketName, ...settings });
    onOpenChange(false);
    void navigate({ to: '/storage', search: { bucket: bucket.name } });
  });

  return (
    <>
      <DialogContent
        title={editing ? `Bucket ${editing.name}` : 'New bucket'}
        description={
          editing
            ? 'Limits apply to uploads from now on; stored files are kept.'
            : 'Names are 1-63 lowercase letters, digits, dots, dashes or underscores.'
        }
        footer={
          <>
            <Button variant="outline" onClick={() => onOpenChange(false)}>
              Cancel
            </Button>
            <Button
              type="submit"
              form={`${id}-form`}
              loading={create.isPending || update.isPending}
            >
              {editing ? 'Save' : 'Create bucket'}
            </Button>
          </>
        }
      >
        <form
          id={`${id}-form`}
          className="flex flex-col gap-4"
          onSubmit={(e) => void submit(e).catch(() => undefined)}
        >
          <FormField label="Name" error={errors.bucketName?.message}>
            <Input
              autoFocus={!editing}
              readOnly={!!editing}
              placeholder="avatars"
              {...form.register('bucketName')}
            />
          </FormField>
          <SwitchRow
            id={`${id}-public`}
            label="Public"
            hint="Anyone with a file's URL can read it. Off: signed URLs or the API only."
            control={
              <Controller
                control={form.control}
                name="isPublic"
                render={({ field }) => (
                  <Switch
                    id={`${id}-public`}
                    aria-describedby={`${id}-public-hint`}
                    checked={field.value}
                    onCheckedChange={field.onChange}
                  />
                )}
              />
            }
          />
          <SwitchRow
            id={`${id}-users`}
            label="Signed-in users may upload"
            hint="Each user owns what they upload, within the per-user quota. Off: admins and the API key only."
            control={
              <Controller
                control={form.control}
                name="allowUserUploads"
                render={({ field }) => (
                  <Switch
                    id={`${id}-users`}
                    aria-describedby={`${id}-users-hint`}
                    checked={field.value}
                    onCheckedChange={field.onChange}
                  />
                )}
              />
            }
          />
          <div className="grid gap-4 sm:grid-cols-2">
            <FormField
              label="Largest file"
              hint="Optional, e.g. 10 MB"
              error={errors.maxFileSize?.message}
            >
              <Input placeholder="No limit" {...form.register('maxFileSize')} />
            </FormField>
            <FormField
              label="Allowed types"
              hint="Optional, e.g. image/*, application/pdf"
              error={errors.allowedMimeTypes?.message}
            >
              <Input placeholder="Any type" {...form.register('allowedMimeTypes')} />
            </FormField>
          </div>
        </form>
      </DialogContent>
    </>
  );
}

function SwitchRow({
  id,
  label,
  hint,
  control,
}: {
  id: string;
  label: string;
  hint: string;
  control: React.ReactNode;
}) {
  return (
    <div className="flex items-start justify-between gap-4">
      <div>
        <Label htmlFor={id}>{label}</Label>
        <p id={`${id}-hint`} className="mt-0.5 text-xs text-muted">
          {hint}
        </p>
      </div>
      {control}
    </div>
  );
}
