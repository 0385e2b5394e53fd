/**
 * Backups against the real API (the e2e server runs the embedded PostgreSQL with WAL archiving,
 * BACKUP_SCHEDULE's default): a backup taken from the page with its progress to done, listed
 * (verified), downloaded (a tar: "ustar" at byte 257), the restore dialog's checks of the time,
 * a point-in-time restore run from it and followed to done, and the backup deleted.
 */
import fs from 'node:fs';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

interface Job {
  id: string;
  status: string;
  backup: { id: string; finishedAt: string } | null;
}

test('backups: back up now with progress, list, download; restore dialog checks the time; delete', async ({
  signedIn: page,
}) => {
  // A backup (copied, then verified in a throwaway server) and a restore: ~40 s on a quiet machine.
  test.setTimeout(90_000);
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  await page.goto('/dashboard/backups');
  await expect(page.getByRole('heading', { name: 'Backups', level: 1 })).toBeVisible();
  const status = page.getByRole('region', { name: 'Backup status' });
  await expect(status.getByText('Enabled', { exact: true })).toBeVisible();
  // The schedule and retention from the settings: BACKUP_SCHEDULE's default in words.
  await expect(status.getByText(/At 03:00 \(UTC\)/)).toBeVisible();
  await expect(status.getByRole('code').filter({ hasText: '0 3 * * *' })).toBeVisible();
  await expect(status.getByText(/7\s*base backups/)).toBeVisible();

  // Back up now: 202 with a job, polled; the bar follows it to done.
  const started = page.waitForResponse(
    (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/backups',
  );
  await page.getByRole('button', { name: 'Back up now' }).first().click();
  const res = await started;
  expect(res.status()).toBe(202);
  const job = (await res.json()) as Job;
  const bar = page.getByRole('progressbar', { name: 'Backup progress' });
  await expect(bar).toBeVisible();
  await expect(bar).toHaveAttribute('aria-valuetext', /^done: .* copied$/, { timeout: 40_000 });
  await expect(bar).toHaveAttribute('aria-valuenow', '100');
  const done = (await (
    await page.request.get(`/api/backups/jobs/${job.id}`, { headers })
  ).json()) as Job;
  const id = done.backup!.id;
  await expect(page.getByText(`Backup ${id}`, { exact: false })).toBeVisible();

  // Listed, newest first, verified.
  const table = page.getByRole('table', { name: 'Backups' });
  const row = table.getByRole('row').filter({ hasText: id });
  await expect(row).toBeVisible();
  await expect(row.getByText('Verified', { exact: true })).toBeVisible();
  await expect(table.getByRole('row').nth(1)).toContainText(id);
  await expect(status.getByText('to now')).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'backups-list');

  // Download: the admin's token on a fetch, saved as a file; a tar archive.
  const downloading = page.waitForEvent('download');
  await row.getByRole('button', { name: `Download backup ${id}` }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(`kiln-backup-${id}.tar`);
  const file = fs.openSync(await download.path(), 'r');
  const head = Buffer.alloc(512);
  fs.readSync(file, head, 0, 512, 0);
  fs.closeSync(file);
  expect(head.subarray(257, 262).toString('latin1')).toBe('ustar');
  expect(head.subarray(0, 100).toString('latin1')).toMatch(/^kiln-backup-/);

  // Restore: the time is checked before anything is sent.
  let restoreCalls = 0;
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/backups/restore') restoreCalls++;
  });
  await page.getByRole('button', { name: 'Restore to a point in time' }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore to a point in time' });
  await expect(dialog).toBeVisible();
  await expect(page).toHaveURL(/restore=true/);
  await expect(dialog.getByText('This replaces the database.')).toBeVisible();
  const confirm = dialog.getByRole('button', { name: 'Restore database' });
  await expect(confirm).toBeDisabled();
  await dialog.getByLabel('Type restore to confirm').fill('restore');
  await confirm.click();
  await expect(dialog.getByText('Choose the time to go back to')).toBeVisible();
  const field = dialog.getByLabel('Restore to (UTC)');
  const from = new Date(done.backup!.finishedAt);
  const utc = (d: Date) => d.toISOString().slice(0, 19);
  await field.fill(utc(new Date(from.getTime() - 3_600_000)));
  await confirm.click();
  await expect(dialog.getByText(/Too early: the oldest backup reaches back to/)).toBeVisible();
  await field.fill(utc(new Date(Date.now() + 86_400_000)));
  await confirm.click();
  await expect(dialog.getByText('That time is in the future')).toBeVisible();
  expect(restoreCalls).toBe(0);
  // A valid time: the local time is shown beside it.
  await field.fill(utc(new Date(from.getTime() + 1000)));
  await expect(dialog.getByText(/your local time:/)).toBeVisible();
  await expect(dialog.getByText(/Choose the time|Too early|in the future/)).toHaveCount(0);
  await expectNoA11yViolations(page);
  await shoot(page, 'backups-restore');

  // The restore runs while Kiln keeps running: 202 and a job, whose phases the page follows to
  // done, then everything is read again (the API answers 503 RESTORING meanwhile).
  const answered = page.waitForResponse(
    (r) => new URL(r.url()).pathname === '/api/backups/restore',
  );
  await confirm.click();
  const answer = await answered;
  expect(answer.status(), await answer.text()).toBe(202);
  const restore = (await answer.json()) as Job & { kind: string; target: string };
  expect(restore.kind).toBe('restore');
  // The field holds whole seconds.
  expect(new Date(restore.target).getTime()).toBe(Math.floor(from.getTime() / 1000 + 1) * 1000);
  await expect(dialog).toBeHidden();
  const restoring = page.getByRole('progressbar', { name: /^Restore to .* progress$/ });
  await expect(restoring).toBeVisible();
  await expect(restoring).toHaveAttribute('aria-valuetext', /^done: /, { timeout: 40_000 });
  await expect(page.getByText('The database is back at the chosen time')).toBeVisible();
  // Read again once it ends: the list answers and still has the backup (files, not rows).
  await expect(row).toBeVisible();
  await expect(status.getByText('Enabled', { exact: true })).toBeVisible();

  // Delete: confirmed, toasted, gone.
  await row.getByRole('button', { name: `Delete backup ${id}` }).click();
  const alert = page.getByRole('alertdialog', { name: 'Delete this backup?' });
  await alert.getByRole('button', { name: 'Delete backup' }).click();
  await expect(page.getByText(`Backup ${id} deleted`)).toBeVisible();
  await expect(table.getByRole('row').filter({ hasText: id })).toHaveCount(0);
  const left = (await (await page.request.get('/api/backups', { headers })).json()) as {
    backups: { id: string }[];
  };
  expect(left.backups.map((b) => b.id)).not.toContain(id);
  if (left.backups.length === 0) await expect(page.getByText('No backups yet')).toBeVisible();
});
