/**
 * Realtime against the real API: channels created, edited, switched off and on, deleted in the
 * UI; the inspector subscribes as the admin and sees a message published through @insforge/sdk
 * (a signed-in user) arrive live, with the user's presence, and a table's row change; the publish
 * box reaches the SDK; the message history pages and filters; a webhook delivery answered with
 * 500 fails, is replayed, and succeeds.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '@insforge/sdk';
import type { APIRequestContext, Page } from '@playwright/test';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

// Each test is one long workflow (about 20 s on an idle machine): room for a busy CI runner.
test.describe.configure({ timeout: 60_000 });

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function adminApi(page: Page) {
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const call = async (method: 'get' | 'post' | 'put' | 'patch', path: string, data?: unknown) => {
    const res = await page.request[method](path, { headers, data });
    expect(res.status(), await res.text()).toBeLessThan(300);
    return (await res.json()) as Record<string, unknown> & unknown[];
  };
  return {
    call,
    sql: (query: string) => call('post', '/api/database/advance/rawsql', { query }),
  };
}

async function signUp(request: APIRequestContext, email: string) {
  const res = await request.post('/api/auth/users', {
    data: { email, password: 'Password-123456' },
  });
  expect(res.status(), await res.text()).toBeLessThan(300);
  return (await res.json()) as { accessToken: string; user: { id: string } };
}

test('realtime: channels, and the inspector sees SDK messages, presence and row changes live', async ({
  signedIn: page,
}) => {
  const id = unique();
  const chat = `chat-${id}`;
  const api = await adminApi(page);

  await page.getByRole('link', { name: 'Realtime' }).first().click();
  await expect(page.getByRole('heading', { name: 'Realtime', level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/dashboard\/realtime$/);

  // Create a channel in the form (a bad pattern is refused in the form first).
  await page.getByRole('button', { name: 'New channel' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'New channel' });
  await dialog.getByLabel('Pattern').fill('has space');
  await dialog.getByRole('button', { name: 'Create channel' }).click();
  await expect(dialog.getByRole('alert')).toContainText('letters, digits');
  await dialog.getByLabel('Pattern').fill(chat);
  await dialog.getByLabel('Description').fill('The e2e lobby');
  await dialog.getByLabel('Webhook URLs').fill('not a url');
  await dialog.getByRole('button', { name: 'Create channel' }).click();
  await expect(dialog.getByRole('alert')).toContainText('not an http(s) URL');
  await dialog.getByLabel('Webhook URLs').fill('');
  await expectNoA11yViolations(page);
  await shoot(page, 'realtime-channel-dialog');
  await dialog.getByRole('button', { name: 'Create channel' }).click();
  await expect(dialog).toBeHidden();
  const table = page.getByRole('table', { name: 'Channels' });
  const row = table.getByRole('row').filter({ hasText: chat });
  await expect(row).toContainText('The e2e lobby');

  // Edit it: description and a webhook URL.
  await row.getByRole('button', { name: `Edit channel ${chat}` }).click();
  const edit = page.getByRole('dialog', { name: `Channel ${chat}` });
  await expect(edit.getByLabel('Pattern')).toHaveValue(chat);
  await edit.getByLabel('Description').fill('The renamed lobby');
  await edit.getByLabel('Webhook URLs').fill('https://hooks.example.com/lobby');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText('The renamed lobby');
  await expect(row).toContainText('https://hooks.example.com/lobby');

  // Switched off and on in place.
  const channelOf = async () =>
    (
      (await api.call('get', '/api/realtime/channels')) as { pattern: string; enabled: boolean }[]
    ).find((c) => c.pattern === chat);
  const enabled = row.getByRole('switch', { name: `Enabled: ${chat}` });
  await enabled.click();
  await expect(enabled).not.toBeChecked();
  await expect.poll(async () => (await channelOf())?.enabled).toBe(false);
  await enabled.click();
  await expect(enabled).toBeChecked();
  await expect.poll(async () => (await channelOf())?.enabled).toBe(true);

  // Delete a pattern channel (its webhooks go with it).
  const scratch = `scratch-${id}:%`;
  await api.call('post', '/api/realtime/channels', { pattern: scratch });
  await page.reload();
  const scratchRow = table.getByRole('row').filter({ hasText: scratch });
  await expect(scratchRow).toBeVisible();
  // Who may subscribe and publish: the default RLS policies.
  await expect(page.getByRole('list', { name: 'Subscribe' })).toContainText(
    'channels_subscribe_enabled',
  );
  await expect(page.getByRole('list', { name: 'Publish' })).toContainText('messages_publish_own');
  // Only names open in the inspector, not patterns.
  await expect(scratchRow.getByRole('link', { name: /^Inspect/ })).toHaveCount(0);
  await expectNoA11yViolations(page);
  await shoot(page, 'realtime-channels');
  await scratchRow.getByRole('button', { name: `Delete channel ${scratch}` }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Delete channel' }).click();
  await expect(scratchRow).toHaveCount(0);
  await expect.poll(async () => (await channelOf()) !== undefined).toBe(true);

  // The inspector, opened from the palette (one entry per channel name; the row's link goes to
  // the same place): subscribed as the admin, listed in the channel's presence.
  await expect(row.getByRole('link', { name: `Inspect ${chat}` })).toHaveAttribute(
    'href',
    `/dashboard/realtime?tab=inspector&channel=${chat}`,
  );
  await page.keyboard.press('Control+k');
  const palette = page.getByRole('dialog', { name: 'Command palette' });
  await page.keyboard.type(`Inspect ${chat}`);
  await expect(palette.getByRole('option', { name: `Inspect ${chat}` })).toBeVisible();
  await page.keyboard.press('Enter');
  await expect(palette).toBeHidden();
  await expect(page).toHaveURL(new RegExp(`[?&]tab=inspector&channel=${chat}`));
  await expect(page.getByRole('status', { name: 'Connection: Connected' })).toBeVisible();
  await expect(page.getByText(`Subscribed to ${chat}`)).toBeVisible();
  const members = page.getByRole('list', { name: 'Members' });
  await expect(members.getByRole('listitem')).toHaveCount(1);
  await expect(members).toContainText('project_admin');
  await expect(members).toContainText('you');
  await shoot(page, 'realtime-inspector-empty');

  // A signed-in user publishes through @insforge/sdk: the message arrives live, and the user's
  // join shows in the presence list.
  const user = await signUp(page.request, `realtime-${id}@example.com`);
  const anon = (await api.call('get', '/api/metadata/anon-key')) as unknown as { anonKey: string };
  const sdk = createClient({
    baseUrl: new URL(page.url()).origin,
    anonKey: anon.anonKey,
    accessToken: user.accessToken,
    retryCount: 0,
  });
  try {
    const sub = await sdk.realtime.subscribe(chat);
    expect(sub.ok, JSON.stringify(sub)).toBe(true);
    await expect(members.getByRole('listitem')).toHaveCount(2);
    await expect(members).toContainText(user.user.id);
    const feed = page.getByRole('log', { name: 'Events' });
    await sdk.realtime.publish(chat, 'greeting', { text: `hello from ${id}` });
    const greeting = feed.getByRole('listitem', { name: 'Message greeting' });
    await expect(greeting).toContainText(`"text": "hello from ${id}"`);
    await expect(greeting).toContainText(`from user ${user.user.id}`);
    await expect(feed.getByRole('listitem', { name: 'Presence presence:join' })).toContainText(
      user.user.id,
    );

    // The publish box: the SDK's subscriber receives it.
    const received = new Promise<Record<string, unknown>>((resolve) =>
      sdk.realtime.on('from_dashboard', (m) => resolve(m as Record<string, unknown>)),
    );
    const box = page.getByRole('form', { name: 'Publish a message' });
    await box.getByLabel('Event').fill('from_dashboard');
    await box.getByLabel('Payload (JSON)').fill('[1, 2]');
    await box.getByRole('button', { name: 'Publish' }).click();
    await expect(box.getByRole('alert')).toContainText('a JSON object');
    await box.getByLabel('Payload (JSON)').fill(`{"n": 7, "id": "${id}"}`);
    await box.getByRole('button', { name: 'Publish' }).click();
    expect(await received).toMatchObject({ n: 7, id, meta: { channel: chat } });
    await expect(feed.getByRole('listitem', { name: 'Message from_dashboard' })).toContainText(
      '"n": 7',
    );
    await expectNoA11yViolations(page);
    await shoot(page, 'realtime-inspector');

    // The user leaves: presence follows.
    sdk.realtime.disconnect();
    await expect(members.getByRole('listitem')).toHaveCount(1);
  } finally {
    sdk.realtime.disconnect();
  }

  // Database changes: a table's row changes on channel <table>:<id>.
  const items = `rt_items_${id}`;
  await api.call('post', '/api/realtime/channels', { pattern: `${items}:%` });
  await api.sql(
    `CREATE TABLE public.${items} (id int PRIMARY KEY, name text); SELECT realtime.enable_row_changes('public.${items}')`,
  );
  await page.getByRole('textbox', { name: 'Channel' }).fill(`${items}:1`);
  await page.getByRole('button', { name: 'Subscribe' }).click();
  await expect(page).toHaveURL(new RegExp(`[?&]channel=${items}%3A1`));
  await expect(page.getByText(`Subscribed to ${items}:1`)).toBeVisible();
  await api.sql(`INSERT INTO public.${items} VALUES (1, 'first')`);
  const change = page
    .getByRole('log', { name: 'Events' })
    .getByRole('listitem', { name: 'Database insert' });
  await expect(change).toContainText(`"table": "${items}"`);
  await page.getByLabel('Show').click();
  await page.getByRole('option', { name: 'Database changes' }).click();
  await expect(page.getByRole('log', { name: 'Events' }).getByRole('listitem')).toHaveCount(1);

  // A channel no row matches is refused, with the server's reason.
  await page.getByRole('textbox', { name: 'Channel' }).fill(`nowhere-${id}`);
  await page.getByRole('button', { name: 'Subscribe' }).click();
  await expect(
    page.getByRole('alert').filter({ hasText: 'REALTIME_CHANNEL_NOT_FOUND' }),
  ).toBeVisible();
});

test('realtime: message history pages and filters; a failed webhook delivery is replayed', async ({
  signedIn: page,
}) => {
  const id = unique();
  const api = await adminApi(page);

  // Retention and the webhook secret, under the channels.
  await page.goto('/dashboard/realtime');
  const retention = page.getByLabel('Retention (days)');
  await expect(retention).toHaveValue(/^\d+$/);
  const keptBefore = Number(await retention.inputValue());
  await retention.fill('0');
  await expect(page.getByText('1 to 3650')).toBeVisible();
  await retention.fill('3');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('Messages are kept for 3 days')).toBeVisible();
  const config = (await api.call('get', '/api/realtime/config')) as unknown as {
    retentionDays: number;
    webhookSecret: string;
  };
  expect(config.retentionDays).toBe(3);
  const secret = page.getByLabel('Webhook secret', { exact: true });
  await expect(secret).toHaveAttribute('type', 'password');
  await page.getByRole('button', { name: 'Show the webhook secret' }).click();
  await expect(secret).toHaveAttribute('type', 'text');
  await expect(secret).toHaveValue(config.webhookSecret);

  // A receiver that answers 500 until told otherwise.
  let failing = true;
  const calls: { status: number; event: string | undefined; body: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = failing ? 500 : 200;
      calls.push({ status, event: req.headers['x-insforge-event'] as string | undefined, body });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(failing ? 'down' : 'ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    const hooked = `orders-${id}`;
    await api.call('post', '/api/realtime/channels', { pattern: hooked, webhookUrls: [url] });
    await api.sql(`SELECT realtime.publish('${hooked}', 'order_paid', '{"total": 42}'::jsonb)`);
    // 55 messages on another channel: two pages.
    const busy = `busy-${id}`;
    await api.call('post', '/api/realtime/channels', { pattern: busy });
    await api.sql(
      `SELECT realtime.publish('${busy}', 'tick', jsonb_build_object('i', i)) FROM generate_series(1, 55) i`,
    );
    // The receiver answered 500 until the retry period ran out.
    await expect
      .poll(
        async () => {
          const list = (await api.call(
            'get',
            `/api/realtime/deliveries?limit=1000`,
          )) as unknown as { data: { url: string; status: string }[] };
          return list.data.find((d) => d.url === url)?.status;
        },
        { timeout: 30_000 },
      )
      .toBe('failed');

    // History: filtered by channel, two pages.
    await page.goto(`/dashboard/realtime?tab=messages&mchannel=${busy}`);
    const messages = page.getByRole('table', { name: 'Messages' });
    // (Rows are virtualised: the pager says how many the page holds.)
    await expect(page.getByText('1–50 of 55')).toBeVisible();
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect(page).toHaveURL(/[?&]offset=50/);
    await expect(page.getByText('51–55 of 55')).toBeVisible();
    await expect(messages.getByRole('row')).toHaveCount(6);
    // Deleted on request: the filtered channel's messages, all of them.
    await page.getByRole('button', { name: 'Delete…' }).click();
    const purge = page.getByRole('alertdialog', { name: `Delete messages of ${busy}?` });
    await purge.getByLabel('Which').click();
    await page.getByRole('option', { name: 'All of them' }).click();
    await expectNoA11yViolations(page);
    await shoot(page, 'realtime-messages-delete');
    await purge.getByRole('button', { name: 'Delete messages' }).click();
    await expect(page.getByText('Deleted 55 messages')).toBeVisible();
    await expect(page.getByText('No messages', { exact: true })).toBeVisible();

    // Filtered by event on the hooked channel; the message's payload in a sheet.
    await page.getByRole('textbox', { name: 'Channel' }).fill(hooked);
    await page.getByRole('textbox', { name: 'Event' }).fill('order_paid');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect(page).toHaveURL(/[?&]event=order_paid/);
    await expect(page).not.toHaveURL(/offset=/);
    await expect(messages.getByRole('row')).toHaveCount(2);
    const message = messages.getByRole('row').nth(1);
    await expect(message).toContainText('order_paid');
    await expect(message).toContainText('1 failed');
    await expect(page.getByRole('definition').last()).toHaveText('3 days');
    await expectNoA11yViolations(page);
    await shoot(page, 'realtime-messages');
    await message.getByRole('cell').first().click();
    const sheet = page.getByRole('dialog', { name: 'Message' });
    await expect(sheet.getByLabel('Payload')).toContainText('"total": 42');
    await expectNoA11yViolations(page);
    await shoot(page, 'realtime-message');

    // Its deliveries: failed with the receiver's 500, replayed, delivered.
    await sheet.getByRole('link', { name: 'Show this message’s webhook deliveries' }).click();
    await expect(page).toHaveURL(/[?&]tab=deliveries/);
    const deliveries = page.getByRole('table', { name: 'Webhook deliveries' });
    await expect(deliveries.getByRole('row')).toHaveCount(2);
    const delivery = deliveries.getByRole('row').nth(1);
    await expect(delivery).toContainText('failed');
    await expect(delivery).toContainText('500');
    await expect(delivery.getByRole('cell').nth(3)).toHaveText(/^[2-9]$/);
    await expectNoA11yViolations(page);
    await shoot(page, 'realtime-deliveries');
    const before = calls.length;
    expect(calls.every((c) => c.status === 500 && c.event === 'order_paid')).toBe(true);
    failing = false;
    await delivery.getByRole('button', { name: `Replay delivery to ${url}` }).click();
    await expect(page.getByText('Delivery queued again')).toBeVisible();
    await expect(delivery).toContainText('delivered');
    await expect(delivery).toContainText('200');
    expect(calls.length).toBe(before + 1);
    expect(JSON.parse(calls.at(-1)!.body)).toMatchObject({ total: 42, meta: { channel: hooked } });
    await expect(delivery.getByRole('button', { name: /^Replay/ })).toBeVisible();

    // Status filter.
    await page.getByLabel('Status').click();
    await page.getByRole('option', { name: 'failed' }).click();
    await expect(page).toHaveURL(/[?&]status=failed/);
    await expect(page.getByText('No delivery matches these filters.')).toBeVisible();
  } finally {
    await new Promise((resolve) => receiver.close(resolve));
    await api.call('patch', '/api/realtime/config', { retentionDays: keptBefore });
  }
});
