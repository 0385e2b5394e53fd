/** One small form: a name for a snippet (save, save as, rename) or an editor tab. */
import { useEffect } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { Button } from '../../ui/button';
import { Dialog, DialogContent } from '../../ui/dialog';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';

const nameSchema = z.object({ name: z.string().trim().min(1, 'Enter a name').max(200) });
type NameForm = z.infer<typeof nameSchema>;

export interface NameDialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description?: string;
  label: string;
  initial: string;
  confirmLabel: string;
  /** Resolves when done (the dialog closes); throws to keep it open (the toast says why). */
  onSubmit: (name: string) => Promise<unknown> | void;
}

export function NameDialog({
  open,
  onOpenChange,
  title,
  description,
  label,
  initial,
  confirmLabel,
  onSubmit,
}: NameDialogProps) {
  const form = useForm<NameForm>({
    resolver: zodResolver(nameSchema),
    defaultValues: { name: initial },
  });
  useEffect(() => {
    if (open) form.reset({ name: initial });
  }, [open, initial, form]);
  const submit = form.handleSubmit(async ({ name }) => {
    try {
      await onSubmit(name);
      onOpenChange(false);
    } catch {
      /* the mutation's toast reports it; stay open to retry */
    }
  });
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent
        title={title}
        description={description}
        size="sm"
        footer={
          <>
            <Button variant="outline" onClick={() => onOpenChange(false)}>
              Cancel
            </Button>
            <Button type="submit" form="sql-name-form" loading={form.formState.isSubmitting}>
              {confirmLabel}
            </Button>
          </>
        }
      >
        <form id="sql-name-form" onSubmit={(e) => void submit(e)} noValidate>
          <FormField label={label} error={form.formState.errors.name?.message}>
            <Input autoFocus autoComplete="off" {...form.register('name')} />
          </FormField>
        </form>
      </DialogContent>
    </Dialog>
  );
}
