/**
 * Jobs and schedules against the real API: a queue whose SQL target raises, a job enqueued
 * through the API fails with its error shown on the page, is retried and then cancelled from it;
 * a schedule created in the form (its cron explained in words, the next five times), paused, run
 * now, with the run in its log; a queue created, edited and deleted in its form, and a schedule
 * with a method, a header naming a secret and an overlap policy.
 */
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

test('jobs: a failing job shows its error, retry and cancel; a schedule is created, paused and run', async ({
  signedIn: page,
}) => {
  const id = Date.now().toString(36);
  const queue = `e2e-fail-${id}`;
  const failFn = `e2e_job_fail_${id}`;
  const okFn = `e2e_sched_ok_${id}`;
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const sql = async (query: string) => {
    const res = await page.request.post('/api/database/advance/rawsql', {
      headers,
      data: { query },
    });
    expect(res.status(), await res.text()).toBe(200);
  };
  await sql(
    `CREATE FUNCTION public.${failFn}(payload jsonb) RETURNS void LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'invoice % is missing', payload->>'invoice'; END $$`,
  );
  await sql(
    `CREATE FUNCTION public.${okFn}(payload jsonb) RETURNS void LANGUAGE sql AS $$ SELECT $$`,
  );
  // Three attempts, a long backoff: after its first attempt the job waits for a retry.
  const put = await page.request.put(`/api/jobs/queues/${queue}`, {
    headers,
    data: {
      target: { type: 'sql', function: `public.${failFn}` },
      maxAttempts: 3,
      backoffMs: 3_600_000,
    },
  });
  expect([200, 201], await put.text()).toContain(put.status());
  const enq = await page.request.post(`/api/jobs/queues/${queue}/jobs`, {
    headers,
    data: { payload: { invoice: 'INV-42' } },
  });
  expect(enq.status(), await enq.text()).toBe(201);
  const jobId = ((await enq.json()) as { job: { id: string } }).job.id;
  await expect
    .poll(async () => {
      const r = await page.request.get(`/api/jobs/jobs/${jobId}`, { headers });
      return ((await r.json()) as { status: string }).status;
    })
    .toBe('failed');

  // Queues: the counts, and the failure with its error.
  await page.goto('/dashboard/jobs');
  await expect(page.getByRole('heading', { name: 'Jobs', level: 1 })).toBeVisible();
  await expect(page.getByRole('button', { name: `1 failed jobs in ${queue}` })).toBeVisible();
  const failures = page.getByRole('table', { name: 'Recent failures' });
  const failure = failures.getByRole('row').filter({ hasText: queue });
  await expect(failure).toContainText('invoice INV-42 is missing');
  await expect(failure).toContainText('1/3');
  await expectNoA11yViolations(page);
  await shoot(page, 'jobs-queues');

  // Retry runs it again now (attempts start over): it fails again, then is cancelled.
  await failure.getByRole('button', { name: `Retry job ${jobId}` }).click();
  await expect(page.getByText(`Job queued again on ${queue}`)).toBeVisible();
  await expect
    .poll(async () => {
      const r = await page.request.get(`/api/jobs/jobs/${jobId}`, { headers });
      const j = (await r.json()) as { status: string; finishedAt: string | null };
      return j.status;
    })
    .toBe('failed');

  // The job list, filtered from the queue's count (URL state).
  await page.getByRole('button', { name: `1 failed jobs in ${queue}` }).click();
  await expect(page).toHaveURL(/tab=jobs/);
  await expect(page).toHaveURL(new RegExp(`queue=${queue}`));
  const jobs = page.getByRole('table', { name: 'Jobs' });
  const row = jobs.getByRole('row').filter({ hasText: 'INV-42' });
  await expect(row).toContainText('failed');
  await expect(row).toContainText('invoice INV-42 is missing');
  await expectNoA11yViolations(page);
  await shoot(page, 'jobs-list');
  await row.getByRole('button', { name: `Cancel job ${jobId}` }).click();
  await expect(page.getByText(`Job on ${queue} cancelled`)).toBeVisible();
  await expect(jobs.getByText('No job matches these filters.')).toBeVisible();

  // Schedules: created in the form, the expression in words and its next five times.
  await page.getByRole('tab', { name: 'Schedules' }).click();
  await page.getByRole('button', { name: 'New schedule' }).click();
  const dialog = page.getByRole('dialog', { name: 'New schedule' });
  const name = `Nightly ${id}`;
  await dialog.getByLabel('Name').fill(name);
  const preview = dialog.getByTestId('cron-preview');
  // A bad expression: the API's reason, no times.
  await dialog.getByLabel('Cron expression').fill('61 * * * *');
  await expect(preview).toContainText('Invalid cron expression');
  await expect(preview.getByRole('listitem')).toHaveCount(0);
  await dialog.getByLabel('Cron expression').fill('30 2 * * 1-5');
  await dialog.getByLabel('Time zone').fill('Europe/Paris');
  await expect(preview).toContainText('At 02:30, Monday through Friday');
  await expect(preview.getByRole('list', { name: 'Next runs' }).getByRole('listitem')).toHaveCount(
    5,
  );
  await expect(preview.getByRole('listitem').first()).toContainText('02:30:00');
  await dialog.getByRole('combobox', { name: 'Target' }).click();
  await page.getByRole('option', { name: 'SQL function' }).click();
  await dialog.getByLabel('Function (name or schema.name)').fill(`public.${okFn}`);
  await expectNoA11yViolations(page);
  await shoot(page, 'jobs-schedule-form');
  await dialog.getByRole('button', { name: 'Create schedule' }).click();
  await expect(dialog).toBeHidden();
  const schedules = page.getByRole('table', { name: 'Schedules' });
  const sched = schedules.getByRole('row').filter({ hasText: name });
  await expect(sched).toContainText('active');
  await expect(sched).toContainText('At 02:30, Monday through Friday');

  await sched.getByRole('button', { name: `Pause ${name}` }).click();
  await expect(sched).toContainText('paused');
  await expect(sched.getByRole('button', { name: `Resume ${name}` })).toBeVisible();

  await sched.getByRole('button', { name: `Run ${name} now` }).click();
  await expect(page).toHaveURL(/schedule=/);
  const runs = page.getByRole('table', { name: `Runs of ${name}` });
  const run = runs.getByRole('row').filter({ hasText: 'succeeded' });
  await expect(run).toHaveCount(1);
  await expect(run).toContainText('manual');
  await expect(sched).toContainText('paused');
  await expectNoA11yViolations(page);
  await shoot(page, 'jobs-schedules');

  // Edited: a 6-field expression (seconds first), explained in the list after saving.
  await sched.getByRole('button', { name: `Edit ${name}` }).click();
  const edit = page.getByRole('dialog', { name: `Schedule ${name}` });
  await expect(edit.getByLabel('Function (name or schema.name)')).toHaveValue(`public.${okFn}`);
  await edit.getByLabel('Cron expression').fill('*/10 * * * * *');
  await expect(edit.getByTestId('cron-preview')).toContainText('Every 10 seconds');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  await expect(sched).toContainText('Every 10 seconds');

  // Deleted after a confirmation.
  await sched.getByRole('button', { name: `Delete ${name}` }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Delete schedule' }).click();
  await expect(schedules.getByRole('row').filter({ hasText: name })).toHaveCount(0);
});

test('jobs: a queue is created, edited and deleted in its form; a schedule gets a method, headers with a secret, and an overlap policy', async ({
  signedIn: page,
}) => {
  const id = Date.now().toString(36);
  const queue = `e2e-q-${id}`;
  const fn = `e2e_queue_fn_${id}`;
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const sqlRes = await page.request.post('/api/database/advance/rawsql', {
    headers,
    data: {
      query: `CREATE FUNCTION public.${fn}(payload jsonb) RETURNS void LANGUAGE sql AS $$ SELECT $$`,
    },
  });
  expect(sqlRes.status(), await sqlRes.text()).toBe(200);
  const readQueue = async () =>
    (await (await page.request.get(`/api/jobs/queues/${queue}`, { headers })).json()) as Record<
      string,
      unknown
    >;

  // Created: a SQL function run as authenticated, 3 attempts, at most 2 at once.
  await page.goto('/dashboard/jobs');
  await page.getByRole('button', { name: 'New queue' }).click();
  const dialog = page.getByRole('dialog', { name: 'New queue' });
  await dialog.getByLabel('Name').fill(queue);
  await dialog.getByRole('combobox', { name: 'Target' }).click();
  await page.getByRole('option', { name: 'SQL function' }).click();
  await dialog.getByLabel('Function (name or schema.name)').fill(`public.${fn}`);
  await dialog.getByRole('combobox', { name: 'Run as' }).click();
  await page.getByRole('option', { name: 'authenticated' }).click();
  await dialog.getByLabel('Max attempts').fill('3');
  await dialog.getByLabel('Concurrency').fill('0');
  await dialog.getByRole('button', { name: 'Create queue' }).click();
  await expect(dialog.getByText('empty (no limit) or 1 to 1,000')).toBeVisible();
  await dialog.getByLabel('Concurrency').fill('2');
  await expectNoA11yViolations(page);
  await shoot(page, 'jobs-queue-form');
  await dialog.getByRole('button', { name: 'Create queue' }).click();
  await expect(dialog).toBeHidden();
  const queues = page.getByRole('table', { name: 'Queues' });
  const row = queues.getByRole('row').filter({ hasText: queue });
  await expect(row).toContainText(`SQL public.${fn}() as authenticated`);
  expect(await readQueue()).toMatchObject({
    target: { type: 'sql', function: `public.${fn}`, role: 'authenticated' },
    maxAttempts: 3,
    concurrency: 2,
    timeoutMs: 30_000,
  });

  // Edited: the form starts from the queue's settings; a URL target, a longer timeout.
  await row.getByRole('button', { name: `Edit queue ${queue}` }).click();
  const edit = page.getByRole('dialog', { name: `Queue ${queue}` });
  await expect(edit.getByLabel('Function (name or schema.name)')).toHaveValue(`public.${fn}`);
  await expect(edit.getByLabel('Concurrency')).toHaveValue('2');
  await edit.getByRole('combobox', { name: 'Target' }).click();
  await page.getByRole('option', { name: 'URL (signed POST)' }).click();
  await edit.getByLabel('URL', { exact: true }).fill('not a url');
  await edit.getByLabel('Timeout (ms)').fill('5000');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit.getByText('an http(s) URL')).toBeVisible();
  await edit.getByLabel('URL', { exact: true }).fill('https://example.com/hooks/job');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  await expect(row).toContainText('https://example.com/hooks/job');
  expect(await readQueue()).toMatchObject({
    target: { type: 'http', url: 'https://example.com/hooks/job' },
    timeoutMs: 5000,
    maxAttempts: 3,
  });
  await expectNoA11yViolations(page);
  await shoot(page, 'jobs-queues-edit');

  // Deleted after a confirmation.
  await row.getByRole('button', { name: `Delete queue ${queue}` }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Delete queue' }).click();
  await expect(queues.getByRole('row').filter({ hasText: queue })).toHaveCount(0);

  // A schedule calling a URL with PUT, a header naming a secret, and overlap: queue.
  await page.getByRole('tab', { name: 'Schedules' }).click();
  await page.getByRole('button', { name: 'New schedule' }).click();
  const form = page.getByRole('dialog', { name: 'New schedule' });
  const name = `Webhook ${id}`;
  await form.getByLabel('Name').fill(name);
  await form.getByRole('combobox', { name: 'Target' }).click();
  await page.getByRole('option', { name: 'URL' }).click();
  await form.getByLabel('URL', { exact: true }).fill('https://example.com/hooks/tick');
  await form.getByRole('combobox', { name: 'Method' }).click();
  await page.getByRole('option', { name: 'PUT' }).click();
  await form.getByRole('button', { name: 'Add header' }).click();
  await form.getByLabel('Header 1 value').fill('Bearer ${{secrets.API_KEY}}');
  await form.getByLabel('Header 1 name').fill('Bad name');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  await expect(form.getByText('a header name (letters, digits, - …)')).toBeVisible();
  await form.getByLabel('Header 1 name').fill('Authorization');
  await form.getByRole('combobox', { name: 'While the previous run still goes' }).click();
  await page.getByRole('option', { name: 'Queue it: run after the previous one' }).click();
  await expect(form.getByText('${{secrets.NAME}}')).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'jobs-schedule-headers');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  await expect(form).toBeHidden();
  const list = (await (await page.request.get('/api/schedules', { headers })).json()) as {
    id: string;
    name: string;
  }[];
  const created = list.find((s) => s.name === name);
  expect(created).toBeDefined();
  const got = (await (
    await page.request.get(`/api/schedules/${created!.id}`, { headers })
  ).json()) as Record<string, unknown>;
  expect(got).toMatchObject({
    functionUrl: 'https://example.com/hooks/tick',
    httpMethod: 'PUT',
    headers: { Authorization: 'Bearer ${{secrets.API_KEY}}' },
    overlap: 'queue',
  });

  // Its form starts from them.
  const sched = page.getByRole('table', { name: 'Schedules' }).getByRole('row').filter({
    hasText: name,
  });
  await sched.getByRole('button', { name: `Edit ${name}` }).click();
  const again = page.getByRole('dialog', { name: `Schedule ${name}` });
  await expect(again.getByLabel('Header 1 value')).toHaveValue('Bearer ${{secrets.API_KEY}}');
  await expect(again.getByRole('combobox', { name: 'Method' })).toContainText('PUT');
  await again.getByRole('button', { name: 'Remove header 1' }).click();
  await again.getByRole('button', { name: 'Save' }).click();
  await expect(again).toBeHidden();
  await expect
    .poll(
      async () =>
        (
          (await (await page.request.get(`/api/schedules/${created!.id}`, { headers })).json()) as {
            headers: Record<string, string> | null;
          }
        ).headers,
    )
    .toEqual({});
  await page.request.delete(`/api/schedules/${created!.id}`, { headers });
});
