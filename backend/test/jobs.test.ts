import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/core/logger.js';
import { ADMIN_PASSWORD, pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * Background jobs (issue 21) over real HTTP and PostgreSQL: a local HTTP receiver is the URL
 * target and records what reaches it; graphile-worker polls every 100 ms, so retries and delays
 * take well under a second each. Leases last 3 s, renewed every second: a loaded machine's
 * stalls do not lapse a live job's lease, and a lost worker's job runs again within seconds.
 */
interface Hit {
  path: string;
  jobId: string;
  attempt: number;
  body: any;
  signature: string | undefined;
}

class Receiver {
  hits: Hit[] = [];
  private server = http.createServer((req, res) => void this.handle(req, res));
  private failures = new Map<string, number>();
  active = 0;
  maxActive = 0;
  /** Requests to /hang wait here until released. */
  private hanging: (() => void)[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  url = '';

  async start() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }

  release() {
    for (const r of this.hanging.splice(0)) r();
  }

  /** Resolves once `check` holds (checked after every request). */
  until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('receiver: condition not met in time')),
        timeoutMs,
      );
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private notify() {
    this.waiters = this.waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    const jobId = String(req.headers['x-job-id']);
    const hit: Hit = {
      path: req.url ?? '',
      jobId,
      attempt: Number(req.headers['x-job-attempt']),
      body: text ? JSON.parse(text) : undefined,
      signature: req.headers['x-kiln-signature'] as string | undefined,
    };
    this.hits.push(hit);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.notify();
    let status = 200;
    if (hit.path === '/fail-twice') {
      const n = (this.failures.get(jobId) ?? 0) + 1;
      this.failures.set(jobId, n);
      if (n <= 2) status = 503;
    } else if (hit.path === '/fail') status = 500;
    else if (hit.path === '/slow') await new Promise((r) => setTimeout(r, 150));
    else if (hit.path === '/hang') await new Promise<void>((r) => this.hanging.push(r));
    this.active--;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
    this.notify();
  }
}

const JOBS_ENV = {
  JOBS_POLL_INTERVAL_MS: '100',
  JOBS_LEASE_SECONDS: '3',
  JOBS_WORKER_CONCURRENCY: '8',
  JOBS_MAX_PAYLOAD_BYTES: '4096',
};

let t: TestApp;
let admin: string;
const receiver = new Receiver();

async function putQueue(name: string, body: Record<string, unknown>) {
  const res = await t.request('PUT', `/api/jobs/queues/${name}`, { token: admin, body });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  return res.body;
}

async function enqueue(queue: string, body: Record<string, unknown> = {}, token = admin) {
  return t.request('POST', `/api/jobs/queues/${queue}/jobs`, { token, body });
}

