/**
 * Payments against the real API and local Stripe and Razorpay stand-ins (global-setup.ts):
 * connecting Stripe's test account (a wrong key refused), a product and a price created in the
 * forms, then a user's checkout and Stripe's signed webhooks (sent over HTTP as Stripe sends
 * them) showing up as the customer, the subscription and the transaction; Razorpay connected
 * with its webhook secret. Provider, environment and tab are in the URL.
 */
import crypto from 'node:crypto';
import type { Page } from '@playwright/test';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

test.describe.configure({ timeout: 90_000 });

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Posts a Stripe event to Kiln signed with the endpoint's secret, as Stripe signs them. */
async function sendStripeEvent(page: Page, type: string, object: Record<string, unknown>) {
  const endpoints = (await (
    await page.request.get(`${process.env.KILN_E2E_FAKE_STRIPE_URL}/__fake/webhook_endpoints`)
  ).json()) as { data: { url: string; secret: string }[] };
  const secret = endpoints.data
    .filter((e) => e.url.endsWith('/api/webhooks/stripe/test'))
    .at(-1)!.secret;
  const payload = JSON.stringify({
    id: `evt_${unique()}`,
    object: 'event',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    type,
    data: { object },
  });
  const t = Math.floor(Date.now() / 1000);
  const v1 = crypto.createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex');
  const res = await page.request.post('/api/webhooks/stripe/test', {
    data: payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` },
  });
  expect(res.status(), await res.text()).toBe(200);
}

test('payments: connect Stripe, build the catalog, see a checkout’s subscription and payment', async ({
  signedIn: page,
}) => {
  await page.getByRole('link', { name: 'Payments' }).first().click();
  await expect(page.getByRole('heading', { name: 'Payments', level: 1 })).toBeVisible();
  await expect(page.getByText('unconfigured')).toBeVisible();
  await shoot(page, 'payments-unconfigured');

  // A live key for the test environment is refused by the API; a test key connects.
  await page.getByRole('button', { name: 'Connect' }).click();
  const dialog = page.getByRole('dialog', { name: 'Connect Stripe (test)' });
  await dialog.getByLabel('Secret key').fill('sk_live_wrong');
  await dialog.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByText(/starts with sk_test_/).first()).toBeVisible();
  await dialog.getByLabel('Secret key').fill('sk_test_e2eKeyForTheDashboard1234');
  await dialog.getByRole('button', { name: 'Connect' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText('connected', { exact: true })).toBeVisible();
  await expect(page.getByText('sk_test_…1234')).toBeVisible();
  await expect(page.getByText(/\/api\/webhooks\/stripe\/test$/)).toBeVisible();
  await expect(page.getByText('Connected the test account')).toBeHidden();
  await shoot(page, 'payments-connection');
  await expectNoA11yViolations(page);

  // Catalog: a product and a monthly price, through the forms.
  await page.getByRole('tab', { name: 'Catalog' }).click();
  await expect(page).toHaveURL(/tab=catalog/);
  const product = `Pro ${unique()}`;
  await page.getByRole('button', { name: 'New product' }).click();
  const productDialog = page.getByRole('dialog', { name: 'New product' });
  await productDialog.getByRole('button', { name: 'Create product' }).click();
  await expect(productDialog.getByRole('alert')).toContainText('name the product');
  await productDialog.getByLabel('Name').fill(product);
  await productDialog.getByRole('button', { name: 'Create product' }).click();
  await expect(productDialog).toBeHidden();
  await page.getByRole('button', { name: `New price for ${product}` }).click();
  const priceDialog = page.getByRole('dialog', { name: `New price for ${product}` });
  await priceDialog.getByLabel('Amount').fill('12.50');
  await priceDialog.getByRole('button', { name: 'Create price' }).click();
  await expect(priceDialog).toBeHidden();
  const prices = page.getByRole('table', { name: 'Prices' });
  await expect(prices.getByText('$12.50')).toBeVisible();
  await expect(prices.getByText('/ month')).toBeVisible();
  await expect(page.getByText('Price created')).toBeHidden();
  await shoot(page, 'payments-catalog');
  await expectNoA11yViolations(page);

  // A user checks out (their customer is created), Stripe reports the subscription and invoice.
  const catalog = (await (
    await page.request.get('/api/payments/stripe/test/catalog', {
      headers: { authorization: `Bearer ${await adminToken(page)}` },
    })
  ).json()) as { prices: { priceId: string; productId: string; unitAmount: number }[] };
  const price = catalog.prices.find((p) => p.unitAmount === 1250)!;
  const email = `buyer-${unique()}@example.com`;
  const signUp = await page.request.post('/api/auth/users?client_type=server', {
    data: { email, password: 'correct horse battery' },
  });
  const user = (await signUp.json()) as { accessToken: string; user: { id: string } };
  const checkout = await page.request.post('/api/payments/stripe/test/checkout-sessions', {
    headers: { authorization: `Bearer ${user.accessToken}` },
    data: {
      mode: 'subscription',
      lineItems: [{ priceId: price.priceId, quantity: 1 }],
      successUrl: new URL('/dashboard/', page.url()).toString(),
      cancelUrl: new URL('/dashboard/', page.url()).toString(),
    },
  });
  expect(checkout.status(), await checkout.text()).toBe(201);
  const customer = ((await checkout.json()) as { checkoutSession: { customerId: string } })
    .checkoutSession.customerId;
  const subscriptionId = `sub_${unique()}`;
  await sendStripeEvent(page, 'customer.subscription.created', {
    id: subscriptionId,
    object: 'subscription',
    customer,
    status: 'active',
    cancel_at_period_end: false,
    created: Math.floor(Date.now() / 1000),
    metadata: {},
    items: {
      object: 'list',
      data: [
        {
          id: `si_${unique()}`,
          price: { id: price.priceId, product: price.productId },
          quantity: 1,
          created: Math.floor(Date.now() / 1000),
          current_period_start: Math.floor(Date.now() / 1000),
          current_period_end: Math.floor(Date.now() / 1000) + 30 * 86_400,
        },
      ],
    },
  });
  await sendStripeEvent(page, 'invoice.paid', {
    id: `in_${unique()}`,
    object: 'invoice',
    customer,
    customer_email: email,
    amount_paid: 1250,
    amount_due: 1250,
    currency: 'usd',
    status: 'paid',
    created: Math.floor(Date.now() / 1000),
  });

  await page.getByRole('tab', { name: 'Subscriptions' }).click();
  const subscriptions = page.getByRole('table', { name: 'Subscriptions' });
  const subRow = subscriptions.getByRole('row', { name: new RegExp(subscriptionId) });
  await expect(subRow).toContainText('active');
  await expect(subRow).toContainText(user.user.id);
  await shoot(page, 'payments-subscriptions');
  await expectNoA11yViolations(page);

  await page.getByRole('tab', { name: 'Transactions' }).click();
  const transactions = page.getByRole('table', { name: 'Transactions' });
  await expect(transactions.getByText('$12.50').first()).toBeVisible();
  await expect(transactions.getByText('subscription invoice').first()).toBeVisible();
  await expect(page.getByRole('button', { name: 'Next page' })).toBeDisabled();

  await page.getByRole('tab', { name: 'Customers' }).click();
  await expect(page).toHaveURL(/tab=customers/);
  const customers = page.getByRole('table', { name: 'Customers' });
  await expect(customers.getByRole('row', { name: new RegExp(email) })).toContainText('$12.50');
  await shoot(page, 'payments-customers');

  // The URL keeps the view: a reload lands on the same tab.
  await page.reload();
  await expect(page.getByRole('tab', { name: 'Customers', selected: true })).toBeVisible();
});

test('payments: connect Razorpay and read its webhook secret', async ({ signedIn: page }) => {
  await page.goto('/dashboard/payments?provider=razorpay&env=test');
  await expect(page.getByRole('heading', { name: 'Payments', level: 1 })).toBeVisible();
  await page.getByRole('button', { name: 'Connect' }).click();
  const dialog = page.getByRole('dialog', { name: 'Connect Razorpay (test)' });
  await dialog.getByLabel('Key ID').fill('rzp_test_E2eDashboard');
  await dialog.getByLabel('Key secret').fill('razorpay-secret-e2e');
  await dialog.getByRole('button', { name: 'Connect' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText('connected', { exact: true })).toBeVisible();
  await expect(page.getByText(/\/api\/webhooks\/razorpay\/test$/)).toBeVisible();
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page.getByRole('button', { name: 'Hide' })).toBeVisible();
  await expect(page.getByText('Connected the test account')).toBeHidden();
  await shoot(page, 'payments-razorpay');
  await expectNoA11yViolations(page);

  await page.getByRole('tab', { name: 'Catalog' }).click();
  await page.getByRole('button', { name: 'New plan' }).click();
  const plan = page.getByRole('dialog', { name: 'New plan' });
  await plan.getByLabel('Name').fill('Gold');
  await plan.getByLabel('Amount').fill('299');
  await plan.getByRole('button', { name: 'Create plan' }).click();
  await expect(plan).toBeHidden();
  await expect(page.getByRole('table', { name: 'Plans' }).getByText('₹299.00')).toBeVisible();
});
