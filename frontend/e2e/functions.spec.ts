/**
 * Functions against the real API and the local Deno runtime: create a function, change its code,
 * save and deploy it (its steps), call it from the test panel and see its console line arrive in
 * its live log; broken code gets Deno's diagnostic at its line in the editor; secrets are added,
 * edited and deleted, the reserved ones read-only.
 */
import type { Page } from '@playwright/test';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

const tag = () => Date.now().toString(36);

/** Replaces the editor's whole text (fill inserts it as typed text, without auto-indent). */
async function setCode(page: Page, code: string): Promise<void> {
  const content = page.locator('.cm-content');
  await content.fill(code);
  await expect(content).toContainText(code.split('\n', 1)[0]!);
}

test('functions: create, save and deploy, call from the test panel, console line in the live log', async ({
  signedIn: page,
}) => {
  // Four views, each checked by axe and shot in two themes at two widths: more than the default 30 s.
  test.setTimeout(60_000);
  const t = tag();
  const slug = `e2e-fn-${t}`;
  await page.goto('/dashboard/functions');
  await expect(page.getByRole('heading', { name: 'Functions', level: 1 })).toBeVisible();
  await expect(page.getByText('Local Deno · running')).toBeVisible();

  await page.getByRole('button', { name: 'New function' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'New function' });
  await dialog.getByLabel('Name').fill(`Greeter ${t}`);
  await dialog.getByLabel('Slug').fill(slug);
  await expectNoA11yViolations(page);
  await shoot(page, 'functions-new');
  await dialog.getByRole('button', { name: 'Create and deploy' }).click();
  await expect(dialog).toBeHidden();
  await expect(page).toHaveURL(new RegExp(`[?&]fn=${slug}`));
  await expect(page.getByRole('heading', { name: `Greeter ${t}`, level: 1 })).toBeVisible();
  await expect(page.getByText(/^v1 · deployed just now$/)).toBeVisible();

  // New code: it logs a marked line with the request's method and body.
  const marker = `hello-${t}`;
  await setCode(
    page,
    [
      'export default async (req: Request): Promise<Response> => {',
      "  const body = req.method === 'GET' ? '' : await req.text();",
      `  console.log('${marker}', req.method, new URL(req.url).pathname, body);`,
      `  return Response.json({ marker: '${marker}', body }, { status: 201, headers: { 'x-marker': '${marker}' } });`,
      '};',
    ].join('\n'),
  );
  await expect(page.getByText('Unsaved changes')).toBeVisible();
  await page.getByRole('button', { name: 'Save and deploy' }).click();
  const steps = page.getByRole('list', { name: 'Deploy steps' });
  await expect(steps.getByRole('listitem')).toHaveText([
    /Check and save: done/,
    /Deploy: done/,
    /Live: done/,
  ]);
  await expect(page.getByRole('status').filter({ hasText: 'Version 2 is live' })).toBeVisible();
  await expect(page.getByText('Saved', { exact: true })).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'functions-code');

  // The test panel calls /functions/<slug>/… for real.
  await page.getByRole('tab', { name: 'Test' }).click();
  await expect(page).toHaveURL(/[?&]view=test/);
  await page.getByLabel('Path').fill('/greet?x=1');
  await page.getByLabel('Body', { exact: true }).fill('{"name":"Ada"}');
  await page.getByRole('button', { name: 'Send request' }).click();
  await expect(page.getByText('Status 201')).toBeVisible();
  const body = page.getByLabel('Response body');
  await expect(body).toContainText(`"marker": "${marker}"`);
  await expect(body).toContainText('"body": "{\\"name\\":\\"Ada\\"}"');
  await expect(page.getByLabel('Response headers')).toContainText(`x-marker${marker}`);
  await expect(page.getByText(/^\d+ ms$/)).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'functions-test');

  // The live log shows the console line and the call.
  await page.getByRole('tab', { name: 'Logs' }).click();
  const log = page.getByRole('table', { name: `Log of ${slug}` });
  await expect(
    log.getByText(`${marker} POST /functions/${slug}/greet {"name":"Ada"}`),
  ).toBeVisible();
  await expect(log.getByText('POST → 201', { exact: false })).toBeVisible();
  // A call made elsewhere arrives while the tab is open (live: re-read every 2 s).
  const later = await page.request.get(`/functions/${slug}/later`);
  expect(later.status()).toBe(201);
  await expect(log.getByText(`${marker} GET /functions/${slug}/later`)).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'functions-logs');

  // Back in the list: active, version 2, deployed just now.
  await page.getByRole('link', { name: 'Functions', exact: true }).first().click();
  const row = page.getByRole('row').filter({ hasText: `/functions/${slug}` });
  await expect(row).toContainText('Active');
  await expect(row).toContainText('v2');
  await expect(row).toContainText('just now');
  await expectNoA11yViolations(page);
  await shoot(page, 'functions-list');
});

