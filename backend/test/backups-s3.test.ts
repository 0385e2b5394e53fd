import fs from 'node:fs';
import path from 'node:path';
import {
  CreateBucketCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { QueryResultRow } from 'pg';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Options } from '../src/core/config.js';
import { startTestApp, type TestApp } from './helpers.js';
import {
  archivingPostgres,
  backupsSandbox,
  notedTime,
  runKiln,
  startKilnProcess,
  switchAndArchive as switchAndArchiveOn,
  takeBackup as takeBackupOn,
  waitForJob,
} from './backups-helpers.js';
import { freePort } from './ports.js';

/**
 * The off-site copy of BACKUP_DIR in S3 (issue 24, backups/offsite.ts), against s3rver on
 * loopback: archived WAL and base backups reach the bucket; with BACKUP_DIR's contents gone, a
 * point-in-time restore works from the bucket alone; retention prunes the bucket too; an
 * unreachable bucket stops neither archiving nor backups and is reported.
 */
describe('backups: off-site copy in S3', () => {
  const box = backupsSandbox('kiln-backups-s3-');
  const { root, dataDir, backupDir } = box;
  const s3dir = path.join(root, 's3rver');
  const bucket = 'kiln-backups';
  let port: number;
  let pg: ReturnType<typeof archivingPostgres>;
  let s3server: S3rver;
  let s3: S3Client;
  let s3options: S3Options;

  const query = <T extends QueryResultRow>(sql: string, params: unknown[] = []) =>
    pg.query<T>(sql, params);
  const one = <T extends QueryResultRow>(sql: string, params: unknown[] = []) =>
    pg.one<T>(sql, params);
  const insert = (from: number, to: number) => pg.insert(from, to);
  const switchAndArchive = () => switchAndArchiveOn(pg);
  const bucketKeys = async (): Promise<string[]> => {
    // s3rver's listing can fail while an upload lands (a file vanishing under its directory walk).
    for (let attempt = 1; ; attempt++) {
      try {
        return await listBucket();
      } catch (err) {
        if (attempt === 5) throw err;
      }
    }
  };
  const listBucket = async () => {
    const keys: string[] = [];
    let marker: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsCommand({ Bucket: bucket, Prefix: 'site-a/', Marker: marker }),
      );
      const contents = page.Contents ?? [];
      for (const o of contents) keys.push(o.Key!.slice('site-a/'.length));
      marker = page.IsTruncated ? (page.NextMarker ?? contents.at(-1)?.Key) : undefined;
    } while (marker);
    return keys;
  };
  /** Polls until `check` passes (it throws until then), for up to `ms`. */
  const eventually = async (check: () => Promise<void>, ms = 60_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        return await check();
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const takeBackup = async (t: TestApp, token: string) =>
    (await takeBackupOn(t, token)).backup as { id: string; startWal: string; finishedAt: string };
  /** `pnpm kiln …` on this DATA_DIR with the bucket configured. */
  const kiln = (...args: string[]) =>
    runKiln(args, {
      cwd: root,
      env: {
        DATA_DIR: dataDir,
        EMBEDDED_POSTGRES_PORT: String(port),
        DATABASE_URL: '',
        POSTGRES_HOST: '',
        BACKUP_S3_URL: `s3://${bucket}/site-a`,
        BACKUP_S3_ENDPOINT_URL: s3options.endpoint!,
        BACKUP_S3_FORCE_PATH_STYLE: 'true',
        BACKUP_S3_ACCESS_KEY_ID: 'S3RVER',
        BACKUP_S3_SECRET_ACCESS_KEY: 'S3RVER',
      },
    });

  beforeAll(async () => {
    port = await freePort();
    fs.mkdirSync(s3dir);
    s3server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: !process.env.S3DEBUG,
      directory: s3dir,
    });
    const { port: s3port } = await s3server.run();
    s3options = {
      bucket,
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${s3port}`,
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      prefix: 'site-a/',
    };
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: s3options.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    pg = archivingPostgres(box, port);
    await pg.start();
  }, 60_000);

  afterAll(async () => {
    await pg?.stop();
    s3?.destroy();
    await s3server?.close();
    box.remove();
  });

  let firstBackup: { id: string; startWal: string; finishedAt: string };
  let secondBackup: { id: string; finishedAt: string };
  let thirdBackup: { id: string; finishedAt: string };

  it('copies WAL and base backups to the bucket; restores from the bucket alone once BACKUP_DIR is lost', async () => {
    const t = await startTestApp({
      databaseUrl: pg.server!.url,
      dataDir,
      backupDir,
      backupS3: s3options,
      backupVerify: false,
    });
    let target: Date;
    try {
      const token = await t.adminToken();
      await query('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
      await insert(1, 50);
      firstBackup = await takeBackup(t, token);

      await insert(51, 100);
      await query(`UPDATE items SET label = label || ' (edited)' WHERE id <= 10`);
      // The noted time: a whole millisecond after the last write before it, and the clock moves
      // past it before the next write.
      target = await notedTime(pg);
      await insert(101, 150);
      await query(`DELETE FROM items WHERE id BETWEEN 1 AND 5`);
      const lastWal = await switchAndArchive();

      // Everything reaches the bucket, and the listing says so.
      await eventually(async () => {
        const listed = await t.request('GET', '/api/backups', { token });
        expect(listed.body.offsite).toMatchObject({
          target: `s3://${bucket}/site-a/`,
          pendingWal: 0,
          pendingBackups: 0,
          lastError: null,
        });
        expect(listed.body.backups).toEqual([
          expect.objectContaining({ id: firstBackup.id, location: 'both' }),
        ]);
      });
      const keys = await bucketKeys();
      expect(keys).toContain(`wal/${lastWal}`);
      expect(keys).toContain(`wal/${firstBackup.startWal}`);
      expect(keys).toContain(`base/${firstBackup.id}/manifest.json`);
      // The backup directory as one archive beside its manifest.
      expect(keys.filter((k) => k.startsWith(`base/${firstBackup.id}/`)).sort()).toEqual([
        `base/${firstBackup.id}/backup.tar`,
        `base/${firstBackup.id}/manifest.json`,
      ]);
    } finally {
      await t.stop();
    }

    // The machine's backups are lost: only the bucket has them.
    await pg.stop();
    for (const name of fs.readdirSync(backupDir))
      fs.rmSync(path.join(backupDir, name), { recursive: true, force: true });

    const restored = await kiln('restore', '--to', target.toISOString());
    expect(restored.out).toMatch(new RegExp(`from base backup ${firstBackup.id}`));
    expect(restored.code).toBe(0);
    await pg.start();
    const rows = await query<{ id: number; label: string }>('SELECT * FROM items ORDER BY id');
    const expected = Array.from({ length: 100 }, (_, i) => ({
      id: i + 1,
      label: `row ${i + 1}${i < 10 ? ' (edited)' : ''}`,
    }));
    expect(rows).toEqual(expected);
  }, 120_000);

  it('retention removes an old base backup and the WAL only it needed from the bucket too, and old copies of other kinds', async () => {
    const t = await startTestApp({
      databaseUrl: pg.server!.url,
      dataDir,
      backupDir,
      backupS3: s3options,
      backupVerify: false,
      backupRetention: 1,
    });
    try {
      const token = await t.adminToken();
      await insert(200, 210);
      const second = await takeBackup(t, token);
      secondBackup = second;
      await eventually(async () => {
        const keys = await bucketKeys();
        expect(keys).toContain(`base/${second.id}/manifest.json`);
        expect(keys.filter((k) => k.startsWith(`base/${firstBackup.id}/`))).toEqual([]);
        const segments = keys.filter((k) => /^wal\/[0-9A-F]{24}$/.test(k)).map((k) => k.slice(4));
        expect(segments.length).toBeGreaterThan(0);
        expect(segments.every((s) => s.slice(8) >= second.startWal.slice(8))).toBe(true);
      });
      const listed = await t.request('GET', '/api/backups', { token });
      expect(listed.body.backups.map((b: { id: string }) => b.id)).toEqual([second.id]);

      // Backups of another kind (logical dumps) are kept to the same number in the bucket,
      // counted apart from the base backups; deleting one through the API removes its copy.
      const logical = (id: string) => {
        const dir = path.join(backupDir, 'logical', id);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'dump.sql'), `-- dump ${id}\n`);
        const at = new Date().toISOString();
        fs.writeFileSync(
          path.join(dir, 'manifest.json'),
          JSON.stringify({
            id,
            kind: 'logical',
            startedAt: at,
            finishedAt: at,
            sizeBytes: 20,
            database: 'kiln',
            serverVersion: '16',
            dumpBytes: 20,
            storage: { objects: 0, bytes: 0, missing: [] },
          }),
        );
        return dir;
      };
      const older = '20200101T000000000Z';
      const newer = '20200102T000000000Z';
      const olderDir = logical(older);
      await eventually(async () =>
        expect(await bucketKeys()).toContain(`logical/${older}/manifest.json`),
      );
      // As local retention would: the older one goes here when the newer one is taken.
      fs.rmSync(olderDir, { recursive: true });
      logical(newer);
      await eventually(async () => {
        const keys = await bucketKeys();
        expect(keys).toContain(`logical/${newer}/manifest.json`);
        expect(keys.filter((k) => k.startsWith(`logical/${older}/`))).toEqual([]);
        // The base backup is still there: kinds are counted apart.
        expect(keys).toContain(`base/${second.id}/manifest.json`);
      });
      const deleted = await t.request('DELETE', `/api/backups/${newer}`, { token });
      expect(deleted.status).toBe(200);
      await eventually(async () =>
        expect((await bucketKeys()).filter((k) => k.startsWith('logical/'))).toEqual([]),
      );
    } finally {
      await t.stop();
    }
  }, 120_000);

  it('an unreachable bucket stops neither archiving nor backups, and is reported', async () => {
    const closed = await freePort();
    const t = await startTestApp({
      databaseUrl: pg.server!.url,
      dataDir,
      backupDir,
      backupS3: { ...s3options, endpoint: `http://127.0.0.1:${closed}` },
      backupVerify: false,
      backupRetention: 1,
    });
    try {
      const token = await t.adminToken();
      const { failed: failedBefore } = await one<{ failed: number }>(
        `SELECT failed_count::int AS failed FROM pg_stat_archiver`,
      );
      await insert(300, 310);
      const wal = await switchAndArchive();
      expect(fs.existsSync(path.join(backupDir, 'wal', wal))).toBe(true);
      const third = await takeBackup(t, token);
      thirdBackup = third;
      const { failed } = await one<{ failed: number }>(
        `SELECT failed_count::int AS failed FROM pg_stat_archiver`,
      );
      expect(failed).toBe(failedBefore);
      await eventually(async () => {
        const listed = await t.request('GET', '/api/backups', { token });
        expect(listed.body.offsite.lastError).toEqual(expect.any(String));
        expect(listed.body.offsite.pendingWal).toBeGreaterThan(0);
        expect(listed.body.offsite.pendingBackups).toBeGreaterThan(0);
        expect(listed.body.backups).toEqual([
          expect.objectContaining({ id: third.id, location: 'local' }),
        ]);
      });
    } finally {
      await t.stop();
    }
  }, 120_000);
  it('a restore through the API accepts a time only a base backup in the bucket covers, and restores from it', async () => {
    const box = backupsSandbox('kiln-backups-s3-live-');
    const kiln = await startKilnProcess({
      dataDir: box.dataDir,
      env: {
        BACKUP_S3_URL: `s3://${bucket}/site-live`,
        BACKUP_S3_ENDPOINT_URL: s3options.endpoint!,
        BACKUP_S3_FORCE_PATH_STYLE: 'true',
        BACKUP_S3_ACCESS_KEY_ID: 'S3RVER',
        BACKUP_S3_SECRET_ACCESS_KEY: 'S3RVER',
      },
    });
    try {
      const { sql } = kiln;
      await sql.query('CREATE TABLE public.items (id int PRIMARY KEY, label text NOT NULL)');
      const insert = (from: number, to: number) =>
        sql.query(
          `INSERT INTO public.items SELECT i, 'row ' || i FROM generate_series($1::int, $2::int) i`,
          [from, to],
        );
      await insert(1, 20);
      const started = await kiln.request('POST', '/api/backups');
      expect(started.status).toBe(202);
      const backup = (await waitForJob((p) => kiln.request('GET', p), started.body.id)).backup;
      expect(backup).toMatchObject({ kind: 'physical' });
      await eventually(async () => {
        const listed = await kiln.request('GET', '/api/backups');
        expect(listed.body.backups).toEqual([
          expect.objectContaining({ id: backup.id, location: 'both' }),
        ]);
      });
      await insert(21, 40);
      const target = await notedTime(sql);
      await insert(41, 60);

      // BACKUP_DIR loses the base backup (pruned, or a disk replaced): only the bucket has it.
      fs.rmSync(path.join(box.backupDir, 'base', backup.id), { recursive: true });
      const listed = await kiln.request('GET', '/api/backups');
      expect(listed.body.backups).toEqual([
        expect.objectContaining({ id: backup.id, location: 's3' }),
      ]);
      expect(listed.body.restorableRange.from).toBe(backup.finishedAt);

      // The range the listing shows is the range a restore accepts.
      const before = new Date(Date.parse(backup.finishedAt) - 1000).toISOString();
      const early = await kiln.request('POST', '/api/backups/restore', { to: before });
      expect(early.status).toBe(400);
      expect(early.body.message).toBe(
        `${before} is outside the restorable range: from ${backup.finishedAt} to now`,
      );
      const restore = await kiln.request('POST', '/api/backups/restore', {
        to: target.toISOString(),
      });
      expect(restore.status).toBe(202);
      expect(restore.body.backup).toMatchObject({ id: backup.id });
      const job = await waitForJob((p) => kiln.request('GET', p), restore.body.id);
      expect(job.error).toBeNull();
      expect(job.status).toBe('done');
      // Fetched from the bucket, then restored: exactly the rows up to the noted time.
      expect(fs.existsSync(path.join(box.backupDir, 'base', backup.id, 'manifest.json'))).toBe(
        true,
      );
      const rows = await sql.query<{ id: number }>('SELECT id FROM public.items ORDER BY id');
      expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    } finally {
      await kiln.stop();
      box.remove();
    }
  }, 120_000);
  it('kiln backups lists the bucket’s copies too, each marked local or s3', async () => {
    // Left by the tests above: the second base backup only in the bucket (pruned here while the
    // bucket was unreachable), the third only here.
    const env = { DATA_DIR: dataDir, DATABASE_URL: '', POSTGRES_HOST: '' };
    const bucketEnv = {
      ...env,
      BACKUP_S3_URL: `s3://${bucket}/site-a`,
      BACKUP_S3_ENDPOINT_URL: s3options.endpoint!,
      BACKUP_S3_FORCE_PATH_STYLE: 'true',
      BACKUP_S3_ACCESS_KEY_ID: 'S3RVER',
      BACKUP_S3_SECRET_ACCESS_KEY: 'S3RVER',
    };
    const listed = await runKiln(['backups'], { cwd: root, env: bucketEnv });
    expect(listed.code).toBe(0);
    // stdout: the lines (the S3 client may warn on stderr about the Node version).
    expect(listed.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${secondBackup.id}  finished ${secondBackup.finishedAt}  [0-9.]+ MB  \\[s3\\]$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^${thirdBackup.id}  finished ${thirdBackup.finishedAt}  [0-9.]+ MB  \\[local\\]$`,
        ),
      ),
      `Restorable from ${secondBackup.finishedAt} to the last archived WAL.`,
    ]);
    // A copy in both places is marked so.
    const logicalId = '20200103T000000000Z';
    const manifest = JSON.stringify({
      id: logicalId,
      kind: 'logical',
      startedAt: '2020-01-03T00:00:00.000Z',
      finishedAt: '2020-01-03T00:00:01.000Z',
      sizeBytes: 2_500_000,
    });
    const dir = path.join(backupDir, 'logical', logicalId);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), manifest);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `site-a/logical/${logicalId}/manifest.json`,
        Body: manifest,
      }),
    );
    const both = await runKiln(['backups'], { cwd: root, env: bucketEnv });
    expect(both.code).toBe(0);
    expect(both.stdout).toContain(
      `${logicalId}  logical, finished 2020-01-03T00:00:01.000Z  2.5 MB  [local, s3]`,
    );

    // Without BACKUP_S3_URL: the local ones, unmarked.
    const local = await runKiln(['backups'], { cwd: root, env: { ...env, BACKUP_S3_URL: '' } });
    expect(local.code).toBe(0);
    expect(local.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${thirdBackup.id}  finished \\S+  [0-9.]+ MB$`)),
      `Restorable from ${thirdBackup.finishedAt} to the last archived WAL.`,
      `${logicalId}  logical, finished 2020-01-03T00:00:01.000Z  2.5 MB`,
    ]);

    // An unreachable bucket: the local list, then the failure (exit 1).
    const down = await runKiln(['backups'], {
      cwd: root,
      env: { ...bucketEnv, BACKUP_S3_ENDPOINT_URL: `http://127.0.0.1:${await freePort()}` },
    });
    expect(down.code).toBe(1);
    expect(down.out).toContain(`${thirdBackup.id}  finished`);
    expect(down.out).toContain(`The off-site copy s3://${bucket}/site-a/ could not be listed:`);
  }, 60_000);
});
