/**
 * The SQL editor against the real API: runs with per-statement results and row counts, CSV
 * export, errors marked at their position in the editor, snippets saved in Kiln's database and
 * found after a reload, the run history, and EXPLAIN drawn as a plan tree.
 */
import fs from 'node:fs';
import type { Page } from '@playwright/test';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

const suffix = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

/** Replaces the editor's text (the lazily loaded CodeMirror) and closes any completion list. */
async function setSql(page: Page, sql: string): Promise<void> {
  const content = page.locator('.cm-content');
  await expect(content).toBeVisible();
  await content.fill(sql);
  await page.keyboard.press('Escape');
  // (An empty editor shows its placeholder.)
  if (sql) await expect(content).toHaveText(sql.replaceAll('\n', ''));
}

async function openEditor(page: Page): Promise<void> {
  await page.goto('/dashboard/sql');
  await expect(page.getByRole('heading', { name: 'SQL editor', level: 1 })).toBeVisible();
  await expect(page.locator('.cm-content')).toBeVisible();
}

test('sql editor: run all or the selection, rows, counts, truncation, CSV export', async ({
  signedIn: page,
}) => {
  await openEditor(page);
  const tag = suffix();
  const query = `SELECT g AS n, 'row "' || g || '", ${tag}' AS label, NULL AS nothing\n  FROM generate_series(1, 3) AS g;`;
  await setSql(page, query);
  await page.locator('.cm-content').press('ControlOrMeta+Enter');

  const results = page.getByTestId('results');
  await expect(results.getByTestId('row-count')).toHaveText('3 rows');
  await expect(results.getByTestId('duration')).toHaveText(/^\d+(\.\d+)? ms$/);
  const grid = results.getByRole('table', { name: 'Result rows' });
  await expect(grid.getByRole('row')).toHaveCount(4);
  await expect(grid.getByRole('columnheader', { name: /label/ })).toBeVisible();
  await expect(grid).toContainText(`row "2", ${tag}`);
  await expect(grid).toContainText('NULL');

  // CSV export: quoted where a value holds a quote or a comma, NULL as an empty field.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    results.getByRole('button', { name: 'CSV' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('result-1.csv');
  const csv = fs.readFileSync((await download.path())!, 'utf8');
  expect(csv).toBe(
    [
      'n,label,nothing',
      `1,"row ""1"", ${tag}",`,
      `2,"row ""2"", ${tag}",`,
      `3,"row ""3"", ${tag}",`,
      '',
    ].join('\r\n'),
  );

  // Several statements: one result each, the one returning rows shown first.
  await setSql(
    page,
    `CREATE TEMP TABLE t_${tag} (x int);\nINSERT INTO t_${tag} VALUES (1), (2);\nSELECT count(*) AS c FROM t_${tag};`,
  );
  await page.getByTestId('run').click();
  const statements = results.getByRole('group', { name: 'Statements' });
  await expect(statements.getByRole('button')).toHaveCount(3);
  await expect(results.getByTestId('row-count')).toHaveText('1 row');
  await statements.getByRole('button', { name: /INSERT/ }).click();
  await expect(results.getByTestId('row-count')).toHaveText('2 rows affected');

  // A statement past the 10 000-row cap says so; the grid renders only what is in view.
  await setSql(page, 'SELECT g FROM generate_series(1, 10005) AS g;');
  // Mod-Enter works from outside the editor too.
  await results.getByTestId('row-count').click();
  await page.keyboard.press('ControlOrMeta+Enter');
  await expect(results.getByTestId('row-count')).toHaveText('10,005 rows');
  await expect(results.getByTestId('truncated')).toHaveText('Showing the first 10,000 rows');
  expect(await grid.getByRole('row').count()).toBeLessThan(100);

  // Only the selection runs when there is one.
  await setSql(page, 'SELECT 1 AS first_one;\nSELECT 2 AS second_one;');
  await page.locator('.cm-content').press('ControlOrMeta+End');
  await page.keyboard.press('Shift+Home');
  await expect(page.getByTestId('run')).toHaveText(/Run selection/);
  await page.getByTestId('run').click();
  await expect(results.getByRole('group', { name: 'Statements' })).toHaveCount(0);
  await expect(results.getByRole('columnheader', { name: /second_one/ })).toBeVisible();
  await expect(results.getByRole('columnheader', { name: /first_one/ })).toHaveCount(0);

  await expectNoA11yViolations(page);
  await setSql(page, query);
  await page.getByTestId('run').click();
  await expect(results.getByTestId('row-count')).toHaveText('3 rows');
  await shoot(page, 'sql-editor-results');
});

