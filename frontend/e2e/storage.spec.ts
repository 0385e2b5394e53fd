/**
 * Storage against the real API (local provider): a private bucket created in the UI, four files
 * uploaded at once from the picker (each progress bar reaching 100 %), a folder browsed into from
 * the breadcrumb-carrying URL, a file dropped into it, a signed URL made and fetched back, files
 * deleted through the multi-select, and the bucket deleted. Then an upload cancelled halfway
 * (the network throttled): it reports partial progress, stops, and stores nothing.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

/** `seconds` of 8 kHz 8-bit mono silence as a WAV file. */
function silentWav(seconds: number): Buffer {
  const samples = Math.round(8000 * seconds);
  const b = Buffer.alloc(44 + samples, 128);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + samples, 4);
  b.write('WAVEfmt ', 8, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(8000, 28);
  b.writeUInt16LE(1, 32);
  b.writeUInt16LE(8, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(samples, 40);
  return b;
}

/** A small RGB PNG (a colour gradient) to preview. */
function gradientPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * (width * 3 + 1) + 1 + x * 3;
      rows.set([Math.round((x / width) * 255), Math.round((y / height) * 255), 160], i);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

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

  // Four files at once from the picker, each with its own progress bar reaching 100 %.
  const big = Buffer.alloc(300_000, 7);
  const png = gradientPng(96, 64);
  await page.getByLabel('Files to upload').setInputFiles([
    { name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from a') },
    { name: 'b.json', mimeType: 'application/json', buffer: Buffer.from('{"b":1}') },
    { name: 'c.bin', mimeType: 'application/octet-stream', buffer: big },
    { name: 'd.png', mimeType: 'image/png', buffer: png },
  ]);
  for (const key of ['a.txt', 'b.json', 'c.bin', 'd.png']) {
    await expect(page.getByRole('progressbar', { name: `Upload of ${key}` })).toHaveAttribute(
      'aria-valuenow',
      '100',
    );
  }
  const files = page.getByRole('table', { name: 'Files' });
  await expect(files.getByRole('row')).toHaveCount(5); // header + 4
  await expectNoA11yViolations(page);
  await shoot(page, 'storage-files');

  // Preview of a JSON file (pretty-printed) and of an image, in a sheet whose key is in the URL.
  await files.getByRole('button', { name: 'Preview b.json' }).click();
  await expect(page).toHaveURL(/file=b\.json/);
  const sheet = page.getByRole('dialog', { name: 'b.json' });
  await expect(sheet.getByLabel('Contents of b.json')).toHaveText('{\n  "b": 1\n}');
  await sheet.getByRole('button', { name: 'Close' }).first().click();
  await expect(page).not.toHaveURL(/file=/);
  await files.getByRole('button', { name: 'Preview d.png' }).click();
  const image = page.getByRole('dialog', { name: 'd.png' }).getByRole('img', {
    name: 'Preview of d.png',
  });
  await expect(image).toBeVisible();
  await expect.poll(() => image.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(96);
  await expectNoA11yViolations(page);
  await shoot(page, 'storage-preview');
  await page.keyboard.press('Escape');
  // Audio plays from its signed URL (a tenth of a second of silence).
  const put0 = await page.request.put(`/api/storage/buckets/${bucket}/objects/e.wav`, {
    headers: { Authorization: `Bearer ${await adminToken(page)}` },
    multipart: { file: { name: 'e.wav', mimeType: 'audio/wav', buffer: silentWav(0.1) } },
  });
  expect(put0.status(), await put0.text()).toBeLessThan(300);
  await page.reload();
  await files.getByRole('button', { name: 'Preview e.wav' }).click();
  const audio = page.getByRole('dialog', { name: 'e.wav' }).getByLabel('Preview of e.wav');
  await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.duration)).toBeCloseTo(0.1, 2);
  await page.keyboard.press('Escape');
  await files.getByRole('button', { name: 'Delete e.wav' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
  await expect(files.getByRole('button', { name: 'Preview e.wav' })).toHaveCount(0);

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

  // A folder from the folder picker keeps its structure under the open folder.
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-storage-'));
  mkdirSync(path.join(dir, 'pics', 'raw'), { recursive: true });
  writeFileSync(path.join(dir, 'pics', 'one.txt'), 'one');
  writeFileSync(path.join(dir, 'pics', 'raw', 'two.txt'), 'two');
  await page.getByLabel('Folder to upload').setInputFiles(path.join(dir, 'pics'));
  for (const key of ['docs/pics/one.txt', 'docs/pics/raw/two.txt']) {
    await expect(page.getByRole('progressbar', { name: `Upload of ${key}` })).toHaveAttribute(
      'aria-valuenow',
      '100',
    );
  }
  await expect(files.getByRole('link', { name: 'pics/' })).toBeVisible();
  await expect(files.getByRole('row')).toHaveCount(4);
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
  await expect(files.getByRole('row')).toHaveCount(4); // header + docs/ + c.bin + d.png
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
  // Edit: made public with a type limit.
  await row.getByRole('button', { name: `Edit bucket ${bucket}` }).click();
  const edit = page.getByRole('dialog', { name: `Bucket ${bucket}` });
  await expect(edit.getByLabel('Largest file')).toHaveValue('5.0 MB');
  await edit.getByRole('switch', { name: 'Public' }).click();
  await edit.getByLabel('Allowed types').fill('image/*, text/plain');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText('Public');
  await expect(row).toContainText('image/*, text/plain');
  await expectNoA11yViolations(page);
  await shoot(page, 'storage-buckets');
  await row.getByRole('button', { name: `Delete bucket ${bucket}` }).click();
  const confirm = page.getByRole('alertdialog');
  await confirm.getByLabel(`Type ${bucket} to confirm`).fill(bucket);
  await confirm.getByRole('button', { name: 'Delete bucket' }).click();
  await expect(buckets.getByRole('row').filter({ hasText: bucket })).toHaveCount(0);
});

test('storage: an upload in progress is cancelled and stores nothing', async ({
  signedIn: page,
}) => {
  const bucket = `e2e-cancel-${Date.now().toString(36)}`;
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const made = await page.request.post('/api/storage/buckets', {
    headers,
    data: { bucketName: bucket },
  });
  expect(made.status(), await made.text()).toBe(201);
  // The palette lists the buckets while Storage is open.
  await page.goto('/dashboard/storage');
  await expect(page.getByRole('table', { name: 'Buckets' })).toContainText(bucket);
  await page.keyboard.press('Control+k');
  const palette = page.getByRole('dialog', { name: 'Command palette' });
  await expect(palette.getByRole('option', { name: bucket })).toBeVisible();
  await page.keyboard.type(bucket);
  await page.keyboard.press('Enter');
  await expect(palette).toBeHidden();
  await expect(page).toHaveURL(new RegExp(`/dashboard/storage\\?bucket=${bucket}$`));
  await expect(page.getByText('No files yet')).toBeVisible();

  // About 2 s for 512 KB: long enough to see progress and cancel.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 256 * 1024,
  });
  await page.getByLabel('Files to upload').setInputFiles({
    name: 'slow.bin',
    mimeType: 'application/octet-stream',
    buffer: Buffer.alloc(512 * 1024, 1),
  });
  const bar = page.getByRole('progressbar', { name: 'Upload of slow.bin' });
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow'))).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Cancel upload of slow.bin' }).click();
  await expect(page.getByRole('region', { name: 'Uploads' })).toContainText('Cancelled');
  expect(Number(await bar.getAttribute('aria-valuenow'))).toBeLessThan(100);
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });
  const list = await page.request.get(`/api/storage/buckets/${bucket}/objects`, { headers });
  expect(((await list.json()) as { data: unknown[] }).data).toEqual([]);
  await page.request.delete(`/api/storage/buckets/${bucket}?force=true`, { headers });
});

