import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as insforge from '@insforge/shared-schemas';
import { createApp, type KilnApp } from '../src/app.js';
import { createLogger } from '../src/core/logger.js';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * Schedules (issue 21) over real HTTP and PostgreSQL. Ticks are driven by a fake clock (the
 * scheduler's `now`) and an explicit pass (`scheduler.tick()`), so per-second schedules, time
 * zones and downtime take no real time; the calls they make are real.
 */
interface Hit {
  path: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

class Receiver {
  hits: Hit[] = [];
  private hanging: (() => void)[] = [];
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = {
        path: req.url ?? '',
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      this.hits.push(hit);
      const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end('done');
      if (hit.path === '/hang') this.hanging.push(answer);
      else answer();
    });
  });
  url = '';
  async start() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  release() {
    for (const r of this.hanging.splice(0)) r();
  }
  stop() {
    this.release();
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
  on(p: string) {
    return this.hits.filter((h) => h.path === p);
  }
}

let t: TestApp;
let admin: string;
const receiver = new Receiver();
let clock = new Date('2026-01-01T00:00:00Z');

/** Sets the fake time of `app`'s scheduler (and of schedule creation). */
function useClock(app: KilnApp) {
  app.schedules.service.now = () => clock;
}

/** One scheduler pass at the fake time, and the runs it started, finished. */
async function tickAt(at: string, app: KilnApp = t.app) {
  clock = new Date(at);
  await app.schedules.scheduler.tick();
  await app.schedules.scheduler.settled();
}

async function create(body: Record<string, unknown>) {
  const res = await t.request('POST', '/api/schedules', { token: admin, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

async function logs(id: string) {
  const res = await t.request('GET', `/api/schedules/${id}/logs?limit=100`, { token: admin });
  expect(res.status).toBe(200);
  return res.body.logs as any[];
}

async function sql(text: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: pgUrl(t.database) });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await receiver.start();
  t = await startTestApp(
    {},
    {
      JOBS_POLL_INTERVAL_MS: '100',
      JOBS_MAX_PAYLOAD_BYTES: '4096',
      SCHEDULES_RUN_TIMEOUT_MS: '2000',
    },
  );
  admin = await t.adminToken();
  useClock(t.app);
});

afterAll(async () => {
  await t?.stop();
  await receiver.stop();
});

