/**
 * Logs against the real API: requests made here show up in the explorer (source, search, a
 * line's JSON, its request id leading to the request's lines), and an admin action made through
 * the API is in the audit trail.
 */
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

test('logs: search the access log, open a line, follow its request id; audit trail', async ({
  signedIn: page,
}) => {
  const marker = `logs_e2e_${Date.now().toString(36)}`;
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  // Access lines: a path only this test requests (a 404 is logged like any request).
  const probe = await page.request.get(`/api/${marker}/probe`, { headers });
  const requestId = probe.headers()['x-request-id']!;
  expect(requestId).toBeTruthy();
  // An admin action: recorded in the audit trail as RUN_SQL.
  const sql = await page.request.post('/api/database/advance/rawsql', {
    headers,
    data: { query: `SELECT '${marker}' AS marker` },
  });
  expect(sql.status(), await sql.text()).toBe(200);

  await page.goto('/dashboard/logs');
  await expect(page.getByRole('heading', { name: 'Logs', level: 1 })).toBeVisible();
  await expect(
    page.getByRole('table', { name: 'Log lines' }).getByRole('row').nth(1),
  ).toBeVisible();

  // Source and search are URL state.
  await page.getByLabel('Source').click();
  await page.getByRole('option', { name: 'kiln.logs' }).click();
  await expect(page).toHaveURL(/[?&]source=kiln\.logs/);
  await page.getByLabel('Search').fill(`/api/${marker}/probe`);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`[?&]q=`));
  const line = page.getByRole('button', { name: `GET /api/${marker}/probe → 404` });
  await expect(line).toHaveCount(1);
  await expect(page.getByText('1 matching line')).toBeVisible();
  // The volume chart counts the source's lines of the range by level.
  await expect(
    page.getByRole('img', {
      name: /^Log volume over time: \d+ error, \d+ warn, [1-9][\d,]* info/,
    }),
  ).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'logs-explorer');

  // The line's detail: its JSON and its request id.
  await line.click();
  const sheet = page.getByRole('dialog', { name: 'Log line' });
  await expect(sheet.getByLabel('The line as JSON', { exact: true })).toContainText(
    `"requestId": "${requestId}"`,
  );
  await expect(sheet.getByLabel('The line as JSON', { exact: true })).toContainText(
    `"status": 404`,
  );
  await expectNoA11yViolations(page);
  await shoot(page, 'logs-line');
  await sheet.getByRole('link', { name: 'Show this request’s lines' }).click();
  await expect(sheet).toBeHidden();
  await expect(page).toHaveURL(new RegExp(`[?&]q=${requestId}`));
  await expect(page.getByLabel('Search')).toHaveValue(requestId);
  await expect(line).toHaveCount(1);

  // Level filter: the probe is an info line, so "error" leaves nothing for this request.
  await page.getByLabel('Level').click();
  await page.getByRole('option', { name: 'error' }).click();
  await expect(page.getByText('No log lines')).toBeVisible();
  await shoot(page, 'logs-empty');

  // Server-side pages: 105 matching lines come 100 at a time; "Load older" fetches the rest.
  const pagePath = `/api/${marker}/page/`;
  await Promise.all(
    Array.from({ length: 105 }, (_, i) => page.request.get(`${pagePath}${i}`, { headers })),
  );
  await page.goto(`/dashboard/logs?source=kiln.logs&q=${encodeURIComponent(pagePath)}`);
  await expect(page.getByText('105 matching lines · last hour · 100 shown')).toBeVisible();
  await page.getByRole('button', { name: 'Load older' }).click();
  await expect(page.getByText(/^105 matching lines · last hour$/)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Load older' })).toBeHidden();

  // Live tail: a request made while it is on shows up without a reload.
  const livePath = `/api/${marker}/live`;
  await page.goto(`/dashboard/logs?source=kiln.logs&q=${encodeURIComponent(livePath)}`);
  await expect(page.getByText('No log lines')).toBeVisible();
  await page.getByRole('button', { name: 'Live' }).click();
  await expect(page).toHaveURL(/[?&]live=true/);
  expect((await page.request.get(livePath, { headers })).status()).toBe(404);
  await expect(page.getByRole('button', { name: `GET ${livePath} → 404` })).toBeVisible();

  // The audit trail, filtered by action and actor.
  await page.getByRole('tab', { name: 'Audit trail' }).click();
  await expect(page).toHaveURL(/[?&]tab=audit/);
  await page.getByLabel('Action').fill('RUN_SQL');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/[?&]action=RUN_SQL/);
  const records = page.getByRole('table', { name: 'Audit records' });
  await expect(records.getByRole('row').nth(1)).toContainText('RUN_SQL');
  await expect(records.getByRole('row').nth(1)).toContainText('POST /api/database/advance/rawsql');
  await expectNoA11yViolations(page);
  await shoot(page, 'logs-audit');
});
