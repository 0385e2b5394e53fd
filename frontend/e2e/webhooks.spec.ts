/**
 * Webhooks against the real API: an endpoint created in the form (a bad name refused in the form
 * first), a signed delivery, its repeat and a forged one sent over HTTP, then the counts, the
 * deliveries with their verification result, a delivery's headers and payload, switching the
 * endpoint off and deleting it.
 */
import crypto from 'node:crypto';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

test.describe.configure({ timeout: 60_000 });

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

test('webhooks: create an endpoint, see verified, repeated and refused deliveries', async ({
  signedIn: page,
}) => {
  const name = `gh-${unique()}`;
  const secret = `secret-${unique()}`;

  await page.getByRole('link', { name: 'Webhooks' }).first().click();
  await expect(page.getByRole('heading', { name: 'Webhooks', level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/dashboard\/webhooks$/);

  await page.getByRole('button', { name: 'New endpoint' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'New endpoint' });
  await dialog.getByLabel('Name').fill('Has Space');
  await dialog.getByRole('button', { name: 'Create endpoint' }).click();
  await expect(dialog.getByRole('alert')).toContainText('lowercase letters');
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Description').fill('Pushes from GitHub');
  await dialog.getByLabel('Verification').click();
  await page.getByRole('option', { name: 'GitHub' }).click();
  await dialog.getByLabel('Secret').fill(secret);
  await shoot(page, 'webhooks-new');
  await dialog.getByRole('button', { name: 'Create endpoint' }).click();
  await expect(dialog).toBeHidden();
  await expect(page).toHaveURL(new RegExp(`endpoint=${name}`));
  await expect(page.getByText('Delivery URL', { exact: true })).toBeVisible();

  // Deliveries over HTTP, as GitHub sends them: a signed one, its repeat, a forged one.
  const body = JSON.stringify({ action: 'opened', number: 42 });
  const signature = `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
  const send = (sig: string) =>
    page.request.post(`/api/webhooks/in/${name}`, {
      data: body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': 'delivery-1',
        'x-hub-signature-256': sig,
      },
    });
  expect((await send(signature)).status()).toBe(200);
  expect((await send(signature)).status()).toBe(200);
  const forged = await send(`sha256=${'0'.repeat(64)}`);
  expect(forged.status()).toBe(401);
  expect(await forged.json()).toMatchObject({ error: 'WEBHOOK_SIGNATURE_INVALID' });

  await page.getByRole('button', { name: 'Refresh' }).click();
  const deliveries = page.getByRole('table', { name: 'Deliveries' });
  // The header row and two deliveries: the stored one (its repeat counted on it) and the forged.
  await expect(deliveries.getByRole('row')).toHaveCount(3);
  await expect(deliveries.getByText('WEBHOOK_SIGNATURE_INVALID')).toBeVisible();
  await expect(deliveries.getByText('×2')).toBeVisible();
  const endpoints = page.getByRole('table', { name: 'Incoming webhook endpoints' });
  const row = endpoints.getByRole('row', { name: new RegExp(name) });
  await expect(row).toContainText('GitHub');
  await expect(row.getByText('1', { exact: true }).first()).toBeVisible();
  // The creation toast has gone (it would cover the deliveries in the screenshots).
  await expect(page.getByText(`Endpoint ${name} created`)).toBeHidden();
  await shoot(page, 'webhooks-endpoint');
  await expectNoA11yViolations(page);

  // Filter to refused ones (in the URL), then open the verified delivery.
  await page.getByLabel('Status').click();
  await page.getByRole('option', { name: 'refused' }).click();
  await expect(page).toHaveURL(/status=refused/);
  await expect(deliveries.getByRole('row')).toHaveCount(2);
  await page.getByLabel('Status').click();
  await page.getByRole('option', { name: 'stored' }).click();
  await deliveries.getByRole('button', { name: /Open the delivery/ }).click();
  const sheet = page.getByRole('dialog', { name: 'Delivery' });
  await expect(sheet.getByText('x-github-event')).toBeVisible();
  await expect(sheet.getByText('x-hub-signature-256')).toHaveCount(0);
  await expect(sheet.getByText('"number": 42')).toBeVisible();
  await expect(page).toHaveURL(/delivery=/);
  await shoot(page, 'webhooks-delivery');
  await expectNoA11yViolations(page);
  await page.keyboard.press('Escape');

  // Switched off: senders get 503; deleting asks for the name.
  await page.getByRole('switch', { name: 'Receiving' }).click();
  await expect(page.getByRole('switch', { name: 'Receiving' })).not.toBeChecked();
  expect((await send(signature)).status()).toBe(503);
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const confirm = page.getByRole('alertdialog');
  await confirm.getByRole('textbox').fill(name);
  await confirm.getByRole('button', { name: 'Delete endpoint' }).click();
  await expect(endpoints.getByRole('row', { name: new RegExp(name) })).toHaveCount(0);
  expect((await send(signature)).status()).toBe(404);
});

test('webhooks: a delivery handed to a job queue, and handed on again from its sheet', async ({
  signedIn: page,
}) => {
  const id = unique();
  const name = `q-${id}`;
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const call = async (method: 'post' | 'put', path: string, data: unknown) => {
    const res = await page.request[method](path, { headers, data });
    expect(res.status(), await res.text()).toBeLessThan(300);
    return (await res.json()) as Record<string, unknown>;
  };
  await call('post', '/api/database/advance/rawsql', {
    query: `CREATE FUNCTION public.e2e_hook_${id}(p jsonb) RETURNS void LANGUAGE sql AS $$ SELECT $$`,
  });
  await call('put', `/api/jobs/queues/hooks-${id}`, {
    target: { type: 'sql', function: `e2e_hook_${id}` },
  });
  const endpoint = await call('post', '/api/webhooks/incoming', {
    name,
    verification: { scheme: 'none' },
    target: { type: 'queue', queue: `hooks-${id}` },
  });
  const sent = await page.request.post(`/api/webhooks/in/${name}/${String(endpoint.secret)}`, {
    data: { hello: 'queue' },
  });
  expect(sent.status()).toBe(200);

  await page.goto(`/dashboard/webhooks?endpoint=${name}`);
  await expect(page.getByText(`queue hooks-${id}`).first()).toBeVisible();
  const deliveries = page.getByRole('table', { name: 'Deliveries' });
  await expect(deliveries.getByText('queued')).toBeVisible();
  await deliveries.getByRole('button', { name: /Open the delivery/ }).click();
  const sheet = page.getByRole('dialog', { name: 'Delivery' });
  await expect(sheet.getByText('"hello": "queue"')).toBeVisible();
  await sheet.getByRole('button', { name: 'Hand on again' }).click();
  await expect(page.getByText('Delivery handed on again')).toBeVisible();
  // Two jobs now: the first and the one just made.
  await expect
    .poll(async () => {
      const res = await page.request.get(`/api/jobs/jobs?queue=hooks-${id}`, { headers });
      return ((await res.json()) as { pagination: { total: number } }).pagination.total;
    })
    .toBe(2);
  await expectNoA11yViolations(page);
});