describe('InsForge’s API', () => {
  it('creates, lists, reads, changes and deletes schedules in InsForge’s shapes', async () => {
    await t.request('POST', '/api/secrets', {
      token: admin,
      body: { key: 'HOOK_TOKEN', value: 'hook-token-value-123' },
    });
    clock = new Date('2026-01-01T00:00:00Z');
    const body = {
      name: 'Nightly digest',
      cronSchedule: '0 3 * * *',
      functionUrl: `${receiver.url}/digest`,
      httpMethod: 'POST',
      headers: { Authorization: 'Bearer ${{secrets.HOOK_TOKEN}}' },
      body: { kind: 'digest' },
    };
    expect(insforge.createScheduleRequestSchema.safeParse(body).success).toBe(true);
    const created = await t.request('POST', '/api/schedules', { token: admin, body });
    expect(created.status).toBe(201);
    expect(insforge.createScheduleResponseSchema.safeParse(created.body).success).toBe(true);
    const id = created.body.id as string;

    const list = await t.request('GET', '/api/schedules', { token: admin });
    expect(insforge.listSchedulesResponseSchema.safeParse(list.body).error).toBeUndefined();
    const one = await t.request('GET', `/api/schedules/${id}`, { token: admin });
    expect(insforge.getScheduleResponseSchema.safeParse(one.body).error).toBeUndefined();
    expect(one.body).toMatchObject({
      name: 'Nightly digest',
      cronSchedule: '0 3 * * *',
      headers: { Authorization: 'Bearer ${{secrets.HOOK_TOKEN}}' },
      body: { kind: 'digest' },
      isActive: true,
      nextRun: '2026-01-01T03:00:00.000Z',
      lastExecutedAt: null,
    });
    // Headers are stored sealed: neither the placeholder nor anything else in clear.
    const [stored] = await sql('SELECT headers_sealed FROM jobs.schedules WHERE id = $1', [id]);
    expect(stored.headers_sealed).not.toMatch(/Bearer|HOOK_TOKEN/);

    // The run resolves the secret: the value reaches the target, never the API's answers.
    await tickAt('2026-01-01T03:00:00.200Z');
    const hit = receiver.on('/digest')[0]!;
    expect(hit.headers.authorization).toBe('Bearer hook-token-value-123');
    expect(JSON.parse(hit.body)).toEqual({ kind: 'digest' });
    const runLogs = await t.request('GET', `/api/schedules/${id}/logs`, { token: admin });
    expect(insforge.listExecutionLogsResponseSchema.safeParse(runLogs.body).error).toBeUndefined();
    expect(runLogs.body).toMatchObject({ totalCount: 1, limit: 50, offset: 0 });
    expect(runLogs.body.logs[0]).toMatchObject({
      statusCode: 200,
      success: true,
      message: 'done',
      status: 'succeeded',
      tick: '2026-01-01T03:00:00.000Z',
    });

    const patched = await t.request('PATCH', `/api/schedules/${id}`, {
      token: admin,
      body: { cronSchedule: '30 4 * * *', isActive: false },
    });
    expect(insforge.updateScheduleResponseSchema.safeParse(patched.body).success).toBe(true);
    const paused = await t.request('GET', `/api/schedules/${id}`, { token: admin });
    expect(paused.body).toMatchObject({
      isActive: false,
      nextRun: null,
      cronSchedule: '30 4 * * *',
    });

    const config = await t.request('GET', '/api/schedules/config', { token: admin });
    expect(insforge.getSchedulesConfigResponseSchema.safeParse(config.body).success).toBe(true);
    const setConfig = await t.request('PATCH', '/api/schedules/config', {
      token: admin,
      body: { retentionDays: 7 },
    });
    expect(setConfig.status).toBe(200);
    expect((await t.request('GET', '/api/schedules/config', { token: admin })).body).toEqual({
      retentionDays: 7,
    });

    const deleted = await t.request('DELETE', `/api/schedules/${id}`, { token: admin });
    expect(insforge.deleteScheduleResponseSchema.safeParse(deleted.body).success).toBe(true);
    expect((await t.request('GET', `/api/schedules/${id}`, { token: admin })).status).toBe(404);
    // Admin only.
    const user = await t.signUpUser();
    expect((await t.request('GET', '/api/schedules', { token: user.accessToken })).status).toBe(
      403,
    );
  });

  it('sends ${{secrets.X}} headers to an edge function (by its URL) and runs it now', async () => {
    await t.request('POST', '/api/secrets', {
      token: admin,
      body: { key: 'FN_TOKEN', value: 'fn-token-value-456' },
    });
    const code = `export default async (req: Request): Promise<Response> => {
      const ok = req.headers.get('authorization') === 'Bearer fn-token-value-456';
      return new Response(ok ? 'authorised ' + (await req.text()) : 'refused', { status: ok ? 200 : 401 });
    };`;
    const fn = await t.request('POST', '/api/functions', {
      token: admin,
      body: { name: 'Cron sink', slug: 'cron-sink', code, status: 'active' },
    });
    expect(fn.status, JSON.stringify(fn.body)).toBe(201);
    const id = await create({
      name: 'Call the function',
      cronSchedule: '0 0 1 1 *',
      functionUrl: `${t.baseUrl}/functions/cron-sink`,
      httpMethod: 'POST',
      headers: { Authorization: 'Bearer ${{secrets.FN_TOKEN}}' },
      body: { n: 1 },
    });
    const run = await t.request('POST', `/api/schedules/${id}/run`, { token: admin });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ status: 'succeeded', statusCode: 200, tick: null });
    expect(run.body.message).toBe('authorised {"n":1}');
    const one = await t.request('GET', `/api/schedules/${id}`, { token: admin });
    expect(one.body.lastExecutedAt).not.toBeNull();
  });

  it('answers bad input with 4xx', async () => {
    const base = { name: 'Bad one', functionUrl: `${receiver.url}/x`, httpMethod: 'POST' };
    const cases: [Record<string, unknown>, number, string?][] = [
      [{ ...base, cronSchedule: '61 * * * *' }, 400, 'SCHEDULE_INVALID_CRON'],
      [{ ...base, cronSchedule: '* * * * * * *' }, 400, 'SCHEDULE_INVALID_CRON'],
      [{ ...base, cronSchedule: 'every day' }, 400, 'SCHEDULE_INVALID_CRON'],
      [
        { ...base, cronSchedule: '0 * * * *', timeZone: 'Mars/Olympus' },
        400,
        'SCHEDULE_INVALID_TIME_ZONE',
      ],
      [{ name: 'No target', cronSchedule: '0 * * * *' }, 400, 'INVALID_INPUT'],
      [
        { name: 'Ghost', cronSchedule: '0 * * * *', target: { type: 'function', slug: 'ghost' } },
        400,
        'SCHEDULE_UNKNOWN_TARGET',
      ],
      [
        { name: 'Ghost', cronSchedule: '0 * * * *', target: { type: 'queue', queue: 'ghost' } },
        400,
        'SCHEDULE_UNKNOWN_TARGET',
      ],
      [
        { ...base, cronSchedule: '0 * * * *', headers: { 'X-Key': '${{secrets.NOPE}}' } },
        404,
        'SECRET_NOT_FOUND',
      ],
      [
        { ...base, cronSchedule: '0 * * * *', body: { blob: 'x'.repeat(5000) } },
        413,
        'SCHEDULE_BODY_TOO_LARGE',
      ],
      [{ ...base, name: 'ab', cronSchedule: '0 * * * *' }, 400, 'INVALID_INPUT'],
    ];
    for (const [body, status, code] of cases) {
      const res = await t.request('POST', '/api/schedules', { token: admin, body });
      expect([res.status, res.body.error], JSON.stringify(body).slice(0, 100)).toEqual([
        status,
        code,
      ]);
    }
    expect((await t.request('GET', '/api/schedules/not-a-uuid', { token: admin })).status).toBe(
      400,
    );
    const missing = await t.request('GET', '/api/schedules/00000000-0000-4000-8000-000000000000', {
      token: admin,
    });
    expect([missing.status, missing.body.error]).toEqual([404, 'SCHEDULE_NOT_FOUND']);
  });
});

