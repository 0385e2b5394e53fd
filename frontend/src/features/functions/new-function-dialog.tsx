/**
 * A new function: name, optional slug (made from the name when empty) and description. It is
 * created with a small handler, loaded by Deno and deployed at once, then opened in the editor.
 */
import { useId } from 'react';
import { useNavigate } from '@tanstack/react-router';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { Button } from '../../ui/button';
import { Dialog, DialogContent } from '../../ui/dialog';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';
import { useCreateFunction } from './hooks';

/** What a new function starts from: it logs each call and answers JSON. */
export const STARTER_CODE = `export default async (req: Request): Promise<Response> => {
  const url = new URL(req.url);
  console.log(\`\${req.method} \${url.pathname}\`);
  return Response.json({ message: 'Hello from Kiln', method: req.method });
};
`;

const formSchema = z.object({
  name: z.string().trim().min(1, 'a name is required').max(255),
  slug: z
    .string()
    .trim()
    .regex(/^[a-z0-9_-]{0,64}$/, 'lowercase letters, digits, dashes and underscores (64 at most)'),
  description: z.string().max(2000),
});
type FormValues = z.infer<typeof formSchema>;

export function NewFunctionDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <NewFunctionForm onOpenChange={onOpenChange} />}
    </Dialog>
  );
}

function NewFunctionForm({ onOpenChange }: { onOpenChange: (open: boolean) => void }) {
  const create = useCreateFunction();
  const navigate = useNavigate();
  const id = useId();
  const form = useForm<FormValues>({
    resolver: zodResolver(formSchema),
    defaultValues: { name: '', slug: '', description: '' },
  });
  const { errors } = form.formState;
  const submit = form.handleSubmit(async (v) => {
    const created = await create.mutateAsync({
      name: v.name,
      slug: v.slug || undefined,
      description: v.description.trim() || null,
      code: STARTER_CODE,
    });
    onOpenChange(false);
    void navigate({ to: '/functions', search: { fn: created.function.slug } });
  });
  return (
    <DialogContent
      title="New function"
      description="It starts from a small handler and is deployed at once; edit its code next."
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={create.isPending}>
            Create and deploy
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
          <Input autoFocus placeholder="Send welcome email" {...form.register('name')} />
        </FormField>
        <FormField
          label="Slug"
          hint="Its URL: /functions/<slug>. Empty: made from the name."
          error={errors.slug?.message}
        >
          <Input placeholder="send-welcome-email" spellCheck={false} {...form.register('slug')} />
        </FormField>
        <FormField label="Description" hint="Optional" error={errors.description?.message}>
          <Input {...form.register('description')} />
        </FormField>
      </form>
    </DialogContent>
  );
}
