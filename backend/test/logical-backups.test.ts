import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { scheduledTick } from '../src/backups/ticks.js';
import { createLogger } from '../src/core/logger.js';
import {
  ADMIN_PASSWORD,
  createTestDatabase,
  dropTestDatabase,
  pgUrl,
  startTestApp,
  type TestApp,
} from './helpers.js';
import { runKiln, takeBackup as takeBackupOn, waitForJob } from './backups-helpers.js';

/**
 * Logical backups of an external PostgreSQL (issue 24): Kiln runs on a database it did not start
 * (DATABASE_URL), a backup is taken through the admin API (a real pg_dump, run as WebAssembly),
 * restored with the CLI into an empty database, and compared object by object and row by row;
 * Kiln then starts on the restored database and serves the same data and stored bytes.
 */
describe('logical backups (external PostgreSQL)', () => {
  let t: TestApp;
  let token: string;
  const restoredDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-logical-restored-'));
  const targets: string[] = [];
  const files = new Map<string, Buffer>();

  const query = async <T extends pg.QueryResultRow>(
    database: string,
    sql: string,
    params: unknown[] = [],
  ) => {
    const client = new pg.Client({ connectionString: pgUrl(database) });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };

  /** `pnpm kiln …` with the source app's settings (BACKUP_DIR, JWT_SECRET) and its own DATA_DIR. */
  const kiln = (...args: string[]) =>
    runKiln(args, {
      cwd: restoredDataDir,
      env: {
        NODE_ENV: 'test',
        DATA_DIR: restoredDataDir,
        BACKUP_DIR: t.app.config.backupDir,
        JWT_SECRET: t.app.config.jwtSecret!,
        DATABASE_URL: '',
        POSTGRES_HOST: '',
      },
    });

  const takeBackup = async () => {
    const job = await takeBackupOn(t, token);
    expect(job.backup.kind).toBe('logical');
    expect(job.bytesCopied).toBe(job.backup.sizeBytes);
    return job.backup.id as string;
  };

  /** Every row of every table (user's and Kiln's), sequence values and object definitions. */
  const snapshot = async (database: string) => {
    const tables = await query<{ s: string; n: string }>(
      database,
      `SELECT n.nspname AS s, c.relname AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1, 2`,
    );
    const rows: Record<string, string[]> = {};
    for (const { s, n } of tables) {
      const ident = `${pg.escapeIdentifier(s)}.${pg.escapeIdentifier(n)}`;
      rows[`${s}.${n}`] = (
        await query<{ r: string }>(database, `SELECT to_jsonb(x)::text AS r FROM ${ident} x`)
      )
        .map((r) => r.r)
        .sort();
    }
    const definitions = await query<{ d: string }>(
      database,
      `SELECT 'function ' || p.oid::regprocedure || ' ' || pg_get_functiondef(p.oid) AS d
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prokind IN ('f', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
       UNION ALL
       SELECT 'view ' || c.oid::regclass || ' ' || pg_get_viewdef(c.oid) FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       UNION ALL
       SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
       UNION ALL
       SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
         FROM pg_constraint WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
       UNION ALL
       SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
          AND c.relnamespace::regnamespace::text NOT LIKE 'pg\\_%'
       UNION ALL
       SELECT 'policy ' || schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive
              || ' ' || roles::text || ' ' || cmd || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
         FROM pg_policies
       UNION ALL
       SELECT 'rls ' || c.oid::regclass || ' ' || c.relrowsecurity || ' ' || c.relforcerowsecurity
         FROM pg_class c WHERE c.relkind IN ('r', 'p') AND (c.relrowsecurity OR c.relforcerowsecurity)
       UNION ALL
       SELECT 'acl ' || c.oid::regclass || ' ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(c.relacl) a), '') FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
       UNION ALL
       SELECT 'acl schema ' || nspname || ' ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(nspacl) a), '') FROM pg_namespace
        WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
       UNION ALL
       SELECT 'acl function ' || p.oid::regprocedure || ' ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(p.proacl) a), '') FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
       UNION ALL
       SELECT 'type ' || t.oid::regtype || ' ' || t.typtype::text || ' ' || coalesce(format_type(t.typbasetype, t.typtypmod), '')
              || ' ' || coalesce((SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid), '')
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype IN ('e', 'd', 'c') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
       UNION ALL
       SELECT 'sequence ' || schemaname || '.' || sequencename || ' ' || coalesce(last_value::text, 'null')
         FROM pg_sequences`,
    );
    // Kiln's per-database login roles carry a hash of the database name.
    const roleHash = crypto.createHash('sha256').update(database).digest('hex').slice(0, 16);
    return {
      rows,
      definitions: definitions.map((d) => d.d.replaceAll(roleHash, '<db>')).sort(),
    };
  };

  beforeAll(async () => {
    // The presence heartbeat (realtime.instances.last_seen) would change a row between the backup
    // and the comparison below: slowed down past this file's run.
    t = await startTestApp(
      { backupRetention: 2 },
      { ADMIN_PASSWORD, REALTIME_PRESENCE_HEARTBEAT_MS: '600000' },
    );
    token = await t.adminToken();
    // User objects of every kind, created as the database owner would.
    await query(
      t.database,
      `CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
       CREATE DOMAIN public.percent AS numeric(5, 2) CHECK (VALUE BETWEEN 0 AND 100);
       CREATE SEQUENCE public.ticket_seq START 1000;
       SELECT setval('public.ticket_seq', 4242);
       CREATE TABLE public.notes (
         id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
         ticket int NOT NULL DEFAULT nextval('public.ticket_seq'),
         body text NOT NULL,
         mood public.mood NOT NULL DEFAULT 'ok',
         score public.percent,
         doc jsonb,
         amount numeric(30, 10),
         raw bytea,
         owner uuid DEFAULT auth.uid(),
         updated_at timestamptz
       );
       CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $fn$
       BEGIN NEW.updated_at := '2026-01-01T00:00:00Z'; RETURN NEW; END $fn$;
       CREATE TRIGGER notes_touch BEFORE INSERT OR UPDATE ON public.notes
         FOR EACH ROW EXECUTE FUNCTION public.touch();
       CREATE FUNCTION public.shout(t text) RETURNS text LANGUAGE sql IMMUTABLE
         AS $$ SELECT upper(t) || '!' $$;
       CREATE VIEW public.happy_notes AS SELECT id, body FROM public.notes WHERE mood = 'happy';
       ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
       ALTER TABLE public.notes FORCE ROW LEVEL SECURITY;
       CREATE POLICY notes_read ON public.notes FOR SELECT TO anon, authenticated USING (mood <> 'sad');
       CREATE POLICY notes_write ON public.notes FOR INSERT TO authenticated WITH CHECK (owner = auth.uid());
       REVOKE ALL ON public.notes FROM anon;
       GRANT SELECT ON public.notes TO anon;
       GRANT SELECT, INSERT ON public.happy_notes TO authenticated;
       INSERT INTO public.notes (body, mood, score, doc, amount, raw) VALUES
         ('it''s "quoted"' || E'\\nand\\ttabbed\\\\ back', 'happy', 99.5,
          '{"a": [1, 2, {"b": null}], "ü": "ñ"}', 12345678901234567890.0123456789, '\\x00ff0a0d5c'),
         ('grüße 日本語 🎉', 'ok', 0, '[]', -0.5, ''),
         ('sad one', 'sad', NULL, NULL, NULL, NULL),
         (E'line\\r\\nwith CRLF and a backslash-dot \\\\.', 'happy', 1, '"s"', 1, '\\x5c2e');`,
    );
    await t.request('POST', '/api/storage/buckets', {
      token: t.apiKey,
      body: { bucketName: 'docs', isPublic: false, allowUserUploads: true },
    });
    const alice = await t.signUpUser();
    const docs = alice.client.storage.from('docs');
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    files.set('bin/all-bytes.bin', bytes);
    files.set('text/hello wörld.txt', Buffer.from('hello\r\nwörld\n'));
    for (const [key, body] of files) {
      const up = await docs.upload(key, new Blob([new Uint8Array(body)]));
      expect(up.error).toBeNull();
    }
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    for (const db of targets) await dropTestDatabase(db);
    fs.rmSync(restoredDataDir, { recursive: true, force: true });
  });

  it('backs up through the admin API, restores with the CLI into an empty database, and Kiln serves the same data', async () => {
    const before = await t.request('GET', '/api/backups', { token });
    expect(before.status).toBe(200);
    expect(before.body.enabled).toBe(true);
    const id = await takeBackup();
    const listed = await t.request('GET', '/api/backups', { token });
    expect(listed.body.backups).toEqual([
      expect.objectContaining({ id, kind: 'logical', sizeBytes: expect.any(Number) }),
    ]);
    const dir = path.join(t.app.config.backupDir, 'logical', id);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'dump.sql',
      'manifest.json',
      'storage',
      'storage.jsonl',
    ]);
    const source = await snapshot(t.database);

    const target = await createTestDatabase({ empty: true });
    targets.push(target);
    const restored = await kiln('restore', '--logical', id, '--database-url', pgUrl(target));
    expect(restored.out).toContain('Restored');
    expect(restored.code).toBe(0);

    const copy = await snapshot(target);
    expect(Object.keys(copy.rows)).toEqual(Object.keys(source.rows));
    for (const table of Object.keys(source.rows)) {
      expect({ table, rows: copy.rows[table] }).toEqual({ table, rows: source.rows[table] });
    }
    expect(copy.definitions).toEqual(source.definitions);
    expect(source.rows['public.notes']).toHaveLength(4);
    expect(source.definitions).toContain('sequence public.ticket_seq 4246');

    // Kiln starts on the restored database (its migrations already applied) and serves the data.
    const r = await startTestApp(
      { databaseUrl: pgUrl(target), dataDir: restoredDataDir, jwtSecret: t.app.config.jwtSecret },
      { ADMIN_PASSWORD },
    );
    try {
      const notes = await r.request('GET', '/api/database/records/notes?order=id', {
        token: r.anonKey,
      });
      expect(notes.status).toBe(200);
      const original = await t.request('GET', '/api/database/records/notes?order=id', {
        token: t.anonKey,
      });
      expect(notes.body).toEqual(original.body);
      expect(notes.body).toHaveLength(3); // the policy hides the sad one from anon
      const admin = await r.adminToken();
      for (const [key, body] of files) {
        const res = await fetch(
          `${r.baseUrl}/api/storage/buckets/docs/objects/${encodeURIComponent(key)}`,
          { headers: { authorization: `Bearer ${admin}` } },
        );
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
      }
    } finally {
      await r.app.close();
      await dropTestDatabase(r.database);
    }
  }, 120_000);

  it('refuses an unknown backup and a non-empty target (changing nothing); prunes, downloads and deletes', async () => {
    const unknown = await kiln(
      'restore',
      '--logical',
      '20000101T000000000Z',
      '--database-url',
      pgUrl(t.database),
    );
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('No logical backup 20000101T000000000Z');

    const ids = [await takeBackup(), await takeBackup()];
    // BACKUP_RETENTION=2: the oldest ones are pruned.
    const listed = await t.request('GET', '/api/backups', { token });
    expect(listed.body.backups.map((b: { id: string }) => b.id)).toEqual(ids);

    const target = await createTestDatabase({ empty: true });
    targets.push(target);
    await query(target, 'CREATE TABLE public.keep_me (id int); INSERT INTO keep_me VALUES (7)');
    const refused = await kiln('restore', '--logical', ids[1]!, '--database-url', pgUrl(target));
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('The target database is not empty (relation public.keep_me');
    expect(
      await query(
        target,
        `SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)::int AS n,
                (SELECT count(*) FROM pg_namespace WHERE nspname = 'auth')::int AS auth`,
      ),
    ).toEqual([{ n: 1, auth: 0 }]);

    const download = await fetch(`${t.baseUrl}/api/backups/${ids[0]}/download`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/x-tar');
    const tarFile = path.join(restoredDataDir, 'download.tar');
    fs.writeFileSync(tarFile, Buffer.from(await download.arrayBuffer()));
    const names = await new Promise<string[]>((resolve, reject) =>
      execFile('tar', ['-tf', tarFile], (err, out) =>
        err ? reject(err) : resolve(out.split('\n')),
      ),
    );
    const prefix = `kiln-logical-backup-${ids[0]}`;
    expect(names).toEqual(
      expect.arrayContaining([
        `${prefix}/manifest.json`,
        `${prefix}/dump.sql`,
        `${prefix}/storage.jsonl`,
        `${prefix}/storage/0`,
      ]),
    );

    expect((await t.request('DELETE', `/api/backups/${ids[0]}`, { token })).body).toEqual({
      deleted: true,
      id: ids[0],
    });
    expect((await t.request('DELETE', `/api/backups/${ids[0]}`, { token })).status).toBe(404);
    expect((await t.request('GET', `/api/backups/${ids[0]}/download`, { token })).status).toBe(404);
    const after = await t.request('GET', '/api/backups', { token });
    expect(after.body.backups.map((b: { id: string }) => b.id)).toEqual([ids[1]]);
  }, 120_000);

  it('two instances on one database: a scheduled tick is backed up once, by one of them', async () => {
    // A second instance on this database, with a BACKUP_DIR of its own (its local disk).
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-logical-2-'));
    const second = await createApp(
      { ...t.app.config, dataDir, backupDir: path.join(dataDir, 'backups') },
      { logger: createLogger({ level: 'error', dir: path.join(dataDir, 'logs'), stdout: false }) },
    );
    try {
      const { port } = await second.listen(0, '127.0.0.1');
      const onSecond = async (p: string) => {
        const res = await fetch(`http://127.0.0.1:${port}${p}`, {
          headers: { authorization: `Bearer ${t.apiKey}` },
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      const instances = [
        { get: (p: string) => t.request('GET', p, { token }), app: t.app },
        { get: onSecond, app: second },
      ];
      const before = await Promise.all(instances.map((i) => i.get('/api/backups')));

      // Each instance's cron fires on its own clock, the second's 2.5 s behind: both name the
      // tick by its scheduled time, and both fire it at once.
      const schedule = '0 3 * * *';
      const tick = scheduledTick(schedule, new Date('2026-12-01T03:00:00.004Z'));
      expect(scheduledTick(schedule, new Date('2026-12-01T03:00:02.504Z'))).toEqual(tick);
      expect(tick.toISOString()).toBe('2026-12-01T03:00:00.000Z');
      const started = await Promise.all(
        instances.map((i) => i.app.backups.scheduler!.runNow(tick)),
      );
      expect(started.filter(Boolean)).toHaveLength(1);
      const taker = instances[started.findIndex(Boolean)]!;
      const job = await waitForJob(taker.get, started.find(Boolean)!.id);
      expect(job).toMatchObject({ status: 'done', error: null, backup: { kind: 'logical' } });
      // A late firing of the same tick (a clock further behind) is skipped too.
      expect(await instances[0]!.app.backups.scheduler!.runNow(tick)).toBeUndefined();
      expect(await instances[1]!.app.backups.scheduler!.runNow(tick)).toBeUndefined();

      // Across both instances: one job and one new backup for the tick.
      const after = await Promise.all(instances.map((i) => i.get('/api/backups')));
      const newJobs = after.flatMap((a, n) =>
        a.body.jobs.filter(
          (j: { id: string }) => !before[n]!.body.jobs.some((b: { id: string }) => b.id === j.id),
        ),
      );
      expect(newJobs.map((j: { id: string }) => j.id)).toEqual([job.id]);
      const newBackups = after.flatMap((a, n) =>
        a.body.backups.filter(
          (b: { id: string }) =>
            !before[n]!.body.backups.some((x: { id: string }) => x.id === b.id),
        ),
      );
      expect(newBackups.map((b: { id: string }) => b.id)).toEqual([job.backup.id]);
    } finally {
      await second.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

/**
 * A TCP proxy on loopback to `target` (host and port of a PostgreSQL URL) that passes everything,
 * except that a logical backup's connection (application_name kiln-logical-backup) hangs once the
 * dump sends its first COPY: the server's answers stop reaching it and the connection stays open.
 */
async function hangingDumpProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  const state = { hung: 0 };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let dump = false;
    let frozen = false;
    client.on('data', (b: Buffer) => {
      const text = b.toString('latin1');
      dump ||= text.includes('kiln-logical-backup');
      if (dump && !frozen && text.includes('COPY ')) {
        frozen = true;
        state.hung++;
      }
      upstream.write(b);
    });
    upstream.on('data', (b: Buffer) => {
      if (!frozen) client.write(b);
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => undefined);
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    state,
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('logical backups: a hung database connection', () => {
  it('fails the job with a clear error after BACKUP_DUMP_IDLE_TIMEOUT_MS instead of hanging', async () => {
    const database = await createTestDatabase();
    const direct = new URL(pgUrl(database));
    const proxy = await hangingDumpProxy(direct);
    const proxied = new URL(direct);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const t = await startTestApp({
      databaseUrl: proxied.toString(),
      backupDumpIdleTimeoutMs: 1000,
    });
    try {
      const token = await t.adminToken();
      const started = await t.request('POST', '/api/backups', { token });
      expect(started.status).toBe(202);
      const startedAt = Date.now();
      const job = await waitForJob((p) => t.request('GET', p, { token }), started.body.id);
      expect(proxy.state.hung).toBe(1);
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(
        /^pg_dump gave up: the database server sent nothing for 1 s while the dump waited for it \(BACKUP_DUMP_IDLE_TIMEOUT_MS\)/,
      );
      expect(Date.now() - startedAt).toBeLessThan(20_000);
      // Nothing half-written is left or listed.
      const logical = path.join(t.app.config.backupDir, 'logical');
      expect(fs.existsSync(logical) ? fs.readdirSync(logical) : []).toEqual([]);
      expect((await t.request('GET', '/api/backups', { token })).body.backups).toEqual([]);
    } finally {
      await t.stop();
      await proxy.close();
      await dropTestDatabase(database);
    }
  }, 60_000);
});
