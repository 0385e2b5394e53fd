/**
 * Storage against the real API (local provider): a private bucket created in the UI, three files
 * uploaded at once from the picker (each progress bar reaching 100 %), a folder browsed into from
 * the breadcrumb-carrying URL, a file dropped into it, a signed URL made and fetched back, files
 * deleted through the multi-select, and the bucket deleted.
 */
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

test('storage: buckets, uploads with progress, folders, signed URLs and deletes', async ({
  signedIn: page,
}) => {
  const bucket = `e2e-${Date.now().toString(36)}`;
  await page.goto('/dashboard/storage');
  await expect(page.getByRole('heading', { name: 'Storage', level: 1 })).toBeVisible();

  // Create a private bucket with limits.
  await page.getByRole('button', { name: 'New bucket' }).click();
  const create = page.getByRole('dialog', { name: 'New bucket' });
  await create.getByLabel('Name').fill('Bad Name');
  await create.getByLabel('Largest file').fill('5 MB');
  await create.getByRole('button', { name: 'Create bucket' }).click();
  await expect(create).toContainText('must be 1-63 lowercase letters');
  await create.getByLabel('Name').fill(bucket);
  await expectNoA11yViolations(page);
  await shoot(page, 'storage-new-bucket');
  await create.getByRole('button', { name: 'Create bucket' }).click();
  await expect(create).toBeHidden();
  await expect(page).toHaveURL(new RegExp(`/dashboard/storage\\?bucket=${bucket}$`));
  await expect(page.getByRole('heading', { name: bucket, level: 1 })).toBeVisible();
  await expect(page.getByText('No files yet')).toBeVisible();

  // Three files at once from the picker, each with its own progress bar reaching 100 %.
  const big = Buffer.alloc(300_000, 7);
  await page.getByLabel('Files to upload').setInputFiles([
    { name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from a') },
    { name: 'b.json', mimeType: 'application/json', buffer: Buffer.from('{"b":1}') },
    { name: 'c.bin', mimeType: 'application/octet-stream', buffer: big },
  ]);
  for (const key of ['a.txt', 'b.json', 'c.bin']) {
    await expect(page.getByRole('progressbar', { name: `Upload of ${key}` })).toHaveAttribute(
      'aria-valuenow',
      '100',
    );
  }
  const files = page.getByRole('table', { name: 'Files' });
  await expect(files.getByRole('row')).toHaveCount(4); // header + 3
  await expectNoA11yViolations(page);
  await shoot(page, 'storage-files');

  // A folder (a key with "/"), browsed into; the folder is in the URL with its breadcrumb.
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const put = await page.request.put(
    `/api/storage/buckets/${bucket}/objects/${encodeURIComponent('docs/readme.txt')}`,
    {
      headers,
      multipart: {
        file: { name: 'readme.txt', mimeType: 'text/plain', buffer: Buffer.from('read me') },
      },
    },
  );
  expect(put.status(), await put.text()).toBeLessThan(300);
  await page.reload();
  await files.getByRole('link', { name: 'docs/' }).click();
  await expect(page).toHaveURL(/prefix=docs%2F/);
  const crumbs = page.getByRole('navigation', { name: 'Folder' });
  await expect(crumbs.getByRole('link', { name: 'docs' })).toHaveAttribute('aria-current', 'page');
  await expect(files.getByRole('row')).toHaveCount(2);

  // Drag and drop a file into the folder.
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
    const target = document.querySelector('table[aria-label="Files"]')!;
    target.dispatchEvent(new DragEvent('dragover', { bubbles: true, dataTransfer: dt }));
    target.dispatchEvent(new DragEvent('drop', { bubbles: true, dataTransfer: dt }));
  });
  await expect(
    page.getByRole('progressbar', { name: 'Upload of docs/dropped.txt' }),
  ).toHaveAttribute('aria-valuenow', '100');
  await expect(files.getByRole('row')).toHaveCount(3);
  await shoot(page, 'storage-folder');

  // Search within the folder (URL state).
  await page.getByRole('searchbox', { name: 'Search in docs/' }).fill('drop');
  await expect(page).toHaveURL(/search=drop/);
  await expect(files.getByRole('row')).toHaveCount(2);
  await page.getByRole('searchbox', { name: 'Search in docs/' }).fill('');

  // A signed URL with a chosen expiry, fetched back.
  await crumbs.getByRole('link', { name: bucket }).click();
  await files.getByRole('button', { name: 'Links to a.txt' }).click();
  const share = page.getByRole('dialog', { name: 'Links to a.txt' });
  await share.getByRole('combobox').click();
  await page.getByRole('option', { name: '5 minutes' }).click();
  await share.getByRole('button', { name: 'Create signed URL' }).click();
  const signed = share.getByLabel('Signed URL', { exact: true });
  await expect(signed).toHaveValue(/token=/);
  await expect(share).toContainText('Valid until');
  await expectNoA11yViolations(page);
  await shoot(page, 'storage-signed-url');
  const res = await page.request.get(await signed.inputValue());
  expect(res.status()).toBe(200);
  expect(await res.text()).toBe('hello from a');
  await share.getByRole('button', { name: 'Copy signed URL' }).click();
  await expect(page.getByText('Copied signed URL')).toBeVisible();
  await share.getByRole('button', { name: 'Close' }).first().click();

  // Multi-select delete.
  await files.getByRole('checkbox', { name: 'Select a.txt' }).click();
  await files.getByRole('checkbox', { name: 'Select b.json' }).click();
  await page.getByRole('button', { name: 'Delete 2 selected' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
  await expect(files.getByRole('row')).toHaveCount(3); // header + docs/ + c.bin
  await expect(files).not.toContainText('a.txt');

  // The bucket list shows it private, and deletes it (typed confirmation).
  await page
    .getByRole('navigation', { name: 'Folder' })
    .getByRole('link', { name: 'Buckets' })
    .click();
  const buckets = page.getByRole('table', { name: 'Buckets' });
  const row = buckets.getByRole('row').filter({ hasText: bucket });
  await expect(row).toContainText('Private');
  await expect(row).toContainText('≤ 5.0 MB');
  await expectNoA11yViolations(page);
  await shoot(page, 'storage-buckets');
  await row.getByRole('button', { name: `Delete bucket ${bucket}` }).click();
  const confirm = page.getByRole('alertdialog');
  await confirm.getByLabel(`Type ${bucket} to confirm`).fill(bucket);
  await confirm.getByRole('button', { name: 'Delete bucket' }).click();
  await expect(buckets.getByRole('row').filter({ hasText: bucket })).toHaveCount(0);
});
