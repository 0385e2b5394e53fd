/**
 * The Payments area's forms: connecting an environment (Stripe's secret key, or Razorpay's key
 * pair and webhook secret), a new Stripe product, a new price for a product, a new Razorpay plan.
 */
import { useId } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { Button } from '../../ui/button';
import { Dialog, DialogContent } from '../../ui/dialog';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';
import { Select } from '../../ui/select';
import {
  useCreatePlan,
  useCreatePrice,
  useCreateProduct,
  useSaveKeys,
  type StripeProduct,
} from './hooks';
import { toMinorUnits } from './money';
import type { Environment, Provider } from './search';

const amountField = z
  .string()
  .trim()
  .regex(/^\d+(\.\d{1,3})?$/, 'an amount such as 12 or 12.50');
const currencyField = z
  .string()
  .trim()
  .regex(/^[A-Za-z]{3}$/, 'a three-letter code (usd, eur, inr…)');

// ---------------------------------------------------------------------------------------------

const stripeKeysSchema = z.object({ secretKey: z.string().trim().min(1, 'paste the secret key') });
const razorpayKeysSchema = z.object({
  keyId: z.string().trim().min(1, 'paste the key ID'),
  keySecret: z.string().trim().min(1, 'paste the key secret'),
  webhookSecret: z.string().trim(),
});

export function ConnectDialog({
  provider,
  env,
  open,
  onOpenChange,
}: {
  provider: Provider;
  env: Environment;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open &&
        (provider === 'stripe' ? (
          <StripeKeysForm env={env} onOpenChange={onOpenChange} />
        ) : (
          <RazorpayKeysForm env={env} onOpenChange={onOpenChange} />
        ))}
    </Dialog>
  );
}

function StripeKeysForm({
  env,
  onOpenChange,
}: {
  env: Environment;
  onOpenChange: (open: boolean) => void;
}) {
  const save = useSaveKeys('stripe');
  const id = useId();
  const form = useForm({
    resolver: zodResolver(stripeKeysSchema),
    defaultValues: { secretKey: '' },
  });
  const submit = form.handleSubmit(async (v) => {
    await save.mutateAsync({ env, body: { secretKey: v.secretKey } });
    onOpenChange(false);
  });
  return (
    <DialogContent
      title={`Connect Stripe (${env})`}
      description="Kiln checks the key with Stripe, registers its webhook endpoint and syncs. The key is stored encrypted."
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={save.isPending}>
            Connect
          </Button>
        </>
      }
    >
      <form id={`${id}-form`} onSubmit={(e) => void submit(e).catch(() => undefined)}>
        <FormField
          label="Secret key"
          hint={`sk_${env}_… or a restricted rk_${env}_… key`}
          error={form.formState.errors.secretKey?.message}
        >
          <Input
            autoFocus
            type="password"
            autoComplete="off"
            spellCheck={false}
            {...form.register('secretKey')}
          />
        </FormField>
      </form>
    </DialogContent>
  );
}

function RazorpayKeysForm({
  env,
  onOpenChange,
}: {
  env: Environment;
  onOpenChange: (open: boolean) => void;
}) {
  const save = useSaveKeys('razorpay');
  const id = useId();
  const form = useForm({
    resolver: zodResolver(razorpayKeysSchema),
    defaultValues: { keyId: '', keySecret: '', webhookSecret: '' },
  });
  const { errors } = form.formState;
  const submit = form.handleSubmit(async (v) => {
    await save.mutateAsync({
      env,
      body: {
        keyId: v.keyId,
        keySecret: v.keySecret,
        ...(v.webhookSecret ? { webhookSecret: v.webhookSecret } : {}),
      },
    });
    onOpenChange(false);
  });
  return (
    <DialogContent
      title={`Connect Razorpay (${env})`}
      description="Kiln checks the keys with Razorpay and stores them encrypted."
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={save.isPending}>
            Connect
          </Button>
        </>
      }
    >
      <form
        id={`${id}-form`}
        className="flex flex-col gap-4"
        onSubmit={(e) => void submit(e).catch(() => undefined)}
      >
        <FormField label="Key ID" hint={`rzp_${env}_…`} error={errors.keyId?.message}>
          <Input autoFocus spellCheck={false} autoComplete="off" {...form.register('keyId')} />
        </FormField>
        <FormField label="Key secret" error={errors.keySecret?.message}>
          <Input type="password" autoComplete="off" {...form.register('keySecret')} />
        </FormField>
        <FormField
          label="Webhook secret"
          hint="Optional: empty keeps the current one, or makes a new one to enter in Razorpay"
        >
          <Input type="password" autoComplete="off" {...form.register('webhookSecret')} />
        </FormField>
      </form>
    </DialogContent>
  );
}