test('functions: broken code gets Deno’s diagnostic at its line', async ({ signedIn: page }) => {
  const slug = `e2e-broken-${tag()}`;
  const created = await page.request.post('/api/functions', {
    headers: { Authorization: `Bearer ${await adminToken(page)}` },
    data: {
      name: slug,
      slug,
      code: 'export default () => new Response("ok");\n',
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  await page.goto(`/dashboard/functions?fn=${slug}`);
  await expect(page.locator('.cm-content')).toContainText('new Response("ok")');

  await setCode(
    page,
    [
      'export default async (req: Request) => {',
      '  const x = 1;',
      '  return new Response("x"',
    ].join('\n'),
  );
  await page.getByRole('button', { name: 'Save and deploy' }).click();
  const steps = page.getByRole('list', { name: 'Deploy steps' });
  await expect(steps.getByRole('listitem')).toHaveText([
    /Check and save: failed/,
    /Deploy: not started/,
    /Live: not started/,
  ]);
  await expect(
    page
      .getByRole('status')
      .filter({ hasText: 'Deno could not load the code: nothing was deployed.' }),
  ).toBeVisible();
  // At its line: the third line carries the message and the error mark, the gutter a marker.
  const third = page.locator('.cm-content .cm-line').nth(2);
  await expect(third).toContainText("SyntaxError: Expected ',', got '<eof>'");
  await expect(third).toHaveClass(/cm-diagnostic-line/);
  await expect(third.locator('.cm-lintRange-error')).toHaveCount(1);
  await expect(page.locator('.cm-lint-marker-error')).toHaveCount(1);
  await expect(page.locator('.cm-content .cm-line').nth(0)).not.toContainText('SyntaxError');
  await page.getByRole('button', { name: 'Go to line 3, column 26' }).click();
  await expect(page.locator('.cm-activeLine')).toContainText('return new Response("x"');
  await expectNoA11yViolations(page);
  await shoot(page, 'functions-diagnostic');

  // Fixed: the diagnostic goes, version 2 goes live.
  await setCode(page, 'export default () => new Response("fixed");');
  await page.getByRole('button', { name: 'Save and deploy' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Version 2 is live' })).toBeVisible();
  await expect(page.locator('.cm-inline-diagnostic')).toHaveCount(0);
  await expect(page.getByText('Diagnostics')).toHaveCount(0);
});

test('functions: secrets are added, edited and deleted; reserved ones are read-only', async ({
  signedIn: page,
}) => {
  const key = `E2E_SECRET_${tag().toUpperCase()}`;
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const stored = async () =>
    (
      (await (await page.request.get(`/api/secrets/${key}`, { headers })).json()) as {
        value: string;
      }
    ).value;

  await page.goto('/dashboard/functions?tab=secrets');
  const table = page.getByRole('table', { name: 'Secrets' });
  const reserved = table.getByRole('row').filter({ hasText: 'ANON_KEY' });
  await expect(reserved).toContainText('Reserved');
  await expect(reserved).toContainText('Provided by Kiln');
  await expect(reserved.getByRole('button')).toHaveCount(0);

  await page.getByRole('button', { name: 'Add secret' }).click();
  const add = page.getByRole('dialog', { name: 'New secret' });
  await add.getByLabel('Name').fill(key);
  await add.getByLabel('Value').fill('sk_first_value_1234');
  await add.getByRole('button', { name: 'Add secret' }).click();
  await expect(add).toBeHidden();
  const row = table.getByRole('row').filter({ hasText: key });
  await expect(row).toContainText('••••••••1234');
  await expect(row).not.toContainText('sk_first_value');
  await expect(row).toContainText('Active');
  expect(await stored()).toBe('sk_first_value_1234');
  await expectNoA11yViolations(page);
  await shoot(page, 'functions-secrets');

  await row.getByRole('button', { name: `Edit secret ${key}` }).click();
  const edit = page.getByRole('dialog', { name: `Secret ${key}` });
  await expect(edit.getByLabel('Name')).toHaveValue(key);
  await edit.getByLabel('New value').fill('sk_second_value_5678');
  await expectNoA11yViolations(page);
  await shoot(page, 'functions-secret-edit');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText('••••••••5678');
  expect(await stored()).toBe('sk_second_value_5678');

  // Inactive, the value kept.
  await row.getByRole('button', { name: `Edit secret ${key}` }).click();
  await edit.getByRole('switch', { name: 'Active' }).click();
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText('Inactive');
  expect(await stored()).toBe('sk_second_value_5678');

  await row.getByRole('button', { name: `Delete secret ${key}` }).click();
  const confirm = page.getByRole('alertdialog', { name: `Delete secret ${key}?` });
  await confirm.getByRole('button', { name: 'Delete secret' }).click();
  await expect(confirm).toBeHidden();
  await expect(row).toHaveCount(0);
  expect((await page.request.get(`/api/secrets/${key}`, { headers })).status()).toBe(404);
});
