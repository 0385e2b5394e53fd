import fs from 'node:fs';
import path from 'node:path';
import { createClient } from '@insforge/sdk';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp } from './helpers.js';
import {
  backupsSandbox,
  notedTime,
  startKilnProcess,
  waitForJob,
  type KilnProcess,
} from './backups-helpers.js';

/**
 * Point-in-time restore through the admin API while Kiln keeps running (issue 24): a real Kiln
 * process (backend/src/server.ts) on the embedded PostgreSQL it starts itself. Write, back up,
 * write more, note a time, write more, restore to the noted time: meanwhile requests answer 503
 * RESTORING; afterwards records, sign-in and realtime work without restarting Kiln, and the
 * table holds exactly the rows up to the noted time.
 */
describe('backups: point-in-time restore through the admin API, Kiln running', () => {
  const box = backupsSandbox('kiln-live-restore-');
  const { dataDir } = box;
  let kiln: KilnProcess;
  let baseUrl: string;
  let token: string;
  let anonKey: string;
  let apiKey: string;

  const request = (method: string, p: string, body?: unknown, auth = token) =>
    kiln.request(method, p, body, auth);
  const insert = async (from: number, to: number) => {
    const rows = Array.from({ length: to - from + 1 }, (_, i) => ({
      id: from + i,
      label: `row ${from + i}`,
    }));
    const res = await request('POST', '/api/database/records/items', rows);
    expect(res.status).toBe(201);
  };
  const items = async () => {
    const res = await request('GET', '/api/database/records/items?order=id');
    expect(res.status).toBe(200);
    return res.body as { id: number; label: string }[];
  };
  /** Polls a job until it ends, alternately with the admin token and the API key. */
  const poll = async (id: string) => {
    const phases: string[] = [];
    const job = await waitForJob(
      (p, i) => request('GET', p, undefined, i % 2 ? apiKey : token),
      id,
      (polled) => {
        if (polled.phase && phases.at(-1) !== polled.phase) phases.push(polled.phase);
      },
    );
    return { job, phases };
  };

  beforeAll(async () => {
    kiln = await startKilnProcess({ dataDir });
    ({ baseUrl, token, anonKey, apiKey } = kiln);
    expect(apiKey).toMatch(/^ik_/);
  }, 60_000);

  afterAll(async () => {
    await kiln?.stop();
    box.remove();
  });

  it('restores to a noted time: 503 RESTORING meanwhile, then records, sign-in and realtime work and the rows match', async () => {
    const created = await request('POST', '/api/database/advance/rawsql', {
      query: `CREATE TABLE public.items (id int PRIMARY KEY, label text NOT NULL);
              GRANT ALL ON public.items TO anon, authenticated;`,
    });
    expect(created.status).toBe(200);
    expect(
      (await request('POST', '/api/realtime/channels', { pattern: 'room:%', description: 'r' }))
        .status,
    ).toBe(201);
    const sdk = createClient({ baseUrl, anonKey, isServerMode: true, retryCount: 0 });
    const email = 'restored@example.com';
    const signedUp = await sdk.auth.signUp({ email, password: 'correct horse battery' });
    expect(signedUp.error).toBeNull();
    await insert(1, 20);

    const started = await request('POST', '/api/backups');
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ kind: 'backup', target: null });
    const { job: backupJob } = await poll(started.body.id);
    expect(backupJob.status).toBe('done');

    await insert(21, 40);
    await request('PATCH', '/api/database/records/items?id=lte.5', { label: 'edited' });
    // The noted time: a whole millisecond after the last write before it, and PostgreSQL's
    // clock past it before the next write.
    const target = await notedTime(kiln.sql);
    await insert(41, 60);
    await request('DELETE', '/api/database/records/items?id=lte.3');
    expect(await items()).toHaveLength(57);
    const expected = Array.from({ length: 40 }, (_, i) => ({
      id: i + 1,
      label: i < 5 ? 'edited' : `row ${i + 1}`,
    }));

    // Outside the restorable range, or not a time: 400, and nothing stopped.
    const early = await request('POST', '/api/backups/restore', { to: '2001-01-01 00:00:00' });
    expect(early.status).toBe(400);
    expect(early.body.message).toMatch(/outside the restorable range/);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await request('POST', '/api/backups/restore', { to: future })).status).toBe(400);
    expect((await request('POST', '/api/backups/restore', { to: 'soon' })).status).toBe(400);
    expect(await items()).toHaveLength(57);

    // A realtime connection open before the restore rides it out.
    const openBefore = io(baseUrl, { transports: ['websocket'], auth: { token: anonKey } });
    await new Promise<void>((resolve, reject) => {
      openBefore.once('connect', resolve);
      openBefore.once('connect_error', reject);
    });

    // A request in flight when the restore begins is let finish first.
    const slow = request('POST', '/api/database/advance/rawsql', {
      query: 'SELECT pg_sleep(3) AS slept',
    });
    await new Promise((r) => setTimeout(r, 200));
    const requestedAt = Date.now();
    const restore = await request('POST', '/api/backups/restore', { to: target.toISOString() });
    expect(restore.status).toBe(202);
    expect(restore.body).toMatchObject({
      kind: 'restore',
      status: 'running',
      target: target.toISOString(),
      backup: { id: backupJob.backup.id },
    });
    // While it runs: the API answers 503 RESTORING (not a 500, not a hang), a second restore 409.
    const during = await request('GET', '/api/database/records/items');
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('5');
    expect(during.body.code ?? during.body.error).toBe('RESTORING');
    const admin = await request('GET', '/api/backups');
    expect(admin.status).toBe(503);
    expect(admin.body.error).toBe('RESTORING');
    expect((await request('GET', '/health/ready')).status).toBe(503);
    expect((await request('GET', '/api/health')).status).toBe(200);
    const second = await request('POST', '/api/backups/restore', { to: target.toISOString() });
    expect(second.status).toBe(409);
    expect(second.body.error).toBe('RESTORE_RUNNING');
    // New realtime connections are refused as requests are, with the reason; open ones stay.
    const late = io(baseUrl, {
      transports: ['websocket'],
      auth: { token: anonKey },
      reconnection: false,
    });
    const refused = await new Promise<Error & { data?: { code?: string } }>((resolve, reject) => {
      late.once('connect_error', resolve);
      late.once('connect', () => reject(new Error('a realtime connection was accepted')));
    });
    late.close();
    expect(refused.message).toMatch(
      /^RESTORING: A point-in-time restore of the database is running/,
    );
    expect(refused.data?.code).toBe('RESTORING');
    expect(openBefore.connected).toBe(true);
    openBefore.close();

    expect((await slow).status).toBe(200);
    const { job, phases } = await poll(restore.body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('done');
    expect(job.phase).toBeNull();
    // The base backup's files, and its backup_label.
    expect(job.bytesCopied).toBeGreaterThanOrEqual(backupJob.backup.sizeBytes);
    expect(job.bytesCopied).toBeLessThan(backupJob.backup.sizeBytes + 4096);
    const order = [
      'Starting',
      'Waiting for requests in flight to finish',
      'Archiving the latest WAL',
      'Stopping PostgreSQL',
      `Laying down base backup ${backupJob.backup.id}`,
      `Replaying WAL to ${target.toISOString()}`,
      'Starting PostgreSQL',
      'Reloading the schema cache and settings',
    ];
    const indexes = phases.map((p) => order.indexOf(p));
    expect(indexes.every((i) => i >= 0)).toBe(true);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));

    // Kiln serves again, without a restart: the rows are exactly those up to the noted time.
    expect((await request('GET', '/health/ready')).status).toBe(200);
    expect(await items()).toEqual(expected);
    // The audit trail keeps the restore, though it went back to before its own request: who,
    // when it was asked for, the target and the outcome.
    const restores = async () => {
      const res = await request('GET', '/api/logs/audits?action=RESTORE_DATABASE');
      expect(res.status).toBe(200);
      return res.body.data as any[];
    };
    const [audited] = await restores();
    expect(audited).toMatchObject({
      actor: 'admin@example.com',
      module: 'backups',
      action: 'RESTORE_DATABASE',
      details: {
        target: target.toISOString(),
        job: restore.body.id,
        backup: backupJob.backup.id,
        outcome: 'done',
      },
    });
    expect(Math.abs(Date.parse(audited.createdAt) - requestedAt)).toBeLessThan(5_000);
    expect(audited.details.requestedAt).toBe(audited.createdAt);
    const signedIn = await createClient({
      baseUrl,
      anonKey,
      isServerMode: true,
      retryCount: 0,
    }).auth.signInWithPassword({ email, password: 'correct horse battery' });
    expect(signedIn.error).toBeNull();
    const userToken = signedIn.data!.accessToken;
    const socket = io(baseUrl, { transports: ['websocket'], auth: { token: userToken } });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const joined = await new Promise<any>((resolve) =>
        socket.emit('realtime:subscribe', { channel: 'room:1' }, resolve),
      );
      expect(joined.ok).toBe(true);
      const got = new Promise<any>((resolve) => socket.once('hello', resolve));
      socket.emit('realtime:publish', { channel: 'room:1', event: 'hello', payload: { n: 1 } });
      expect(await got).toMatchObject({ n: 1 });
    } finally {
      socket.disconnect();
    }
    await insert(100, 100);

    // A recovery that fails (the archived WAL it needs is gone) leaves the data as it was and
    // Kiln serving.
    const wal = path.join(dataDir, 'backups', 'wal');
    for (const name of fs.readdirSync(wal))
      if (/^00000001[0-9A-F]{16}$/.test(name)) fs.rmSync(path.join(wal, name));
    const failing = await request('POST', '/api/backups/restore', {
      to: new Date(Date.now() - 50).toISOString(),
    });
    expect(failing.status).toBe(202);
    const { job: failed } = await poll(failing.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/data directory is as it was/);
    // The cause, not Kiln's own connection attempts to the recovering server.
    expect(failed.error).not.toMatch(/the database system is starting up/);
    expect(await items()).toEqual([...expected, { id: 100, label: 'row 100' }]);
    expect((await request('GET', '/health/ready')).status).toBe(200);
    // The failed restore is recorded too, with its error.
    const [failedRecord, doneRecord] = await restores();
    expect(failedRecord).toMatchObject({
      actor: 'admin@example.com',
      details: { job: failing.body.id, outcome: 'failed' },
    });
    // Its error as the job has it (the trail keeps the beginning of long values).
    expect(failedRecord.details.error).toMatch(/data directory is as it was/);
    expect(failed.error.startsWith(failedRecord.details.error.replace(/…$/, ''))).toBe(true);
    expect(doneRecord.id).toBe(audited.id);
  }, 90_000);

  it('with a database this process did not start (DATABASE_URL): 409, restore is the provider’s PITR or a logical restore', async () => {
    const t = await startTestApp();
    try {
      const res = await t.request('POST', '/api/backups/restore', {
        token: await t.adminToken(),
        body: { to: '2026-12-01 10:15:00' },
      });
      expect(res.status).toBe(409);
      expect(res.body.error).toBe('RESTORE_UNAVAILABLE');
      expect(res.body.message).toMatch(/provider’s point-in-time recovery/);
      expect(res.body.nextActions).toMatch(/pnpm kiln restore --logical <id> --database-url/);
    } finally {
      await t.stop();
    }
  });
});
