/**
 * Every place that shows a job's status shows the one the jobs admin API derives
 * (jobs/status.ts): while a SQL job runs, jobs.jobs still says queued (its transaction has not
 * committed) and graphile-worker's lock on its wake-up says running. An incoming webhook's
 * delivery and the metrics' job backlog used to read the stored column, and showed it queued.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
let holder: pg.Client;

const admin = async (method: string, path: string, body?: unknown) =>
  t.request(method, path, { token: t.apiKey, ...(body === undefined ? {} : { body }) });

beforeAll(async () => {
  t = await startTestApp(
    {},
    { JOBS_POLL_INTERVAL_MS: '100' },
    {
      setupSql: `
        CREATE FUNCTION public.hook_wait(payload jsonb) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_advisory_xact_lock(7373);
        END $$;
        GRANT EXECUTE ON FUNCTION public.hook_wait(jsonb) TO project_admin;`,
    },
  );
  holder = new pg.Client({ connectionString: pgUrl(t.database) });
  await holder.connect();
});

afterAll(async () => {
  await holder?.end();
  await t?.stop();
});

/** The kiln_jobs gauge for one state, as /metrics shows it. */
async function jobsGauge(state: string): Promise<number | undefined> {
  const res = await t.request('GET', '/metrics', { token: t.apiKey });
  expect(res.status).toBe(200);
  const m = new RegExp(`^kiln_jobs\\{state="${state}"\\} (\\S+)$`, 'm').exec(res.body as string);
  return m ? Number(m[1]) : undefined;
}

describe('a running SQL job', () => {
  it('is running in its webhook delivery and in the metrics, as in the jobs admin API', async () => {
    expect(
      (
        await admin('PUT', '/api/jobs/queues/hooks-wait', {
          target: { type: 'sql', function: 'public.hook_wait' },
        })
      ).status,
    ).toBe(201);
    const ep = await admin('POST', '/api/webhooks/incoming', {
      name: 'waits',
      verification: { scheme: 'github' },
      target: { type: 'queue', queue: 'hooks-wait' },
    });
    expect(ep.status, JSON.stringify(ep.body)).toBe(201);
    const secret = ep.body.secret as string;
    const deliver = async (id: string) => {
      const body = JSON.stringify({ action: 'opened', id });
      const delivered = await t.request('POST', '/api/webhooks/in/waits', {
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-delivery': id,
          'x-hub-signature-256': `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`,
        },
      });
      expect(delivered.status, JSON.stringify(delivered.body)).toBe(200);
      return `/api/webhooks/incoming/waits/deliveries/${delivered.body.id}`;
    };
    // The queue's first job goes the general way; the next ones run in one transaction (the
    // worker has learnt the queue's SQL target), recording nothing in jobs.jobs until it commits.
    const warm = await deliver('gh-warm');
    await vi.waitFor(
      async () => expect((await admin('GET', warm)).body.job?.status).toBe('succeeded'),
      { timeout: 10_000, interval: 100 },
    );

    let deliveryPath = '';
    await holder.query('SELECT pg_advisory_lock(7373)');
    try {
      deliveryPath = await deliver('gh-wait-1');
      const jobId = await vi.waitFor(
        async () => {
          const d = await admin('GET', deliveryPath);
          expect(d.body.job?.id).toBeTypeOf('string');
          return d.body.job.id as string;
        },
        { timeout: 10_000, interval: 50 },
      );
      // The job's transaction is open, waiting for the lock held here.
      await vi.waitFor(
        async () => {
          const { rows } = await holder.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
          );
          expect(rows[0].n).toBe(1);
        },
        { timeout: 10_000, interval: 50 },
      );
      const { rows: stored } = await holder.query('SELECT status FROM jobs.jobs WHERE id = $1', [
        jobId,
      ]);
      expect(stored[0].status).toBe('queued');
      expect((await admin('GET', `/api/jobs/jobs/${jobId}`)).body.status).toBe('running');

      expect((await admin('GET', deliveryPath)).body.job).toEqual({ id: jobId, status: 'running' });
      const listed = await admin('GET', '/api/webhooks/incoming/waits/deliveries');
      expect(listed.body.data[0].job).toEqual({ id: jobId, status: 'running' });
      // The backlog gauge is cached for 1.5 s at most.
      await vi.waitFor(
        async () => {
          expect(await jobsGauge('running')).toBe(1);
          expect(await jobsGauge('queued')).toBe(0);
        },
        { timeout: 5_000, interval: 200 },
      );
    } finally {
      await holder.query('SELECT pg_advisory_unlock_all()');
    }
    // Once it commits, the three agree on succeeded.
    await vi.waitFor(
      async () => {
        expect((await admin('GET', deliveryPath)).body.job.status).toBe('succeeded');
      },
      { timeout: 10_000, interval: 100 },
    );
    await vi.waitFor(async () => expect(await jobsGauge('running')).toBe(0), {
      timeout: 5_000,
      interval: 200,
    });
  });
});