// ---------------------------------------------------------------------------------------------

const productSchema = z.object({
  name: z.string().trim().min(1, 'name the product'),
  description: z.string().trim().max(5000),
});

export function NewProductDialog({
  env,
  open,
  onOpenChange,
}: {
  env: Environment;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <NewProductForm env={env} onOpenChange={onOpenChange} />}
    </Dialog>
  );
}

function NewProductForm({
  env,
  onOpenChange,
}: {
  env: Environment;
  onOpenChange: (open: boolean) => void;
}) {
  const create = useCreateProduct(env);
  const id = useId();
  const form = useForm({
    resolver: zodResolver(productSchema),
    defaultValues: { name: '', description: '' },
  });
  const submit = form.handleSubmit(async (v) => {
    await create.mutateAsync({ name: v.name, description: v.description || null });
    onOpenChange(false);
  });
  return (
    <DialogContent
      title="New product"
      description={`Created in your Stripe ${env} account.`}
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={create.isPending}>
            Create product
          </Button>
        </>
      }
    >
      <form
        id={`${id}-form`}
        className="flex flex-col gap-4"
        onSubmit={(e) => void submit(e).catch(() => undefined)}
      >
        <FormField label="Name" error={form.formState.errors.name?.message}>
          <Input autoFocus {...form.register('name')} />
        </FormField>
        <FormField label="Description" hint="Optional, shown at checkout">
          <Input {...form.register('description')} />
        </FormField>
      </form>
    </DialogContent>
  );
}

const priceSchema = z.object({
  amount: amountField,
  currency: currencyField,
  interval: z.enum(['once', 'day', 'week', 'month', 'year']),
});
type PriceInput = z.input<typeof priceSchema>;

export function NewPriceDialog({
  env,
  product,
  onClose,
}: {
  env: Environment;
  product: StripeProduct | null;
  onClose: () => void;
}) {
  return (
    <Dialog open={!!product} onOpenChange={(o) => !o && onClose()}>
      {product && <NewPriceForm env={env} product={product} onClose={onClose} />}
    </Dialog>
  );
}

