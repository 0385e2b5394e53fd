/**
 * A user who signed in by SMS code (the server's log-only SMS provider writes the code to
 * DATA_DIR/logs/sms-dev.log) shows in the user sheet under their number, with its status, and
 * without their placeholder address.
 */
import fs from 'node:fs';
import path from 'node:path';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

test('users: a phone sign-in account shows its number in the user sheet', async ({
  signedIn: page,
}) => {
  const line = 2000 + Math.floor(Math.random() * 7000);
  const phone = `+1415555${line}`;
  const sent = await page.request.post('/api/auth/phone/send-otp', {
    data: { phone: `+1 (415) 555-${line}` },
  });
  expect(sent.status(), await sent.text()).toBe(202);
  const log = path.join(process.env.KILN_E2E_DATA_DIR!, 'logs', 'sms-dev.log');
  let code = '';
  await expect
    .poll(() => {
      const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
      const mine = lines
        .map((l) => JSON.parse(l) as { to: string; body: string })
        .filter((m) => m.to === phone);
      code = /\b(\d{6})\b/.exec(mine.at(-1)?.body ?? '')?.[1] ?? '';
      return code;
    })
    .toMatch(/^\d{6}$/);
  const signIn = await page.request.post('/api/auth/phone/sign-in?client_type=server', {
    data: { phone, otp: code },
  });
  expect(signIn.status(), await signIn.text()).toBe(200);
  const { user } = (await signIn.json()) as { user: { id: string } };

  try {
    // The list names the account by its number, its status badge says how it signs in.
    await page.goto(`/dashboard/auth?q=${user.id}`);
    const row = page
      .getByRole('table', { name: 'Users' })
      .getByRole('row')
      .filter({ hasText: phone });
    await expect(row).toContainText('phone');
    await expect(row).not.toContainText('@phone.invalid');
    await row.getByRole('button', { name: phone, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`[?&]user=${user.id}`));
    const sheet = page.getByRole('dialog', { name: phone });
    await expect(sheet).toBeVisible();
    const field = sheet.getByRole('definition').filter({ hasText: phone });
    await expect(field).toContainText('verified');
    await expect(field).not.toContainText('unverified');
    // Its placeholder address is not offered as a mailbox (nor to be marked verified).
    await expect(sheet).toContainText('None (signed up by phone)');
    await expect(sheet).not.toContainText('@phone.invalid');
    await expect(sheet.getByRole('button', { name: 'Mark verified' })).toHaveCount(0);
    await expectNoA11yViolations(page);
    await shoot(page, 'auth-user-phone');
  } finally {
    const token = await adminToken(page);
    await page.request.delete('/api/auth/users', {
      headers: { Authorization: `Bearer ${token}` },
      data: { userIds: [user.id] },
    });
  }
});
