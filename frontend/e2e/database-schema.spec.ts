/**
 * The Database area's schema side: creating and altering tables in the form (with the SQL
 * preview), policies from templates obeyed by the records API, indexes and triggers, the catalog
 * pages, the diagram, migrations with a dry run, and import/export.
 */
import type { APIRequestContext, Page } from '@playwright/test';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

// Each test drives several views and shoots each in two themes at two widths.
test.describe.configure({ timeout: 90_000 });

const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

/** Admin API calls the tests make themselves (setting up data). */
async function adminApi(page: Page) {
  const token = await adminToken(page);
  const headers = { Authorization: `Bearer ${token}` };
  return {
    async createTable(body: object) {
      const res = await page.request.post('/api/database/tables', { headers, data: body });
      expect(res.status(), await res.text()).toBe(201);
    },
    async sql(query: string) {
      const res = await page.request.post('/api/database/advance/rawsql', {
        headers,
        data: { query },
      });
      expect(res.status(), await res.text()).toBe(200);
    },
    async describe(table: string) {
      const res = await page.request.get(`/api/database/tables/${table}/schema`, { headers });
      return { status: res.status(), body: res.ok() ? await res.json() : undefined };
    },
  };
}

/** Picks `option` in the radix Select named `label`. */
async function pick(page: Page, label: string | RegExp, option: string | RegExp) {
  await page.getByRole('combobox', { name: label }).click();
  await page.getByRole('option', { name: option, exact: typeof option === 'string' }).click();
}

async function signUp(request: APIRequestContext, email: string) {
  const res = await request.post('/api/auth/users', {
    data: { email, password: 'Password-123456' },
  });
  expect(res.status(), await res.text()).toBeLessThan(300);
  const body = (await res.json()) as { accessToken: string; user: { id: string } };
  return { token: body.accessToken, id: body.user.id };
}