describe('timetable', () => {
  it('runs 6-field (seconds) schedules on their seconds, once per tick', async () => {
    clock = new Date('2026-01-01T10:00:05Z');
    const id = await create({
      name: 'Every ten seconds',
      cronSchedule: '*/10 * * * * *',
      functionUrl: `${receiver.url}/seconds`,
      httpMethod: 'GET',
    });
    expect((await t.request('GET', `/api/schedules/${id}`, { token: admin })).body.nextRun).toBe(
      '2026-01-01T10:00:10.000Z',
    );
    await tickAt('2026-01-01T10:00:09.900Z');
    expect(receiver.on('/seconds')).toHaveLength(0);
    await tickAt('2026-01-01T10:00:10.050Z');
    await tickAt('2026-01-01T10:00:12Z');
    await tickAt('2026-01-01T10:00:20.010Z');
    expect(receiver.on('/seconds').map((h) => h.method)).toEqual(['GET', 'GET']);
    expect((await logs(id)).map((l) => l.tick)).toEqual([
      '2026-01-01T10:00:20.000Z',
      '2026-01-01T10:00:10.000Z',
    ]);
    await t.request('PATCH', `/api/schedules/${id}`, { token: admin, body: { isActive: false } });
  });

  it('reads expressions in the schedule’s time zone, daylight saving time included', async () => {
    clock = new Date('2026-01-10T00:00:00Z');
    const preview = async (cronSchedule: string, timeZone: string) =>
      (
        await t.request(
          'GET',
          `/api/schedules/preview?cronSchedule=${encodeURIComponent(cronSchedule)}&timeZone=${encodeURIComponent(timeZone)}&count=2`,
          { token: admin },
        )
      ).body.nextRuns;
    expect(await preview('0 9 * * *', 'Asia/Kolkata')).toEqual([
      '2026-01-10T03:30:00.000Z',
      '2026-01-11T03:30:00.000Z',
    ]);
    // New York: UTC−5 in winter, UTC−4 from 8 March 2026.
    clock = new Date('2026-03-07T00:00:00Z');
    expect(await preview('30 9 * * *', 'America/New_York')).toEqual([
      '2026-03-07T14:30:00.000Z',
      '2026-03-08T13:30:00.000Z',
    ]);
    expect(await preview('15 seconds', 'UTC')).toEqual([
      '2026-03-07T00:00:15.000Z',
      '2026-03-07T00:00:30.000Z',
    ]);
    const bad = await t.request('GET', '/api/schedules/preview?cronSchedule=nope', {
      token: admin,
    });
    expect([bad.status, bad.body.error]).toEqual([400, 'SCHEDULE_INVALID_CRON']);

    clock = new Date('2026-07-01T00:00:00Z');
    const id = await create({
      name: 'Morning in New York',
      cronSchedule: '0 30 9 * * *',
      timeZone: 'America/New_York',
      functionUrl: `${receiver.url}/ny`,
      httpMethod: 'POST',
    });
    const one = (await t.request('GET', `/api/schedules/${id}`, { token: admin })).body;
    expect([one.nextRun, one.timeZone]).toEqual(['2026-07-01T13:30:00.000Z', 'America/New_York']);
    await tickAt('2026-07-01T13:30:00.100Z');
    expect(receiver.on('/ny')).toHaveLength(1);
    await t.request('DELETE', `/api/schedules/${id}`, { token: admin });
  });

  it('after downtime runs the latest missed tick once, then goes on from now', async () => {
    clock = new Date('2026-02-01T00:00:30Z');
    const id = await create({
      name: 'Every minute',
      cronSchedule: '* * * * *',
      functionUrl: `${receiver.url}/minutely`,
      httpMethod: 'POST',
    });
    // Down for an hour: 60 ticks missed.
    await tickAt('2026-02-01T01:00:40Z');
    expect(receiver.on('/minutely')).toHaveLength(1);
    expect((await logs(id)).map((l) => l.tick)).toEqual(['2026-02-01T01:00:00.000Z']);
    expect((await t.request('GET', `/api/schedules/${id}`, { token: admin })).body.nextRun).toBe(
      '2026-02-01T01:01:00.000Z',
    );
    await t.request('DELETE', `/api/schedules/${id}`, { token: admin });
  });

  it('with SCHEDULES_CATCH_UP=false runs no missed tick after downtime, only the next ones', async () => {
    const strict = await startTestApp({}, { SCHEDULES_CATCH_UP: 'false' });
    try {
      useClock(strict.app);
      // A pass it began at start, on the real clock, ends before the schedule exists (else it
      // may see the schedule as missed at today's date and move its next run past this test).
      await strict.app.schedules.scheduler.tick();
      clock = new Date('2026-02-02T00:00:30Z');
      const created = await strict.request('POST', '/api/schedules', {
        token: strict.apiKey,
        body: {
          name: 'No catch-up',
          cronSchedule: '* * * * *',
          functionUrl: `${receiver.url}/no-catch-up`,
          httpMethod: 'POST',
        },
      });
      expect(created.status).toBe(201);
      await tickAt('2026-02-02T01:00:40Z', strict.app);
      expect(receiver.on('/no-catch-up')).toHaveLength(0);
      await tickAt('2026-02-02T01:01:00.100Z', strict.app);
      expect(receiver.on('/no-catch-up')).toHaveLength(1);
      const runs = await strict.request('GET', `/api/schedules/${created.body.id}/logs`, {
        token: strict.apiKey,
      });
      expect(runs.body.logs.map((l: any) => l.tick)).toEqual(['2026-02-02T01:01:00.000Z']);
    } finally {
      await strict.stop();
    }
  });

  it('pauses and resumes: no runs while paused, the next from the time it resumes', async () => {
    clock = new Date('2026-03-01T00:00:00Z');
    const id = await create({
      name: 'Hourly',
      cronSchedule: '0 * * * *',
      functionUrl: `${receiver.url}/hourly`,
      httpMethod: 'POST',
    });
    await t.request('PATCH', `/api/schedules/${id}`, { token: admin, body: { isActive: false } });
    await tickAt('2026-03-01T05:00:01Z');
    expect(receiver.on('/hourly')).toHaveLength(0);
    await t.request('PATCH', `/api/schedules/${id}`, { token: admin, body: { isActive: true } });
    expect((await t.request('GET', `/api/schedules/${id}`, { token: admin })).body.nextRun).toBe(
      '2026-03-01T06:00:00.000Z',
    );
    await tickAt('2026-03-01T06:00:00.500Z');
    expect(receiver.on('/hourly')).toHaveLength(1);
    await t.request('DELETE', `/api/schedules/${id}`, { token: admin });
  });
});