test('sql editor: history of runs, re-opened into a tab; tabs renamed, closed, kept across a reload', async ({
  signedIn: page,
}) => {
  await openEditor(page);
  const tag = suffix();
  await setSql(page, `SELECT g AS n, '${tag}' AS label FROM generate_series(1, 3) AS g;`);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('results').getByTestId('row-count')).toHaveText('3 rows');

  // The history (paged, filtered by status) has the runs; one opens into a new tab.
  await page.getByRole('tab', { name: 'History' }).click();
  await expect(page).toHaveURL(/[?&]panel=history/);
  const history = page.getByRole('list', { name: 'Run history' });
  await expect(history.getByRole('button').first()).toContainText(tag);
  await page.getByRole('combobox', { name: 'Filter runs by status' }).click();
  await page.getByRole('option', { name: 'Failed' }).click();
  await expect(page).toHaveURL(/[?&]status=error/);
  const historyPanel = page.getByRole('tabpanel', { name: 'History' });
  await expect(historyPanel.getByRole('button', { name: /^Succeeded/ })).toHaveCount(0);
  await expect(historyPanel).not.toContainText(tag);
  await page.getByRole('combobox', { name: 'Filter runs by status' }).click();
  await page.getByRole('option', { name: 'All runs' }).click();
  await expect(history.getByRole('button').first()).toContainText(tag);
  await shoot(page, 'sql-editor-history');
  await history.getByRole('button').first().click();
  const tabs = page.getByRole('group', { name: 'Editor tabs' });
  await expect(tabs.getByRole('button', { name: 'Query 2', exact: true })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await expect(page.locator('.cm-content')).toContainText('SELECT g AS n');

  // Drafts survive a reload, and the open tab is in the URL.
  await expect(page).toHaveURL(/[?&]tab=/);
  await page.reload();
  await expect(tabs.getByRole('button', { name: 'Query 2', exact: true })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await expect(page.locator('.cm-content')).toContainText(tag);
  await tabs.getByRole('button', { name: 'Query 1', exact: true }).click();
  await expect(page.locator('.cm-content')).toContainText(tag);

  // Rename a tab, close one.
  await page.getByRole('button', { name: 'Rename tab' }).click();
  const rename = page.getByRole('dialog', { name: 'Rename tab' });
  await rename.getByLabel('Tab name').fill('Series');
  await rename.getByRole('button', { name: 'Rename' }).click();
  await expect(tabs.getByRole('button', { name: 'Series', exact: true })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await tabs.getByRole('button', { name: 'Close Query 2' }).click();
  await expect(tabs.getByRole('button', { name: /^Close / })).toHaveCount(1);
});

test('sql editor: autocomplete from the schema; a failing statement is marked at its position', async ({
  signedIn: page,
}) => {
  // Autocomplete knows the live schema: tables, and a table's columns after its name.
  const tag = suffix();
  const res = await page.request.post('/api/database/advance/rawsql', {
    headers: { Authorization: `Bearer ${await adminToken(page)}` },
    data: { query: `CREATE TABLE public.ac_${tag} (score_${tag} int)` },
  });
  expect(res.status(), await res.text()).toBe(200);
  await openEditor(page);
  await setSql(page, '');
  await page.locator('.cm-content').pressSequentially(`SELECT * FROM ac_${tag.slice(0, 6)}`);
  const completions = page.locator('.cm-tooltip-autocomplete');
  await expect(completions).toContainText(`ac_${tag}`);
  await page.keyboard.press('Escape');
  await setSql(page, '');
  await page.locator('.cm-content').pressSequentially(`SELECT ac_${tag}.sc`);
  await expect(completions).toContainText(`score_${tag}`);
  await page.keyboard.press('Escape');

  const table = `no_such_table_${tag}`;
  await setSql(page, `SELECT 1;\n\nSELECT id, name\n  FROM ${table}\n WHERE id > 0;`);
  await page.locator('.cm-content').press('ControlOrMeta+Home');
  await page.getByTestId('run').click();

  const error = page.getByTestId('sql-error');
  await expect(error).toContainText(`relation "${table}" does not exist`);
  await expect(error).toContainText('SQLSTATE 42P01');
  await expect(error.getByTestId('error-position')).toHaveText('line 4, column 8');
  // The lint mark covers the failing name, and the cursor sits on its line.
  await expect(page.locator('.cm-lintRange-error')).toHaveText(table);
  await expect(page.locator('.cm-activeLine')).toContainText(table);
  await expectNoA11yViolations(page);
  await shoot(page, 'sql-editor-error');

  // The history records the failure with its position.
  await page.getByRole('tab', { name: 'History' }).click();
  await page.getByRole('combobox', { name: 'Filter runs by status' }).click();
  await page.getByRole('option', { name: 'Failed' }).click();
  await expect(page.getByRole('list', { name: 'Run history' })).toContainText(table);
});

test('sql editor: save a snippet, find it after a reload, open, rename and delete it', async ({
  signedIn: page,
}) => {
  await openEditor(page);
  const tag = suffix();
  const name = `Active users ${tag}`;
  await page.getByRole('button', { name: 'New tab' }).click();
  await setSql(page, `SELECT '${tag}' AS tag;`);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Save snippet' });
  await dialog.getByLabel('Snippet name').fill(name);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText(`Snippet “${name}” saved`)).toBeVisible();
  await expect(page).toHaveURL(/[?&]snippet=[0-9a-f-]{36}/);
  const snippetId = /snippet=([0-9a-f-]{36})/.exec(page.url())![1]!;
  const tabs = page.getByRole('group', { name: 'Editor tabs' });
  await expect(tabs.getByRole('button', { name, exact: true })).toBeVisible();

  // A reload (fresh browser storage too) finds it in the database.
  await page.evaluate(() => localStorage.removeItem('kiln.sql.tabs'));
  await page.goto('/dashboard/sql');
  await page.getByRole('searchbox', { name: 'Search snippets' }).fill(tag);
  await expect(page).toHaveURL(new RegExp(`[?&]q=${tag}`));
  const list = page.getByRole('list', { name: 'Saved snippets' });
  await expect(list.getByRole('listitem')).toHaveCount(1);
  await list.getByRole('button', { name: new RegExp(`^${name}`) }).click();
  await expect(tabs.getByRole('button', { name, exact: true })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await expect(page.locator('.cm-content')).toHaveText(`SELECT '${tag}' AS tag;`);
  await expect(page).toHaveURL(new RegExp(`[?&]snippet=${snippetId}`));
  await expectNoA11yViolations(page);
  await shoot(page, 'sql-editor-snippets');

  // Changing it marks the tab unsaved until Save (no name asked: it updates the snippet).
  await setSql(page, `SELECT '${tag}' AS tag, 2 AS version;`);
  await expect(tabs.getByText('(unsaved changes)')).toHaveCount(1);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(tabs.getByText('(unsaved changes)')).toHaveCount(0);

  // A link with ?snippet= opens it into a tab on a fresh page.
  await page.evaluate(() => localStorage.removeItem('kiln.sql.tabs'));
  await page.goto(`/dashboard/sql?snippet=${snippetId}`);
  await expect(tabs.getByRole('button', { name, exact: true })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await expect(page.locator('.cm-content')).toContainText('2 AS version');

  // Rename, then delete with a confirmation.
  await page.getByRole('searchbox', { name: 'Search snippets' }).fill(tag);
  await list.getByRole('button', { name: `Actions for ${name}` }).click();
  await page.getByRole('menuitem', { name: 'Rename' }).click();
  const rename = page.getByRole('dialog', { name: 'Rename snippet' });
  await rename.getByLabel('Name').fill(`${name} v2`);
  await rename.getByRole('button', { name: 'Rename' }).click();
  await expect(list.getByRole('button', { name: new RegExp(`^${name} v2`) })).toBeVisible();
  await expect(tabs.getByRole('button', { name: `${name} v2`, exact: true })).toBeVisible();
  await list.getByRole('button', { name: `Actions for ${name} v2` }).click();
  await page.getByRole('menuitem', { name: 'Delete' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Delete this snippet?' });
  await confirm.getByRole('button', { name: 'Delete snippet' }).click();
  await expect(list).toHaveCount(0);
  await expect(page.getByText('No snippet matches')).toBeVisible();
});

test('sql editor: EXPLAIN is drawn as a plan tree with the most expensive node marked', async ({
  signedIn: page,
}) => {
  await openEditor(page);
  await setSql(
    page,
    `SELECT c.relname, n.nspname\n  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n WHERE c.relkind = 'r'\n ORDER BY c.relname;`,
  );
  await page.getByRole('button', { name: 'Explain' }).click();
  const tree = page.getByTestId('plan-tree');
  await expect(tree).toBeVisible();
  expect(await tree.getByTestId('plan-node').count()).toBeGreaterThanOrEqual(3);
  await expect(tree.locator('[data-hot]')).toHaveCount(1);
  await expect(tree).toContainText('Sort');
  await expect(tree).toContainText('on pg_class c');

  // With ANALYZE: actual times and the execution time.
  await page.getByLabel('Analyze').check();
  await page.locator('.cm-content').press('ControlOrMeta+Shift+Enter');
  await expect(tree).toContainText('Execution');
  await expect(tree.getByTestId('plan-node').first()).toContainText('actual rows');
  await expectNoA11yViolations(page);
  await shoot(page, 'sql-editor-explain');

  // A plain EXPLAIN typed in the editor shows PostgreSQL's text plan.
  await setSql(page, 'EXPLAIN SELECT 1;');
  await page.getByTestId('run').click();
  await expect(page.getByLabel('Query plan')).toContainText('Result');
});
