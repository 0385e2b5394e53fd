/**
 * The Database area's table list and table editor (rows grid) against the real API: tables
 * created through the admin SQL endpoint (with a foreign key), then listed, edited, filtered,
 * sorted and followed in the UI; every change checked through the records API.
 */
import type { APIRequestContext, Page } from '@playwright/test';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

interface Fixture {
  authors: string;
  posts: string;
  empty: string;
  headers: Record<string, string>;
}

async function sql(request: APIRequestContext, headers: Record<string, string>, query: string) {
  const res = await request.post('/api/database/advance/rawsql', { headers, data: { query } });
  expect(res.status(), await res.text()).toBe(200);
}

/** Two tables with a foreign key (posts.author_id → authors.id), analyzed, and an empty one. */
async function createTables(page: Page): Promise<Fixture> {
  const token = await adminToken(page);
  const headers = { Authorization: `Bearer ${token}` };
  const s = `${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
  const f = { authors: `ga_${s}`, posts: `gp_${s}`, empty: `ge_${s}`, headers };
  await sql(
    page.request,
    headers,
    `create table ${f.authors} (id serial primary key, name text not null);
     create table ${f.posts} (
       id serial primary key,
       title text,
       author_id int references ${f.authors}(id),
       meta jsonb,
       published boolean not null default false,
       created_at timestamptz not null default now()
     );
     create table ${f.empty} (id bigint generated always as identity primary key, note text);
     alter table ${f.posts} enable row level security;
     create policy read_all on ${f.posts} for select using (true);
     insert into ${f.authors} (name) values ('Ada'), ('Brian'), ('Carla');
     insert into ${f.posts} (title, author_id, meta)
       select 'Post ' || g, 1 + g % 3, jsonb_build_object('n', g) from generate_series(1, 12) g;
     analyze ${f.authors}; analyze ${f.posts};`,
  );
  return f;
}

async function records(page: Page, f: Fixture, table: string, query = '') {
  const res = await page.request.get(`/api/database/records/${table}?${query}`, {
    headers: f.headers,
  });
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()) as Record<string, unknown>[];
}

const grid = (page: Page) => page.getByRole('grid');

// Each test takes screenshots in two themes at two widths and runs axe twice: on a loaded
// 2-core machine that alone can take 15 s.
test.describe.configure({ timeout: 60_000 });

/** The grid row holding a cell with exactly this text. */
const rowWith = (page: Page, text: string) =>
  grid(page)
    .getByRole('row')
    .filter({ has: page.getByRole('gridcell', { name: text, exact: true }) });

test('table list: estimated rows, RLS badges, search and the palette', async ({
  signedIn: page,
}) => {
  const f = await createTables(page);
  await page.goto(`/dashboard/database?q=${f.posts.slice(3)}`);
  await expect(page.getByRole('heading', { name: 'Database', level: 1 })).toBeVisible();
  const list = page.getByRole('table', { name: 'Tables' });
  const posts = list.getByRole('row', { name: new RegExp(f.posts) });
  await expect(posts).toBeVisible();
  await expect(posts.getByTestId('estimated-rows')).toHaveText('~12');
  await expect(posts.getByText('RLS on')).toBeVisible();
  await expect(posts.getByText('1 policy')).toBeVisible();
  const authors = list.getByRole('row', { name: new RegExp(f.authors) });
  await expect(authors.getByTestId('estimated-rows')).toHaveText('~3');
  await expect(authors.getByText('RLS off')).toBeVisible();
  // The search narrows the list (and lives in the URL).
  await page.getByRole('searchbox', { name: 'Search tables' }).fill(f.authors);
  await expect(page).toHaveURL(new RegExp(`q=${f.authors}`));
  await expect(list.getByRole('row', { name: new RegExp(f.posts) })).toHaveCount(0);
  await page.getByRole('searchbox', { name: 'Search tables' }).fill('no-such-table-anywhere');
  await expect(page.getByText('No table matches')).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search tables' }).fill(f.posts.slice(3));
  await expectNoA11yViolations(page);
  await shoot(page, 'database-tables');

  // Each table is in the command palette.
  await page.keyboard.press('Control+k');
  await page.keyboard.type(f.authors);
  await page.getByRole('option', { name: f.authors }).click();
  await expect(page).toHaveURL(new RegExp(`/dashboard/database/tables/${f.authors}`));
  await expect(rowWith(page, 'Ada')).toBeVisible();

  // A click on a row of the list opens its editor.
  await page.goto(`/dashboard/database?q=${f.posts}`);
  await list.getByRole('row', { name: new RegExp(f.posts) }).click();
  await expect(page).toHaveURL(new RegExp(`/dashboard/database/tables/${f.posts}$`));
  await expect(page.getByRole('heading', { name: f.posts, level: 2 })).toBeVisible();
});

test('rows: the first page with its count, and inserting a row', async ({ signedIn: page }) => {
  const f = await createTables(page);
  await page.goto(`/dashboard/database/tables/${f.posts}?sort=id.asc`);
  await expect(rowWith(page, 'Post 1')).toBeVisible();
  await expect(page.getByTestId('row-total')).toHaveText('12');
  await expectNoA11yViolations(page);
  await shoot(page, 'database-grid');

  // Insert: the form shows each column's default; JSON goes through its editor.
  await page.getByRole('button', { name: 'Insert row' }).first().click();
  const insert = page.getByRole('dialog', { name: `Insert a row into ${f.posts}` });
  await expect(insert.getByText('Default: false')).toBeVisible();
  await insert.getByLabel('title').fill('Inserted from the grid');
  await insert.getByLabel('author_id').fill('2');
  await expectNoA11yViolations(page);
  await shoot(page, 'database-insert-row');
  await insert.getByRole('button', { name: 'Insert row' }).click();
  await expect(page.getByText('Row inserted')).toBeVisible();
  await expect(insert).toBeHidden();
  const inserted = await records(page, f, f.posts, 'title=eq.Inserted from the grid');
  expect(inserted).toHaveLength(1);
  expect(inserted[0]).toMatchObject({ author_id: 2, published: false });
});

test('rows: edit cells in place (text, JSON, a refused value) and delete a selection', async ({
  signedIn: page,
}) => {
  const f = await createTables(page);
  await page.goto(`/dashboard/database/tables/${f.posts}?sort=id.asc`);

  // Edit a text cell in place: saved by primary key, the API's answer shown.
  await rowWith(page, 'Post 2').getByRole('gridcell', { name: 'Post 2', exact: true }).dblclick();
  const editor = page.getByRole('textbox', { name: 'Edit title' });
  await editor.fill('Post two, edited');
  await editor.press('Enter');
  await expect(page.getByText('Saved title')).toBeVisible();
  await expect(rowWith(page, 'Post two, edited')).toBeVisible();
  expect(await records(page, f, f.posts, 'id=eq.2&select=title')).toEqual([
    { title: 'Post two, edited' },
  ]);

  // A JSON cell opens its editor: invalid JSON is refused, valid JSON saved.
  // (Keyboard: the cell is activated, Enter opens the dialog; Enter in the text is a newline.)
  const row3 = rowWith(page, 'Post 3');
  await row3.getByRole('gridcell', { name: /"n":3/ }).click({ position: { x: 12, y: 12 } });
  await page.keyboard.press('Enter');
  const json = page.getByRole('dialog', { name: 'Edit meta' });
  const area = json.getByRole('textbox', { name: 'JSON value' });
  await area.fill('{"n": 3, "tags": ["a", "b"]');
  await expect(json.getByText(/^Invalid JSON/)).toBeVisible();
  await expect(json.getByRole('button', { name: 'Save' })).toBeDisabled();
  await area.fill('{"n": 3, "tags": ["a", "b"], "nested": {"deep": true}}');
  await area.press('Enter');
  await expect(area).toHaveValue(/\}\n$/);
  await json.getByRole('button', { name: 'Format' }).click();
  await expect(area).toHaveValue(/\n {2}"tags": \[/);
  await expectNoA11yViolations(page);
  await shoot(page, 'database-json-editor');
  await json.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Saved meta')).toBeVisible();
  expect(await records(page, f, f.posts, 'id=eq.3&select=meta')).toEqual([
    { meta: { n: 3, tags: ['a', 'b'], nested: { deep: true } } },
  ]);

  // A refused edit (a foreign key to no row) shows the API's message; the cell goes back.
  const authorCell = rowWith(page, 'Post 6').locator('[aria-colindex="4"]');
  await expect(authorCell).toHaveText('1');
  // Keyboard: the cell is activated, Enter opens its editor.
  await authorCell.click({ position: { x: 12, y: 12 } });
  await page.keyboard.press('Enter');
  await page.getByRole('textbox', { name: 'Edit author_id' }).fill('999');
  await page.getByRole('textbox', { name: 'Edit author_id' }).press('Enter');
  await expect(page.getByText(/violates foreign key constraint/)).toBeVisible();
  await expect(authorCell).toHaveText('1');

  // Delete two selected rows after confirming.
  await rowWith(page, 'Post 4').getByRole('checkbox').check();
  await rowWith(page, 'Post 5').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Delete 2 rows' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Delete 2 rows?' });
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('Deleted 2 rows')).toBeVisible();
  await expect(rowWith(page, 'Post 4')).toHaveCount(0);
  expect(await records(page, f, f.posts, 'id=in.(4,5)')).toEqual([]);
});

test('rows: filters and sort live in the URL and survive a reload', async ({ signedIn: page }) => {
  const f = await createTables(page);
  await page.goto(`/dashboard/database/tables/${f.posts}`);
  await expect(rowWith(page, 'Post 1')).toBeVisible();

  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByRole('combobox', { name: 'Filter 1 column' }).selectOption('title');
  await page.getByRole('combobox', { name: 'Filter 1 operator' }).selectOption('ilike');
  await page.getByRole('textbox', { name: 'Filter 1 value' }).fill('*1*');
  await page.getByRole('button', { name: 'Add filter' }).click();
  await page.getByRole('combobox', { name: 'Filter 2 column' }).selectOption('author_id');
  await page.getByRole('combobox', { name: 'Filter 2 operator' }).selectOption('neq');
  await page.getByRole('textbox', { name: 'Filter 2 value' }).fill('3');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByTestId('filter-chip')).toHaveCount(2);
  // Titles with a 1: Post 1, 10, 11, 12; author_id = 1 + n % 3 ≠ 3 drops n = 11.
  await expect(grid(page).getByRole('row')).toHaveCount(4); // header + 3
  await expect(page).toHaveURL(/filter=/);

  // Sort by title, descending (second click on the header).
  const header = grid(page).getByRole('columnheader', { name: /^title/ });
  await header.click();
  await expect(page).toHaveURL(/sort=title\.asc/);
  await header.click();
  await expect(page).toHaveURL(/sort=title\.desc/);
  const titles = () => grid(page).locator('[role=gridcell][aria-colindex="3"]').allTextContents();
  await expect.poll(titles).toEqual(['Post 12', 'Post 10', 'Post 1']);

  await page.reload();
  await expect(page.getByTestId('filter-chip')).toHaveCount(2);
  await expect.poll(titles).toEqual(['Post 12', 'Post 10', 'Post 1']);
  await expect(header).toHaveAttribute('aria-sort', 'descending');

  // A bigger table shows the planner's estimate; counting exactly is an explicit action.
  await sql(
    page.request,
    f.headers,
    `create table ${f.empty}_big (id int primary key);
     insert into ${f.empty}_big select generate_series(1, 3000);
     analyze ${f.empty}_big;`,
  );
  await page.goto(`/dashboard/database/tables/${f.empty}_big`);
  await expect(page.getByTestId('row-total')).toHaveText(/^~/);
  await page.getByRole('button', { name: 'Count exactly' }).click();
  await expect(page.getByTestId('row-total')).toHaveText('3,000');
  await expect(page.getByRole('button', { name: 'Count exactly' })).toHaveCount(0);

  // A filter that matches nothing says so and offers to clear.
  await page.goto(
    `/dashboard/database/tables/${f.posts}?filter=${encodeURIComponent(JSON.stringify([{ column: 'title', op: 'eq', value: 'nothing' }]))}`,
  );
  await expect(page.getByText('No row matches the filters')).toBeVisible();
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(rowWith(page, 'Post 1')).toBeVisible();
});

test('rows: a foreign-key cell opens the referenced row; empty and read-only tables', async ({
  signedIn: page,
}) => {
  const f = await createTables(page);
  await page.goto(`/dashboard/database/tables/${f.posts}?sort=id.asc`);
  // Post 1 has author_id 2 (Brian).
  await rowWith(page, 'Post 1')
    .getByRole('button', { name: `Open the ${f.authors} row 2` })
    .click();
  await expect(page).toHaveURL(new RegExp(`/dashboard/database/tables/${f.authors}\\?`));
  await expect(page.getByTestId('filter-chip')).toHaveText('id = 2');
  await expect(rowWith(page, 'Brian')).toBeVisible();
  await expect(grid(page).getByRole('row')).toHaveCount(2);

  // Editing a foreign key offers a picker of the referenced table's rows.
  await page.goto(`/dashboard/database/tables/${f.posts}?sort=id.asc`);
  const author = rowWith(page, 'Post 1').locator('[aria-colindex="4"]');
  await author.click({ position: { x: 12, y: 12 } });
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: `Pick a row of ${f.authors}` }).click();
  const picker = page.getByRole('dialog', { name: `Pick a row of ${f.authors}` });
  await picker.getByRole('searchbox').fill('carl');
  await picker.getByRole('button', { name: /Carla/ }).click();
  await expect(page.getByText('Saved author_id')).toBeVisible();
  await expect(author).toHaveText('3');
  expect(await records(page, f, f.posts, 'id=eq.1&select=author_id')).toEqual([{ author_id: 3 }]);

  // An empty table says what to do next.
  await page.goto(`/dashboard/database/tables/${f.empty}`);
  await expect(page.getByText(`${f.empty} has no rows yet`)).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'database-empty-table');

  // A table without a primary key is read-only, with a note.
  await sql(
    page.request,
    f.headers,
    `create table ${f.empty}_nopk (a int); insert into ${f.empty}_nopk values (1);`,
  );
  await page.goto(`/dashboard/database/tables/${f.empty}_nopk`);
  await expect(page.getByRole('note')).toContainText('has no primary key');
  await expect(grid(page).getByRole('checkbox')).toHaveCount(0);
});