test('storage: a folder is listed on the first page whatever the number of files', async ({
  signedIn: page,
}) => {
  const bucket = `e2e-tree-${Date.now().toString(36)}`;
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const made = await page.request.post('/api/storage/buckets', {
    headers,
    data: { bucketName: bucket },
  });
  expect(made.status(), await made.text()).toBe(201);
  // 101 files at the root sort before the only folder: a page of keys would not reach it.
  const put = (key: string) =>
    page.request.put(`/api/storage/buckets/${bucket}/objects/${encodeURIComponent(key)}`, {
      headers,
      multipart: { file: { name: key, mimeType: 'text/plain', buffer: Buffer.from(key) } },
    });
  const keys = [
    ...Array.from({ length: 101 }, (_, i) => `a-${String(i).padStart(3, '0')}.txt`),
    'zz/deep/last.txt',
  ];
  for (let i = 0; i < keys.length; i += 20)
    await Promise.all(
      keys.slice(i, i + 20).map(async (k) => expect((await put(k)).status()).toBeLessThan(300)),
    );

  await page.goto(`/dashboard/storage?bucket=${bucket}`);
  const files = page.getByRole('table', { name: 'Files' });
  // The folder first, then the files; 102 entries over two pages.
  await expect(files.getByRole('link', { name: 'zz/' })).toBeVisible();
  await expect(files.getByRole('button', { name: 'Preview a-000.txt' })).toBeVisible();
  await expect(page.getByText(/of 102/)).toBeVisible();
  await files.getByRole('link', { name: 'zz/' }).click();
  await expect(page).toHaveURL(/[?&]prefix=zz%2F/);
  await expect(files.getByRole('link', { name: 'deep/' })).toBeVisible();
  await page.request.delete(`/api/storage/buckets/${bucket}?force=true`, { headers });
});