test('create a table with a foreign key in the form, alter it, index it', async ({
  signedIn: page,
}) => {
  const id = unique();
  const authors = `authors_${id}`;
  const books = `books_${id}`;
  const api = await adminApi(page);
  await api.createTable({ tableName: authors, columns: [{ columnName: 'name', type: 'string' }] });

  await page.goto('/dashboard/database');
  await page.getByRole('button', { name: 'New table' }).click();
  const dialog = page.getByRole('dialog', { name: 'New table' });
  await dialog.getByLabel('Table name').fill(books);
  // An invalid name is refused by the server and shown by its field.
  await dialog.getByLabel('Column 1 name').fill('2title');
  await expect(dialog.getByText(/"2title" is not a valid name/)).toBeVisible();
  await dialog.getByLabel('Column 1 name').fill('title');
  await dialog.getByRole('button', { name: 'Add column' }).click();
  await dialog.getByLabel('Column 2 name').fill('author_id');
  await pick(page, 'Column 2 type', 'uuid');
  await dialog.getByRole('button', { name: 'Add foreign key' }).click();
  await pick(page, 'Foreign key 1 column', 'author_id');
  await pick(page, 'Foreign key 1 referenced table', authors);
  await pick(page, 'Foreign key 1 on delete', 'CASCADE');
  const preview = dialog.getByTestId('sql-preview');
  await expect(preview).toContainText(`CREATE TABLE "public"."${books}"`);
  await expect(preview).toContainText(
    `FOREIGN KEY ("author_id") REFERENCES "public"."${authors}" ("id") ON DELETE CASCADE`,
  );
  await expect(preview).toContainText('ENABLE ROW LEVEL SECURITY');
  await expectNoA11yViolations(page);
  await shoot(page, 'database-create-table');
  await dialog.getByRole('button', { name: 'Create table' }).click();

  // Created: the structure tab of the new table.
  await expect(page).toHaveURL(new RegExp(`/database/tables/${books}\\?.*tab=structure`));
  const columns = page.getByRole('table', { name: 'Columns' });
  await expect(columns).toContainText('author_id');
  await expect(columns).toContainText(`→ ${authors}.id`);

  // Alter: add a column, see its SQL, apply.
  await page.getByRole('button', { name: 'Add column' }).click();
  const add = page.getByRole('dialog', { name: 'Add column' });
  await add.getByLabel('Column 1 name').fill('pages');
  await pick(page, 'Column 1 type', 'integer');
  await add.getByLabel('Column 1 default value').fill('0');
  await add.getByRole('button', { name: 'Stage change' }).click();
  await expect(page.getByTestId('sql-preview')).toHaveText(
    `ALTER TABLE "public"."${books}" ADD COLUMN "pages" integer DEFAULT 0;`,
  );
  await expectNoA11yViolations(page);
  await shoot(page, 'database-structure-pending');
  await page.getByRole('button', { name: 'Apply changes' }).click();
  await expect(columns.getByRole('row', { name: /pages/ })).toContainText('integer');
  await expect(page.getByTestId('sql-preview')).toHaveCount(0);
  const described = await api.describe(books);
  expect(described.body.columns.map((c: { columnName: string }) => c.columnName)).toContain(
    'pages',
  );

  // Indexes: create one on the foreign key's column; triggers list the updated_at trigger.
  await page.getByRole('tab', { name: 'Indexes' }).click();
  await page.getByRole('button', { name: 'New index' }).click();
  const idx = page.getByRole('dialog', { name: 'New index' });
  await idx.getByRole('checkbox', { name: 'author_id' }).click();
  await idx.getByLabel('Name (optional)').fill(`${books}_author_idx`);
  await idx.getByRole('button', { name: 'Create index' }).click();
  const indexes = page.getByRole('table', { name: 'Indexes' });
  await expect(indexes).toContainText(`${books}_author_idx`);
  await expect(indexes.getByRole('row', { name: new RegExp(`${books}_author_idx`) })).toContainText(
    'author_idbtree',
  );
  await expectNoA11yViolations(page);
  await shoot(page, 'database-indexes');
  await page.getByRole('tab', { name: 'Triggers' }).click();
  await expect(page.getByRole('table', { name: 'Triggers' })).toContainText('touch_updated_at');
  await shoot(page, 'database-triggers');
});