describe('runs', () => {
  it('skips a tick while the previous run is going (overlap: skip), or queues it (overlap: queue)', async () => {
    clock = new Date('2026-04-01T00:00:00.500Z');
    const skip = await create({
      name: 'Slow skip',
      cronSchedule: '* * * * * *',
      functionUrl: `${receiver.url}/hang`,
      httpMethod: 'POST',
      body: { policy: 'skip' },
    });
    const queue = await create({
      name: 'Slow queue',
      cronSchedule: '* * * * * *',
      functionUrl: `${receiver.url}/hang`,
      httpMethod: 'POST',
      body: { policy: 'queue' },
      overlap: 'queue',
    });
    clock = new Date('2026-04-01T00:00:01.100Z');
    await t.app.schedules.scheduler.tick();
    const hung = () => receiver.on('/hang').length;
    const until = async (check: () => boolean | Promise<boolean>) => {
      for (let i = 0; !(await check()); i++) {
        if (i > 800) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await until(() => hung() === 2);
    clock = new Date('2026-04-01T00:00:02.100Z');
    await t.app.schedules.scheduler.tick();
    expect((await logs(skip)).map((l) => l.status)).toEqual(['skipped', 'running']);
    expect((await logs(queue)).map((l) => l.status)).toEqual(['queued', 'running']);
    await t.request('PATCH', `/api/schedules/${skip}`, { token: admin, body: { isActive: false } });
    await t.request('PATCH', `/api/schedules/${queue}`, {
      token: admin,
      body: { isActive: false },
    });
    receiver.release();
    // The queued run goes once the running one ends.
    await until(() => hung() === 3);
    receiver.release();
    await until(async () => (await logs(queue)).every((l) => l.status === 'succeeded'));
    expect((await logs(queue)).map((l) => l.tick)).toEqual([
      '2026-04-01T00:00:02.000Z',
      '2026-04-01T00:00:01.000Z',
    ]);
  });

  it('runs SQL and enqueues jobs (the tick gets the queue’s retries)', async () => {
    await sql(`CREATE TABLE public.ticks (body jsonb, at timestamptz DEFAULT now());
      GRANT ALL ON public.ticks TO project_admin;
      CREATE FUNCTION public.record_tick(body jsonb) RETURNS void LANGUAGE sql AS
        $$ INSERT INTO public.ticks (body) VALUES (body) $$;
      GRANT EXECUTE ON FUNCTION public.record_tick(jsonb) TO project_admin;`);
    const sqlId = await create({
      name: 'SQL tick',
      cronSchedule: '0 0 1 1 *',
      target: { type: 'sql', function: 'public.record_tick' },
      body: { from: 'schedule' },
    });
    const ran = await t.request('POST', `/api/schedules/${sqlId}/run`, { token: admin });
    expect(ran.body).toMatchObject({ status: 'succeeded', statusCode: 200 });
    expect((await sql('SELECT body FROM public.ticks')).map((r) => r.body)).toEqual([
      { from: 'schedule' },
    ]);

    const q = await t.request('PUT', '/api/jobs/queues/from-schedule', {
      token: admin,
      body: { target: { type: 'http', url: `${receiver.url}/queued` } },
    });
    expect(q.status).toBe(201);
    const queueId = await create({
      name: 'Queue tick',
      cronSchedule: '0 0 1 1 *',
      target: { type: 'queue', queue: 'from-schedule' },
      body: { hello: 'queue' },
    });
    const enq = await t.request('POST', `/api/schedules/${queueId}/run`, { token: admin });
    expect(enq.body.message).toMatch(/^enqueued job [0-9a-f-]{36}$/);
    for (let i = 0; receiver.on('/queued').length === 0; i++) {
      if (i > 800) throw new Error('the job did not run');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(JSON.parse(receiver.on('/queued')[0]!.body)).toEqual({ hello: 'queue' });
  });

  it('ends a run that takes longer than SCHEDULES_RUN_TIMEOUT_MS as failed', async () => {
    await sql(`CREATE FUNCTION public.sleepy(body jsonb) RETURNS void LANGUAGE sql AS
        $$ SELECT pg_sleep(30) $$;
      GRANT EXECUTE ON FUNCTION public.sleepy(jsonb) TO project_admin;`);
    const id = await create({
      name: 'Sleepy',
      cronSchedule: '0 0 1 1 *',
      target: { type: 'sql', function: 'public.sleepy' },
    });
    const started = Date.now();
    const ran = await t.request('POST', `/api/schedules/${id}/run`, { token: admin });
    expect(ran.body).toMatchObject({
      status: 'failed',
      success: false,
      message: 'timed out after 2000 ms',
    });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('two instances on one database run every tick exactly once', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-schedules-2-'));
    const second = await createApp(
      { ...t.app.config, dataDir },
      { logger: createLogger({ level: 'error', dir: path.join(dataDir, 'logs'), stdout: false }) },
    );
    await second.listen(0, '127.0.0.1');
    useClock(second);
    // A pass it began at start, on the real clock, ends before any schedule of this test exists.
    await second.schedules.scheduler.tick();
    try {
      clock = new Date('2026-05-01T00:00:00.500Z');
      const id = await create({
        name: 'Shared',
        cronSchedule: '* * * * * *',
        functionUrl: `${receiver.url}/shared`,
        httpMethod: 'POST',
      });
      for (let s = 1; s <= 5; s++) {
        clock = new Date(`2026-05-01T00:00:0${s}.100Z`);
        await Promise.all([t.app.schedules.scheduler.tick(), second.schedules.scheduler.tick()]);
        await Promise.all([
          t.app.schedules.scheduler.settled(),
          second.schedules.scheduler.settled(),
        ]);
      }
      await t.request('PATCH', `/api/schedules/${id}`, { token: admin, body: { isActive: false } });
      const ticks = (await logs(id)).map((l) => l.tick).sort();
      expect(ticks).toEqual([1, 2, 3, 4, 5].map((s) => `2026-05-01T00:00:0${s}.000Z`));
      expect(receiver.on('/shared')).toHaveLength(5);
    } finally {
      await second.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps headers readable across an encryption key rotation (re-sealed with the secrets)', async () => {
    const oldKey = 'old-encryption-key-for-schedules-0123456789';
    const own = await startTestApp({}, { ENCRYPTION_KEY: oldKey });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-schedules-rotated-'));
    let rotated: KilnApp | undefined;
    try {
      const token = await own.adminToken();
      await own.request('POST', '/api/secrets', {
        token,
        body: { key: 'ROT', value: 'rot-value-1' },
      });
      const created = await own.request('POST', '/api/schedules', {
        token,
        body: {
          name: 'Rotated',
          cronSchedule: '0 0 1 1 *',
          functionUrl: `${receiver.url}/rotated`,
          httpMethod: 'POST',
          headers: { 'X-Token': '${{secrets.ROT}}', 'X-Plain': 'plain' },
        },
      });
      expect(created.status).toBe(201);
      await own.app.close();
      rotated = await createApp(
        {
          ...own.app.config,
          dataDir,
          encryptionKey: 'new-encryption-key-for-schedules-9876543210',
          encryptionKeyPrevious: oldKey,
        },
        {
          logger: createLogger({ level: 'error', dir: path.join(dataDir, 'logs'), stdout: false }),
        },
      );
      const address = await rotated.listen(0, '127.0.0.1');
      const base = `http://127.0.0.1:${address.port}`;
      const res = await fetch(`${base}/api/schedules/${created.body.id}`, {
        headers: { authorization: `Bearer ${own.apiKey}` },
      });
      expect((await res.json()).headers).toEqual({
        'X-Token': '${{secrets.ROT}}',
        'X-Plain': 'plain',
      });
      const run = await fetch(`${base}/api/schedules/${created.body.id}/run`, {
        method: 'POST',
        headers: { authorization: `Bearer ${own.apiKey}` },
      });
      expect((await run.json()).status).toBe('succeeded');
      expect(receiver.on('/rotated')[0]!.headers['x-token']).toBe('rot-value-1');
    } finally {
      await rotated?.close();
      await own.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