function NewPriceForm({
  env,
  product,
  onClose,
}: {
  env: Environment;
  product: StripeProduct;
  onClose: () => void;
}) {
  const create = useCreatePrice(env);
  const id = useId();
  const form = useForm<PriceInput>({
    resolver: zodResolver(priceSchema),
    defaultValues: { amount: '', currency: 'usd', interval: 'month' },
  });
  const { errors } = form.formState;
  const submit = form.handleSubmit(async (v) => {
    await create.mutateAsync({
      productId: product.productId,
      currency: v.currency.toLowerCase(),
      unitAmount: toMinorUnits(v.amount, v.currency),
      ...(v.interval === 'once' ? {} : { recurring: { interval: v.interval } }),
    });
    onClose();
  });
  return (
    <DialogContent
      title={`New price for ${product.name}`}
      footer={
        <>
          <Button variant="outline" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={create.isPending}>
            Create price
          </Button>
        </>
      }
    >
      <form
        id={`${id}-form`}
        className="grid grid-cols-3 gap-4"
        onSubmit={(e) => void submit(e).catch(() => undefined)}
      >
        <FormField label="Amount" error={errors.amount?.message}>
          <Input autoFocus inputMode="decimal" placeholder="12.00" {...form.register('amount')} />
        </FormField>
        <FormField label="Currency" error={errors.currency?.message}>
          <Input spellCheck={false} {...form.register('currency')} />
        </FormField>
        <FormField label="Billing">
          <Select
            value={form.watch('interval')}
            onValueChange={(v) => form.setValue('interval', v as PriceInput['interval'])}
            options={[
              { value: 'once', label: 'One time' },
              { value: 'day', label: 'Daily' },
              { value: 'week', label: 'Weekly' },
              { value: 'month', label: 'Monthly' },
              { value: 'year', label: 'Yearly' },
            ]}
          />
        </FormField>
      </form>
    </DialogContent>
  );
}

// ---------------------------------------------------------------------------------------------

const planSchema = z.object({
  name: z.string().trim().min(1, 'name the plan’s item'),
  amount: amountField,
  currency: currencyField,
  period: z.enum(['daily', 'weekly', 'monthly', 'yearly']),
  interval: z.coerce.number().int().min(1, 'at least 1'),
});
type PlanInput = z.input<typeof planSchema>;
type PlanValues = z.output<typeof planSchema>;

export function NewPlanDialog({
  env,
  open,
  onOpenChange,
}: {
  env: Environment;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <NewPlanForm env={env} onOpenChange={onOpenChange} />}
    </Dialog>
  );
}

function NewPlanForm({
  env,
  onOpenChange,
}: {
  env: Environment;
  onOpenChange: (open: boolean) => void;
}) {
  const create = useCreatePlan(env);
  const id = useId();
  const form = useForm<PlanInput, unknown, PlanValues>({
    resolver: zodResolver(planSchema),
    defaultValues: { name: '', amount: '', currency: 'INR', period: 'monthly', interval: 1 },
  });
  const { errors } = form.formState;
  const submit = form.handleSubmit(async (v) => {
    await create.mutateAsync({
      period: v.period,
      interval: v.interval,
      item: {
        name: v.name,
        amount: toMinorUnits(v.amount, v.currency),
        currency: v.currency.toUpperCase(),
      },
    });
    onOpenChange(false);
  });
  return (
    <DialogContent
      title="New plan"
      description={`Created in your Razorpay ${env} account.`}
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={`${id}-form`} loading={create.isPending}>
            Create plan
          </Button>
        </>
      }
    >
      <form
        id={`${id}-form`}
        className="grid grid-cols-2 gap-4"
        onSubmit={(e) => void submit(e).catch(() => undefined)}
      >
        <FormField label="Name" error={errors.name?.message}>
          <Input autoFocus {...form.register('name')} />
        </FormField>
        <div className="grid grid-cols-2 gap-4">
          <FormField label="Amount" error={errors.amount?.message}>
            <Input inputMode="decimal" placeholder="299.00" {...form.register('amount')} />
          </FormField>
          <FormField label="Currency" error={errors.currency?.message}>
            <Input spellCheck={false} {...form.register('currency')} />
          </FormField>
        </div>
        <FormField label="Period">
          <Select
            value={form.watch('period')}
            onValueChange={(v) => form.setValue('period', v as PlanInput['period'])}
            options={[
              { value: 'daily', label: 'Daily' },
              { value: 'weekly', label: 'Weekly' },
              { value: 'monthly', label: 'Monthly' },
              { value: 'yearly', label: 'Yearly' },
            ]}
          />
        </FormField>
        <FormField label="Every" hint="periods per charge" error={errors.interval?.message}>
          <Input type="number" min={1} {...form.register('interval')} />
        </FormField>
      </form>
    </DialogContent>
  );
}
