import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { QueryResultRow } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listBackups,
  parseRestoreTarget,
  pruneBackups,
  RestoreError,
  restoreToTime,
  takeBaseBackup,
  walDir,
} from '../src/backups/pitr.js';
import { startTestApp, type TestApp } from './helpers.js';
import {
  archivingPostgres,
  backupsSandbox,
  notedTime,
  runKiln,
  switchAndArchive,
  waitForJob as pollJob,
} from './backups-helpers.js';
import { freePort } from './ports.js';

/** Polls a backup job until it has ended. */
const waitForJob = (t: TestApp, token: string, id: string) =>
  pollJob((p) => t.request('GET', p, { token }), id);

/**
 * Point-in-time restore of the embedded PostgreSQL (issue 24), end to end on a cluster of its
 * own in a temp dir (the shared test cluster is not touched): write, take a base backup, write
 * more, note a time, write more, restore to the noted time, compare row by row.
 */
describe('backups: WAL archiving, base backups and point-in-time restore', () => {
  const box = backupsSandbox('kiln-backups-');
  const { root, dataDir, clusterDir, backupDir, password, runAs } = box;
  let port: number;
  let pg: ReturnType<typeof archivingPostgres>;
  const query = <T extends QueryResultRow>(sql: string, params: unknown[] = []) =>
    pg.query<T>(sql, params);
  const one = <T extends QueryResultRow>(sql: string, params: unknown[] = []) =>
    pg.one<T>(sql, params);
  const insert = (from: number, to: number) => pg.insert(from, to);

  /** `pnpm kiln …` on this DATA_DIR: exit code and output. */
  const kiln = (...args: string[]) =>
    runKiln(args, {
      cwd: root,
      env: {
        DATA_DIR: dataDir,
        EMBEDDED_POSTGRES_PORT: String(port),
        DATABASE_URL: '',
        POSTGRES_HOST: '',
      },
    });

  beforeAll(async () => {
    port = await freePort();
    pg = archivingPostgres(box, port);
    await pg.start();
  }, 60_000);

  afterAll(async () => {
    await pg?.stop();
    box.remove();
  });

  it('restores to a time between two writes: rows before it present, rows after it absent', async () => {
    await query('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
    await insert(1, 50);
    const backup = await takeBaseBackup({
      url: pg.server!.urlFor('postgres'),
      clusterDir: pg.server!.clusterDir,
      backupDir,
    });
    expect(listBackups(backupDir).map((b) => b.id)).toEqual([backup.id]);
    expect(backup.sizeBytes).toBeGreaterThan(1_000_000);
    // The WAL the backup needs is archived by the time pg_backup_stop returns.
    expect(fs.readdirSync(walDir(backupDir)).some((f) => f.startsWith(backup.startWal))).toBe(true);

    await insert(51, 100);
    await query(`UPDATE items SET label = label || ' (edited)' WHERE id <= 10`);
    // The noted time: a whole millisecond after the last write before it, and the clock moves
    // past it before the next write.
    const target = await notedTime(pg);
    await insert(101, 150);
    await query(`DELETE FROM items WHERE id BETWEEN 1 AND 5`);
    await switchAndArchive(pg);
    const before = await query<{ id: number; label: string }>('SELECT * FROM items ORDER BY id');
    expect(before).toHaveLength(145);

    // Refused while the cluster runs.
    const refused = await kiln('restore', '--to', target.toISOString());
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/stop Kiln before restoring/);

    await pg.stop();
    const restored = await kiln('restore', '--to', target.toISOString());
    expect(restored.out).toMatch(new RegExp(`from base backup ${backup.id}`));
    expect(restored.code).toBe(0);
    const previous = fs
      .readdirSync(dataDir)
      .filter((n) => n.startsWith('postgres.before-restore-'));
    expect(previous).toHaveLength(1);
    expect(fs.existsSync(path.join(dataDir, previous[0]!, 'PG_VERSION'))).toBe(true);

    await pg.start();
    const rows = await query<{ id: number; label: string }>('SELECT * FROM items ORDER BY id');
    const expected = Array.from({ length: 100 }, (_, i) => ({
      id: i + 1,
      label: `row ${i + 1}${i < 10 ? ' (edited)' : ''}`,
    }));
    expect(rows).toEqual(expected);
    // The restored cluster is writable (promoted) and keeps archiving.
    await insert(1000, 1000);
    const { recovering } = await one<{ recovering: boolean }>(
      'SELECT pg_is_in_recovery() AS recovering',
    );
    expect(recovering).toBe(false);
  }, 60_000);

  it('refuses a target before the oldest backup with a clear error, and retention keeps N', async () => {
    const oldest = listBackups(backupDir)[0]!;
    await expect(
      restoreToTime({
        dataDir: path.join(root, 'unused'),
        backupDir,
        target: new Date(Date.parse(oldest.finishedAt) - 60_000),
        port,
        password,
        runAs,
      }),
    ).rejects.toThrow(RestoreError);
    await expect(
      restoreToTime({
        dataDir: path.join(root, 'unused'),
        backupDir,
        target: new Date(Date.parse(oldest.finishedAt) - 60_000),
        port,
        password,
        runAs,
      }),
    ).rejects.toThrow(/oldest restorable time is/);

    const second = await takeBaseBackup({
      url: pg.server!.urlFor('postgres'),
      clusterDir: pg.server!.clusterDir,
      backupDir,
    });
    expect(listBackups(backupDir)).toHaveLength(2);
    expect(pruneBackups(backupDir, 1)).toEqual([oldest.id]);
    expect(listBackups(backupDir).map((b) => b.id)).toEqual([second.id]);
    const segments = fs.readdirSync(walDir(backupDir)).filter((f) => /^[0-9A-F]{24}$/.test(f));
    expect(segments.every((f) => f.slice(8) >= second.startWal.slice(8))).toBe(true);

    // A target past the last archived WAL: PostgreSQL ends recovery before reaching it; the
    // restore fails and puts the previous data directory back.
    await pg.stop();
    await expect(
      restoreToTime({ dataDir: clusterDir, backupDir, target: new Date(), port, password, runAs }),
    ).rejects.toThrow(
      /recovery ended before configured recovery target was reached|data directory is as it was/,
    );
    expect(
      fs.readdirSync(dataDir).filter((n) => n.startsWith('postgres.before-restore-')),
    ).toHaveLength(1);
    await pg.start();
    const { n } = await one<{ n: number }>('SELECT count(*)::int AS n FROM items');
    expect(n).toBe(101);
  }, 60_000);

  it('admin API: list, take one with a job to poll, download as tar, delete, restore → 409', async () => {
    const t = await startTestApp({ databaseUrl: pg.server!.url, dataDir, backupDir });
    try {
      const token = await t.adminToken();
      expect((await t.request('GET', '/api/backups', { token: t.anonKey })).status).toBe(403);
      const before = await t.request('GET', '/api/backups', { token });
      expect(before.status).toBe(200);
      expect(before.body.enabled).toBe(true);
      expect(before.body.backups).toHaveLength(1);
      expect(before.body.restorableRange.from).toBe(before.body.backups[0].finishedAt);

      const started = await t.request('POST', '/api/backups', { token });
      expect(started.status).toBe(202);
      expect(started.body.status).toBe('running');
      const job = await waitForJob(t, token, started.body.id);
      expect(job.error).toBeNull();
      expect(job.status).toBe('done');
      expect(job.bytesCopied).toBe(job.backup.sizeBytes);
      // Verified by a throwaway restore before being called done (BACKUP_VERIFY, on by default).
      expect(Date.parse(job.backup.verifiedAt)).toBeGreaterThanOrEqual(
        Date.parse(job.backup.finishedAt),
      );
      const id: string = job.backup.id;
      const listed = await t.request('GET', '/api/backups', { token });
      expect(listed.body.backups.map((b: { id: string }) => b.id)).toContain(id);
      expect(listed.body.jobs[0].id).toBe(started.body.id);

      const download = await fetch(`${t.baseUrl}/api/backups/${id}/download`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toBe('application/x-tar');
      const tarFile = path.join(root, 'download.tar');
      fs.writeFileSync(tarFile, Buffer.from(await download.arrayBuffer()));
      const names = await new Promise<string[]>((resolve, reject) =>
        execFile('tar', ['-tf', tarFile], { maxBuffer: 64 << 20 }, (err, out) =>
          err ? reject(err) : resolve(out.split('\n')),
        ),
      );
      expect(names).toContain(`kiln-backup-${id}/manifest.json`);
      expect(names).toContain(`kiln-backup-${id}/data/PG_VERSION`);
      expect(names).toContain(`kiln-backup-${id}/data/backup_label`);

      expect(
        (await t.request('GET', '/api/backups/20000101T000000Z/download', { token })).status,
      ).toBe(404);
      expect((await t.request('DELETE', '/api/backups/..%2Fwal', { token })).status).toBe(400);
      expect((await t.request('GET', '/api/backups/jobs/nope', { token })).status).toBe(400);

      const bad = await t.request('POST', '/api/backups/restore', { token, body: { to: 'soon' } });
      expect(bad.status).toBe(400);
      const restore = await t.request('POST', '/api/backups/restore', {
        token,
        body: { to: '2026-12-01 10:15:00' },
      });
      expect(restore.status).toBe(409);
      expect(restore.body.error).toBe('RESTORE_NEEDS_CLI');
      expect(restore.body.nextActions).toContain(
        'pnpm kiln restore --to "2026-12-01T10:15:00.000Z"',
      );

      expect((await t.request('DELETE', `/api/backups/${id}`, { token })).body).toEqual({
        deleted: true,
        id,
      });
      expect((await t.request('DELETE', `/api/backups/${id}`, { token })).status).toBe(404);
    } finally {
      await t.stop();
    }
  }, 60_000);

  it('a scheduled backup is a job of the admin API like a manual one, and the two never overlap', async () => {
    const t = await startTestApp({
      databaseUrl: pg.server!.url,
      dataDir,
      backupDir,
      backupVerify: false,
    });
    try {
      const token = await t.adminToken();
      const scheduler = t.app.backups.scheduler!;
      // One tick of BACKUP_SCHEDULE (the cron calls the same).
      const scheduled = await scheduler.runNow();
      expect(scheduled).toBeDefined();
      const listed = await t.request('GET', '/api/backups', { token });
      expect(listed.body.jobs[0]).toMatchObject({
        id: scheduled!.id,
        kind: 'backup',
        status: 'running',
        phase: 'Copying the cluster',
      });
      // A manual start meanwhile gets the answer a second manual start gets.
      const during = await t.request('POST', '/api/backups', { token });
      expect(during.status).toBe(409);
      expect(during.body).toMatchObject({
        error: 'BACKUP_RUNNING',
        message: `Backup job ${scheduled!.id} is still running`,
      });
      const done = await waitForJob(t, token, scheduled!.id);
      expect(done).toMatchObject({ status: 'done', error: null, phase: null });
      expect(done.bytesCopied).toBe(done.backup.sizeBytes);
      expect((await t.request('GET', '/api/backups', { token })).body.backups).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: done.backup.id })]),
      );

      const manual = await t.request('POST', '/api/backups', { token });
      expect(manual.status).toBe(202);
      const second = await t.request('POST', '/api/backups', { token });
      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({
        error: 'BACKUP_RUNNING',
        message: `Backup job ${manual.body.id} is still running`,
      });
      // A tick while the manual one runs is skipped: no second job.
      expect(await scheduler.runNow()).toBeUndefined();
      expect(await waitForJob(t, token, manual.body.id)).toMatchObject({ status: 'done' });
      const jobs = (await t.request('GET', '/api/backups', { token })).body.jobs;
      expect(jobs.map((j: { id: string }) => j.id)).toEqual([manual.body.id, scheduled!.id]);
    } finally {
      await t.stop();
    }
  }, 60_000);

  it('kiln restore: usage errors for a missing or invalid --to', async () => {
    const missing = await kiln('restore');
    expect(missing.code).toBe(2);
    expect(missing.out).toMatch(/restore needs --to/);
    const invalid = await kiln('restore', '--to', 'last tuesday');
    expect(invalid.code).toBe(2);
    expect(invalid.out).toMatch(/Not a date and time: "last tuesday"/);
    const early = await kiln('restore', '--to', '2001-01-01 00:00:00');
    expect(early.code).toBe(1);
    expect(early.out).toMatch(/No base backup finished before 2001-01-01T00:00:00.000Z/);
  }, 30_000);

  it('parses restore targets: UTC without a zone, offsets honoured, nonsense refused', () => {
    expect(parseRestoreTarget('2026-12-01 10:15:00')?.toISOString()).toBe(
      '2026-12-01T10:15:00.000Z',
    );
    expect(parseRestoreTarget('2026-12-01T10:15:00+02:00')?.toISOString()).toBe(
      '2026-12-01T08:15:00.000Z',
    );
    expect(parseRestoreTarget('yesterday')).toBeUndefined();
    expect(parseRestoreTarget('2026-13-45 99:00:00')).toBeUndefined();
  });
});