/** Polls the job until `done` holds for it (jobs finish in the background). */
async function waitForJob(id: string, done: (job: any) => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.request('GET', `/api/jobs/jobs/${id}`, { token: admin });
    if (done(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`job ${id} stayed ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Another instance on the test app's database, in this process. */
async function secondInstance() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-jobs-2-'));
  const app = await createApp(
    { ...t.app.config, dataDir },
    { logger: createLogger({ level: 'error', dir: path.join(dataDir, 'logs'), stdout: false }) },
  );
  await app.listen(0, '127.0.0.1');
  return {
    app,
    async close() {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A Kiln instance in a process of its own (to be killed), with the test app's settings. */
async function spawnInstance(dataDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./fixtures/jobs-instance.ts', import.meta.url))],
    {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: {
        ...process.env,
        ...JOBS_ENV,
        NODE_ENV: 'test',
        DATABASE_URL: pgUrl(t.database),
        JWT_SECRET: t.app.config.jwtSecret!,
        ADMIN_PASSWORD,
        ADMIN_EMAIL: t.app.config.adminEmail,
        ACCESS_API_KEY: t.apiKey,
        ACCESS_ANON_KEY: t.anonKey,
        DATA_DIR: dataDir,
        DB_POOL_MAX: '4',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`instance exited (${code})`)));
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
  });
  return child;
}

async function sql<T extends pg.QueryResultRow = any>(
  database: string,
  text: string,
  params: unknown[] = [],
) {
  const client = new pg.Client({ connectionString: pgUrl(database) });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await receiver.start();
  t = await startTestApp({}, JOBS_ENV);
  admin = await t.adminToken();
});

afterAll(async () => {
  receiver.release();
  await t?.stop();
  await receiver.stop();
});

describe('enqueue', () => {
  it('from SQL in the caller’s transaction: a rolled-back insert leaves no job, a committed one runs', async () => {
    await putQueue('orders', { target: { type: 'http', url: `${receiver.url}/orders` } });
    await sql(
      t.database,
      `CREATE TABLE public.orders (id serial PRIMARY KEY, item text);
       CREATE FUNCTION public.order_placed() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM jobs.enqueue('orders', jsonb_build_object('item', NEW.item)); RETURN NEW; END $$;
       CREATE TRIGGER order_placed AFTER INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.order_placed();`,
    );
    await sql(t.database, `BEGIN; INSERT INTO public.orders (item) VALUES ('ghost'); ROLLBACK;`);
    await sql(t.database, `INSERT INTO public.orders (item) VALUES ('kettle')`);
    await receiver.until(() => receiver.hits.some((h) => h.path === '/orders'));
    const list = await t.request('GET', '/api/jobs/jobs?queue=orders', { token: admin });
    expect(list.body.data.map((j: any) => j.payload.item)).toEqual(['kettle']);
    const hit = receiver.hits.find((h) => h.path === '/orders')!;
    expect(hit.body).toEqual({ item: 'kettle' });
    expect(hit.attempt).toBe(1);
    expect(hit.jobId).toBe(list.body.data[0].id);
    expect(hit.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    await waitForJob(hit.jobId, (j) => j.status === 'succeeded');
  });

  it('from SQL on a queue that does not exist: a clear error naming it', async () => {
    await expect(
      sql(t.database, `SELECT jobs.enqueue('no-such-queue', '{}')`),
    ).rejects.toMatchObject({
      code: '42704',
      message: 'jobs.enqueue: no queue named "no-such-queue"',
      hint: expect.stringContaining('PUT /api/jobs/queues/<name>'),
    });
  });

  it('through REST: admins; signed-in users only on a queue that allows it', async () => {
    await putQueue('private', { target: { type: 'http', url: `${receiver.url}/ok` } });
    const user = await t.signUpUser();
    expect((await enqueue('private', { payload: { a: 1 } }, user.accessToken)).status).toBe(403);
    expect((await enqueue('private', {}, t.anonKey)).status).toBe(401);
    await putQueue('public-q', {
      target: { type: 'http', url: `${receiver.url}/ok` },
      userEnqueue: true,
    });
    const mine = await enqueue('public-q', { payload: { a: 1 } }, user.accessToken);
    expect(mine.status).toBe(201);
    expect(mine.body.job.createdBy).toBe(user.userId);
    const byKey = await enqueue('public-q', { payload: { a: 2 } }, t.apiKey);
    expect(byKey.status).toBe(201);
    await waitForJob(mine.body.job.id, (j) => j.status === 'succeeded');
  });

  it('answers bad input with 4xx: unknown queue or target, bad options, huge payloads', async () => {
    expect((await enqueue('nope')).body.error).toBe('JOBS_QUEUE_NOT_FOUND');
    const badTarget = await t.request('PUT', '/api/jobs/queues/x', {
      token: admin,
      body: { target: { type: 'function', slug: 'no-such-function' } },
    });
    expect([badTarget.status, badTarget.body.error]).toEqual([400, 'JOBS_UNKNOWN_TARGET']);
    const badSql = await t.request('PUT', '/api/jobs/queues/x', {
      token: admin,
      body: { target: { type: 'sql', function: 'public.missing' } },
    });
    expect([badSql.status, badSql.body.error]).toEqual([400, 'JOBS_UNKNOWN_TARGET']);
    const badKind = await t.request('PUT', '/api/jobs/queues/x', {
      token: admin,
      body: { target: { type: 'ftp', url: 'ftp://x' } },
    });
    expect(badKind.status).toBe(400);
    const badName = await t.request('PUT', '/api/jobs/queues/-bad%20name', {
      token: admin,
      body: { target: { type: 'http', url: `${receiver.url}/ok` } },
    });
    expect(badName.status).toBe(400);
    await putQueue('limits', { target: { type: 'http', url: `${receiver.url}/ok` } });
    const huge = await enqueue('limits', { payload: { blob: 'x'.repeat(5000) } });
    expect([huge.status, huge.body.error]).toEqual([413, 'JOBS_PAYLOAD_TOO_LARGE']);
    expect((await enqueue('limits', { priority: 5000 })).status).toBe(400);
    expect((await enqueue('limits', { unknownOption: 1 })).status).toBe(400);
    // From SQL, an unknown option or queue is an error in the caller's statement.
    await expect(
      sql(t.database, `SELECT jobs.enqueue('limits', '{}', '{"bogus": 1}')`),
    ).rejects.toThrow(/unknown option/);
    await expect(sql(t.database, `SELECT jobs.enqueue('nope', '{}')`)).rejects.toThrow(
      /no queue named "nope"/,
    );
  });
});

describe('running', () => {
  it('retries with backoff until the target succeeds', async () => {
    await putQueue('flaky', {
      target: { type: 'http', url: `${receiver.url}/fail-twice` },
      maxAttempts: 5,
      backoffMs: 50,
    });
    const res = await enqueue('flaky', { payload: { n: 1 } });
    const job = await waitForJob(res.body.job.id, (j) => j.status === 'succeeded');
    expect(job.attempts).toBe(3);
    expect(receiver.hits.filter((h) => h.jobId === job.id).map((h) => h.attempt)).toEqual([
      1, 2, 3,
    ]);
  });

  it('moves a job that keeps failing to dead with its last error; admins retry, cancel, purge', async () => {
    await putQueue('doomed', {
      target: { type: 'http', url: `${receiver.url}/fail` },
      maxAttempts: 2,
      backoffMs: 20,
    });
    const res = await enqueue('doomed', { payload: { n: 1 } });
    const dead = await waitForJob(res.body.job.id, (j) => j.status === 'dead');
    expect(dead.attempts).toBe(2);
    expect(dead.lastError).toMatch(/HTTP 500/);
    const failures = await t.request('GET', '/api/jobs/failures?queue=doomed', { token: admin });
    expect(failures.body.failures.map((j: any) => j.id)).toEqual([dead.id]);
    const queue = await t.request('GET', '/api/jobs/queues/doomed', { token: admin });
    expect(queue.body.counts).toMatchObject({ dead: 1, queued: 0, running: 0 });

    const retried = await t.request('POST', `/api/jobs/jobs/${dead.id}/retry`, { token: admin });
    expect(retried.status).toBe(200);
    await waitForJob(dead.id, (j) => j.status === 'dead' && j.attempts === 2);
    expect(receiver.hits.filter((h) => h.jobId === dead.id)).toHaveLength(4);

    const later = await enqueue('doomed', { delaySeconds: 60 });
    const cancelled = await t.request('POST', `/api/jobs/jobs/${later.body.job.id}/cancel`, {
      token: admin,
    });
    expect(cancelled.body.status).toBe('cancelled');
    const again = await t.request('POST', `/api/jobs/jobs/${later.body.job.id}/cancel`, {
      token: admin,
    });
    expect([again.status, again.body.error]).toEqual([409, 'JOBS_INVALID_STATE']);

    const purged = await t.request('DELETE', '/api/jobs/jobs?queue=doomed', { token: admin });
    expect(purged.body.deleted).toBe(2);
    const left = await t.request('GET', '/api/jobs/jobs?queue=doomed', { token: admin });
    expect(left.body.pagination.total).toBe(0);
  });

  it('fails an attempt that runs past the timeout', async () => {
    await putQueue('slowpoke', {
      target: { type: 'http', url: `${receiver.url}/hang` },
      maxAttempts: 1,
      timeoutMs: 200,
    });
    const res = await enqueue('slowpoke');
    const job = await waitForJob(res.body.job.id, (j) => j.status === 'dead');
    expect(job.lastError).toBe('timed out after 200 ms');
    // Ended by the timeout (the target never answers), with room for a loaded machine.
    expect(Date.parse(job.finishedAt) - Date.parse(job.startedAt)).toBeLessThan(5000);
  });

  it('refuses URL targets on private addresses when private networks are not allowed', async () => {
    const strict = await startTestApp({}, { ...JOBS_ENV, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' });
    try {
      for (const url of [
        'http://127.0.0.1:9/x',
        'http://169.254.169.254/latest',
        'http://[::1]/x',
      ]) {
        const res = await strict.request('PUT', '/api/jobs/queues/internal', {
          token: strict.apiKey,
          body: { target: { type: 'http', url } },
        });
        expect([res.status, res.body.error], url).toEqual([400, 'JOBS_UNKNOWN_TARGET']);
      }
    } finally {
      await strict.stop();
    }
  });

  it('deduplicates on dedupKey while the first job is unfinished', async () => {
    await putQueue('dedup', { target: { type: 'http', url: `${receiver.url}/ok` } });
    const first = await enqueue('dedup', { dedupKey: 'user-42', delaySeconds: 60 });
    const second = await enqueue('dedup', { dedupKey: 'user-42', delaySeconds: 60 });
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body).toMatchObject({ created: false, job: { id: first.body.job.id } });
    const other = await enqueue('dedup', { dedupKey: 'user-43', delaySeconds: 60 });
    expect(other.body.job.id).not.toBe(first.body.job.id);
  });

  it('runs a delayed job at its time, not before', async () => {
    await putQueue('later', { target: { type: 'http', url: `${receiver.url}/ok` } });
    const res = await enqueue('later', { delaySeconds: 0.6 });
    const job = await waitForJob(res.body.job.id, (j) => j.status === 'succeeded');
    expect(Date.parse(job.startedAt) - Date.parse(job.createdAt)).toBeGreaterThanOrEqual(550);
  });

  it('runs higher priority first and never more than the queue’s concurrency at once', async () => {
    await putQueue('serial', {
      target: { type: 'http', url: `${receiver.url}/hang` },
      concurrency: 1,
    });
    const blocker = await enqueue('serial', { payload: { name: 'blocker' } });
    await receiver.until(() => receiver.hits.some((h) => h.jobId === blocker.body.job.id));
    const low = await enqueue('serial', { payload: { name: 'low' }, priority: -5 });
    const high = await enqueue('serial', { payload: { name: 'high' }, priority: 5 });
    const mid = await enqueue('serial', { payload: { name: 'mid' } });
    // Each is released as it arrives; only one runs at a time.
    const ids = [low, high, mid].map((r) => r.body.job.id as string);
    const order: string[] = [];
    const releaser = setInterval(() => receiver.release(), 30);
    try {
      for (const id of ids) await waitForJob(id, (j) => j.status === 'succeeded');
    } finally {
      clearInterval(releaser);
    }
    for (const h of receiver.hits) if (ids.includes(h.jobId)) order.push(h.body.name);
    expect(order).toEqual(['high', 'mid', 'low']);

    receiver.maxActive = 0;
    await putQueue('pair', {
      target: { type: 'http', url: `${receiver.url}/slow` },
      concurrency: 2,
    });
    const jobs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => enqueue('pair', { payload: { i } })),
    );
    for (const j of jobs) await waitForJob(j.body.job.id, (x) => x.status === 'succeeded');
    expect(receiver.maxActive).toBeLessThanOrEqual(2);
    expect(receiver.maxActive).toBeGreaterThanOrEqual(1);
  });

  it('POSTs to an edge function target with the payload and the job id and attempt as headers', async () => {
    const code = `export default async (req: Request): Promise<Response> => {
      const body = await req.json();
      const seen = { id: req.headers.get('x-job-id'), attempt: req.headers.get('x-job-attempt'), body };
      const ok = /^[0-9a-f-]{36}$/.test(seen.id ?? '') && seen.attempt === '1' && body.n === 7;
      return new Response(JSON.stringify(seen), { status: ok ? 200 : 500 });
    };`;
    const fn = await t.request('POST', '/api/functions', {
      token: admin,
      body: { name: 'Job sink', slug: 'job-sink', code, status: 'active' },
    });
    expect(fn.status, JSON.stringify(fn.body)).toBe(201);
    await putQueue('fn-q', { target: { type: 'function', slug: 'job-sink' }, maxAttempts: 1 });
    const res = await enqueue('fn-q', { payload: { n: 7 } });
    const job = await waitForJob(res.body.job.id, (j) => ['succeeded', 'dead'].includes(j.status));
    expect([job.status, job.lastError]).toEqual(['succeeded', null]);
  });

  it('runs a SQL function target as the chosen role', async () => {
    await sql(
      t.database,
      `CREATE TABLE public.job_log (payload jsonb, who text);
       GRANT ALL ON public.job_log TO project_admin;
       CREATE FUNCTION public.log_job(payload jsonb) RETURNS text LANGUAGE sql AS
         $$ INSERT INTO public.job_log VALUES (payload, current_user); SELECT 'logged' $$;
       GRANT EXECUTE ON FUNCTION public.log_job(jsonb) TO project_admin;`,
    );
    await putQueue('sql-q', { target: { type: 'sql', function: 'public.log_job' } });
    const res = await enqueue('sql-q', { payload: { hello: 'world' } });
    await waitForJob(res.body.job.id, (j) => j.status === 'succeeded');
    expect(await sql(t.database, 'SELECT payload, who FROM public.job_log')).toEqual([
      { payload: { hello: 'world' }, who: 'project_admin' },
    ]);
  });
});

describe('SQL targets', () => {
  /** Waits for every job of `queue` to finish (succeeded, dead or cancelled). */
  async function drain(queue: string, timeoutMs = 15_000) {
    await until(async () => {
      const [row] = await sql(
        t.database,
        `SELECT count(*)::int AS n FROM jobs.jobs
          WHERE queue = $1 AND status IN ('queued', 'running', 'failed')`,
        [queue],
      );
      return row.n === 0;
    }, timeoutMs);
  }

  beforeAll(async () => {
    await sql(
      t.database,
      `CREATE SEQUENCE public.fast_attempts;
       CREATE TABLE public.fast_log (fn text, payload jsonb);
       GRANT ALL ON public.fast_log TO project_admin;
       GRANT USAGE ON SEQUENCE public.fast_attempts TO project_admin;
       CREATE FUNCTION public.fast_one(payload jsonb) RETURNS void LANGUAGE sql AS
         $$ INSERT INTO public.fast_log VALUES ('one', payload) $$;
       CREATE FUNCTION public.fast_two(payload jsonb) RETURNS void LANGUAGE sql AS
         $$ INSERT INTO public.fast_log VALUES ('two', payload) $$;
       -- Fails its first two calls (the sequence counts them: it is not rolled back), and what
       -- a failed call wrote goes with it.
       CREATE FUNCTION public.fast_flaky(payload jsonb) RETURNS void LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO public.fast_log VALUES ('flaky', payload);
         IF nextval('public.fast_attempts') < 3 THEN RAISE EXCEPTION 'not yet'; END IF;
       END $$;
       CREATE FUNCTION public.fast_sleep(payload jsonb) RETURNS void LANGUAGE sql AS
         $$ SELECT pg_sleep((payload->>'s')::float8) $$;
       GRANT EXECUTE ON FUNCTION public.fast_one(jsonb), public.fast_two(jsonb),
         public.fast_flaky(jsonb), public.fast_sleep(jsonb) TO project_admin;`,
    );
  });

  it('runs a job of a queue it knows in one round trip besides graphile-worker’s own', async () => {
    await putQueue('fast', { target: { type: 'sql', function: 'public.fast_one' } });
    // The first job teaches the worker the queue's target.
    await enqueue('fast', { payload: { warm: true } });
    await drain('fast');
    // Every round trip to PostgreSQL from this process while 40 jobs run (graphile-worker's
    // own, taking and finishing its jobs, left out, and this test's own: its enqueue and its
    // polling for the end, on a client of its own; whatever else the app does meanwhile is in).
    const own = new pg.Client({ connectionString: pgUrl(t.database) });
    await own.connect();
    const query = pg.Client.prototype.query;
    let trips = 0;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text?: string } | undefined;
      const text = typeof first === 'string' ? first : (first?.text ?? '');
      if (this !== own && !text.includes('graphile_worker')) trips++;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      await own.query(
        `SELECT jobs.enqueue('fast', jsonb_build_object('i', g)) FROM generate_series(1, 40) g`,
      );
      await until(async () => {
        const { rows } = await own.query(
          `SELECT count(*)::int AS n FROM jobs.jobs
            WHERE queue = 'fast' AND status IN ('queued', 'running', 'failed')`,
        );
        return rows[0].n === 0;
      });
    } finally {
      pg.Client.prototype.query = query;
      await own.end();
    }
    const rows = await sql(
      t.database,
      `SELECT count(*)::int AS n FROM public.fast_log WHERE fn = 'one' AND payload ? 'i'`,
    );
    expect(rows[0].n).toBe(40);
    const succeeded = await sql(
      t.database,
      `SELECT count(*)::int AS n, bool_and(attempts = 1 AND started_at IS NOT NULL
                                           AND finished_at >= started_at) AS ok
         FROM jobs.jobs WHERE queue = 'fast' AND status = 'succeeded'`,
    );
    expect(succeeded[0]).toEqual({ n: 41, ok: true });
    // One per job, plus the app's background work (was five per job).
    expect(trips / 40).toBeLessThan(2);
  });

  it('runs a SQL job in one transaction: running while it is open (enqueueing on its serial queue meanwhile does not wait), its commit finishes it', async () => {
    await sql(
      t.database,
      `CREATE FUNCTION public.fast_wait(payload jsonb) RETURNS void LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO public.fast_log VALUES ('wait', payload);
         PERFORM pg_advisory_xact_lock(4242);
       END $$;
       GRANT EXECUTE ON FUNCTION public.fast_wait(jsonb) TO project_admin;`,
    );
    await putQueue('fast-serial', {
      target: { type: 'sql', function: 'public.fast_wait' },
      concurrency: 1,
    });
    await enqueue('fast-serial', { payload: { warm: true } });
    await drain('fast-serial');
    const holder = new pg.Client({ connectionString: pgUrl(t.database) });
    await holder.connect();
    let id = '';
    try {
      await holder.query('SELECT pg_advisory_lock(4242)');
      const res = await enqueue('fast-serial', { payload: { serial: 1 } });
      id = res.body.job.id as string;
      await until(async () => {
        const [row] = await sql(
          t.database,
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
        );
        return row.n === 1;
      });
      // jobs.jobs still says queued (the transaction is open); the API says running.
      const [stored] = await sql(t.database, 'SELECT status FROM jobs.jobs WHERE id = $1', [id]);
      expect(stored.status).toBe('queued');
      const running = await t.request('GET', `/api/jobs/jobs/${id}`, { token: admin });
      expect([running.body.status, running.body.attempts]).toEqual(['running', 0]);
      const queue = await t.request('GET', '/api/jobs/queues/fast-serial', { token: admin });
      expect(queue.body.counts).toMatchObject({ running: 1, queued: 0, succeeded: 1 });
      const listed = await t.request('GET', '/api/jobs/jobs?queue=fast-serial&status=running', {
        token: admin,
      });
      expect(listed.body.data.map((j: any) => j.id)).toEqual([id]);
      const cancel = await t.request('POST', `/api/jobs/jobs/${id}/cancel`, { token: admin });
      expect([cancel.status, cancel.body.error]).toEqual([409, 'JOBS_INVALID_STATE']);
      const meanwhile = await enqueue('fast-serial', { payload: { serial: 2 } });
      expect(meanwhile.status).toBe(201);
    } finally {
      await holder.query('SELECT pg_advisory_unlock_all()');
      await holder.end();
    }
    const job = await waitForJob(id, (j) => j.status === 'succeeded');
    expect(job.attempts).toBe(1);
    await drain('fast-serial');
    // Then graphile-worker completes the wake-up and unlocks its job queue.
    await until(async () => {
      const [row] = await sql(
        t.database,
        `SELECT
           (SELECT count(*)::int FROM graphile_worker._private_jobs WHERE payload->>'id' = $1) AS wakeups,
           (SELECT count(*)::int FROM graphile_worker._private_job_queues
             WHERE queue_name LIKE 'kiln:fast-serial:%' AND locked_by IS NOT NULL) AS locked`,
        [id],
      );
      return row.wakeups === 0 && row.locked === 0;
    });
  });

  it('finishes a wake-up as graphile-worker 0.16 does (jobs.take_sql_job mirrors its completeJob)', async () => {
    // jobs.take_sql_job (migration 0048) deletes the wake-up and unlocks its job queue itself:
    // if graphile-worker's schema or its completion moves on, this fails and the function must
    // follow it.
    const [schema] = await sql(
      t.database,
      'SELECT max(id)::int AS migration FROM graphile_worker.migrations',
    );
    expect(schema.migration).toBe(18);
    const require = createRequire(import.meta.url);
    const source = fs.readFileSync(
      require.resolve('graphile-worker/dist/sql/completeJob.js'),
      'utf8',
    );
    expect(source).toContain(
      'delete from ${escapedWorkerSchema}._private_jobs as jobs\nwhere id = $1::bigint',
    );
    expect(source).toContain(
      'update ${escapedWorkerSchema}._private_job_queues as job_queues\nset locked_by = null, locked_at = null\nfrom j\nwhere job_queues.id = j.job_queue_id and job_queues.locked_by = $2::text;',
    );
  });

  it('runs a SQL job as project_admin on the request login, with nothing left by the job before it', async () => {
    // The one-Query path (Database.simpleAsPrincipal): the role and the settings hold for the
    // function, the connection is the admin pool's (a function's RESET ROLE cannot reach the
    // owner's rights), and session-level state a job leaves is gone for the next job.
    await sql(
      t.database,
      `CREATE TABLE public.fast_seen (n int, seen jsonb);
       GRANT ALL ON public.fast_seen TO project_admin;
       CREATE FUNCTION public.fast_seen(payload jsonb) RETURNS void LANGUAGE plpgsql AS $$
       DECLARE
         owner_ name := (SELECT tableowner FROM pg_catalog.pg_tables
                          WHERE schemaname = 'jobs' AND tablename = 'jobs');
       BEGIN
         INSERT INTO public.fast_seen VALUES ((payload->>'n')::int, jsonb_build_object(
           'user', current_user,
           'claims', current_setting('request.jwt.claims', true),
           'timeout', current_setting('statement_timeout'),
           'left', nullif(current_setting('app.left', true), ''),
           'searchPath', current_setting('search_path'),
           'ownerLogin', session_user = owner_ OR pg_catalog.pg_has_role(session_user, owner_, 'MEMBER')));
         PERFORM set_config('app.left', 'by job ' || (payload->>'n'), false);
         SET search_path = pg_catalog;
       END $$;
       GRANT EXECUTE ON FUNCTION public.fast_seen(jsonb) TO project_admin;`,
    );
    await putQueue('fast-seen', {
      target: { type: 'sql', function: 'public.fast_seen' },
      timeoutMs: 4000,
    });
    for (const n of [1, 2, 3]) {
      // One at a time (each may run on the connection the one before left).
      await enqueue('fast-seen', { payload: { n } });
      await drain('fast-seen');
    }
    const rows = await sql(t.database, 'SELECT n, seen FROM public.fast_seen ORDER BY n');
    expect(rows.map((r) => r.n)).toEqual([1, 2, 3]);
    const [first] = await sql(t.database, `SELECT current_setting('search_path') AS path`);
    for (const { seen } of rows)
      expect(seen).toEqual({
        user: 'project_admin',
        claims: '{"role":"project_admin"}',
        timeout: '4s',
        left: null,
        searchPath: first.path,
        ownerLogin: false,
      });
  });

  it('writes a wake-up as graphile-worker’s add_job would, and nudges at most sixteen workers per transaction', async () => {
    // jobs.wake (migration 0049) inserts the wake-up of a queue without a limit itself instead
    // of calling add_job: the row must be the one add_job writes for the same spec, or
    // graphile-worker would take it differently.
    await putQueue('lean', { target: { type: 'sql', function: 'public.fast_one' } });
    await putQueue('lean-limited', {
      target: { type: 'sql', function: 'public.fast_one' },
      concurrency: 2,
    });
    const later = { delaySeconds: 3600, priority: 7 };
    const client = new pg.Client({ connectionString: pgUrl(t.database) });
    await client.connect();
    const heard: string[] = [];
    const listener = new pg.Client({ connectionString: pgUrl(t.database) });
    await listener.connect();
    listener.on('notification', (m) => heard.push(m.payload ?? ''));
    await listener.query('LISTEN "jobs:insert"');
    /** Notifications of the statements `run` commits (a marker after them says all arrived). */
    const notified = async (run: () => Promise<unknown>) => {
      heard.length = 0;
      await run();
      await client.query(`NOTIFY "jobs:insert", 'marker'`);
      await until(async () => heard.includes('marker'));
      return heard.filter((p) => p !== 'marker');
    };
    try {
      const columns = `to_jsonb(g) - 'id' - 'created_at' - 'updated_at' - 'payload'
                       || jsonb_build_object('payload', g.payload::text)`;
      await client.query('BEGIN');
      const {
        rows: [job],
      } = await client.query(`SELECT jobs.enqueue('lean', '{"n":1}', $1) AS id`, [later]);
      const {
        rows: [written],
      } = await client.query(
        `SELECT ${columns} AS row, g.payload::text AS payload, j.run_at::text, j.priority
           FROM graphile_worker._private_jobs g JOIN jobs.jobs j ON j.id::text = g.payload->>'id'
          WHERE j.id = $1`,
        [job.id],
      );
      const {
        rows: [library],
      } = await client.query(
        `SELECT ${columns} AS row FROM graphile_worker.add_job('kiln_job', $1::json,
           run_at => $2::timestamptz, max_attempts => 5, priority => $3) AS g`,
        [written.payload, written.run_at, -written.priority],
      );
      await client.query('ROLLBACK');
      expect(JSON.parse(written.payload)).toEqual({ id: job.id, wake: 0, queue: 'lean' });
      expect(written.row).toEqual(library.row);

      // One job: one notification, so one idle worker is nudged. Many in one transaction: at
      // most sixteen (graphile-worker's add_job sends one per job).
      expect(
        await notified(() => client.query(`SELECT jobs.enqueue('lean', '{}', $1)`, [later])),
      ).toHaveLength(1);
      const many = await notified(() =>
        client.query(
          `SELECT jobs.enqueue('lean', jsonb_build_object('i', i), $1)
                        FROM generate_series(1, 300) i`,
          [later],
        ),
      );
      expect(many.length).toBeGreaterThanOrEqual(1);
      expect(many.length).toBeLessThanOrEqual(16);
      for (const payload of many) expect(JSON.parse(payload)).toMatchObject({ count: 1 });
      // A queue with a limit still goes through add_job (its wake-ups join named job queues).
      await client.query(`SELECT jobs.enqueue('lean-limited', '{}', $1)`, [later]);
      const queues = await client.query(
        `SELECT DISTINCT jq.queue_name FROM graphile_worker._private_jobs g
           JOIN graphile_worker._private_job_queues jq ON jq.id = g.job_queue_id
          WHERE g.payload->>'queue' = 'lean-limited'`,
      );
      expect(queues.rows[0].queue_name).toMatch(/^kiln:lean-limited:[01]$/);
    } finally {
      await client.query('ROLLBACK'); // (a failure inside the transaction above)
      await client.query(
        `DELETE FROM graphile_worker._private_jobs WHERE payload->>'queue' IN ('lean', 'lean-limited');
         DELETE FROM jobs.jobs WHERE queue IN ('lean', 'lean-limited')`,
      );
      await client.end();
      await listener.end();
    }
  });

  it('runs the queue’s new target once it changed, and a job’s own timeout', async () => {
    await putQueue('fast', { target: { type: 'sql', function: 'public.fast_two' } });
    const res = await enqueue('fast', { payload: { after: 'change' } });
    await waitForJob(res.body.job.id, (j) => j.status === 'succeeded');
    const own = await enqueue('fast', { payload: { own: 'timeout' }, timeoutMs: 5000 });
    await waitForJob(own.body.job.id, (j) => j.status === 'succeeded');
    expect(
      await sql(
        t.database,
        `SELECT fn, payload FROM public.fast_log WHERE payload ?| array['after', 'own'] ORDER BY fn, payload::text`,
      ),
    ).toEqual([
      { fn: 'two', payload: { after: 'change' } },
      { fn: 'two', payload: { own: 'timeout' } },
    ]);
  });

  it('retries a failing function (what it wrote is rolled back) and fails one past its timeout', async () => {
    await putQueue('fast-flaky', {
      target: { type: 'sql', function: 'public.fast_flaky' },
      backoffMs: 20,
    });
    await sql(t.database, `SELECT setval('public.fast_attempts', 100)`); // the warm-up succeeds
    const warm = await enqueue('fast-flaky', { payload: { warm: true } });
    await waitForJob(warm.body.job.id, (j) => j.status === 'succeeded');
    await sql(t.database, `SELECT setval('public.fast_attempts', 1, false)`);
    const res = await enqueue('fast-flaky', { payload: { n: 1 } });
    const job = await waitForJob(res.body.job.id, (j) => j.status === 'succeeded');
    expect([job.attempts, job.lastError]).toEqual([3, null]);
    expect(
      await sql(
        t.database,
        `SELECT count(*)::int AS n FROM public.fast_log WHERE payload = '{"n":1}'`,
      ),
    ).toEqual([{ n: 1 }]);

    await putQueue('fast-slow', {
      target: { type: 'sql', function: 'public.fast_sleep' },
      timeoutMs: 200,
      maxAttempts: 1,
    });
    const quick = await enqueue('fast-slow', { payload: { s: 0 } });
    await waitForJob(quick.body.job.id, (j) => j.status === 'succeeded');
    const slow = await enqueue('fast-slow', { payload: { s: 5 } });
    const dead = await waitForJob(slow.body.job.id, (j) => j.status === 'dead');
    expect([dead.attempts, dead.lastError]).toEqual([1, 'timed out after 200 ms']);
  });
});

describe('instances', () => {
  it('two instances on one database run every job exactly once', async () => {
    const second = await secondInstance();
    try {
      await putQueue('fanout', { target: { type: 'http', url: `${receiver.url}/fanout` } });
      const jobs = await Promise.all(
        Array.from({ length: 40 }, (_, i) => enqueue('fanout', { payload: { i } })),
      );
      const ids = jobs.map((j) => j.body.job.id as string);
      await receiver.until(() => receiver.hits.filter((h) => h.path === '/fanout').length >= 40);
      await until(async () => {
        const done = await t.request(
          'GET',
          '/api/jobs/jobs?queue=fanout&status=succeeded&limit=1',
          {
            token: admin,
          },
        );
        return done.body.pagination.total === 40;
      });
      const perJob = new Map<string, number>();
      for (const h of receiver.hits.filter((x) => x.path === '/fanout'))
        perJob.set(h.jobId, (perJob.get(h.jobId) ?? 0) + 1);
      expect([...perJob.keys()].sort()).toEqual([...ids].sort());
      expect([...perJob.values()].every((n) => n === 1)).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('a worker killed with SIGKILL mid-job: the job runs again once its lease lapses', async () => {
    await putQueue('crash', { target: { type: 'http', url: `${receiver.url}/hang` } });
    // This instance stops taking jobs, so the child process takes the next one.
    await t.app.jobs.worker.stop(1000);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-jobs-child-'));
    const first = await spawnInstance(dataDir);
    const res = await enqueue('crash', { payload: { step: 'one' } });
    const id = res.body.job.id as string;
    await receiver.until(() => receiver.hits.some((h) => h.jobId === id));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    // Another instance (in this process) finds the lapsed lease and runs the job again.
    const second = await secondInstance();
    try {
      await receiver.until(() => receiver.hits.filter((h) => h.jobId === id).length === 2, 15_000);
      receiver.release();
      const job = await waitForJob(id, (j) => j.status === 'succeeded');
      expect(job.attempts).toBe(2);
      expect(receiver.hits.filter((h) => h.jobId === id).map((h) => h.attempt)).toEqual([1, 2]);
    } finally {
      await second.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a worker killed with SIGKILL while a SQL job runs: the job’s effects, its success and its wake-up commit together, once, and its serial queue moves on', async () => {
    await sql(
      t.database,
      `CREATE TABLE public.crash_log (payload jsonb);
       GRANT ALL ON public.crash_log TO project_admin;
       CREATE FUNCTION public.crash_fn(payload jsonb) RETURNS void LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO public.crash_log VALUES (payload);
         IF payload ? 'wait' THEN PERFORM pg_advisory_xact_lock(4243); END IF;
       END $$;
       GRANT EXECUTE ON FUNCTION public.crash_fn(jsonb) TO project_admin;`,
    );
    await putQueue('crash-sql', {
      target: { type: 'sql', function: 'public.crash_fn' },
      concurrency: 1,
    });
    // This instance's worker is stopped (it is, since the test above): the child runs the jobs.
    await t.app.jobs.worker.stop(1000);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-jobs-child-'));
    const holder = new pg.Client({ connectionString: pgUrl(t.database) });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock(4243)');
    const child = await spawnInstance(dataDir);
    let second: Awaited<ReturnType<typeof secondInstance>> | undefined;
    try {
      // The child learns the queue's target from its first job and runs the next one in one
      // transaction, which waits on the advisory lock while the child is killed.
      const warm = await enqueue('crash-sql', { payload: { warm: true } });
      await waitForJob(warm.body.job.id, (j) => j.status === 'succeeded');
      const res = await enqueue('crash-sql', { payload: { wait: true } });
      const id = res.body.job.id as string;
      await until(async () => {
        const [row] = await sql(
          t.database,
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
        );
        return row.n === 1;
      });
      const running = await t.request('GET', `/api/jobs/jobs/${id}`, { token: admin });
      expect(running.body.status).toBe('running');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const next = await enqueue('crash-sql', { payload: { next: true } });
      await holder.query('SELECT pg_advisory_unlock(4243)');
      second = await secondInstance();
      const after = await waitForJob(next.body.job.id, (j) => j.status === 'succeeded', 15_000);
      const job = await waitForJob(id, (j) => j.status === 'succeeded');
      expect([job.attempts, after.attempts]).toEqual([1, 1]);
      expect(
        await sql(
          t.database,
          `SELECT payload FROM public.crash_log WHERE NOT payload ? 'warm' ORDER BY payload::text`,
        ),
      ).toEqual([{ payload: { next: true } }, { payload: { wait: true } }]);
    } finally {
      await holder.end();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await second?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a wake-up left locked by a worker that died (no heartbeat) runs once its lease lapses', async () => {
    await putQueue('orphan', {
      target: { type: 'http', url: `${receiver.url}/orphan` },
      concurrency: 1,
    });
    // No worker runs now: a worker takes the job's wake-up (as graphile-worker's get_job does,
    // with the wake-up's named job queue) and dies before doing anything else.
    const res = await enqueue('orphan', { payload: { n: 1 } });
    const id = res.body.job.id as string;
    await sql(
      t.database,
      `WITH g AS (
         UPDATE graphile_worker._private_jobs SET locked_by = 'worker-gone', locked_at = now(),
                attempts = attempts + 1
          WHERE payload->>'id' = $1 RETURNING job_queue_id)
       UPDATE graphile_worker._private_job_queues q SET locked_by = 'worker-gone', locked_at = now()
         FROM g WHERE q.id = g.job_queue_id`,
      [id],
    );
    const running = await t.request('GET', `/api/jobs/jobs/${id}`, { token: admin });
    expect(running.body.status).toBe('running');
    const second = await secondInstance();
    try {
      const job = await waitForJob(id, (j) => j.status === 'succeeded', 15_000);
      expect(job.attempts).toBe(1);
      expect(receiver.hits.filter((h) => h.jobId === id)).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('shutdown lets a running job finish within the drain timeout', async () => {
    // This instance's worker is stopped (above): the second instance takes the job.
    const second = await secondInstance();
    await putQueue('drain', { target: { type: 'http', url: `${receiver.url}/hang` } });
    const res = await enqueue('drain', { payload: { step: 'drain' } });
    const id = res.body.job.id as string;
    await receiver.until(() => receiver.hits.some((h) => h.jobId === id));
    const closing = second.close();
    const release = setTimeout(() => receiver.release(), 200);
    await closing;
    clearTimeout(release);
    const job = await t.request('GET', `/api/jobs/jobs/${id}`, { token: admin });
    expect([job.body.status, job.body.attempts]).toEqual(['succeeded', 1]);
  });
});