test('a policy from the owner-only template is obeyed by the records API', async ({
  signedIn: page,
}) => {
  const id = unique();
  const notes = `notes_${id}`;
  const api = await adminApi(page);
  await api.createTable({
    tableName: notes,
    columns: [
      { columnName: 'user_id', type: 'uuid' },
      { columnName: 'body', type: 'string' },
    ],
  });
  const alice = await signUp(page.request, `alice-${id}@example.com`);
  const bob = await signUp(page.request, `bob-${id}@example.com`);
  const records = `/api/database/records/${notes}`;
  const as = (token: string) => ({
    Authorization: `Bearer ${token}`,
    Prefer: 'return=representation',
  });
  // RLS on and no policy: nobody but admins gets in.
  const refused = await page.request.post(records, {
    headers: as(alice.token),
    data: [{ user_id: alice.id, body: 'mine' }],
  });
  expect(refused.status()).toBeGreaterThanOrEqual(400);

  await page.goto(`/dashboard/database/tables/${notes}?tab=policies`);
  await expect(page.getByText('No policies')).toBeVisible();
  await page.getByRole('button', { name: 'New policy' }).click();
  const dialog = page.getByRole('dialog', { name: 'New policy' });
  await expect(dialog.getByRole('radio', { name: 'Owner only' })).toBeChecked();
  await expect(dialog.getByRole('combobox', { name: 'Owner column' })).toHaveText(/user_id/);
  await expect(dialog.getByLabel('Using (which existing rows)')).toHaveValue(
    '(SELECT auth.uid()) = "user_id"',
  );
  await expectNoA11yViolations(page);
  await shoot(page, 'database-policy-dialog');
  await dialog.getByRole('button', { name: 'Create policy' }).click();
  const list = page.getByRole('table', { name: 'Policies' });
  await expect(list).toContainText(`${notes}_owner_only`);
  await expect(list).toContainText('authenticated');
  await expectNoA11yViolations(page);
  await shoot(page, 'database-policies');

  // Alice writes and reads her row; Bob sees nothing and cannot write as Alice.
  const created = await page.request.post(records, {
    headers: as(alice.token),
    data: [{ user_id: alice.id, body: 'mine' }],
  });
  expect(created.status(), await created.text()).toBe(201);
  const mine = await page.request.get(records, { headers: as(alice.token) });
  expect(((await mine.json()) as unknown[]).length).toBe(1);
  const theirs = await page.request.get(records, { headers: as(bob.token) });
  expect(await theirs.json()).toEqual([]);
  const forged = await page.request.post(records, {
    headers: as(bob.token),
    data: [{ user_id: alice.id, body: 'not mine' }],
  });
  expect(forged.status()).toBeGreaterThanOrEqual(400);

  // Edit: renamed, and anon added to its roles.
  await list.getByRole('button', { name: `Edit policy ${notes}_owner_only` }).click();
  const edit = page.getByRole('dialog', { name: `Edit policy ${notes}_owner_only` });
  await edit.getByLabel('Name').fill(`${notes}_mine`);
  await edit.getByRole('checkbox', { name: 'anon' }).click();
  await edit.getByRole('button', { name: 'Save policy' }).click();
  await expect(list.getByRole('row', { name: new RegExp(`${notes}_mine`) })).toContainText(
    'anonauthenticated',
  );

  // Delete asks first.
  await list.getByRole('button', { name: `Delete policy ${notes}_mine` }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Delete policy' }).click();
  await expect(page.getByText('No policies')).toBeVisible();
});

test('the diagram shows tables, their keys and the foreign key edge', async ({
  signedIn: page,
}) => {
  const id = unique();
  const parent = `dg_team_${id}`;
  const child = `dg_player_${id}`;
  const api = await adminApi(page);
  await api.createTable({ tableName: parent, columns: [{ columnName: 'name', type: 'string' }] });
  await api.createTable({
    tableName: child,
    columns: [{ columnName: 'team_id', type: 'uuid' }],
    foreignKeys: [
      {
        referenceTable: parent,
        referenceColumns: [{ sourceColumn: 'team_id', referenceColumn: 'id' }],
      },
    ],
  });
  await page.goto('/dashboard/database/diagram');
  const parentNode = page.getByTestId(`diagram-table-${parent}`);
  const childNode = page.getByTestId(`diagram-table-${child}`);
  await expect(parentNode).toBeVisible();
  await expect(childNode).toBeVisible();
  await expect(childNode.getByLabel('foreign key')).toHaveCount(1);
  await expect(parentNode.getByLabel('primary key')).toHaveCount(1);
  await expect(page.locator('.react-flow__edge-text', { hasText: 'team_id → id' })).toHaveCount(1);
  // The referenced table sits left of the one referencing it.
  const [p, c] = [await parentNode.boundingBox(), await childNode.boundingBox()];
  expect(p!.x).toBeLessThan(c!.x);
  await expectNoA11yViolations(page);
  await shoot(page, 'database-diagram');
  await childNode.getByRole('button', { name: `Open table ${child}` }).click();
  await expect(page).toHaveURL(new RegExp(`/database/tables/${child}`));
});

test('a migration is dry-run, then applied', async ({ signedIn: page }) => {
  const id = unique();
  const table = `mig_${id}`;
  const version = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  await page.goto('/dashboard/database/migrations');
  await page.getByLabel('Version', { exact: true }).fill(version);
  await page.getByLabel('Name', { exact: true }).fill(`create_${table}`);
  await page
    .getByLabel('SQL', { exact: true })
    .fill(
      `CREATE TABLE ${table} (id int PRIMARY KEY, label text);\nINSERT INTO ${table} VALUES (1, 'one');`,
    );
  const apply = page.getByRole('button', { name: 'Apply' });
  await expect(apply).toBeDisabled();
  await page.getByRole('button', { name: 'Dry run' }).click();
  const report = page.getByRole('region', { name: 'Dry run result' });
  await expect(report).toContainText(`public.${table}`);
  await expect(report).toContainText('INSERT · 1 row');
  // Rolled back: the table does not exist yet.
  const api = await adminApi(page);
  expect((await api.describe(table)).status).toBe(404);
  await expectNoA11yViolations(page);
  await shoot(page, 'database-migrations-dry-run');
  await apply.click();
  const applied = page.getByRole('table', { name: 'Applied migrations' });
  await expect(applied).toContainText(`create_${table}`);
  expect((await api.describe(table)).status).toBe(200);
  await applied.getByRole('button', { name: version }).click();
  await expect(page.getByRole('dialog')).toContainText(`CREATE TABLE ${table}`);
  await expect(page).toHaveURL(new RegExp(`selected=(%22)?${version}`));
});

test('import a CSV with a per-row report, then export', async ({ signedIn: page }) => {
  const id = unique();
  const table = `imp_${id}`;
  const api = await adminApi(page);
  await api.createTable({
    tableName: table,
    columns: [
      { columnName: 'name', type: 'string', isNullable: false },
      { columnName: 'qty', type: 'integer' },
    ],
  });
  await page.goto('/dashboard/database/import-export');
  await page.getByLabel('File', { exact: true }).setInputFiles({
    name: 'fruit.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('name,qty\nApple,3\nPear,lots\nFig,5\n'),
  });
  await pick(page, 'Into table', table);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const report = page.getByRole('region', { name: 'Import report' });
  await expect(report).toContainText('Rows3');
  await expect(report).toContainText('Inserted2');
  await expect(report).toContainText('Failed1');
  const refused = report.getByRole('table', { name: 'Refused rows' });
  await expect(refused.getByRole('row')).toHaveCount(2);
  await expect(refused).toContainText('2');
  await expectNoA11yViolations(page);
  await shoot(page, 'database-import');

  await page.getByRole('tab', { name: 'Export' }).click();
  await expect(page).toHaveURL(/mode=export/);
  await page.getByRole('button', { name: 'Select none' }).click();
  await page.getByRole('checkbox', { name: table }).click();
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download export' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/\.sql$/);
  const text = await (await file.createReadStream()).toArray();
  expect(Buffer.concat(text).toString()).toContain('Apple');
  await expectNoA11yViolations(page);
  await shoot(page, 'database-export');
});

test('functions, views, enums and extensions list the catalog with definitions', async ({
  signedIn: page,
}) => {
  const id = unique();
  const api = await adminApi(page);
  await api.sql(
    `CREATE TYPE mood_${id} AS ENUM ('happy', 'sad');
     CREATE FUNCTION add_${id}(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
     CREATE VIEW v_${id} WITH (security_invoker) AS SELECT 1 AS one;`,
  );
  const pages: [string, string, string][] = [
    ['functions', `add_${id}`, 'SELECT a + b'],
    ['views', `v_${id}`, '1 AS one'],
    ['enums', `mood_${id}`, "'happy'"],
    ['extensions', 'plpgsql', 'DROP EXTENSION "plpgsql"'],
  ];
  for (const [path, name, detail] of pages) {
    await page.goto(`/dashboard/database/${path}?q=${encodeURIComponent(name)}`);
    await page.getByRole('button', { name, exact: true }).click();
    await expect(page.getByRole('dialog', { name: new RegExp(name) })).toContainText(detail);
    await expect(page).toHaveURL(/item=/);
    if (path === 'functions') await shoot(page, 'database-function-detail');
    await page.keyboard.press('Escape');
    await expectNoA11yViolations(page);
    await shoot(page, `database-${path}`);
  }
});
